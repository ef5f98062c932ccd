// How the console prints the API's numbers: exact, from the int64 strings the JSON mapping
// gives, with no arithmetic of its own beyond placing a decimal point.

// Basis points as a percentage with two decimals: "7500" → "75.00 %".
export function percent(bps) {
  return decimal(BigInt(bps ?? 0), 2) + " %";
}

// Minor units in the currency's own number of decimals: (123450, "EUR") → "1234.50 EUR".
export function money(minor, currency) {
  let digits = 2;
  try {
    digits = new Intl.NumberFormat("en", { style: "currency", currency })
      .resolvedOptions().maximumFractionDigits;
  } catch {
    // an unknown code: two decimals
  }
  return decimal(BigInt(minor ?? 0), digits) + " " + currency;
}

export function int(value) {
  return BigInt(value ?? 0).toString();
}

// A Timestamp's JSON ("2026-07-01T10:00:00Z") as "2026-07-01 10:00" (UTC).
export function when(timestamp) {
  return timestamp ? timestamp.replace("T", " ").slice(0, 16) : "";
}

function decimal(value, digits) {
  if (digits === 0) return value.toString();
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const scale = 10n ** BigInt(digits);
  const text = `${abs / scale}.${(abs % scale).toString().padStart(digits, "0")}`;
  return negative ? "-" + text : text;
}
