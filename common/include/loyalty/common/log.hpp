// Structured logging: one JSON object per line on stdout, built with a JSON library so that every
// message is escaped. Each line carries service, method, correlation id and store id from the
// calling thread's context, set by the RPC wrapper (see server.hpp).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace loyalty::common::log {

void Init(const std::string& service, const std::string& level);

// What the current thread is working on; empty fields are left out of the line.
struct Context {
  std::string method;
  std::string correlation_id;
  std::string store_id;
};

// Sets the thread's context for its lifetime and restores the previous one after.
class ScopedContext {
 public:
  explicit ScopedContext(Context context);
  ~ScopedContext();
  ScopedContext(const ScopedContext&) = delete;
  ScopedContext& operator=(const ScopedContext&) = delete;

 private:
  Context previous_;
};

const Context& Current();

// The JSON fields of one line, without the time stamp and level; exposed for tests.
std::string Fields(std::string_view message, const nlohmann::json& extra);

void Debug(std::string_view message, const nlohmann::json& extra = nlohmann::json::object());
// Writes out what is buffered (lines below warn are flushed every second otherwise).
void Flush();
void Info(std::string_view message, const nlohmann::json& extra = nlohmann::json::object());
void Warn(std::string_view message, const nlohmann::json& extra = nlohmann::json::object());
void Error(std::string_view message, const nlohmann::json& extra = nlohmann::json::object());

}  // namespace loyalty::common::log
