#include "code_store.hpp"

#include "loyalty/common/hex.hpp"

namespace loyalty::checkout {

namespace {

// The columns of a CodeState: the code, its uses, its batch's definition, the customer's uses.
constexpr const char* kStateQuery =
    "SELECT c.code, c.uses, b.definition, "
    "       (SELECT count(*) FROM checkout.code_claims k "
    "        WHERE k.store_id = c.store_id AND k.code = c.code AND k.customer_id = $3) "
    "FROM checkout.codes c JOIN checkout.code_batches b USING (store_id, batch_id) "
    "WHERE c.store_id = $1 AND c.code = $2";

std::optional<CodeState> StateOf(const pqxx::result& r) {
  if (r.empty()) return std::nullopt;
  CodeState code;
  code.code = r[0][0].as<std::string>();
  code.uses = r[0][1].as<int64_t>();
  const pqxx::binarystring definition(r[0][2]);
  code.definition.ParseFromString(definition.str());
  code.customer_uses = r[0][3].as<int64_t>();
  return code;
}

gateway::v1::DiscountCode CodeOf(const pqxx::row& row) {
  gateway::v1::DiscountCode code;
  code.set_code(row[0].as<std::string>());
  code.set_uses(row[1].as<int64_t>());
  code.set_batch_id(row[2].as<std::string>());
  const pqxx::binarystring definition(row[3]);
  code.mutable_definition()->ParseFromString(definition.str());
  return code;
}

constexpr const char* kCodeColumns =
    "SELECT c.code, c.uses, c.batch_id, b.definition "
    "FROM checkout.codes c JOIN checkout.code_batches b USING (store_id, batch_id) ";

}  // namespace

CodeStore::CodeStore(common::Database& db) {
  db.Prepare("code_find", kStateQuery);
  // The customer's uses are counted by a second statement once the lock is held: a statement's
  // subqueries keep the snapshot it started with, which may predate the claim it waited for.
  db.Prepare("code_lock",
             "SELECT c.code, c.uses, b.definition, 0 "
             "FROM checkout.codes c JOIN checkout.code_batches b USING (store_id, batch_id) "
             "WHERE c.store_id = $1 AND c.code = $2 FOR UPDATE OF c");
  db.Prepare("code_customer_uses",
             "SELECT count(*) FROM checkout.code_claims "
             "WHERE store_id = $1 AND code = $2 AND customer_id = $3");
  db.Prepare("code_claim_of",
             "SELECT code FROM checkout.code_claims WHERE store_id = $1 AND order_id = $2");
  // The CHECK on uses refuses a claim past max_uses even if a caller skipped the rules.
  db.Prepare("code_claim",
             "WITH used AS (UPDATE checkout.codes SET uses = uses + 1 "
             "              WHERE store_id = $1 AND code = $3) "
             "INSERT INTO checkout.code_claims (store_id, order_id, code, customer_id, state) "
             "VALUES ($1, $2, $3, $4, 'held')");
  db.Prepare("code_stale_claims",
             "SELECT store_id, order_id FROM checkout.code_claims "
             "WHERE state = 'held' AND created_at < to_timestamp($2::bigint / 1000000.0) "
             "AND ($1 = '' OR store_id = $1) ORDER BY created_at LIMIT $3");
  db.Prepare("code_keep_claim",
             "UPDATE checkout.code_claims SET state = 'used' "
             "WHERE store_id = $1 AND order_id = $2 AND state = 'held'");
  db.Prepare("code_batch_definition",
             "SELECT definition FROM checkout.code_batches WHERE store_id = $1 AND batch_id = $2");
  db.Prepare("code_insert_batch",
             "INSERT INTO checkout.code_batches "
             "(store_id, batch_id, definition, count, author, reason) "
             "VALUES ($1, $2, $3, $4, $5, $6)");
  // The codes travel as one space-separated parameter (they have no spaces): one statement
  // for a whole batch, no SQL built from them. A plain INSERT: ON CONFLICT's speculative
  // insertion costs a third more per row, for a collision that almost never happens.
  db.Prepare("code_insert_codes",
             "INSERT INTO checkout.codes (store_id, code, batch_id, max_uses) "
             "SELECT $1, code, $2, $3 FROM unnest(string_to_array($4, ' ')) AS code");
  // Many one-code batches (campaign sends) in two statements, the definitions as hex.
  db.Prepare("code_insert_batches",
             "INSERT INTO checkout.code_batches "
             "(store_id, batch_id, definition, count, author, reason) "
             "SELECT $1, b, decode(d, 'hex'), 1, $4, $5 "
             "FROM unnest(string_to_array($2, ' '), string_to_array($3, ' ')) AS t(b, d)");
  db.Prepare("code_insert_each",
             "INSERT INTO checkout.codes (store_id, code, batch_id, max_uses) "
             "SELECT $1, c, b, 1 FROM unnest(string_to_array($2, ' '), string_to_array($3, ' ')) "
             "AS t(c, b)");
  db.Prepare("code_list_batch", std::string(kCodeColumns) +
                                    "WHERE c.store_id = $1 AND c.batch_id = $2 AND c.code > $3 "
                                    "ORDER BY c.code LIMIT $4");
  db.Prepare("code_get", std::string(kCodeColumns) + "WHERE c.store_id = $1 AND c.code = $2");
}

std::optional<CodeState> CodeStore::Find(pqxx::transaction_base& tx, const std::string& store_id,
                                         const std::string& code,
                                         const std::string& customer_id) const {
  return StateOf(tx.exec_prepared("code_find", store_id, code, customer_id));
}

std::optional<CodeState> CodeStore::Lock(pqxx::transaction_base& tx, const std::string& store_id,
                                         const std::string& code,
                                         const std::string& customer_id) const {
  auto state = StateOf(tx.exec_prepared("code_lock", store_id, code));
  if (state) {
    state->customer_uses =
        tx.exec_prepared1("code_customer_uses", store_id, code, customer_id)[0].as<int64_t>();
  }
  return state;
}

std::optional<std::string> CodeStore::ClaimOf(pqxx::transaction_base& tx,
                                              const std::string& store_id,
                                              const std::string& order_id) const {
  const auto r = tx.exec_prepared("code_claim_of", store_id, order_id);
  if (r.empty()) return std::nullopt;
  return r[0][0].as<std::string>();
}

void CodeStore::Claim(pqxx::transaction_base& tx, const std::string& store_id,
                      const std::string& order_id, const std::string& code,
                      const std::string& customer_id) const {
  tx.exec_prepared("code_claim", store_id, order_id, code, customer_id);
}

std::vector<CodeStore::ClaimKey> CodeStore::StaleClaims(pqxx::transaction_base& tx,
                                                        const std::string& store_id,
                                                        int64_t before_us, int limit) const {
  std::vector<ClaimKey> keys;
  for (const auto& row : tx.exec_prepared("code_stale_claims", store_id, before_us, limit)) {
    keys.push_back({row[0].as<std::string>(), row[1].as<std::string>()});
  }
  return keys;
}

void CodeStore::KeepClaim(pqxx::transaction_base& tx, const std::string& store_id,
                          const std::string& order_id) const {
  tx.exec_prepared("code_keep_claim", store_id, order_id);
}

std::optional<gateway::v1::CodeDefinition> CodeStore::BatchDefinition(
    pqxx::transaction_base& tx, const std::string& store_id, const std::string& batch_id) const {
  const auto r = tx.exec_prepared("code_batch_definition", store_id, batch_id);
  if (r.empty()) return std::nullopt;
  gateway::v1::CodeDefinition definition;
  definition.ParseFromString(pqxx::binarystring(r[0][0]).str());
  return definition;
}

void CodeStore::InsertBatch(pqxx::transaction_base& tx, const std::string& store_id,
                            const std::string& batch_id,
                            const gateway::v1::CodeDefinition& definition, int count,
                            const std::string& author, const std::string& reason) const {
  const std::string bytes = definition.SerializeAsString();
  tx.exec_prepared("code_insert_batch", store_id, batch_id,
                   pqxx::binarystring(bytes), count, author, reason);
}

bool CodeStore::InsertCodes(pqxx::transaction_base& tx, const std::string& store_id,
                            const std::string& batch_id, int64_t max_uses,
                            const std::vector<std::string>& codes) const {
  // In a savepoint, so that a code the store already has fails only this statement.
  pqxx::subtransaction insert(dynamic_cast<pqxx::dbtransaction&>(tx), "insert_codes");
  try {
    insert.exec_prepared("code_insert_codes", store_id, batch_id, max_uses,
                         common::SpaceSeparated(codes));
    insert.commit();
    return true;
  } catch (const pqxx::unique_violation&) {
    insert.abort();
    return false;
  }
}

bool CodeStore::InsertPersonalCodes(pqxx::transaction_base& tx, const std::string& store_id,
                                    const std::vector<PersonalCode>& codes,
                                    const std::string& author, const std::string& reason) const {
  std::vector<std::string> batches, definitions, texts;
  for (const auto& c : codes) {
    batches.push_back(c.batch_id);
    definitions.push_back(common::HexEncode(c.definition.SerializeAsString()));
    texts.push_back(c.code);
  }
  const std::string batch_list = common::SpaceSeparated(batches);
  pqxx::subtransaction insert(dynamic_cast<pqxx::dbtransaction&>(tx), "insert_personal_codes");
  try {
    insert.exec_prepared("code_insert_batches", store_id, batch_list,
                         common::SpaceSeparated(definitions), author, reason);
    insert.exec_prepared("code_insert_each", store_id, common::SpaceSeparated(texts), batch_list);
    insert.commit();
    return true;
  } catch (const pqxx::unique_violation&) {
    insert.abort();
    return false;
  }
}

std::vector<gateway::v1::DiscountCode> CodeStore::ListBatch(pqxx::transaction_base& tx,
                                                            const std::string& store_id,
                                                            const std::string& batch_id,
                                                            const std::string& after_code,
                                                            int limit) const {
  std::vector<gateway::v1::DiscountCode> codes;
  for (const auto& row :
       tx.exec_prepared("code_list_batch", store_id, batch_id, after_code, limit)) {
    codes.push_back(CodeOf(row));
  }
  return codes;
}

std::optional<gateway::v1::DiscountCode> CodeStore::Get(pqxx::transaction_base& tx,
                                                        const std::string& store_id,
                                                        const std::string& code) const {
  const auto r = tx.exec_prepared("code_get", store_id, code);
  if (r.empty()) return std::nullopt;
  return CodeOf(r[0]);
}

}  // namespace loyalty::checkout
