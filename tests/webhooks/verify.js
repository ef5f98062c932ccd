// Verifies recorded webhook deliveries with the npm `standardwebhooks` package, as a receiver
// written by a store would. Usage: node verify.js <whsec_ secret> <deliveries.json>
// deliveries.json: [{"id": ..., "timestamp": ..., "signature": ..., "body": ...}, ...]
// Prints the number verified; exits 1 at the first delivery that does not verify.
"use strict";
const fs = require("fs");
const { Webhook } = require("standardwebhooks");

const [secret, file] = process.argv.slice(2);
const webhook = new Webhook(secret);  // accepts the whsec_ prefix
const deliveries = JSON.parse(fs.readFileSync(file, "utf8"));
let verified = 0;
for (const d of deliveries) {
  try {
    webhook.verify(d.body, {
      "webhook-id": d.id,
      "webhook-timestamp": d.timestamp,
      "webhook-signature": d.signature,
    });
    verified++;
  } catch (e) {
    console.error(`delivery ${d.id} does not verify: ${e.message}`);
    process.exit(1);
  }
}
console.log(verified);
