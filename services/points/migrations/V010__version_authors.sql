-- Who wrote each settings and earn-rules version and why (docs/dry-run.md, "Versions"), as tier,
-- reward and campaign versions already keep. Versions written before this are by nobody.
ALTER TABLE settings ADD COLUMN author text NOT NULL DEFAULT '',
                     ADD COLUMN reason text NOT NULL DEFAULT '';
ALTER TABLE rule_versions ADD COLUMN author text NOT NULL DEFAULT '',
                          ADD COLUMN reason text NOT NULL DEFAULT '';
