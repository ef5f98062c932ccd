#include "loyalty/common/failpoint.hpp"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>
#include <thread>

#include "loyalty/common/log.hpp"

namespace loyalty::common::failpoint {
namespace {
std::atomic<bool> g_any{false};
std::mutex g_mutex;
std::map<std::string, std::string> g_actions;

void Validate(const std::string& action) {
  if (action == "crash" || action == "throw") return;
  if (action.starts_with("sleep:") && action.size() > 6 &&
      action.find_first_not_of("0123456789", 6) == std::string::npos) {
    return;
  }
  throw std::invalid_argument("unknown failpoint action: " + action);
}
}  // namespace

void Set(const std::string& name, const std::string& action) {
  Validate(action);
  std::lock_guard lock(g_mutex);
  g_actions[name] = action;
  g_any = true;
}

void Clear() {
  std::lock_guard lock(g_mutex);
  g_actions.clear();
  g_any = false;
}

void Configure(const std::string& spec) {
  size_t start = 0;
  while (start < spec.size()) {
    size_t end = spec.find(';', start);
    if (end == std::string::npos) end = spec.size();
    const std::string item = spec.substr(start, end - start);
    const size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw std::invalid_argument("failpoint must be name=action: " + item);
    }
    Set(item.substr(0, eq), item.substr(eq + 1));
    start = end + 1;
  }
}

void Hit(const char* name) {
  if (!g_any.load(std::memory_order_relaxed)) return;
  std::string action;
  {
    std::lock_guard lock(g_mutex);
    auto it = g_actions.find(name);
    if (it == g_actions.end()) return;
    action = it->second;
  }
  log::Warn("failpoint hit", {{"failpoint", name}, {"action", action}});
  if (action == "crash") std::_Exit(137);
  if (action == "throw") throw FailpointError(std::string("failpoint ") + name);
  std::this_thread::sleep_for(std::chrono::milliseconds(std::atoi(action.c_str() + 6)));
}

}  // namespace loyalty::common::failpoint
