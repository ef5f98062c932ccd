#!/usr/bin/python3
"""Turns the statements Postgres logged (log_statement = all, log_line_prefix '%m|%p|%a|') for one
PlaceOrder into a pgbench script (tests/bench/run.sh, P3's baseline).

- Every session's statements are kept in order, with their own BEGIN/COMMIT; the sessions are
  written one after another (one pgbench connection runs them all).
- Prepared statements are written with their logged parameters inlined as literals.
- Readiness probes (SELECT 1), the capture's own statements and probe sessions are left out.
- What must differ per checkout is made unique per pgbench transaction: the order id (text
  'bench-<nonce>-0'), the customer id, and every UUID literal (md5 of the run, client and counter);
- The products are drawn per transaction, as the real load draws them: the captured SKUs
  (sku-NNNNN, distinct) become random ones from disjoint bands of sku-00100 ... sku-00999 (so they
  stay distinct and in the same order), and the recommendations' product ids with them (the
  catalogue was loaded in SKU order, so product id = SKU number + a constant, checked here).
  Otherwise every replayed checkout would update the same products' and pairs' rows;
  the recommendations' order key is looked up rather than
  inlined; the deliveries are for subscribers named replay_*_<client> (the live relay ignores
  them, and no client claims another's); the outbox insert is given its event id explicitly so that the relay's and handlers' statements
  that name it find it, as they did.
- A literal that holds a pgbench variable becomes an expression ('bo-' || :run || ...), so the
  script runs with -M prepared: each statement is parsed and planned once per connection, as the
  services' named prepared statements are (simple protocol would plan all of them every time).
Writes the script on stdout and a one-line summary on stderr.
"""
import re
import sys

ENTRY = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? \S+\|(\d+)\|([^|]*)\|([A-Z]+):  (.*)$")
PARAM = re.compile(r"\$(\d+) = (NULL|'(?:[^']|'')*')")
UUID = re.compile(r"'([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})'")
ORDER = re.compile(r"bench-\d+-0\b")
SKU = re.compile(r"\bsku-(\d{5})\b")
BIGINT_ARRAY = re.compile(r"'\{([0-9,]*)\}'::bigint\[\]")
TEXT_ARRAY = re.compile(r"'\{([^}']*)\}'::text\[\]")
SKIP_APPS = {"bench-probe", "bench-pgbench", "psql"}


def entries(path):
    current = None
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            m = ENTRY.match(line)
            if m:
                if current:
                    yield current
                current = [m.group(1), m.group(2), m.group(3), m.group(4)]
            elif current:
                current[3] += "\n" + line
    if current:
        yield current


def inline(sql, params):
    values = {int(n): v for n, v in PARAM.findall(params)}
    return re.sub(r"\$(\d+)", lambda m: values.get(int(m.group(1)), m.group(0)), sql)


def product_bands(statements):
    """Maps each captured SKU number to a pgbench variable, and its product id to another.

    Returns (header lines, {sku number: var}, {product id: var}) or None when the product ids
    do not follow the SKUs (then the SKUs are left as captured).
    """
    skus = sorted({int(n) for s in statements for n in SKU.findall(s)})
    if not skus or len(skus) > 9:
        return None
    # Position order: the recommendations' product upsert names the SKUs, its order-line insert
    # the product ids, both in the order's line order.
    names = next((TEXT_ARRAY.search(s).group(1).split(",") for s in statements
                  if "INSERT INTO recommendations.products (store_id, sku)" in s), None)
    ids = next((BIGINT_ARRAY.search(s).group(1).split(",") for s in statements
                if "INSERT INTO recommendations.order_lines" in s), None)
    if not names or not ids or len(names) != len(ids):
        return None
    offsets = {int(i) - int(SKU.match(n).group(1)) for n, i in zip(names, ids) if SKU.match(n)}
    if len(offsets) != 1:
        return None
    offset = offsets.pop()
    band = 900 // len(skus)
    header, sku_vars, id_vars = [], {}, {}
    for k, n in enumerate(skus):
        header.append("\\set s%d random(%d, %d)" % (k, 100 + k * band, 100 + (k + 1) * band - 1))
        header.append("\\set q%d :s%d + %d" % (k, k, offset))
        sku_vars[n] = "sku-00:s%d" % k
        id_vars[n + offset] = ":q%d" % k
    return header, sku_vars, id_vars


def vary_products(s, sku_vars, id_vars):
    s = SKU.sub(lambda m: sku_vars.get(int(m.group(1)), m.group(0)), s)
    # Product ids: the first bigint array of the order-line insert, the first two of the pairs'.
    arrays = 1 if "INSERT INTO recommendations.order_lines" in s else \
        2 if "INSERT INTO recommendations.pairs" in s else 0
    done = 0

    def ids(m):
        nonlocal done
        if done >= arrays:
            return m.group(0)
        done += 1
        return "'{%s}'::bigint[]" % ",".join(id_vars.get(int(v), v) for v in m.group(1).split(",") if v)
    return BIGINT_ARRAY.sub(ids, s) if arrays else s


LITERAL = re.compile(r"'(?:[^']|'')*'")
VARIABLE = re.compile(r":(run|client_id|n|cust|s\d|q\d)\b")


def quoted(text):
    """A literal for text; written with \\x3a for ':' when a ':' starts a word, because pgbench
    (-M prepared) would take ":word" for a variable even inside quotes."""
    if not re.search(r":\w", text):
        return "'" + text + "'"
    return "E'" + text.replace("\\", "\\\\").replace(":", "\\x3a") + "'"


def parameterize(s):
    """'a-:x-b' -> ('a-' || :x::text || '-b'): variables out of literals, for prepared statements."""
    def expression(m):
        text = m.group(0)[1:-1]
        if not VARIABLE.search(text):
            return quoted(text) if re.search(r":\w", text) else m.group(0)
        parts, at = [], 0
        for v in VARIABLE.finditer(text):
            if v.start() > at:
                parts.append(quoted(text[at:v.start()]))
            parts.append(v.group(0) + "::text")  # a prepared parameter needs its type
            at = v.end()
        if at < len(text):
            parts.append(quoted(text[at:]))
        return "(" + " || ".join(parts) + ")"
    return LITERAL.sub(expression, s)


def main():
    sessions = {}  # pid -> [statements], in order of first appearance
    pending = {}  # pid -> SQL of an execute waiting for its parameters
    for pid, app, level, msg in entries(sys.argv[1]):
        if app in SKIP_APPS:
            continue
        if level == "LOG" and msg.startswith("statement: "):
            sql = msg[len("statement: "):]
        elif level == "LOG" and msg.startswith("execute "):
            sql = msg.split(": ", 1)[1]
            pending[pid] = sql
            sessions.setdefault(pid, []).append(None)  # filled by its DETAIL, if any
            sessions[pid][-1] = sql
            continue
        elif level == "DETAIL" and msg.startswith("parameters: ") and pid in pending:
            sessions[pid][-1] = inline(pending.pop(pid), msg[len("parameters: "):])
            continue
        else:
            continue
        pending.pop(pid, None)
        sessions.setdefault(pid, []).append(sql)

    statements = []
    for pid, stmts in sessions.items():
        stmts = [s.strip() for s in stmts if s and s.strip() not in ("SELECT 1", "select 1")]
        if not stmts:
            continue
        statements.extend(stmts)
    if not statements:
        sys.exit("no statements captured")

    # The customer id: the value orders stores in orders.orders next to the order id.
    customers = set(sys.argv[2:3])  # the capture's customer id, from run.sh
    uuids = []
    for s in statements:
        for u in UUID.findall(s):
            if u not in uuids and u not in customers:
                uuids.append(u)
    # The event id of the order's event: the first UUID a statement on orders.outbox_delivery names.
    event = next((u for s in statements if "orders.outbox_delivery" in s
                  for u in UUID.findall(s)), None)

    bands = product_bands(statements)
    out = []
    key = "-:run-:client_id-:n"
    for s in statements:
        if event and re.search(r"INSERT INTO orders\.outbox \(store_id,", s):
            s = s.replace("INSERT INTO orders.outbox (store_id,", "INSERT INTO orders.outbox (event_id, store_id,", 1)
            s = re.sub(r"VALUES \(", "VALUES ('" + event + "'::uuid, ", s, count=1)
        # The recommendations' order key comes from a sequence (RETURNING): look it up instead.
        s = re.sub(r"(INSERT INTO recommendations\.order_lines \(store_id, order_key,[^)]*\) SELECT '[^']*', )'\d+'",
                   lambda m: m.group(1) + "(SELECT order_key FROM recommendations.orders WHERE "
                   "store_id = 'bench-store' AND order_id = 'bo" + key + "')", s)
        s = ORDER.sub("bo" + key, s)
        # The live relay (orders keeps running) must not deliver the replay's events: the replay's
        # deliveries are for subscribers of other names, with the same rows and indexes.
        # Each pgbench client has subscribers of its own, so that its claim (FOR UPDATE, up to a
        # batch) never locks another client's delivery rows, as the live relay never locks the
        # rows of a checkout still being placed.
        if "outbox_delivery" in s:
            s = s.replace("'{points,recommendations}'",
                          "'{replay_points_:client_id,replay_recommendations_:client_id}'")
            s = re.sub(r"subscriber = '(points|recommendations)'",
                       r"subscriber = 'replay_\1_:client_id'", s)
        for c in customers:
            s = s.replace("'" + c + "'", "('bc-' || :cust::text)")
        for k, u in enumerate(uuids):
            s = s.replace("'" + u + "'", "md5('u%d%s')::uuid" % (k, key))
        if bands:
            s = vary_products(s, bands[1], bands[2])
        out.append(parameterize(" ".join(s.split())) + ";")
    print("\\set n :n + 1")
    print("\\set cust random(1, 500)")
    if bands:
        print("\n".join(bands[0]))
    print("\n".join(out))
    print("%d statements from %d sessions, %d UUIDs and %d customer id made unique per run, %s"
          % (len(out), sum(1 for v in sessions.values() if v), len(uuids), len(customers),
             "%d products drawn per run" % len(bands[1]) if bands else "the captured products kept"),
          file=sys.stderr)


if __name__ == "__main__":
    main()
