#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "clock.h"
#include "members_config.h"
#include "mysql_connection.h"
#include "mysql_url.h"

namespace warden {

// Between the chunks of a batch: rests `sleep`, then waits while the server is busy
// (Threads_running above the limit, from SHOW GLOBAL STATUS on the batch's own connection) or
// a replica lags (Seconds_Behind_Master from SHOW ALL SLAVES STATUS on each replica; a replica
// that does not replicate or cannot be reached counts as lagging). Like pt-archiver's
// --max-lag and pt-online-schema-change's --max-load.
class LoadThrottle {
 public:
  using EventSink = std::function<void(const nlohmann::json&)>;

  LoadThrottle(MysqlConnection& conn, ThrottleSettings settings, std::vector<MysqlUrl> replicas,
               EventSink events, std::function<bool()> cancelled, Clock clock = SystemNowMs);

  // Returns false when cancelled meanwhile. Emits {"event":"pause","reason":...} when it starts
  // waiting and {"event":"resume","paused_ms":...} when it stops. Adds the time to paused_ms.
  bool Wait(int64_t* paused_ms);
  // Why the server counts as loaded right now, or "".
  std::string LoadReason();

 private:
  MysqlConnection& conn_;
  ThrottleSettings settings_;
  std::vector<MysqlUrl> replica_urls_;
  std::vector<std::optional<MysqlConnection>> replicas_;
  EventSink events_;
  std::function<bool()> cancelled_;
  Clock clock_;
};

}  // namespace warden
