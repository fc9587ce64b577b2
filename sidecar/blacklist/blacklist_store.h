#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/blacklist_entry.h"
#include "storage/redis/redis_connection.h"
#include "common/redis_schema.h"
#include "storage/redis/redis_script.h"

namespace warden {

// One change to the blacklist, as kApplyChangesScript takes it.
struct BlacklistChange {
  enum class Op { kAdd, kDel };
  Op op = Op::kAdd;
  std::string entry;       // canonical CIDR text (Cidr::ToString)
  int64_t expires_ms = 0;  // 0: never
  std::string value;       // BlacklistEntry::EncodeValue(); empty for kDel
};

// The blacklist in Redis, as the sidecar reads and changes it. Every change goes through
// RedisSchema::kApplyChangesScript (EVALSHA, EVAL on NOSCRIPT), so the hash, the expiry index,
// the sequence number and the change stream that nginx follows move together.
class BlacklistStore {
 public:
  struct ApplyOptions {
    size_t batch_size = 1000;   // changes per script call
    size_t max_in_flight = 16;  // script calls sent before the first reply is read
    // Called after each acknowledged batch with the number of changes applied so far.
    std::function<void(size_t done)> progress;
  };
  struct ApplyResult {
    int64_t seq = 0;      // the sequence number after the last change
    int64_t changed = 0;  // adds, plus deletes of entries that were there
  };

  // `epoch` is set in Redis only if none exists yet; NewEpoch() makes one.
  BlacklistStore(RedisConnection& conn, RedisSchema schema, std::string epoch = NewEpoch());

  // Redis's clock (TIME), so every sidecar and the purge agree on what "expired" means.
  int64_t ServerNowMs();

  // Applies `changes` in order, pipelined in batches. On a Redis failure the error says how many
  // changes were acknowledged before it.
  ApplyResult Apply(const std::vector<BlacklistChange>& changes, const ApplyOptions& options);
  ApplyResult Apply(const std::vector<BlacklistChange>& changes) {
    return Apply(changes, ApplyOptions());
  }

  // Deletes (and streams) up to `limit` entries that expired at or before `now_ms`; returns how
  // many expired entries it handled.
  int64_t PurgeExpired(int64_t now_ms, int64_t limit);

  // The stored values of `entries` (HMGET); nullopt where there is none.
  std::vector<std::optional<std::string>> Get(const std::vector<std::string>& entries);
  // Number of entries in the hash, expired ones included (HLEN).
  int64_t Count();

  // Every entry not expired at `now_ms`, sorted (IPv4 before IPv6, then by address and prefix).
  // A malformed field or value is reported to `on_malformed` with one line and skipped.
  std::vector<BlacklistEntry> ReadLive(int64_t now_ms,
                                       const std::function<void(const std::string&)>& on_malformed);

  const RedisSchema& schema() const { return schema_; }

  // 32 random hex characters.
  static std::string NewEpoch();

 private:
  std::vector<std::string> ApplyKeys() const;

  RedisConnection& conn_;
  RedisSchema schema_;
  std::string epoch_;
  RedisScript apply_script_;
  RedisScript purge_script_;
};

}  // namespace warden
