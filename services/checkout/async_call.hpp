// One downstream unary call started on gRPC's callback API and awaited later, so that a handler
// overlaps independent calls without starting a thread per call.
#pragma once

#include <grpcpp/grpcpp.h>

#include <future>
#include <memory>

#include "loyalty/common/server.hpp"

namespace loyalty::checkout {

template <class Request, class Response>
class AsyncCall {
 public:
  // `start(context, request, response, on_done)` issues the call, e.g.
  // [&](auto... a) { stub.async()->GetBalance(a...); }.
  template <class Start>
  static std::shared_ptr<AsyncCall> Begin(std::unique_ptr<grpc::ClientContext> context,
                                          Request request, Start&& start) {
    auto call = std::shared_ptr<AsyncCall>(new AsyncCall(std::move(context), std::move(request)));
    // The callback keeps the call alive until gRPC is done with it, even if the caller is not.
    start(call->context_.get(), &call->request_, &call->response_,
          [call](grpc::Status status) { call->done_.set_value(std::move(status)); });
    return call;
  }

  // Waits for the answer (the context's deadline bounds the wait).
  grpc::Status Wait() { return result_.get(); }
  const Response& response() const { return response_; }

 private:
  AsyncCall(std::unique_ptr<grpc::ClientContext> context, Request request)
      : context_(std::move(context)), request_(std::move(request)), result_(done_.get_future()) {}

  std::unique_ptr<grpc::ClientContext> context_;
  Request request_;
  Response response_;
  std::promise<grpc::Status> done_;
  std::future<grpc::Status> result_;
};

}  // namespace loyalty::checkout
