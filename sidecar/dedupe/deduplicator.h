#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/clock.h"
#include "storage/mysql/load_throttle.h"
#include "storage/mysql/mysql_connection.h"

namespace warden {

struct DedupeOptions {
  std::string table;
  std::vector<std::string> key;  // the columns whose values must be unique together
  std::string id_column = "id";  // an integer primary key
  bool keep_lowest = true;       // keep the row with the lowest id of each key, or the highest
  bool dry_run = false;
  int64_t chunk = 2000;  // rows scanned per chunk (first chunk; adapts to chunk_time)
  int64_t chunk_time_ms = 100;
  int64_t max_chunk = 50000;
  ThrottleSettings throttle;
};

struct DedupeSummary {
  int64_t scanned = 0;
  int64_t deleted = 0;
  int64_t chunks = 0;
  int64_t elapsed_ms = 0;
  int64_t longest_chunk_ms = 0;
  int64_t paused_ms = 0;
  int64_t retries = 0;
  bool complete = false;
  nlohmann::json ToJson() const;
};

// `warden dedupe`: deletes rows whose key another row already has, keeping one row per key
// (the lowest or the highest id), in chunks that walk the primary key: each chunk is one short
// transaction that locks the chunk's duplicates (FOR UPDATE, READ COMMITTED) and deletes them
// by id, so no statement ever joins or locks the whole table (the seed's periodic self-join
// DELETE did). Finding a row's twin is an index lookup: the key columns need an index.
// NULL keys are never duplicates, as in a unique index. Rows inserted meanwhile are judged by
// the rule as well when the walk reaches them.
class Deduplicator {
 public:
  using EventSink = std::function<void(const nlohmann::json&)>;

  Deduplicator(MysqlConnection& conn, EventSink events, std::function<bool()> cancelled = nullptr,
               Clock clock = SystemNowMs);

  // --dry-run: how many rows would go (duplicates and the keys that have them); no locks.
  nlohmann::json Plan(const DedupeOptions& options);
  // Throws UsageError for a missing table or column, an id that is not an integer primary key,
  // or no index on the key (with the ALTER that adds one).
  DedupeSummary Run(const DedupeOptions& options);

 private:
  void Check(const DedupeOptions& options);

  MysqlConnection& conn_;
  EventSink events_;
  std::function<bool()> cancelled_;
  Clock clock_;
};

}  // namespace warden
