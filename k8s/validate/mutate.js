#!/usr/bin/env node
// Test helper for ../validate-selftest.sh: edits one YAML document in place.
//   node mutate.js FILE SELECTOR 'JS body using o (the document) and c (its first container)'
// SELECTOR is Kind/name, or "-" for the first document (a kustomization.yaml).
// Comments are lost and YAML anchors are expanded: fine for a throw-away copy.
'use strict';
const fs = require('fs');
const YAML = require('yaml');

const [file, selector, body] = process.argv.slice(2);
const docs = YAML.parseAllDocuments(fs.readFileSync(file, 'utf8'))
  .map((d) => JSON.parse(JSON.stringify(d.toJS())))
  .filter((o) => o !== null);
const target = selector === '-' ? docs[0]
  : docs.find((o) => `${o.kind}/${o.metadata?.name}` === selector);
if (!target) throw new Error(`${file}: no document ${selector}`);
const c = target.spec?.template?.spec?.containers?.[0];
new Function('o', 'c', body)(target, c);
fs.writeFileSync(file, docs.map((o) => YAML.stringify(o)).join('---\n'));
