// The customers schema: every statement this service runs, named and prepared in one place.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "loyalty/common/db.hpp"
#include "loyalty/customers/v1/customers_service.pb.h"

namespace loyalty::customers {

struct NewCustomer {
  std::string store_id;
  std::string email;  // normalised
  std::string name;
  std::optional<v1::Birthday> birthday;
  bool marketing_consent = false;
  std::vector<std::string> tags;
  std::string referral_code;
  std::string referred_by_code;  // empty: none
};

// Which customers ListCustomers returns; every filter is optional.
struct ListFilter {
  std::string tag;            // empty: any
  int32_t born_month = 0;     // a birthday: month and day (0: any)
  int32_t born_day = 0;
  std::optional<int64_t> signed_up_from_us;    // signed up at or after
  std::optional<int64_t> signed_up_before_us;  // signed up before
};

class CustomerStore {
 public:
  explicit CustomerStore(common::Database& db);

  // nullopt when the referral code is taken (the caller draws another). Throws
  // pqxx::unique_violation when the email is taken.
  std::optional<v1::Customer> Insert(pqxx::transaction_base& tx, const NewCustomer& c) const;
  std::optional<v1::Customer> FindById(pqxx::transaction_base& tx, const std::string& store_id,
                                       const std::string& customer_id, bool for_update = false) const;
  std::optional<v1::Customer> FindByEmail(pqxx::transaction_base& tx, const std::string& store_id,
                                          const std::string& email) const;
  std::optional<std::string> OwnerOfCode(pqxx::transaction_base& tx, const std::string& store_id,
                                         const std::string& code) const;
  // Writes every updatable field of `c` (the caller merged the mask).
  v1::Customer Update(pqxx::transaction_base& tx, const v1::Customer& c) const;
  v1::Customer Erase(pqxx::transaction_base& tx, const std::string& store_id,
                     const std::string& customer_id) const;
  // Customers with id > after_id (and the tag, and the birthday, if any), in id order.
  std::vector<v1::Customer> List(pqxx::transaction_base& tx, const std::string& store_id,
                                 const std::string& after_id, const ListFilter& filter,
                                 int limit) const;
  // Registered and not erased.
  int64_t Count(pqxx::transaction_base& tx, const std::string& store_id) const;
  // Those of `customer_ids` (ids contain no space) with marketing consent.
  std::set<std::string> Consenting(pqxx::transaction_base& tx, const std::string& store_id,
                                   const std::vector<std::string>& customer_ids) const;
};

}  // namespace loyalty::customers
