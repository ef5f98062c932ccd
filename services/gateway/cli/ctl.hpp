// What loyaltyctl's commands share: the global options, the AdminService client, and output.
#pragma once

#include <google/protobuf/message.h>
#include <google/protobuf/timestamp.pb.h>
#include <google/protobuf/util/time_util.h>
#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "loyalty/gateway/v1/gateway_service.grpc.pb.h"

namespace CLI {
class App;
}

namespace loyalty::ctl {

namespace v1 = loyalty::gateway::v1;

// The options every command takes (see loyaltyctl.cpp).
struct Options {
  std::string address;
  std::string token;
  std::string store;
  bool json = false;
};

// A fresh idempotency key, for commands run without --request-id.
std::string NewRequestId();
// A message as JSON with the proto field names: indented, or on one line (`compact`, for JSON
// lines that a script reads one by one).
std::string ToJson(const google::protobuf::Message& message, bool compact = false);
// Columns padded to their widest cell, under a header.
void PrintTable(const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows);
// RFC 3339, or "" for an unset time.
std::string Time(const google::protobuf::Timestamp& t);
// An option's RFC 3339 time into `out`; throws naming the option when it is not one.
void ParseTime(const std::string& text, const char* option, google::protobuf::Timestamp* out);
// Sets the request's as_of from an --as-of value (RFC 3339), and leaves it unset (now) when the
// value is empty; throws naming --as-of when it is not a time.
template <typename Request>
void SetAsOf(const std::string& text, Request& req) {
  if (!text.empty()) ParseTime(text, "--as-of", req.mutable_as_of());
}
// Throws with the code and message of a failed call (main prints it and exits 1).
void Check(const grpc::Status& status);

class Client {
 public:
  explicit Client(const Options& o);
  // A context with a 30 s deadline and the token.
  std::unique_ptr<grpc::ClientContext> Ctx() const;
  v1::AdminService::Stub& stub() { return *stub_; }

 private:
  const Options& o_;
  std::unique_ptr<v1::AdminService::Stub> stub_;
};

// Adds dead-letters, verify-ledger and run-job (operator_commands.cpp). Like every command's,
// their callbacks set `run`, which main calls with the client once the line is parsed.
void AddOperatorCommands(CLI::App& app, const Options& o, std::function<void(Client&)>& run);

// Reads a JSON or YAML file (by its extension) into a message.
using StructuredFileReader = std::function<void(const std::string&, google::protobuf::Message*)>;
// Adds tiers publish, list and set (tier_commands.cpp).
void AddTierCommands(CLI::App& app, const Options& o, std::function<void(Client&)>& run,
                     const StructuredFileReader& read);
// Adds rewards create, update and list (reward_commands.cpp).
void AddRewardCommands(CLI::App& app, const Options& o, std::function<void(Client&)>& run,
                       const StructuredFileReader& read);
// Adds codes create, list and show (code_commands.cpp).
void AddCodeCommands(CLI::App& app, const Options& o, std::function<void(Client&)>& run,
                     const StructuredFileReader& read);
// Adds versions list, get and diff (version_commands.cpp).
void AddVersionCommands(CLI::App& app, const Options& o, std::function<void(Client&)>& run);
// Adds campaigns put and run, segments put and members (campaign_commands.cpp).
void AddCampaignCommands(CLI::App& app, const Options& o, std::function<void(Client&)>& run,
                         const StructuredFileReader& read);

}  // namespace loyalty::ctl
