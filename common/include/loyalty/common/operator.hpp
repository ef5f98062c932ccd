// loyalty.ops.v1.OperatorService: what an operator does about a publishing service's dead
// letters (list, retry, discard) without SQL. Served over the schema's own tables by every
// service that relays an outbox (see publisher.hpp); people reach it through the gateway.
#pragma once

#include <string>

#include "loyalty/common/idempotency.hpp"
#include "loyalty/common/server.hpp"
#include "loyalty/ops/v1/operator_service.grpc.pb.h"

namespace loyalty::common {

class OperatorService final : public loyalty::ops::v1::OperatorService::CallbackService {
 public:
  OperatorService(ServiceHost& host, std::string schema);

  grpc::ServerUnaryReactor* ListDeadLetters(
      grpc::CallbackServerContext* context, const loyalty::ops::v1::ListDeadLettersRequest* request,
      loyalty::ops::v1::ListDeadLettersResponse* response) override;
  grpc::ServerUnaryReactor* RetryDeadLetter(
      grpc::CallbackServerContext* context, const loyalty::ops::v1::RetryDeadLetterRequest* request,
      loyalty::ops::v1::RetryDeadLetterResponse* response) override;
  grpc::ServerUnaryReactor* DiscardDeadLetter(
      grpc::CallbackServerContext* context,
      const loyalty::ops::v1::DiscardDeadLetterRequest* request,
      loyalty::ops::v1::DiscardDeadLetterResponse* response) override;

 private:
  // A decision ("retried" or "discarded") about one letter, in one transaction: validates,
  // claims the request id, locks the letter (NOT_FOUND without one), records the decision unless
  // it was made before (the other decision: FAILED_PRECONDITION), and answers the letter as it
  // is afterwards.
  template <class Request, class Response>
  grpc::ServerUnaryReactor* Decide(grpc::CallbackServerContext* context, const char* method,
                                   const Request* request, Response* response,
                                   const std::string& decision, bool reason_required);

  ServiceHost& host_;
  std::string schema_;
  Idempotency idempotency_;
};

}  // namespace loyalty::common
