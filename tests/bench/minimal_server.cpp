// loyalty-bench-minimal: what this machine can do without our framework, the baseline that our
// per-call costs are held against (issue 13). A plain gRPC callback server: no ServiceHost, no
// worker pool, no per-call log or metrics, no statement timeout.
//   LOYALTY_BENCH_MODE=leaf   one prepared primary-key SELECT through libpqxx `nontransaction` on a
//                             small pool (LOYALTY_BENCH_POOL connections), run on gRPC's thread
//   LOYALTY_BENCH_MODE=front  LOYALTY_BENCH_FANOUT async Echo calls to the leaves in
//                             LOYALTY_BENCH_DOWNSTREAM; the last answer finishes the call, so no
//                             thread waits for the others
// Also: LOYALTY_GRPC_PORT, LOYALTY_DATABASE_URL. Reads bench_echo.items (the framework echo's
// migration makes it). Stops on SIGTERM.
#include <grpcpp/grpcpp.h>
#include <pqxx/pqxx>
#include <signal.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "loyalty/bench/v1/echo.grpc.pb.h"

namespace {

namespace bv1 = loyalty::bench::v1;

std::string Env(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

// Connections handed out one call at a time.
class Pool {
 public:
  Pool(const std::string& url, int size) {
    for (int i = 0; i < size; ++i) {
      auto conn = std::make_unique<pqxx::connection>(url);
      conn->prepare("item", "SELECT value FROM bench_echo.items WHERE store_id = $1 AND item_id = $2");
      idle_.push_back(std::move(conn));
    }
  }
  std::unique_ptr<pqxx::connection> Take() {
    std::unique_lock lock(mutex_);
    available_.wait(lock, [&] { return !idle_.empty(); });
    auto conn = std::move(idle_.back());
    idle_.pop_back();
    return conn;
  }
  void Give(std::unique_ptr<pqxx::connection> conn) {
    {
      std::lock_guard lock(mutex_);
      idle_.push_back(std::move(conn));
    }
    available_.notify_one();
  }

 private:
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_;
};

class MinimalEcho final : public bv1::EchoService::CallbackService {
 public:
  MinimalEcho(std::unique_ptr<Pool> pool, std::vector<std::string> downstream, int fanout)
      : pool_(std::move(pool)), fanout_(fanout) {
    for (const auto& address : downstream) {
      stubs_.push_back(bv1::EchoService::NewStub(
          grpc::CreateChannel(address, grpc::InsecureChannelCredentials())));
    }
  }

  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context,
                                 const bv1::EchoRequest* request,
                                 bv1::EchoResponse* response) override {
    auto* reactor = context->DefaultReactor();
    response->set_payload(request->payload());
    if (pool_) {
      Leaf(*request, response, reactor);
    } else {
      Front(*context, *request, response, reactor);
    }
    return reactor;
  }

 private:
  void Leaf(const bv1::EchoRequest& request, bv1::EchoResponse* response,
            grpc::ServerUnaryReactor* reactor) {
    auto conn = pool_->Take();
    grpc::Status status;
    try {
      pqxx::nontransaction tx(*conn);
      const int64_t key = request.key() > 0 ? request.key() : 1;
      response->set_value(tx.exec_prepared1("item", request.store_id(), key)[0].as<int64_t>());
    } catch (const std::exception&) {
      status = grpc::Status(grpc::StatusCode::UNAVAILABLE, "database");
    }
    pool_->Give(std::move(conn));
    reactor->Finish(status);
  }

  // The call's state lives until the last leg answers; that leg finishes the call.
  struct FanoutCall {
    struct Leg {
      grpc::ClientContext context;
      bv1::EchoRequest request;
      bv1::EchoResponse response;
    };
    explicit FanoutCall(size_t n) : legs(n), left(static_cast<int>(n)) {}
    std::vector<Leg> legs;
    std::atomic<int> left;
    std::atomic<bool> failed{false};
    bv1::EchoResponse* response = nullptr;
    grpc::ServerUnaryReactor* reactor = nullptr;
  };

  void Front(const grpc::CallbackServerContext& context, const bv1::EchoRequest& request,
             bv1::EchoResponse* response, grpc::ServerUnaryReactor* reactor) {
    const auto n = static_cast<size_t>(fanout_);
    auto call = std::make_shared<FanoutCall>(n);
    call->response = response;
    call->reactor = reactor;
    for (size_t i = 0; i < n; ++i) {
      auto& leg = call->legs[i];
      leg.context.set_deadline(context.deadline());
      leg.request.set_store_id(request.store_id());
      leg.request.set_key((request.key() + static_cast<int64_t>(i) * 7919) % 10000 + 1);
      auto& stub = *stubs_[(next_++ + i) % stubs_.size()];
      stub.async()->Echo(&leg.context, &leg.request, &leg.response,
                         [call](grpc::Status status) {
                           if (!status.ok()) call->failed = true;
                           if (call->left.fetch_sub(1) != 1) return;
                           int64_t sum = 0;
                           for (const auto& l : call->legs) sum += l.response.value();
                           call->response->set_value(sum);
                           call->reactor->Finish(call->failed
                                                     ? grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                                                    "a leaf failed")
                                                     : grpc::Status::OK);
                         });
    }
  }

  std::unique_ptr<Pool> pool_;  // leaf only
  int fanout_;
  std::vector<std::unique_ptr<bv1::EchoService::Stub>> stubs_;  // front only
  std::atomic<size_t> next_{0};
};

}  // namespace

int main() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  const std::string mode = Env("LOYALTY_BENCH_MODE", "leaf");
  const std::string port = Env("LOYALTY_GRPC_PORT", "50161");
  std::unique_ptr<Pool> pool;
  std::vector<std::string> downstream;
  try {
    if (mode == "leaf") {
      pool = std::make_unique<Pool>(Env("LOYALTY_DATABASE_URL", ""),
                                    std::stoi(Env("LOYALTY_BENCH_POOL", "4")));
    } else if (mode == "front") {
      std::stringstream list(Env("LOYALTY_BENCH_DOWNSTREAM", ""));
      for (std::string item; std::getline(list, item, ',');) {
        if (!item.empty()) downstream.push_back(item);
      }
      if (downstream.empty()) throw std::invalid_argument("LOYALTY_BENCH_DOWNSTREAM is empty");
    } else {
      throw std::invalid_argument("LOYALTY_BENCH_MODE must be leaf or front");
    }
  } catch (const std::exception& e) {
    std::cerr << "loyalty-bench-minimal: " << e.what() << "\n";
    return 2;
  }
  MinimalEcho service(std::move(pool), downstream, std::stoi(Env("LOYALTY_BENCH_FANOUT", "4")));
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:" + port, grpc::InsecureServerCredentials());
  builder.RegisterService(&service);
  auto server = builder.BuildAndStart();
  if (!server) {
    std::cerr << "loyalty-bench-minimal: cannot listen on port " << port << "\n";
    return 1;
  }
  int received = 0;
  sigwait(&signals, &received);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  server->Wait();
  return 0;
}
