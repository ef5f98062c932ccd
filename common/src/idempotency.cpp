#include "loyalty/common/idempotency.hpp"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "loyalty/common/errors.hpp"
#include "loyalty/common/migrations.hpp"

namespace loyalty::common {

std::string DeterministicHash(const google::protobuf::Message& message) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream out(&bytes);
    google::protobuf::io::CodedOutputStream coded(&out);
    coded.SetSerializationDeterministic(true);
    message.SerializeToCodedStream(&coded);
  }
  return Checksum(bytes);
}

Idempotency::Idempotency(Database& db, std::string schema) : schema_(std::move(schema)) {
  const std::string& s = schema_;
  db.Prepare("idempotency_claim:" + s,
             "INSERT INTO " + s + ".idempotency (store_id, method, request_id, request_hash) "
             "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING");
  db.Prepare("idempotency_read:" + s,
             "SELECT request_hash, response FROM " + s + ".idempotency "
             "WHERE store_id = $1 AND method = $2 AND request_id = $3");
  db.Prepare("idempotency_finish:" + s,
             "UPDATE " + s + ".idempotency SET response = $4 "
             "WHERE store_id = $1 AND method = $2 AND request_id = $3");
}

bool Idempotency::Begin(pqxx::transaction_base& tx, const std::string& store_id,
                        const std::string& method, const std::string& request_id,
                        const google::protobuf::Message& request,
                        google::protobuf::Message* response) const {
  const std::string hash = DeterministicHash(request);
  // Blocks while another transaction holds an uncommitted claim on the same id.
  const auto claimed =
      tx.exec_prepared("idempotency_claim:" + schema_, store_id, method, request_id, hash);
  if (claimed.affected_rows() == 1) return false;
  const auto row =
      tx.exec_prepared1("idempotency_read:" + schema_, store_id, method, request_id);
  if (row[0].as<std::string>() != hash) {
    throw ApiError(grpc::StatusCode::ALREADY_EXISTS, "REQUEST_ID_REUSED",
                   "request_id was already used for a different request",
                   {{"request_id", "was already used for a different request"}});
  }
  if (row[1].is_null()) {
    throw ApiError(grpc::StatusCode::ABORTED, "REQUEST_IN_PROGRESS",
                   "the first request with this request_id has not finished; retry");
  }
  response->ParseFromString(pqxx::binarystring(row[1]).str());
  return true;
}

void Idempotency::Finish(pqxx::transaction_base& tx, const std::string& store_id,
                         const std::string& method, const std::string& request_id,
                         const google::protobuf::Message& response) const {
  tx.exec_prepared("idempotency_finish:" + schema_, store_id, method, request_id,
                   pqxx::binarystring(response.SerializeAsString()));
}

}  // namespace loyalty::common
