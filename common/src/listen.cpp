#include "loyalty/common/listen.hpp"

#include <pqxx/pqxx>

#include "loyalty/common/db.hpp"
#include "loyalty/common/log.hpp"
#include "loyalty/common/worker_pool.hpp"

namespace loyalty::common {

namespace {

class Receiver : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& conn, const std::string& channel,
           const std::function<void(const std::string&)>& on_message)
      : pqxx::notification_receiver(conn, channel), on_message_(on_message) {}
  void operator()(const std::string& payload, int) override { on_message_(payload); }

 private:
  const std::function<void(const std::string&)>& on_message_;
};

}  // namespace

void ListenLoop(std::stop_token stop, const std::string& url, const std::string& channel,
                const std::function<void(const std::string&)>& on_message,
                const std::function<void()>& on_connect) {
  while (!stop.stop_requested()) {
    try {
      auto conn = Connect(url);
      Receiver receiver(*conn, channel, on_message);
      on_connect();
      // Wakes at least every 200 ms to see `stop`.
      while (!stop.stop_requested()) conn->await_notification(0, 200000);
    } catch (const std::exception& e) {
      log::WarnEvery("listener " + channel, log::kRepeatInterval, "listener lost its connection",
                     {{"channel", channel}, {"error", e.what()}});
      SleepUnlessStopped(stop, std::chrono::seconds(1));
    }
  }
}

}  // namespace loyalty::common
