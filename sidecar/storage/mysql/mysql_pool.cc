#include "storage/mysql/mysql_pool.h"

#include "common/clock.h"

namespace warden {

namespace {
constexpr int64_t kPingAfterIdleMs = 10000;
}  // namespace

MysqlConnection ConnectUtc(const MysqlUrl& url, const MysqlConnection::Options& options) {
  MysqlConnection conn = MysqlConnection::Connect(url, options);
  conn.Execute("SET time_zone = '+00:00'");
  return conn;
}

MysqlPool::Lease::~Lease() {
  if (pool_ != nullptr && conn_ && !discard_) pool_->Return(std::move(conn_));
}

MysqlPool::Lease MysqlPool::Acquire() {
  while (true) {
    Idle idle;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (idle_.empty()) break;
      idle = std::move(idle_.back());
      idle_.pop_back();
    }
    // A connection idle for a while may have been closed by the server (wait_timeout).
    if (SystemNowMs() - idle.since_ms < kPingAfterIdleMs || idle.conn->Ping()) {
      return Lease(this, std::move(idle.conn));
    }
  }
  return Lease(this, std::make_unique<MysqlConnection>(ConnectUtc(url_, options_)));
}

void MysqlPool::Return(std::unique_ptr<MysqlConnection> conn) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (idle_.size() < max_idle_) idle_.push_back({std::move(conn), SystemNowMs()});
}

}  // namespace warden
