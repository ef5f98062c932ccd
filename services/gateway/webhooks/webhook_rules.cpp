#include "webhooks/webhook_rules.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <stdexcept>

#include "loyalty/common/hex.hpp"

namespace loyalty::gateway::webhooks {

namespace {
constexpr const char* kPrefix = "whsec_";
}

std::string Base64Encode(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::optional<std::string> Base64Decode(const std::string& text) {
  if (text.empty()) return std::string();
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out(text.size() / 4 * 3 + 1, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock counts the padding as zero bytes: drop them.
  size_t len = static_cast<size_t>(n);
  if (text.ends_with("==")) len -= 2;
  else if (text.ends_with("=")) len -= 1;
  out.resize(len);
  return out;
}

std::string NewSecret() {
  return kPrefix + Base64Encode(common::RandomBytes(24));
}

std::optional<std::string> Sign(const std::string& secret, const std::string& webhook_id,
                                int64_t timestamp, const std::string& body) {
  if (!secret.starts_with(kPrefix)) return std::nullopt;
  const auto key = Base64Decode(secret.substr(std::char_traits<char>::length(kPrefix)));
  if (!key || key->empty()) return std::nullopt;
  const std::string content = webhook_id + "." + std::to_string(timestamp) + "." + body;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), key->data(), static_cast<int>(key->size()),
       reinterpret_cast<const unsigned char*>(content.data()), content.size(), mac, &mac_len);
  return "v1," + Base64Encode(std::string(reinterpret_cast<char*>(mac), mac_len));
}

std::string SignatureHeader(const std::vector<std::string>& secrets, const std::string& webhook_id,
                            int64_t timestamp, const std::string& body) {
  std::string header;
  for (const auto& s : secrets) {
    const auto sig = Sign(s, webhook_id, timestamp, body);
    if (!sig) continue;
    if (!header.empty()) header += ' ';
    header += *sig;
  }
  return header;
}

std::optional<Url> ParseUrl(const std::string& text, std::string* why) {
  auto fail = [&](const char* reason) -> std::optional<Url> {
    if (why) *why = reason;
    return std::nullopt;
  };
  if (text.size() > 2000) return fail("at most 2,000 characters");
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c >= 0x7f) return fail("no spaces, control or non-ASCII characters");
  }
  Url url;
  size_t rest = 0;
  if (text.starts_with("https://")) {
    url.scheme = "https";
    url.port = 443;
    rest = 8;
  } else if (text.starts_with("http://")) {
    url.scheme = "http";
    url.port = 80;
    rest = 7;
  } else {
    return fail("must start with http:// or https://");
  }
  const size_t slash = text.find_first_of("/?#", rest);
  const std::string authority =
      text.substr(rest, slash == std::string::npos ? std::string::npos : slash - rest);
  url.target = slash == std::string::npos ? "/" : text.substr(slash);
  if (url.target.front() != '/') url.target = "/" + url.target;
  if (const auto hash = url.target.find('#'); hash != std::string::npos) url.target.resize(hash);
  if (authority.find('@') != std::string::npos) return fail("must not carry credentials");
  std::string port;
  if (authority.starts_with("[")) {
    const auto close = authority.find(']');
    if (close == std::string::npos) return fail("has an unterminated IPv6 address");
    url.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return fail("has a malformed host");
      port = authority.substr(close + 2);
    }
  } else {
    const auto colon = authority.find(':');
    url.host = authority.substr(0, colon);
    if (colon != std::string::npos) port = authority.substr(colon + 1);
  }
  if (url.host.empty()) return fail("has no host");
  if (!port.empty() || (authority.find(':') != std::string::npos && !authority.starts_with("["))) {
    if (port.empty() || port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string::npos) {
      return fail("has a malformed port");
    }
    url.port = std::stoi(port);
    if (url.port < 1 || url.port > 65535) return fail("has a port outside 1-65535");
  }
  return url;
}

namespace {

bool ForbiddenV4(uint32_t a) {  // host byte order
  auto in = [a](uint32_t net, int bits) {
    const uint32_t mask = bits == 0 ? 0 : ~uint32_t{0} << (32 - bits);
    return (a & mask) == (net & mask);
  };
  return in(0x00000000, 8) ||    // 0.0.0.0/8 "this network"
         in(0x0A000000, 8) ||    // 10/8
         in(0x64400000, 10) ||   // 100.64/10 carrier-grade NAT
         in(0x7F000000, 8) ||    // loopback
         in(0xA9FE0000, 16) ||   // link-local (cloud metadata lives here)
         in(0xAC100000, 12) ||   // 172.16/12
         in(0xC0000000, 24) ||   // 192.0.0/24 protocol assignments
         in(0xC0000200, 24) ||   // TEST-NET-1
         in(0xC0A80000, 16) ||   // 192.168/16
         in(0xC6120000, 15) ||   // benchmarking
         in(0xC6336400, 24) ||   // TEST-NET-2
         in(0xCB007100, 24) ||   // TEST-NET-3
         in(0xE0000000, 4) ||    // multicast
         in(0xF0000000, 4);      // reserved and broadcast
}

}  // namespace

bool IsForbiddenAddress(const sockaddr* address) {
  if (address->sa_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
    return ForbiddenV4(ntohl(v4->sin_addr.s_addr));
  }
  if (address->sa_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address);
    const uint8_t* b = v6->sin6_addr.s6_addr;
    static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::equal(kMapped, kMapped + 12, b)) {
      return ForbiddenV4((uint32_t{b[12]} << 24) | (uint32_t{b[13]} << 16) |
                         (uint32_t{b[14]} << 8) | b[15]);
    }
    const bool zero_prefix = std::all_of(b, b + 15, [](uint8_t x) { return x == 0; });
    if (zero_prefix && (b[15] == 0 || b[15] == 1)) return true;  // :: and ::1
    if ((b[0] & 0xfe) == 0xfc) return true;                       // fc00::/7 unique local
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return true;       // fe80::/10 link-local
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return true;       // fec0::/10 site-local
    if (b[0] == 0xff) return true;                                // multicast
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) return true;  // docs
    if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b) return true;  // NAT64
    return false;
  }
  return true;  // anything else is not an internet address
}

namespace {
// Seconds of the Standard Webhooks schedule: attempt 1 at once, then these waits.
constexpr std::array<int64_t, 10> kSchedule = {0,         5,         5 * 60,     30 * 60,
                                               2 * 3600,  5 * 3600,  10 * 3600,  14 * 3600,
                                               20 * 3600, 24 * 3600};
}  // namespace

int ScheduleLength() { return static_cast<int>(kSchedule.size()); }

std::optional<std::chrono::milliseconds> RetryDelay(int attempt, double scale, double unit_random) {
  if (attempt < 1 || attempt > ScheduleLength()) return std::nullopt;
  const double jitter = 0.8 + 0.4 * std::clamp(unit_random, 0.0, 0.999999);
  const double ms = static_cast<double>(kSchedule[static_cast<size_t>(attempt - 1)]) * 1000.0 *
                    scale * jitter;
  return std::chrono::milliseconds(static_cast<int64_t>(ms));
}

std::optional<std::chrono::seconds> ParseRetryAfter(const std::string& header) {
  if (header.empty() || header.size() > 9 ||
      header.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  return std::chrono::seconds(std::stoll(header));
}

std::string WebhookId(const std::string& event_cursor) {
  const auto colon = event_cursor.find(':');
  return "evt_" + (colon == std::string::npos ? event_cursor : event_cursor.substr(colon + 1));
}

bool Wanted(const std::vector<std::string>& filter, const std::string& type) {
  return filter.empty() || std::find(filter.begin(), filter.end(), type) != filter.end();
}

}  // namespace loyalty::gateway::webhooks
