#include "ctl.hpp"

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>

#include <chrono>
#include <iomanip>
#include <iostream>
#include <random>
#include <sstream>
#include <stdexcept>

namespace loyalty::ctl {

std::string NewRequestId() {
  std::random_device rd;
  std::ostringstream out;
  out << "ctl-" << std::hex << rd() << rd();
  return out.str();
}

std::string ToJson(const google::protobuf::Message& m, bool compact) {
  std::string out;
  google::protobuf::util::JsonPrintOptions o;
  o.add_whitespace = !compact;
  o.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(m, &out, o);
  return out;
}

void PrintTable(const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size());
  for (size_t i = 0; i < header.size(); ++i) width[i] = header[i].size();
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size() && i < width.size(); ++i) width[i] = std::max(width[i], r[i].size());
  auto line = [&](const std::vector<std::string>& r) {
    for (size_t i = 0; i < r.size(); ++i) {
      std::cout << std::left << std::setw(static_cast<int>(width[i]) + 2) << r[i];
    }
    std::cout << "\n";
  };
  line(header);
  for (const auto& r : rows) line(r);
}

std::string Time(const google::protobuf::Timestamp& t) {
  if (t.seconds() == 0 && t.nanos() == 0) return "";
  return google::protobuf::util::TimeUtil::ToString(t);
}

void ParseTime(const std::string& text, const char* option, google::protobuf::Timestamp* out) {
  if (!google::protobuf::util::TimeUtil::FromString(text, out)) {
    throw std::runtime_error(std::string(option) + ": not an RFC 3339 time: " + text);
  }
}

void Check(const grpc::Status& status) {
  if (!status.ok()) {
    throw std::runtime_error("error " + std::to_string(static_cast<int>(status.error_code())) +
                             ": " + status.error_message());
  }
}

Client::Client(const Options& o)
    : o_(o),
      stub_(v1::AdminService::NewStub(
          grpc::CreateChannel(o.address, grpc::InsecureChannelCredentials()))) {}

std::unique_ptr<grpc::ClientContext> Client::Ctx() const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  if (!o_.token.empty()) ctx->AddMetadata("authorization", "Bearer " + o_.token);
  return ctx;
}

}  // namespace loyalty::ctl
