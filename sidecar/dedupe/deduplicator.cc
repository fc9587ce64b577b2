#include "dedupe/deduplicator.h"

#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <thread>

#include "base/chunk_sizer.h"
#include "base/errors.h"
#include "storage/mysql/load_throttle.h"
#include "storage/mysql/mysql_transaction.h"
#include "storage/mysql/sql_identifier.h"
#include "storage/mysql/table_shape.h"

namespace warden {

namespace {

constexpr int kMaxConsecutiveRetries = 10;

std::string Join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : sep) + p;
  return out;
}

}  // namespace

nlohmann::json DedupeSummary::ToJson() const {
  return {{"scanned", scanned},
          {"deleted", deleted},
          {"chunks", chunks},
          {"elapsed_ms", elapsed_ms},
          {"longest_chunk_ms", longest_chunk_ms},
          {"paused_ms", paused_ms},
          {"retries", retries},
          {"complete", complete}};
}

Deduplicator::Deduplicator(MysqlConnection& conn, EventSink events, std::function<bool()> cancelled,
                           Clock clock)
    : conn_(conn),
      events_(std::move(events)),
      cancelled_(std::move(cancelled)),
      clock_(std::move(clock)) {
  if (!events_) events_ = [](const nlohmann::json&) {};
  if (!cancelled_) cancelled_ = [] { return false; };
}

void Deduplicator::Check(const DedupeOptions& options) {
  TableShape shape = TableShape::Read(conn_, options.table);
  const std::string database = conn_.Query("SELECT DATABASE()")[0].OptionalString(0).value_or("");
  if (!shape.exists) {
    throw UsageError("table " + options.table + " does not exist in database " + database);
  }
  for (const std::string& column : options.key) {
    if (shape.FindColumn(column) == nullptr) {
      throw UsageError("table " + options.table + " has no column " + column);
    }
  }
  const TableShape::Column* id = shape.FindColumn(options.id_column);
  if (id == nullptr)
    throw UsageError("table " + options.table + " has no column " + options.id_column);
  if (shape.primary_key.size() != 1 || !SameIdentifier(shape.primary_key[0], options.id_column) ||
      !TableShape::IsIntegerType(id->data_type)) {
    throw UsageError("dedupe walks an integer primary key: " + options.id_column + " of " +
                     options.table + " is not one (use --id-column)");
  }
  // An index that leads with every key column, in any order.
  bool indexed = false;
  for (const TableShape::Index& index : shape.indexes) {
    if (index.columns.size() < options.key.size()) continue;
    bool all = true;
    for (const std::string& column : options.key) {
      bool found = false;
      for (size_t i = 0; i < options.key.size(); ++i)
        found |= SameIdentifier(index.columns[i], column);
      all &= found;
    }
    indexed |= all;
  }
  if (!indexed) {
    std::vector<std::string> quoted;
    for (const std::string& c : options.key) quoted.push_back(QuoteIdentifier(c));
    throw UsageError("no index on " + options.table + " (" + Join(options.key, ", ") +
                     "): finding each row's twin would read the whole table; add one with: "
                     "ALTER TABLE " +
                     QuoteIdentifier(options.table) + " ADD INDEX " +
                     QuoteIdentifier(("idx_" + Join(options.key, "_")).substr(0, 64)) + " (" +
                     Join(quoted, ", ") + "), ALGORITHM=INPLACE, LOCK=NONE;");
  }
}

nlohmann::json Deduplicator::Plan(const DedupeOptions& options) {
  Check(options);
  std::vector<std::string> key;
  std::vector<std::string> not_null;
  for (const std::string& c : options.key) {
    key.push_back(QuoteIdentifier(c));
    not_null.push_back(QuoteIdentifier(c) + " IS NOT NULL");
  }
  const std::string table = QuoteIdentifier(options.table);
  const std::string where = " WHERE " + Join(not_null, " AND ");
  MysqlRows counts = conn_.Query("SELECT COUNT(*), (SELECT COUNT(*) FROM " + table +
                                 "), "
                                 "COUNT(DISTINCT " +
                                 Join(key, ", ") + ") FROM " + table + where);
  MysqlRows groups = conn_.Query("SELECT COUNT(*) FROM (SELECT 1 FROM " + table + where +
                                 " GROUP BY " + Join(key, ", ") + " HAVING COUNT(*) > 1) g");
  const int64_t keyed = counts[0].Int64(0);
  return {{"dry_run", true},
          {"table", options.table},
          {"key", options.key},
          {"keep", options.keep_lowest ? "lowest-id" : "highest-id"},
          {"rows", counts[0].Int64(1)},
          {"duplicates", keyed - counts[0].Int64(2)},
          {"keys_with_duplicates", groups[0].Int64(0)}};
}

DedupeSummary Deduplicator::Run(const DedupeOptions& options) {
  const int64_t started = clock_();
  conn_.Execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED");
  conn_.Execute("SET SESSION innodb_lock_wait_timeout = 5");
  Check(options);

  const std::string table = QuoteIdentifier(options.table);
  const std::string id = QuoteIdentifier(options.id_column);
  std::vector<std::string> same;
  for (const std::string& c : options.key) {
    same.push_back("k." + QuoteIdentifier(c) + " = t." + QuoteIdentifier(c));
  }
  const std::string twin = "k." + id + (options.keep_lowest ? " < " : " > ") + "t." + id;
  MysqlStatement next_bound =
      conn_.Prepare("SELECT MAX(" + id + "), COUNT(*) FROM (SELECT " + id + " FROM " + table +
                    " WHERE " + id + " > ? ORDER BY " + id + " LIMIT ?) c");
  MysqlStatement find =
      conn_.Prepare("SELECT t." + id + " FROM " + table + " t WHERE t." + id + " > ? AND t." + id +
                    " <= ? AND EXISTS (SELECT 1 FROM " + table + " k WHERE " + Join(same, " AND ") +
                    " AND " + twin + ") FOR UPDATE");
  std::map<size_t, MysqlStatement> deletes;  // by the number of ids

  const int64_t total = conn_.Query("SELECT COUNT(*) FROM " + table)[0].Int64(0);
  events_({{"event", "start"}, {"table", options.table}, {"key", options.key}, {"total", total}});

  DedupeSummary summary;
  ChunkSizer sizer(options.chunk, options.chunk_time_ms, options.max_chunk);
  LoadThrottle throttle(conn_, options.throttle, {}, events_, cancelled_, clock_);
  int64_t lo = std::numeric_limits<int64_t>::min();
  int consecutive_retries = 0;
  while (true) {
    if (cancelled_() || !throttle.Wait(&summary.paused_ms)) break;
    MysqlRows bound = next_bound.Query({lo, sizer.size()});
    const int64_t rows = bound[0].Int64(1);
    if (rows == 0) {
      summary.complete = true;
      break;
    }
    const int64_t hi = bound[0].Int64(0);
    const int64_t chunk_start = clock_();
    int64_t deleted = 0;
    try {
      MysqlTransaction tx(conn_);
      MysqlRows ids = find.Query({lo, hi});
      if (!ids.empty()) {
        auto it = deletes.find(ids.size());
        if (it == deletes.end()) {
          std::string marks;
          for (size_t i = 0; i < ids.size(); ++i) marks += i == 0 ? "?" : ",?";
          it = deletes
                   .emplace(ids.size(), conn_.Prepare("DELETE FROM " + table + " WHERE " + id +
                                                      " IN (" + marks + ")"))
                   .first;
        }
        for (MysqlRow row : ids) it->second.Bind(row.Int64(0));
        deleted = static_cast<int64_t>(it->second.Execute().affected_rows);
      }
      tx.Commit();
      consecutive_retries = 0;
    } catch (const MysqlRetryableError& e) {
      if (++consecutive_retries > kMaxConsecutiveRetries) throw;
      ++summary.retries;
      sizer.Shrink();
      events_({{"event", "retry"}, {"error", e.what()}, {"chunk", sizer.size()}});
      std::this_thread::sleep_for(std::chrono::milliseconds(50 * consecutive_retries));
      continue;
    }
    const int64_t chunk_ms = clock_() - chunk_start;
    lo = hi;
    ++summary.chunks;
    summary.scanned += rows;
    summary.deleted += deleted;
    summary.longest_chunk_ms = std::max(summary.longest_chunk_ms, chunk_ms);
    sizer.Record(rows, chunk_ms);
    const double elapsed_s = std::max<int64_t>(clock_() - started, 1) / 1000.0;
    const double rate = summary.scanned / elapsed_s;
    events_({{"event", "chunk"},
             {"rows", rows},
             {"deleted", deleted},
             {"done", summary.scanned},
             {"total", total},
             {"deleted_total", summary.deleted},
             {"last_id", hi},
             {"chunk_ms", chunk_ms},
             {"next_chunk", sizer.size()},
             {"rows_per_s", std::round(rate)},
             {"eta_s",
              rate > 0 ? std::round(std::max<int64_t>(total - summary.scanned, 0) / rate) : 0.0}});
  }
  summary.elapsed_ms = clock_() - started;
  events_({{"event", "done"}, {"summary", summary.ToJson()}});
  return summary;
}

}  // namespace warden
