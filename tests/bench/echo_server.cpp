// loyalty-bench-echo: the benchmark's baselines, built exactly like a service (RunServiceMain,
// ServiceHost: callback API, handlers on the worker pool, the same logging and metrics).
//   LOYALTY_BENCH_MODE=bare   answers the payload
//   LOYALTY_BENCH_MODE=leaf   one prepared primary-key SELECT on the service's pool, then answers
//   LOYALTY_BENCH_MODE=front  LOYALTY_BENCH_FANOUT (default 3) parallel Echo calls to the leaves in
//                             LOYALTY_BENCH_DOWNSTREAM (comma-separated, used round-robin), waits
//                             for all, then answers (like QuoteCart's fan-out from a worker)
#include <latch>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "loyalty/bench/v1/echo.grpc.pb.h"
#include "loyalty/common/server.hpp"

namespace loyalty::bench_echo {
const common::MigrationSet& Migrations();  // generated from migrations/
}

namespace {

using namespace loyalty;
namespace bv1 = loyalty::bench::v1;

struct Settings {
  std::string mode = "bare";
  int fanout = 3;
  std::vector<std::string> downstream;
};

class EchoService final : public bv1::EchoService::CallbackService {
 public:
  EchoService(common::ServiceHost& host, const Settings& settings)
      : host_(host), settings_(settings) {
    if (settings_.mode == "leaf") {
      host_.db().Prepare("bench_item_by_id",
                         "SELECT value, name FROM bench_echo.items WHERE store_id = $1 AND item_id = $2");
    }
    for (const auto& address : settings_.downstream) {
      stubs_.push_back(bv1::EchoService::NewStub(common::InternalChannel(address, "echo")));
    }
  }

  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context,
                                 const bv1::EchoRequest* request,
                                 bv1::EchoResponse* response) override {
    return host_.Serve(context, "Echo", request->store_id(), [=, this](common::CallContext& call) {
      response->set_payload(request->payload());
      if (settings_.mode == "leaf") {
        const int64_t key = request->key() > 0 ? request->key() : 1;
        const auto row = host_.db().Read(call.deadline, [&](pqxx::transaction_base& tx) {
          return tx.exec_prepared1("bench_item_by_id", request->store_id(), key);
        });
        response->set_value(row[0].as<int64_t>());
      } else if (settings_.mode == "front") {
        Fanout(call, *request, response);
      }
    });
  }

 private:
  void Fanout(const common::CallContext& call, const bv1::EchoRequest& request,
              bv1::EchoResponse* response) {
    struct Leg {
      std::unique_ptr<grpc::ClientContext> context;
      bv1::EchoRequest request;
      bv1::EchoResponse response;
      grpc::Status status;
    };
    const auto n = static_cast<size_t>(settings_.fanout);
    std::vector<Leg> legs(n);
    std::latch done(static_cast<std::ptrdiff_t>(n));
    for (size_t i = 0; i < n; ++i) {
      auto& leg = legs[i];
      leg.context = common::DownstreamContext(call);
      leg.request.set_store_id(request.store_id());
      leg.request.set_key((request.key() + static_cast<int64_t>(i) * 7919) % 10000 + 1);
      auto& stub = *stubs_[(next_++ + i) % stubs_.size()];
      stub.async()->Echo(leg.context.get(), &leg.request, &leg.response,
                         [&leg, &done](grpc::Status status) {
                           leg.status = std::move(status);
                           done.count_down();
                         });
    }
    done.wait();
    int64_t sum = 0;
    for (const auto& leg : legs) {
      if (!leg.status.ok()) {
        throw common::ApiError(leg.status.error_code(), "DOWNSTREAM", leg.status.error_message());
      }
      sum += leg.response.value();
    }
    response->set_value(sum);
  }

  common::ServiceHost& host_;
  const Settings& settings_;
  std::vector<std::unique_ptr<bv1::EchoService::Stub>> stubs_;
  std::atomic<size_t> next_{0};
};

}  // namespace

int main(int argc, char** argv) {
  Settings settings;
  return common::RunServiceMain(
      argc, argv, {"bench-echo", 50151, 0},
      loyalty::bench_echo::Migrations(),
      [&](common::EnvReader& env) {
        settings.mode = env.String("LOYALTY_BENCH_MODE", "bare");
        if (settings.mode != "bare" && settings.mode != "leaf" && settings.mode != "front") {
          env.Reject("LOYALTY_BENCH_MODE", "must be bare, leaf or front");
        }
        settings.fanout = env.Int("LOYALTY_BENCH_FANOUT", 3, 1, 64);
        std::stringstream list(env.String("LOYALTY_BENCH_DOWNSTREAM", ""));
        for (std::string item; std::getline(list, item, ',');) {
          if (!item.empty()) settings.downstream.push_back(item);
        }
        if (settings.mode == "front" && settings.downstream.empty()) {
          env.Reject("LOYALTY_BENCH_DOWNSTREAM", "a front needs at least one leaf address");
        }
      },
      [&](common::ServiceHost& host) {
        auto service = std::make_shared<EchoService>(host, settings);
        host.AddService(service.get());
        return service;
      });
}
