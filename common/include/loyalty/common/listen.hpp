// Postgres LISTEN on a connection of its own, for what other processes announce with NOTIFY
// (delivered only when their transaction commits).
#pragma once

#include <functional>
#include <stop_token>
#include <string>

#include "loyalty/common/expiring_cache.hpp"
#include "loyalty/common/server.hpp"

namespace loyalty::common {

// Announced by the points service, with the store id as payload, whenever a store's program
// (settings or earn rules) changes: copies kept elsewhere are dropped at once.
inline constexpr const char* kProgramChangedChannel = "loyalty_program_changed";

// Until `stop`: listens on `channel` and calls `on_message(payload)` for each notification, and
// `on_connect()` each time it (re)connects, since what was announced while it was not listening is
// lost (a cache should forget everything then). Reconnects after a second when the connection
// breaks. Callbacks run on the calling thread.
void ListenLoop(std::stop_token stop, const std::string& url, const std::string& channel,
                const std::function<void(const std::string&)>& on_message,
                const std::function<void()>& on_connect);

// Keeps `cache` (keyed by store id) in step with the points service: a store's entry is dropped
// when it announces a change of the store's program, everything when the listener reconnects.
// Call before the host starts; `cache` must outlive it.
template <class V>
void DropOnProgramChange(ServiceHost& host, ExpiringCache<V>& cache) {
  host.AddBackground("program-listener", [&host, &cache](std::stop_token stop) {
    ListenLoop(
        stop, host.db().url(), kProgramChangedChannel,
        [&cache](const std::string& store_id) { cache.Erase(store_id); }, [&cache] { cache.Clear(); });
  });
}

}  // namespace loyalty::common
