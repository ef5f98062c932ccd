#include "webhooks/webhook_sender.hpp"

#include <arpa/inet.h>
#include <httplib.h>
#include <netdb.h>

#include <memory>

namespace loyalty::gateway::webhooks {

namespace {

std::string AddressText(const sockaddr* address) {
  char text[INET6_ADDRSTRLEN] = {};
  if (address->sa_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(address)->sin_addr, text, sizeof text);
  } else if (address->sa_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr, text,
              sizeof text);
  }
  return text;
}

}  // namespace

Sender::Sender(const std::string& url_text, const SendOptions& options) {
  std::string why;
  const auto url = ParseUrl(url_text, &why);
  if (!url) {
    refused_.refused = true;
    refused_.error = "the URL " + why;
    return;
  }
  // Resolve, then check every address: a host with one public and one private address is
  // refused too, since the client could pick either.
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int rc = getaddrinfo(url->host.c_str(), nullptr, &hints, &found);
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> list(found, &freeaddrinfo);
  if (rc != 0 || !found) {
    refused_.refused = true;
    refused_.error = "cannot resolve " + url->host + ": " + gai_strerror(rc);
    return;
  }
  std::string chosen;
  for (const addrinfo* a = found; a; a = a->ai_next) {
    if (!options.allow_private && IsForbiddenAddress(a->ai_addr)) {
      refused_.refused = true;
      refused_.error = url->host + " resolves to " + AddressText(a->ai_addr) +
                       ", a private, loopback or link-local address "
                       "(see LOYALTY_WEBHOOKS_ALLOW_PRIVATE)";
      return;
    }
    if (chosen.empty()) chosen = AddressText(a->ai_addr);
  }
  const std::string origin = url->scheme + "://" +
                             (url->host.find(':') != std::string::npos ? "[" + url->host + "]"
                                                                       : url->host) +
                             ":" + std::to_string(url->port);
  target_ = url->target;
  client_ = std::make_unique<httplib::Client>(origin);
  client_->set_hostname_addr_map({{url->host, chosen}});  // connect to the address checked
  client_->set_follow_location(false);  // a redirect is an answer (a failure), never followed
  client_->set_connection_timeout(options.timeout);
  client_->set_read_timeout(options.timeout);
  client_->set_write_timeout(options.timeout);
  client_->set_keep_alive(true);  // reconnects by itself when the receiver has closed it
  client_->set_tcp_nodelay(true);  // headers and body are written apart: no Nagle wait between
}

Sender::~Sender() = default;

SendResult Sender::Post(const std::map<std::string, std::string>& headers,
                        const std::string& body) {
  if (!client_) return refused_;
  SendResult result;
  httplib::Headers h;
  for (const auto& [k, v] : headers) h.emplace(k, v);
  const auto started = std::chrono::steady_clock::now();
  auto answer = client_->Post(target_, h, body, "application/json");
  result.latency_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now() - started)
                          .count();
  if (!answer) {
    result.error = "no answer: " + httplib::to_string(answer.error());
    return result;
  }
  result.status = answer->status;
  if (answer->status < 200 || answer->status > 299) {
    result.error = "answered HTTP " + std::to_string(answer->status);
    if (answer->has_header("Retry-After")) {
      result.retry_after = ParseRetryAfter(answer->get_header_value("Retry-After"));
    }
  }
  return result;
}

}  // namespace loyalty::gateway::webhooks
