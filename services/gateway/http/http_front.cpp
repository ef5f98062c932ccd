#include "http_front.hpp"

#include <google/protobuf/util/json_util.h>
#include <grpcpp/generic/generic_stub.h>
#include <httplib.h>

#include <charconv>
#include <future>
#include <mutex>
#include <thread>

#include "console_files.hpp"
#include "gateway.hpp"
#include "http_errors.hpp"
#include "loyalty/gateway/v1/gateway_service.grpc.pb.h"
#include "openapi.hpp"
#include "route_table.hpp"

namespace loyalty::gateway::http {
namespace {

using google::protobuf::Message;
using MessageStub = grpc::TemplatedGenericStub<Message, Message>;

// Threads that wait on calls: enough that a slow call does not hold up the others.
constexpr size_t kServerThreads = 32;

std::unique_ptr<Message> NewMessage(const google::protobuf::Descriptor* type) {
  return std::unique_ptr<Message>(
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(type)->New());
}

void Reply(httplib::Response& response, const grpc::Status& status, int http_status = 0) {
  response.status = http_status != 0 ? http_status : HttpStatus(status.error_code());
  if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED ||
      status.error_code() == grpc::StatusCode::UNAVAILABLE) {
    response.set_header("Retry-After", "1");
  }
  response.set_content(StatusJson(status), "application/json");
}

// The caller's deadline from the timeout header; none when absent (the gateway then applies its
// default). Throws INVALID_ARGUMENT naming the header.
std::optional<std::chrono::milliseconds> Timeout(const httplib::Request& request) {
  if (!request.has_header(kTimeoutHeader)) return std::nullopt;
  const auto text = request.get_header_value(kTimeoutHeader);
  int64_t ms = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), ms);
  if (error != std::errc() || end != text.data() + text.size() || ms < 1 || ms > 600000) {
    throw common::InvalidField(kTimeoutHeader, "must be milliseconds, 1 to 600000");
  }
  return std::chrono::milliseconds(ms);
}

}  // namespace

std::vector<const google::protobuf::ServiceDescriptor*> PublicServices() {
  const auto* pool = google::protobuf::DescriptorPool::generated_pool();
  return {pool->FindServiceByName(gateway::v1::StorefrontService::service_full_name()),
          pool->FindServiceByName(gateway::v1::AdminService::service_full_name())};
}

// One Server-Sent Events stream: the gRPC stream it relays and the client context to cancel it.
struct EventRelay {
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReader<v1::StreamEventsResponse>> reader;
  bool ended = false;
};

// `id:` is the cursor, so a client that reconnects with Last-Event-ID resumes after it.
std::string SseFrame(const v1::StreamEventsResponse& item) {
  if (item.has_event()) {
    return "id: " + item.event().cursor() + "\nevent: " + item.event().type() +
           "\ndata: " + ApiJson(item.event()) + "\n\n";
  }
  return "id: " + item.heartbeat().cursor() + "\nevent: heartbeat\ndata: " +
         ApiJson(item.heartbeat()) + "\n\n";
}

struct HttpFront::Impl {
  common::ServiceHost& host;
  HttpOptions options;
  RouteTable routes;
  std::string openapi;
  std::optional<ConsoleFiles> console;
  std::unique_ptr<httplib::Server> server;
  std::thread thread;
  int port = 0;
  std::once_flag stub_once;
  std::unique_ptr<MessageStub> stub;

  std::unique_ptr<v1::StorefrontService::Stub> events_stub;

  // The in-process channel exists once the gRPC server has started.
  MessageStub* Stub() {
    std::call_once(stub_once, [&] {
      auto channel = host.InProcessChannel();
      stub = std::make_unique<MessageStub>(channel);
      events_stub = v1::StorefrontService::NewStub(channel);
    });
    return stub.get();
  }

  // StreamEvents as Server-Sent Events. A refused stream (key, store, bad field) is answered
  // like any error; an accepted one (the gateway sends headers once it has checked the call)
  // streams `event:` frames until the client leaves or the gateway drains, which ends the
  // stream with an `error` frame (UNAVAILABLE: reconnect with Last-Event-ID).
  void ServeEvents(const httplib::Request& http_request, httplib::Response& response,
                   const Message& bound) {
    auto relay = std::make_shared<EventRelay>();
    auto request = dynamic_cast<const v1::StreamEventsRequest&>(bound);
    if (request.after().empty() && http_request.has_header("Last-Event-ID")) {
      request.set_after(http_request.get_header_value("Last-Event-ID"));
    }
    for (const char* header : {"authorization", common::kCorrelationHeader}) {
      if (http_request.has_header(header)) {
        relay->context.AddMetadata(header, http_request.get_header_value(header));
      }
    }
    relay->reader = events_stub->StreamEvents(&relay->context, request);
    relay->reader->WaitForInitialMetadata();
    if (relay->context.GetServerInitialMetadata().count(kStreamOpenHeader) == 0) {
      // Refused before any header: the status says why.
      v1::StreamEventsResponse unused;
      while (relay->reader->Read(&unused)) {
      }
      return Reply(response, relay->reader->Finish());
    }
    response.set_header("Cache-Control", "no-store");
    response.set_chunked_content_provider(
        "text/event-stream",
        [relay](size_t, httplib::DataSink& sink) {
          if (relay->ended) return false;
          v1::StreamEventsResponse item;
          if (relay->reader->Read(&item)) {
            const auto frame = SseFrame(item);
            if (sink.write(frame.data(), frame.size())) return true;
            relay->context.TryCancel();  // the client left
            return false;
          }
          relay->ended = true;
          const auto end = "event: error\ndata: " + StatusJson(relay->reader->Finish()) + "\n\n";
          sink.write(end.data(), end.size());
          sink.done();
          return true;
        },
        [relay](bool) {
          if (relay->ended) return;
          // The client went away mid-stream: end the gRPC stream too.
          relay->context.TryCancel();
          v1::StreamEventsResponse rest;
          while (relay->reader->Read(&rest)) {
          }
          (void)relay->reader->Finish();
        });
  }

  // A console file with headers that keep it to itself: the CSP (no inline script, same-origin
  // calls only), no sniffing, no referrer, no framing. No CORS header: same origin only.
  void ServeConsole(const std::string& path, httplib::Response& response) {
    const ConsoleFiles::File* file = console ? console->Find(path) : nullptr;
    if (file == nullptr) {
      return Reply(response, common::ApiError(grpc::StatusCode::NOT_FOUND, "NO_ROUTE",
                                              console ? "no console file " + path
                                                      : "the admin console is not installed")
                                 .ToStatus());
    }
    response.set_header("Content-Security-Policy", kConsoleSecurityPolicy);
    response.set_header("X-Content-Type-Options", "nosniff");
    response.set_header("Referrer-Policy", "no-referrer");
    response.set_header("X-Frame-Options", "DENY");
    response.set_header("Cache-Control", "no-cache");
    response.set_content(file->body, file->content_type);
  }

  void Serve(const httplib::Request& request, httplib::Response& response) {
    if (request.method == "GET" && request.path == "/openapi.json") {
      response.set_content(openapi, "application/json");
      return;
    }
    if (request.method == "GET" && ConsoleFileName(request.path)) {
      return ServeConsole(request.path, response);
    }
    // The raw path: a percent-encoded ':' or '/' inside an id must not split it.
    const auto question = request.target.find('?');
    const std::string path = request.target.substr(0, question);
    std::multimap<std::string, std::string> query;
    try {
      if (question != std::string::npos) query = ParseQuery(request.target.substr(question + 1));
    } catch (const common::ApiError& e) {
      return Reply(response, e.ToStatus());
    }
    std::vector<std::string> allowed;
    const auto found = routes.Find(request.method, path, &allowed);
    if (!found) {
      if (allowed.empty()) {
        return Reply(response, common::ApiError(grpc::StatusCode::NOT_FOUND, "NO_ROUTE",
                                                "no route for " + request.method + " " + path)
                                   .ToStatus());
      }
      std::string allow;
      for (const auto& m : allowed) allow += (allow.empty() ? "" : ", ") + m;
      response.set_header("Allow", allow);
      return Reply(response,
                   common::ApiError(grpc::StatusCode::UNIMPLEMENTED, "METHOD_NOT_ALLOWED",
                                    path + " answers " + allow)
                       .ToStatus(),
                   405);
    }
    const auto* method = found->route->method;
    if (method->server_streaming()) {
      auto stream_request = NewMessage(method->input_type());
      try {
        BindRequest(*found->route, found->bindings, query, request.body, *stream_request);
        Stub();
      } catch (const common::ApiError& e) {
        return Reply(response, e.ToStatus());
      }
      return ServeEvents(request, response, *stream_request);
    }
    auto call_request = NewMessage(method->input_type());
    auto call_response = NewMessage(method->output_type());
    grpc::ClientContext context;
    try {
      if (request.body.size() > options.max_body_bytes) {
        throw common::InvalidField(
            "body", "is larger than " + std::to_string(options.max_body_bytes) + " bytes");
      }
      BindRequest(*found->route, found->bindings, query, request.body, *call_request);
      if (auto timeout = Timeout(request)) {
        context.set_deadline(std::chrono::system_clock::now() + *timeout);
      }
    } catch (const common::ApiError& e) {
      return Reply(response, e.ToStatus());
    }
    for (const char* header : {"authorization", common::kCorrelationHeader}) {
      if (request.has_header(header)) context.AddMetadata(header, request.get_header_value(header));
    }
    MessageStub* call_stub = nullptr;
    try {
      call_stub = Stub();
    } catch (const common::ApiError& e) {
      return Reply(response, e.ToStatus());
    }
    std::promise<grpc::Status> done;
    call_stub->UnaryCall(&context, "/" + method->service()->full_name() + "/" + method->name(),
                      grpc::StubOptions(), call_request.get(), call_response.get(),
                      [&done](grpc::Status status) { done.set_value(std::move(status)); });
    const auto status = done.get_future().get();
    if (!status.ok()) return Reply(response, status);
    response.set_content(ApiJson(*call_response), "application/json");
  }
};

HttpFront::HttpFront(common::ServiceHost& host, HttpOptions options,
                     const std::vector<const google::protobuf::ServiceDescriptor*>& services)
    : impl_(new Impl{host, std::move(options), RouteTable::FromServices(services), {}, {}, {},
                     {}, 0, {}, {}, {}}) {
  auto& impl = *impl_;
  impl.openapi = OpenApiDocument(impl.routes);
  if (!impl.options.console_dir.empty()) {
    impl.console = ConsoleFiles::Load(impl.options.console_dir);
  }
  if (impl.options.tls_cert_file.empty()) {
    impl.server = std::make_unique<httplib::Server>();
  } else {
    impl.server = std::make_unique<httplib::SSLServer>(impl.options.tls_cert_file.c_str(),
                                                       impl.options.tls_key_file.c_str());
  }
  auto& server = *impl.server;
  server.new_task_queue = [] { return new httplib::ThreadPool(kServerThreads); };
  // httplib writes an answer's headers and body apart: with Nagle's algorithm the body waits for
  // the client's delayed ACK of the headers, 40 ms on Linux, on every keep-alive call.
  server.set_tcp_nodelay(true);
  // A body past twice our limit is cut off by httplib (413); up to it we answer 400 naming it.
  server.set_payload_max_length(2 * impl.options.max_body_bytes);
  const auto handler = [this](const httplib::Request& request, httplib::Response& response) {
    impl_->Serve(request, response);
  };
  server.Get(".*", handler);
  server.Post(".*", handler);
  server.Put(".*", handler);
  server.Patch(".*", handler);
  server.Delete(".*", handler);
  impl.port = impl.options.port;
  if (!server.bind_to_port("0.0.0.0", impl.port)) {
    throw std::runtime_error("cannot listen for HTTP on port " + std::to_string(impl.port));
  }
  impl.thread = std::thread([&server] { server.listen_after_bind(); });
  common::log::Info("http listening", {{"http_port", impl.port},
                                       {"routes", impl.routes.routes().size()},
                                       {"console", impl.options.console_dir},
                                       {"tls", !impl.options.tls_cert_file.empty()}});
}

HttpFront::~HttpFront() {
  impl_->server->stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

int HttpFront::port() const { return impl_->port; }

}  // namespace loyalty::gateway::http
