// Webhooks end to end (docs/webhooks.md): real services, a real gateway dispatching to test
// receivers that listen on 127.0.0.1 only (hence LOYALTY_WEBHOOKS_ALLOW_PRIVATE=1, except in the
// refusal test). Signatures are verified with the npm `standardwebhooks` package
// (tests/webhooks, `npm ci` there first). The retry schedule is shrunk with
// LOYALTY_WEBHOOK_RETRY_SCALE.
#include <arpa/inet.h>
#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "gateway_fixture.hpp"

namespace loyalty::gateway {
namespace {

using nlohmann::json;

struct Delivery {
  std::string id, timestamp, signature, body;
  int answered = 0;
  std::chrono::steady_clock::time_point at;
  int remote_port = 0;  // which connection it came over
};

// An HTTP receiver on 127.0.0.1. `answer(n)` decides the status of the n-th request (0-based).
class Receiver {
 public:
  explicit Receiver(std::function<int(int, httplib::Response&)> answer)
      : answer_(std::move(answer)) {
    server_.Post("/hook", [this](const httplib::Request& req, httplib::Response& res) {
      Delivery d{req.get_header_value("webhook-id"), req.get_header_value("webhook-timestamp"),
                 req.get_header_value("webhook-signature"), req.body, 0,
                 std::chrono::steady_clock::now(), req.remote_port};
      int n;
      {
        std::lock_guard lock(mutex_);
        n = static_cast<int>(all_.size());
        all_.push_back(d);
      }
      const int status = answer_(n, res);
      res.status = status;
      std::lock_guard lock(mutex_);
      all_[static_cast<size_t>(n)].answered = status;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~Receiver() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }
  std::vector<Delivery> all() {
    std::lock_guard lock(mutex_);
    return all_;
  }
  // webhook-id → deliveries answered 2xx.
  std::map<std::string, int> Successes() {
    std::map<std::string, int> ok;
    for (const auto& d : all()) {
      if (d.answered >= 200 && d.answered < 300) ++ok[d.id];
    }
    return ok;
  }

 private:
  std::function<int(int, httplib::Response&)> answer_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  std::vector<Delivery> all_;
};

class WebhookIT : public GatewayIT {
 protected:
  Env GatewayEnv() const override {
    return {{"LOYALTY_WEBHOOKS_ALLOW_PRIVATE", allow_private_ ? "1" : "0"},
            {"LOYALTY_WEBHOOK_RETRY_SCALE", retry_scale_},
            {"LOYALTY_WEBHOOK_POLL_MS", "100"},
            {"LOYALTY_HTTP_PORT", std::to_string(http_port_)}};
  }

  v1::CreateWebhookEndpointResponse CreateEndpoint(const TestStore& s, const std::string& url,
                                                   const std::string& request_id = "wh-1") {
    v1::CreateWebhookEndpointRequest req;
    req.set_request_id(request_id);
    req.set_url(url);
    v1::CreateWebhookEndpointResponse resp;
    const auto status = admin_->CreateWebhookEndpoint(Ctx(s.owner).get(), req, &resp);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return resp;
  }

  // `n` events (points.adjusted) for `customers` customers, round robin.
  void MakeEvents(const TestStore& s, int n, int customers = 2) {
    std::vector<std::string> ids;
    for (int c = 0; c < customers; ++c) {
      const auto email =
          "c" + std::to_string(c) + "-" + std::to_string(common::NowMicros()) + "@example.com";
      ids.push_back(Register(s, email));
    }
    for (int i = 0; i < n; ++i) Adjust(s, ids[static_cast<size_t>(i) % ids.size()], 10 + i);
  }

  // The webhook-ids of the store's log after `cursor`, in log order.
  std::vector<std::string> LogIds(const std::string& store_id, const std::string& cursor) {
    std::vector<std::string> ids;
    points::v1::ListEventsRequest req;
    req.set_store_id(store_id);
    req.set_after(cursor);
    req.set_limit(1000);
    points::v1::ListEventsResponse resp;
    auto ctx = testing::InternalContext();
    const auto status = points_stub_->ListEvents(ctx.get(), req, &resp);
    EXPECT_TRUE(status.ok()) << status.error_message();
    for (const auto& e : resp.events()) {
      ids.push_back("evt_" + e.cursor().substr(e.cursor().find(':') + 1));
    }
    return ids;
  }

  v1::WebhookEndpoint Endpoint(const TestStore& s, const std::string& id) {
    v1::ListWebhookEndpointsRequest req;
    v1::ListWebhookEndpointsResponse resp;
    EXPECT_TRUE(admin_->ListWebhookEndpoints(Ctx(s.owner).get(), req, &resp).ok());
    for (const auto& e : resp.endpoints()) {
      if (e.endpoint_id() == id) return e;
    }
    ADD_FAILURE() << "no endpoint " << id;
    return {};
  }

  std::vector<v1::WebhookAttempt> Attempts(const TestStore& s, const std::string& id) {
    v1::ListWebhookAttemptsRequest req;
    req.set_endpoint_id(id);
    req.set_page_size(500);
    v1::ListWebhookAttemptsResponse resp;
    const auto status = admin_->ListWebhookAttempts(Ctx(s.owner).get(), req, &resp);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return {resp.attempts().begin(), resp.attempts().end()};
  }

  // Runs tests/webhooks/verify.js (npm standardwebhooks) over `deliveries`; the count verified.
  int VerifyWithNpm(const std::string& secret, const std::vector<Delivery>& deliveries) {
    const std::string dir = std::string(LOYALTY_SOURCE_DIR) + "/tests/webhooks";
    std::ifstream probe(dir + "/node_modules/standardwebhooks/package.json");
    if (!probe) {
      ADD_FAILURE() << "run `npm ci --prefix tests/webhooks` first (./dev test does)";
      return -1;
    }
    json list = json::array();
    for (const auto& d : deliveries) {
      list.push_back({{"id", d.id}, {"timestamp", d.timestamp}, {"signature", d.signature},
                      {"body", d.body}});
    }
    const std::string file = "/tmp/webhooks-it-" + std::to_string(getpid()) + ".json";
    std::ofstream(file) << list.dump();
    const std::string command = "node " + dir + "/verify.js '" + secret + "' " + file;
    FILE* pipe = popen(command.c_str(), "r");
    char buffer[64] = {};
    const bool read = fgets(buffer, sizeof buffer, pipe) != nullptr;
    const int rc = pclose(pipe);
    std::remove(file.c_str());
    if (rc != 0 || !read) return -1;
    return std::atoi(buffer);
  }

  bool allow_private_ = true;
  std::string retry_scale_ = "0.001";  // 5 s → 5 ms, 5 min → 300 ms, 30 min → 1.8 s
  int http_port_ = testing::FreePort();
};

TEST_F(WebhookIT, SignedInOrderVerifiedByTheNpmPackageRotatedAndReplayed) {
  const auto s = CreateStore("hooks");
  Receiver receiver([](int, httplib::Response&) { return 204; });
  const auto created = CreateEndpoint(s, receiver.url());
  const auto& endpoint = created.endpoint();
  ASSERT_TRUE(created.secret().starts_with("whsec_"));
  // A replay answers the same endpoint, never the secret again.
  const auto again = CreateEndpoint(s, receiver.url());
  EXPECT_EQ(again.endpoint().endpoint_id(), endpoint.endpoint_id());
  EXPECT_TRUE(again.secret().empty());

  MakeEvents(s, 6);
  // The log shows an event once every older transaction has ended (other tests share the
  // database), so the six may take a moment to be visible.
  std::vector<std::string> expected;
  ASSERT_TRUE(Eventually([&] {
    expected = LogIds(s.store_id, endpoint.cursor());
    return expected.size() >= 6u;
  }));
  ASSERT_TRUE(Eventually([&] { return receiver.all().size() >= expected.size(); }));
  const auto got = receiver.all();
  std::vector<std::string> order;
  for (const auto& d : got) order.push_back(d.id);
  order.resize(expected.size());  // later events (if any) come after the snapshot
  EXPECT_EQ(order, expected);  // strictly in log order, each once
  EXPECT_EQ(VerifyWithNpm(created.secret(), got), static_cast<int>(got.size()));
  EXPECT_EQ(json::parse(got[0].body).value("type", ""), "points.adjusted");
  // The body is the HTTP API's JSON (lowerCamelCase), as docs/webhooks.md shows.
  EXPECT_TRUE(json::parse(got[0].body).contains("customerId")) << got[0].body;

  // Attempts are visible: delivered, 204, a latency.
  std::vector<v1::WebhookAttempt> attempts;
  ASSERT_TRUE(Eventually([&] {
    attempts = Attempts(s, endpoint.endpoint_id());
    return attempts.size() >= got.size();
  }));
  EXPECT_EQ(attempts[0].status(), "delivered");
  EXPECT_EQ(attempts[0].response_code(), 204);
  EXPECT_EQ(attempts[0].webhook_id(), got.back().id);
  EXPECT_GE(attempts[0].latency_ms(), 0);

  // Rotation: both signatures until the old secret expires; each verifies alone.
  v1::RotateWebhookSecretRequest rotate;
  rotate.set_request_id("rotate-1");
  rotate.set_endpoint_id(endpoint.endpoint_id());
  v1::RotateWebhookSecretResponse rotated;
  ASSERT_TRUE(admin_->RotateWebhookSecret(Ctx(s.owner).get(), rotate, &rotated).ok());
  ASSERT_TRUE(rotated.secret().starts_with("whsec_"));
  EXPECT_NE(rotated.secret(), created.secret());
  EXPECT_TRUE(rotated.endpoint().has_previous_secret_expire_time());
  MakeEvents(s, 1, 1);
  ASSERT_TRUE(Eventually([&] { return receiver.all().size() > got.size(); }));
  const std::vector<Delivery> after_rotation = {receiver.all().back()};
  EXPECT_NE(after_rotation[0].signature.find(' '), std::string::npos);
  EXPECT_EQ(VerifyWithNpm(rotated.secret(), after_rotation), 1);
  EXPECT_EQ(VerifyWithNpm(created.secret(), after_rotation), 1);

  // Replay from the endpoint's first cursor: the same events again, with the same ids.
  const size_t before_replay = receiver.all().size();
  v1::ReplayWebhooksRequest replay;
  replay.set_request_id("replay-1");
  replay.set_endpoint_id(endpoint.endpoint_id());
  replay.set_after(endpoint.cursor());
  v1::ReplayWebhooksResponse replayed;
  auto status = admin_->ReplayWebhooks(Ctx(s.owner).get(), replay, &replayed);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_TRUE(Eventually([&] { return receiver.all().size() >= before_replay * 2; }));
  EXPECT_EQ(receiver.all()[before_replay].id, expected.front());
  // One batch, over kept-alive connections (this receiver closes one after 5 requests), not a
  // connection per event.
  std::set<int> connections;
  for (size_t i = before_replay; i < before_replay * 2; ++i) {
    connections.insert(receiver.all()[i].remote_port);
  }
  EXPECT_LT(connections.size(), before_replay) << "each replayed event had its own connection";
  replay.set_after("not-a-cursor");
  replay.set_request_id("replay-2");
  status = admin_->ReplayWebhooks(Ctx(s.owner).get(), replay, &replayed);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(common::ErrorFields(status), std::vector<std::string>{"after"});

  // The list is on the HTTP port too, without any secret.
  httplib::Client http("127.0.0.1", http_port_);
  httplib::Headers auth = {{"Authorization", "Bearer " + s.owner}};
  auto listed = http.Get("/v1/stores/" + s.store_id + "/webhooks", auth);
  ASSERT_TRUE(listed);
  EXPECT_EQ(listed->status, 200);
  EXPECT_NE(listed->body.find(endpoint.endpoint_id()), std::string::npos);
  EXPECT_EQ(listed->body.find("whsec_"), std::string::npos);

  // A viewer may list but not create.
  const auto viewer = CreateKey(s.owner, v1::KEY_KIND_ADMIN, v1::ROLE_VIEWER, 0);
  v1::CreateWebhookEndpointRequest create;
  create.set_request_id("viewer-1");
  create.set_url(receiver.url());
  v1::CreateWebhookEndpointResponse denied;
  EXPECT_EQ(admin_->CreateWebhookEndpoint(Ctx(viewer).get(), create, &denied).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  create.set_url("ftp://example.com/");
  create.set_request_id("bad-url");
  status = admin_->CreateWebhookEndpoint(Ctx(s.owner).get(), create, &denied);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(common::ErrorFields(status), std::vector<std::string>{"url"});
}

TEST_F(WebhookIT, FailingReceiverIsRetriedHonoursRetryAfterAndGetsEachEventOnce) {
  const auto s = CreateStore("retries");
  // Three failures first (the first asks for Retry-After: 2), then success.
  Receiver receiver([](int n, httplib::Response& res) {
    if (n == 0) res.set_header("Retry-After", "2");
    return n < 3 ? 503 : 200;
  });
  const auto created = CreateEndpoint(s, receiver.url());
  MakeEvents(s, 3);
  const auto expected = LogIds(s.store_id, created.endpoint().cursor());
  ASSERT_TRUE(Eventually([&] { return receiver.Successes().size() >= expected.size(); }));
  const auto all = receiver.all();
  ASSERT_GE(all.size(), expected.size() + 3);
  // The first event's id on every retry; each event answered 2xx exactly once.
  for (int i = 0; i < 4; ++i) EXPECT_EQ(all[static_cast<size_t>(i)].id, expected[0]);
  for (const auto& [id, count] : receiver.Successes()) EXPECT_EQ(count, 1) << id;
  EXPECT_EQ(receiver.Successes().size(), expected.size());
  EXPECT_GE(all[1].at - all[0].at, std::chrono::milliseconds(1900));  // Retry-After: 2
  EXPECT_EQ(VerifyWithNpm(created.secret(), all), static_cast<int>(all.size()));
  std::vector<v1::WebhookAttempt> attempts;
  ASSERT_TRUE(Eventually([&] {
    attempts = Attempts(s, created.endpoint().endpoint_id());
    return attempts.size() >= all.size();
  }));
  const auto& first = attempts.back();  // newest first
  EXPECT_EQ(first.status(), "failed");
  EXPECT_EQ(first.response_code(), 503);
  EXPECT_EQ(first.attempt(), 1);
  EXPECT_EQ(attempts[attempts.size() - 4].attempt(), 4);
  EXPECT_EQ(attempts[attempts.size() - 4].status(), "delivered");
  EXPECT_TRUE(Endpoint(s, created.endpoint().endpoint_id()).enabled());
}

TEST_F(WebhookIT, GoneDisablesTheEndpointAndEnableResumesFromTheSameEvent) {
  const auto s = CreateStore("gone");
  std::atomic<bool> gone{true};
  Receiver receiver([&](int, httplib::Response&) { return gone ? 410 : 200; });
  const auto created = CreateEndpoint(s, receiver.url());
  const auto& id = created.endpoint().endpoint_id();
  MakeEvents(s, 2, 1);
  ASSERT_TRUE(Eventually([&] { return !Endpoint(s, id).enabled(); }));
  EXPECT_NE(Endpoint(s, id).disabled_reason().find("410"), std::string::npos);
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(receiver.all().size(), 1u);  // nothing after the 410
  EXPECT_EQ(Attempts(s, id).at(0).status(), "gone");

  gone = false;
  v1::EnableWebhookEndpointRequest enable;
  enable.set_request_id("enable-1");
  enable.set_endpoint_id(id);
  v1::EnableWebhookEndpointResponse enabled;
  ASSERT_TRUE(admin_->EnableWebhookEndpoint(Ctx(s.owner).get(), enable, &enabled).ok());
  EXPECT_TRUE(enabled.endpoint().enabled());
  const auto expected = LogIds(s.store_id, created.endpoint().cursor());
  ASSERT_TRUE(Eventually([&] { return receiver.Successes().size() >= expected.size(); }));
  EXPECT_EQ(receiver.all()[1].id, receiver.all()[0].id);  // the refused event first

  // Disable by an admin: idempotent by request_id, and nothing more is sent.
  v1::DisableWebhookEndpointRequest disable;
  disable.set_request_id("disable-1");
  disable.set_endpoint_id(id);
  v1::DisableWebhookEndpointResponse disabled;
  ASSERT_TRUE(admin_->DisableWebhookEndpoint(Ctx(s.owner).get(), disable, &disabled).ok());
  ASSERT_TRUE(admin_->DisableWebhookEndpoint(Ctx(s.owner).get(), disable, &disabled).ok());
  EXPECT_FALSE(disabled.endpoint().enabled());
  const size_t seen = receiver.all().size();
  MakeEvents(s, 1, 1);
  std::this_thread::sleep_for(800ms);
  EXPECT_EQ(receiver.all().size(), seen);
  v1::DisableWebhookEndpointRequest unknown;
  unknown.set_request_id("disable-2");
  unknown.set_endpoint_id("wh_nope");
  EXPECT_EQ(admin_->DisableWebhookEndpoint(Ctx(s.owner).get(), unknown, &disabled).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

class WebhookExhaustIT : public WebhookIT {
 protected:
  WebhookExhaustIT() { retry_scale_ = "0.00001"; }  // the three days in about 2.6 s
};

TEST_F(WebhookExhaustIT, AnExhaustedScheduleDisablesTheEndpointAndSaysWhy) {
  const auto s = CreateStore("exhaust");
  Receiver receiver([](int, httplib::Response&) { return 500; });
  const auto created = CreateEndpoint(s, receiver.url());
  const auto& id = created.endpoint().endpoint_id();
  MakeEvents(s, 1, 1);
  ASSERT_TRUE(Eventually([&] { return !Endpoint(s, id).enabled(); }));
  EXPECT_EQ(receiver.all().size(), 10u);  // 0, 5 s, ... 24 h: ten attempts
  EXPECT_NE(Endpoint(s, id).disabled_reason().find("after 10 attempts"), std::string::npos)
      << Endpoint(s, id).disabled_reason();
  std::set<std::string> ids;
  for (const auto& d : receiver.all()) ids.insert(d.id);
  EXPECT_EQ(ids.size(), 1u);
}

class WebhookSlowIT : public WebhookIT {
 protected:
  Env GatewayEnv() const override {
    auto env = WebhookIT::GatewayEnv();
    env["LOYALTY_WEBHOOK_TIMEOUT_MS"] = "500";  // 15 s in production
    return env;
  }
};

TEST_F(WebhookSlowIT, ASlowReceiverTimesOutAndTheEventIsRetriedWithTheSameId) {
  const auto s = CreateStore("slow");
  Receiver receiver([](int n, httplib::Response&) {
    if (n == 0) std::this_thread::sleep_for(1500ms);  // past the timeout
    return 200;
  });
  const auto created = CreateEndpoint(s, receiver.url());
  MakeEvents(s, 2, 1);
  const auto expected = LogIds(s.store_id, created.endpoint().cursor());
  ASSERT_TRUE(Eventually([&] { return receiver.Successes().size() >= expected.size(); }));
  const auto all = receiver.all();
  ASSERT_GE(all.size(), 2u);
  EXPECT_EQ(all[0].id, all[1].id);  // the timed-out event again, with the same webhook-id
  std::vector<v1::WebhookAttempt> attempts;
  ASSERT_TRUE(Eventually([&] {
    attempts = Attempts(s, created.endpoint().endpoint_id());
    return attempts.size() >= all.size();
  }));
  const auto& first = attempts.back();
  EXPECT_EQ(first.status(), "failed");
  EXPECT_EQ(first.response_code(), 0);
  EXPECT_GE(first.latency_ms(), 400);
  EXPECT_LT(first.latency_ms(), 1400);
  EXPECT_FALSE(first.error().empty());
}

class WebhookRefusalIT : public WebhookIT {
 protected:
  WebhookRefusalIT() { allow_private_ = false; }
};

TEST_F(WebhookRefusalIT, PrivateAddressesAreRefusedWithoutConnecting) {
  // A bare listener: a connection would complete the handshake and wait in its accept queue.
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(listener, 16), 0);
  socklen_t len = sizeof addr;
  getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  const int port = ntohs(addr.sin_port);
  fcntl(listener, F_SETFL, O_NONBLOCK);

  const auto s = CreateStore("refusal");
  const auto created = CreateEndpoint(s, "http://127.0.0.1:" + std::to_string(port) + "/hook");
  const auto other = CreateEndpoint(s, "http://localhost:" + std::to_string(port) + "/x", "wh-2");
  MakeEvents(s, 1, 1);
  ASSERT_TRUE(Eventually([&] {
    return !Attempts(s, created.endpoint().endpoint_id()).empty() &&
           !Attempts(s, other.endpoint().endpoint_id()).empty();
  }));
  for (const auto& id : {created.endpoint().endpoint_id(), other.endpoint().endpoint_id()}) {
    const auto attempt = Attempts(s, id).back();
    EXPECT_EQ(attempt.status(), "refused");
    EXPECT_EQ(attempt.response_code(), 0);
    EXPECT_NE(attempt.error().find("private, loopback or link-local"), std::string::npos)
        << attempt.error();
  }
  int accepted = 0;
  while (accept(listener, nullptr, nullptr) >= 0) ++accepted;
  EXPECT_EQ(accepted, 0);
  close(listener);
}

TEST_F(WebhookIT, KillNineOfTheDispatcherLosesNothing) {
  const auto s = CreateStore("kill");
  // A slow receiver, so that the kill lands while a request is in flight.
  Receiver receiver([](int, httplib::Response&) {
    std::this_thread::sleep_for(150ms);
    return 200;
  });
  const auto created = CreateEndpoint(s, receiver.url());
  MakeEvents(s, 12, 3);
  const auto expected = LogIds(s.store_id, created.endpoint().cursor());
  ASSERT_TRUE(Eventually([&] { return receiver.all().size() >= 3; }));
  gateway_->Kill();
  const size_t at_kill = receiver.all().size();
  EXPECT_LT(at_kill, expected.size());
  gateway_->Start();
  gateway_->WaitServing();
  ASSERT_TRUE(Eventually([&] { return receiver.Successes().size() >= expected.size(); }));
  // At least once: every event arrived; deduplicated by webhook-id, each once and in order.
  std::vector<std::string> firsts;
  std::set<std::string> seen;
  for (const auto& d : receiver.all()) {
    if (seen.insert(d.id).second) firsts.push_back(d.id);
  }
  firsts.resize(expected.size());
  EXPECT_EQ(firsts, expected);
  EXPECT_LE(receiver.all().size(), seen.size() + 1);  // at most the one in flight again
}

TEST_F(WebhookIT, TwoGatewayReplicasNeverSendTheSameAttemptTwice) {
  auto second = StartGateway(
      {{"LOYALTY_WEBHOOKS_ALLOW_PRIVATE", "1"}, {"LOYALTY_WEBHOOK_POLL_MS", "100"},
       {"LOYALTY_WEBHOOK_RETRY_SCALE", "0.001"}, {"LOYALTY_WEBHOOK_WORKERS", "4"}});
  second->WaitServing();
  const auto s = CreateStore("replicas");
  Receiver a([](int, httplib::Response&) { return 200; });
  Receiver b([](int, httplib::Response&) { return 200; });
  const auto first = CreateEndpoint(s, a.url(), "wh-a");
  CreateEndpoint(s, b.url(), "wh-b");
  MakeEvents(s, 20, 4);
  const auto expected = LogIds(s.store_id, first.endpoint().cursor());
  ASSERT_TRUE(Eventually([&] {
    return a.all().size() >= expected.size() && b.all().size() >= expected.size();
  }));
  std::this_thread::sleep_for(500ms);
  for (auto* r : {&a, &b}) {
    std::vector<std::string> order;
    for (const auto& d : r->all()) order.push_back(d.id);
    EXPECT_EQ(std::set<std::string>(order.begin(), order.end()).size(), order.size());
    order.resize(expected.size());
    EXPECT_EQ(order, expected);  // each once, in order, from whichever replica claimed it
  }
}

}  // namespace
}  // namespace loyalty::gateway
