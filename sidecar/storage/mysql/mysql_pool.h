#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "storage/mysql/mysql_connection.h"
#include "storage/mysql/mysql_url.h"

namespace warden {

// A few MariaDB connections shared by the daemon's threads: Acquire hands one out (an idle one,
// or a new one), and the Lease gives it back when it goes out of scope, unless the holder saw
// it break (Discard). Every connection runs with time_zone '+00:00', so DATETIME columns hold
// UTC. Thread-safe.
class MysqlPool {
 public:
  class Lease {
   public:
    Lease(MysqlPool* pool, std::unique_ptr<MysqlConnection> conn)
        : pool_(pool), conn_(std::move(conn)) {}
    ~Lease();
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = delete;
    MysqlConnection& operator*() { return *conn_; }
    MysqlConnection* operator->() { return conn_.get(); }
    // The connection is unusable (lost, or left in a bad state): close it instead.
    void Discard() { discard_ = true; }

   private:
    MysqlPool* pool_;
    std::unique_ptr<MysqlConnection> conn_;
    bool discard_ = false;
  };

  MysqlPool(MysqlUrl url, MysqlConnection::Options options, size_t max_idle = 4)
      : url_(std::move(url)), options_(options), max_idle_(max_idle) {}

  // Throws MysqlConnectError.
  Lease Acquire();
  const MysqlUrl& url() const { return url_; }

 private:
  struct Idle {
    std::unique_ptr<MysqlConnection> conn;
    int64_t since_ms;
  };
  void Return(std::unique_ptr<MysqlConnection> conn);

  MysqlUrl url_;
  MysqlConnection::Options options_;
  size_t max_idle_;
  std::mutex mutex_;
  std::vector<Idle> idle_;
};

// Opens a connection the way the pool does (UTC session time zone).
MysqlConnection ConnectUtc(const MysqlUrl& url, const MysqlConnection::Options& options);

}  // namespace warden
