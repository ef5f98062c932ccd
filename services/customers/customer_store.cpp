#include "customer_store.hpp"

#include <google/protobuf/util/time_util.h>

#include "loyalty/common/sql_time.hpp"

namespace loyalty::customers {
namespace {

// Every query returns these columns, in this order, for ToCustomer.
constexpr const char* kColumns =
    "store_id, customer_id, coalesce(email, ''), coalesce(name, ''), birthday_month, birthday_day, "
    "birthday_year, (extract(epoch FROM signed_up_at) * 1000000)::bigint, marketing_consent, tags, "
    "referral_code, coalesce(referred_by_code, ''), erased_at IS NOT NULL";

std::string Sql(const std::string& before, const std::string& after = "") {
  return before + " RETURNING " + kColumns + after;
}

v1::Customer ToCustomer(const pqxx::row& r) {
  v1::Customer c;
  c.set_store_id(r[0].as<std::string>());
  c.set_customer_id(r[1].as<std::string>());
  c.set_email(r[2].as<std::string>());
  c.set_name(r[3].as<std::string>());
  if (!r[4].is_null()) {
    c.mutable_birthday()->set_month(r[4].as<int>());
    c.mutable_birthday()->set_day(r[5].as<int>());
    c.mutable_birthday()->set_year(r[6].is_null() ? 0 : r[6].as<int>());
  }
  *c.mutable_signed_up_at() =
      google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(r[7].as<int64_t>());
  c.set_marketing_consent(r[8].as<bool>());
  for (auto& tag : common::ParsePgTextArray(r[9])) c.add_tags(tag);
  c.set_referral_code(r[10].as<std::string>());
  c.set_referred_by_code(r[11].as<std::string>());
  c.set_erased(r[12].as<bool>());
  return c;
}

std::optional<v1::Customer> First(const pqxx::result& rows) {
  if (rows.empty()) return std::nullopt;
  return ToCustomer(rows[0]);
}

std::optional<int> Opt(int value, bool present) { return present ? std::optional(value) : std::nullopt; }

}  // namespace

CustomerStore::CustomerStore(common::Database& db) {
  const std::string select = std::string("SELECT ") + kColumns + " FROM customers.customers ";
  db.Prepare("customers_insert",
             Sql("INSERT INTO customers.customers (store_id, customer_id, email, name, "
                 "birthday_month, birthday_day, birthday_year, marketing_consent, tags, "
                 "referral_code, referred_by_code, signed_up_at) "
                 "VALUES ($1, gen_random_uuid()::text, $2, $3, $4, $5, $6, $7, $8::text[], $9, "
                 "nullif($10, ''), now()) ON CONFLICT (store_id, referral_code) DO NOTHING"));
  db.Prepare("customers_by_id", select + "WHERE store_id = $1 AND customer_id = $2");
  db.Prepare("customers_by_id_for_update",
             select + "WHERE store_id = $1 AND customer_id = $2 FOR UPDATE");
  db.Prepare("customers_by_email", select + "WHERE store_id = $1 AND email = $2");
  db.Prepare("customers_code_owner",
             "SELECT customer_id FROM customers.customers WHERE store_id = $1 AND referral_code = $2");
  db.Prepare("customers_update",
             Sql("UPDATE customers.customers SET email = $3, name = $4, birthday_month = $5, "
                 "birthday_day = $6, birthday_year = $7, marketing_consent = $8, tags = $9::text[] "
                 "WHERE store_id = $1 AND customer_id = $2"));
  db.Prepare("customers_erase",
             Sql("UPDATE customers.customers SET email = NULL, name = NULL, birthday_month = NULL, "
                 "birthday_day = NULL, birthday_year = NULL, marketing_consent = false, tags = '{}', "
                 "erased_at = coalesce(erased_at, now()) WHERE store_id = $1 AND customer_id = $2"));
  db.Prepare("customers_list",
             select + "WHERE store_id = $1 AND customer_id > $2 AND ($3 = '' OR tags @> ARRAY[$3]) "
                      "AND ($5 = 0 OR (birthday_month = $5 AND birthday_day = $6)) "
                      "AND ($7::bigint IS NULL OR signed_up_at >= " FROM_MICROS("$7") ") "
                      "AND ($8::bigint IS NULL OR signed_up_at < " FROM_MICROS("$8") ") "
                      "ORDER BY customer_id LIMIT $4");
  // The ids travel as one space-separated parameter (an id has no space): one statement.
  db.Prepare("customers_consenting",
             "SELECT customer_id FROM customers.customers WHERE store_id = $1 "
             "AND customer_id = ANY(string_to_array($2, ' ')) AND marketing_consent "
             "AND erased_at IS NULL");
  db.Prepare("customers_count",
             "SELECT count(*) FROM customers.customers WHERE store_id = $1 AND erased_at IS NULL");
}

std::set<std::string> CustomerStore::Consenting(pqxx::transaction_base& tx,
                                                const std::string& store_id,
                                                const std::vector<std::string>& customer_ids) const {
  std::string joined;
  for (const auto& id : customer_ids) joined += (joined.empty() ? "" : " ") + id;
  std::set<std::string> consenting;
  for (const auto& row : tx.exec_prepared("customers_consenting", store_id, joined)) {
    consenting.insert(row[0].as<std::string>());
  }
  return consenting;
}

int64_t CustomerStore::Count(pqxx::transaction_base& tx, const std::string& store_id) const {
  return tx.exec_prepared1("customers_count", store_id)[0].as<int64_t>();
}

std::optional<v1::Customer> CustomerStore::Insert(pqxx::transaction_base& tx,
                                                  const NewCustomer& c) const {
  const bool has = c.birthday.has_value();
  return First(tx.exec_prepared(
      "customers_insert", c.store_id, c.email, c.name, Opt(has ? c.birthday->month() : 0, has),
      Opt(has ? c.birthday->day() : 0, has),
      Opt(has ? c.birthday->year() : 0, has && c.birthday->year() != 0), c.marketing_consent,
      common::PgTextArray(c.tags), c.referral_code, c.referred_by_code));
}

std::optional<v1::Customer> CustomerStore::FindById(pqxx::transaction_base& tx,
                                                    const std::string& store_id,
                                                    const std::string& customer_id,
                                                    bool for_update) const {
  return First(tx.exec_prepared(for_update ? "customers_by_id_for_update" : "customers_by_id",
                                store_id, customer_id));
}

std::optional<v1::Customer> CustomerStore::FindByEmail(pqxx::transaction_base& tx,
                                                       const std::string& store_id,
                                                       const std::string& email) const {
  return First(tx.exec_prepared("customers_by_email", store_id, email));
}

std::optional<std::string> CustomerStore::OwnerOfCode(pqxx::transaction_base& tx,
                                                      const std::string& store_id,
                                                      const std::string& code) const {
  auto rows = tx.exec_prepared("customers_code_owner", store_id, code);
  if (rows.empty()) return std::nullopt;
  return rows[0][0].as<std::string>();
}

v1::Customer CustomerStore::Update(pqxx::transaction_base& tx, const v1::Customer& c) const {
  const bool has = c.has_birthday();
  return ToCustomer(tx.exec_prepared1(
      "customers_update", c.store_id(), c.customer_id(), c.email(), c.name(),
      Opt(c.birthday().month(), has), Opt(c.birthday().day(), has),
      Opt(c.birthday().year(), has && c.birthday().year() != 0), c.marketing_consent(),
      common::PgTextArray({c.tags().begin(), c.tags().end()})));
}

v1::Customer CustomerStore::Erase(pqxx::transaction_base& tx, const std::string& store_id,
                                  const std::string& customer_id) const {
  return ToCustomer(tx.exec_prepared1("customers_erase", store_id, customer_id));
}

std::vector<v1::Customer> CustomerStore::List(pqxx::transaction_base& tx,
                                              const std::string& store_id,
                                              const std::string& after_id,
                                              const ListFilter& filter, int limit) const {
  std::vector<v1::Customer> out;
  for (const auto& row :
       tx.exec_prepared("customers_list", store_id, after_id, filter.tag, limit,
                        filter.born_month, filter.born_day, filter.signed_up_from_us,
                        filter.signed_up_before_us)) {
    out.push_back(ToCustomer(row));
  }
  return out;
}

}  // namespace loyalty::customers
