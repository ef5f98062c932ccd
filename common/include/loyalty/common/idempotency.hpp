// Idempotent mutating RPCs: the first successful answer to a request id is stored in the same
// transaction as the change, and a retry with the same id and the same request gets it back;
// the same id with a different request is refused (reason REQUEST_ID_REUSED).
//
//   db.Write(deadline, [&](auto& tx) {
//     if (idempotency.Begin(tx, store, "RegisterCustomer", id, *request, response)) return;
//     ... the change, filling *response ...
//     idempotency.Finish(tx, store, "RegisterCustomer", id, *response);
//   });
//
// Begin claims the id with an insert: a concurrent duplicate waits on that row until the first
// commits, then replays its answer. A failure rolls the claim back, so it is never stored.
#pragma once

#include <google/protobuf/message.h>
#include <pqxx/pqxx>

#include <string>

#include "loyalty/common/db.hpp"

namespace loyalty::common {

// Hex SHA-256 of the message's deterministic serialisation.
std::string DeterministicHash(const google::protobuf::Message& message);

class Idempotency {
 public:
  Idempotency(Database& db, std::string schema);

  // True when `request_id` was answered before: `response` then holds that answer.
  bool Begin(pqxx::transaction_base& tx, const std::string& store_id, const std::string& method,
             const std::string& request_id, const google::protobuf::Message& request,
             google::protobuf::Message* response) const;
  void Finish(pqxx::transaction_base& tx, const std::string& store_id, const std::string& method,
              const std::string& request_id, const google::protobuf::Message& response) const;

 private:
  std::string schema_;
};

}  // namespace loyalty::common
