// Every SQL statement of discount codes (docs/codes.md): batches, codes and the checkouts'
// claims. A claim is keyed by its checkout's order id; the checkouts table's statements
// (checkout_store.hpp) mark it used or give it back with the checkout's own state change.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "code_rules.hpp"
#include "loyalty/common/db.hpp"

namespace loyalty::checkout {

class CodeStore {
 public:
  explicit CodeStore(common::Database& db);

  // A code with its uses, and `customer_id`'s (for a quote: no lock).
  std::optional<CodeState> Find(pqxx::transaction_base& tx, const std::string& store_id,
                                const std::string& code, const std::string& customer_id) const;
  // The same under the code row's lock, until the transaction ends (a claim decides on it).
  std::optional<CodeState> Lock(pqxx::transaction_base& tx, const std::string& store_id,
                                const std::string& code, const std::string& customer_id) const;
  // The code an order id's checkout claimed, if any.
  std::optional<std::string> ClaimOf(pqxx::transaction_base& tx, const std::string& store_id,
                                     const std::string& order_id) const;
  // Takes one use of a locked code for an order id's checkout.
  void Claim(pqxx::transaction_base& tx, const std::string& store_id, const std::string& order_id,
             const std::string& code, const std::string& customer_id) const;

  // Held claims made before `before_us`, oldest first, of one store (or every store for "").
  struct ClaimKey {
    std::string store_id;
    std::string order_id;
  };
  std::vector<ClaimKey> StaleClaims(pqxx::transaction_base& tx, const std::string& store_id,
                                    int64_t before_us, int limit) const;
  // The order exists: its claim is used for good.
  void KeepClaim(pqxx::transaction_base& tx, const std::string& store_id,
                 const std::string& order_id) const;

  // A batch's definition; nullopt when the store has no such batch.
  std::optional<gateway::v1::CodeDefinition> BatchDefinition(pqxx::transaction_base& tx,
                                                             const std::string& store_id,
                                                             const std::string& batch_id) const;
  void InsertBatch(pqxx::transaction_base& tx, const std::string& store_id,
                   const std::string& batch_id, const gateway::v1::CodeDefinition& definition,
                   int count, const std::string& author, const std::string& reason) const;
  // Inserts `codes` (distinct); false, inserting none, when the store has one of them already.
  bool InsertCodes(pqxx::transaction_base& tx, const std::string& store_id,
                  const std::string& batch_id, int64_t max_uses,
                  const std::vector<std::string>& codes) const;
  // One single-use code in a batch of its own, bound to a customer (a campaign's send).
  struct PersonalCode {
    std::string batch_id;
    gateway::v1::CodeDefinition definition;
    std::string code;
  };
  // The batches and their codes in two statements; false, inserting none, when the store has
  // one of the codes already.
  bool InsertPersonalCodes(pqxx::transaction_base& tx, const std::string& store_id,
                           const std::vector<PersonalCode>& codes, const std::string& author,
                           const std::string& reason) const;
  // A batch's codes after `after_code`, in code order; or the one code `code`.
  std::vector<gateway::v1::DiscountCode> ListBatch(pqxx::transaction_base& tx,
                                                   const std::string& store_id,
                                                   const std::string& batch_id,
                                                   const std::string& after_code,
                                                   int limit) const;
  std::optional<gateway::v1::DiscountCode> Get(pqxx::transaction_base& tx,
                                               const std::string& store_id,
                                               const std::string& code) const;
};

}  // namespace loyalty::checkout
