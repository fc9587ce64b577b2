#include "jobs/http_sync_job.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "common/clock.h"
#include "common/url.h"
#include "jobs/job_services.h"
#include "scheduler/redis_coordinator.h"
#include "storage/mysql/mysql_transaction.h"
#include "storage/redis/redis_connection.h"

namespace warden {

namespace {

// A page nested deeper than this is malformed (no API pages records that deep; parsing stays
// cheap).
constexpr int kMaxJsonDepth = 64;

// The run gives up: the checkpoint stays where B last acknowledged.
class SyncFailure : public Error {
 public:
  explicit SyncFailure(const std::string& message) : Error(message, kExitFailure) {}
};

// The run was asked to stop (timeout, replace, shutdown, lost lease).
class SyncCancelled : public Error {
 public:
  SyncCancelled() : Error("cancelled", kExitFailure) {}
};

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::optional<int64_t> AsInteger(const std::string& s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  size_t i = s[0] == '-' ? 1 : 0;
  if (i == s.size()) return std::nullopt;
  for (size_t j = i; j < s.size(); ++j) {
    if (s[j] < '0' || s[j] > '9') return std::nullopt;
  }
  return std::strtoll(s.c_str(), nullptr, 10);
}

const nlohmann::json* Find(const nlohmann::json& root, const std::string& path) {
  const nlohmann::json* node = &root;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    const std::string key = path.substr(start, dot == std::string::npos ? dot : dot - start);
    if (!node->is_object()) return nullptr;
    auto it = node->find(key);
    if (it == node->end()) return nullptr;
    node = &*it;
    if (dot == std::string::npos) return node;
    start = dot + 1;
  }
}

std::string Encode(const std::string& value) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string Short(std::string text, size_t max = 200) {
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  if (text.size() > max) text = text.substr(0, max) + "...";
  return text;
}

bool Rejection(long status) { return status == 400 || status == 413 || status == 422; }

std::string Dump(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

MysqlValue ToValue(const nlohmann::json* v) {
  if (v == nullptr || v->is_null()) return std::nullopt;
  if (v->is_boolean()) return v->get<bool>() ? 1 : 0;
  if (v->is_number_integer()) return v->get<int64_t>();
  if (v->is_number_unsigned()) return v->get<uint64_t>();
  if (v->is_number_float()) return v->get<double>();
  if (v->is_string()) return v->get<std::string>();
  return Dump(*v);
}

std::string Quote(const std::string& identifier) { return "`" + identifier + "`"; }

std::string InsertSql(const HttpSyncSettings& s, size_t rows) {
  std::string columns, placeholders, updates;
  for (const std::string& c : s.sink_columns) {
    if (!columns.empty()) {
      columns += ", ";
      placeholders += ", ";
    }
    columns += Quote(c);
    placeholders += "?";
    if (c != s.sink_key) {
      if (!updates.empty()) updates += ", ";
      updates += Quote(c) + " = VALUES(" + Quote(c) + ")";
    }
  }
  if (updates.empty()) updates = Quote(s.sink_key) + " = " + Quote(s.sink_key);
  std::string sql = "INSERT INTO " + Quote(s.sink_table) + " (" + columns + ") VALUES ";
  for (size_t i = 0; i < rows; ++i) sql += (i > 0 ? ", (" : "(") + placeholders + ")";
  return sql + " ON DUPLICATE KEY UPDATE " + updates;
}

}  // namespace

int CompareRecordIds(const std::string& a, const std::string& b) {
  auto ia = AsInteger(a), ib = AsInteger(b);
  if (ia && ib) return *ia < *ib ? -1 : (*ia > *ib ? 1 : 0);
  return a.compare(b) < 0 ? -1 : (a == b ? 0 : 1);
}

HttpSyncJob::HttpSyncJob(const RunRequest& request, Deps deps)
    : request_(request),
      job_(*request_.job),
      settings_(job_.Params<HttpSyncSettings>()),
      deps_(deps),
      backoff_(settings_.retry.base_ms, settings_.retry.max_ms),
      budget_(settings_.retry.budget),
      fence_(request.fence) {
  source_breaker_ =
      deps_.breakers->For(HttpClient::Remote(settings_.source_url), settings_.breaker);
  if (!settings_.sink_url.empty()) {
    sink_breaker_ = deps_.breakers->For(HttpClient::Remote(settings_.sink_url), settings_.breaker);
  }
}

void HttpSyncJob::CheckCancelled() {
  if (request_.cancel->cancelled()) throw SyncCancelled();
}

void HttpSyncJob::Throttle() {
  if (settings_.rate_limit <= 0) return;
  const int64_t interval =
      std::max<int64_t>(1, static_cast<int64_t>(1000.0 / settings_.rate_limit));
  const int64_t now = SteadyMs();
  if (next_token_ms_ > now && request_.cancel->SleepFor(next_token_ms_ - now)) {
    throw SyncCancelled();
  }
  next_token_ms_ = std::max(now, next_token_ms_) + interval;
}

HttpResponse HttpSyncJob::Call(HttpClient::Request request, const std::string& what,
                               const std::function<std::string(const HttpResponse&)>& check) {
  request.connect_timeout_ms = settings_.connect_timeout_ms;
  request.timeout_ms = settings_.transfer_timeout_ms;
  request.max_response = settings_.max_response;
  SharedCircuitBreaker& breaker =
      request.method == "GET" || !sink_breaker_ ? *source_breaker_ : *sink_breaker_;
  std::string last_error;
  for (int attempt = 1;; ++attempt) {
    // An open breaker fails calls at once: wait for its trial call instead of hammering.
    while (!breaker.Allow()) {
      const int64_t wait = std::clamp<int64_t>(breaker.open_until() - SystemNowMs(), 10, 1000);
      if (request_.cancel->SleepFor(wait)) throw SyncCancelled();
    }
    Throttle();
    try {
      HttpResponse response = http_.Send(request);
      if (response.status >= 200 && response.status < 300) {
        const std::string error = check ? check(response) : "";
        if (error.empty()) {
          breaker.OnSuccess();
          return response;
        }
        last_error = what + ": " + error;
      } else if (response.status == 408 || response.status == 409 || response.status == 429 ||
                 response.status >= 500) {
        last_error =
            what + ": HTTP " + std::to_string(response.status) + " " + Short(response.body, 100);
      } else {
        breaker.OnSuccess();  // it answered: the remote is up, the request is the problem
        return response;
      }
    } catch (const HttpError& e) {
      last_error = e.what();
    }
    breaker.OnFailure();
    if (deps_.metrics) deps_.metrics->AddCounter("warden_sync_retries_total", job_.name, 1);
    if (attempt >= settings_.retry.attempts) {
      throw SyncFailure("giving up after " + std::to_string(attempt) + " attempts: " + last_error);
    }
    if (!budget_.Take()) {
      throw SyncFailure("retry budget exhausted (" + std::to_string(settings_.retry.budget) +
                        " retries per run): " + last_error);
    }
    if (request_.cancel->SleepFor(backoff_.Delay(attempt))) throw SyncCancelled();
  }
}

HttpSyncJob::Page HttpSyncJob::FetchPage() {
  using Pagination = HttpSyncSettings::Pagination;
  std::string url = settings_.source_url;
  url += url.find('?') == std::string::npos ? '?' : '&';
  url += Encode(settings_.limit_param) + "=" + std::to_string(settings_.page_size);
  if (settings_.pagination == Pagination::kCursor) {
    if (cursor_) url += "&" + Encode(settings_.cursor_param) + "=" + Encode(*cursor_);
  } else {
    url += "&" + Encode(settings_.offset_param) + "=" + std::to_string(offset_);
  }
  HttpClient::Request request;
  request.url = url;
  for (const auto& header : settings_.source_headers) request.headers.push_back(header);
  request.headers.emplace_back("Accept", "application/json");

  Page page;
  auto check = [&](const HttpResponse& response) -> std::string {
    page = Page();
    bool too_deep = false;
    nlohmann::json body = nlohmann::json::parse(
        response.body,
        [&too_deep](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
          if (depth > kMaxJsonDepth) too_deep = true;
          return !too_deep;
        },
        false);
    if (too_deep) {
      return "the page nests JSON deeper than " + std::to_string(kMaxJsonDepth) + " levels";
    }
    if (body.is_discarded())
      return "the page is not valid JSON (" + std::to_string(response.body.size()) + " bytes)";
    const nlohmann::json* records = Find(body, settings_.records_field);
    if (records == nullptr || !records->is_array()) {
      return "the page has no \"" + settings_.records_field + "\" array";
    }
    for (const nlohmann::json& value : *records) {
      const nlohmann::json* id = value.is_object() ? Find(value, settings_.id_field) : nullptr;
      Record record;
      if (id != nullptr && id->is_string()) {
        record.id = id->get<std::string>();
      } else if (id != nullptr && (id->is_number_integer() || id->is_number_unsigned())) {
        record.id = id->dump();
      } else {
        return "a record has no string or integer \"" + settings_.id_field + "\"";
      }
      record.value = value;
      record.page_cursor = cursor_;
      record.page_offset = offset_;
      page.records.push_back(std::move(record));
    }
    if (settings_.pagination == Pagination::kCursor) {
      const nlohmann::json* next = Find(body, settings_.next_cursor_field);
      if (next != nullptr && next->is_string() && !next->get<std::string>().empty()) {
        page.next_cursor = next->get<std::string>();
      } else if (next != nullptr && next->is_number()) {
        page.next_cursor = next->dump();
      }
      page.last = !page.next_cursor;
    } else {
      page.last = static_cast<int>(records->size()) < settings_.page_size;
    }
    return "";
  };
  HttpResponse response = Call(request, "GET " + Url::Redact(settings_.source_url), check);
  if (response.status < 200 || response.status >= 300) {
    throw SyncFailure("GET " + Url::Redact(url) + ": HTTP " + std::to_string(response.status) +
                      " " + Short(response.body, 100));
  }
  return page;
}

std::string HttpSyncJob::ChunkBody(size_t begin, size_t end) const {
  nlohmann::json records = nlohmann::json::array();
  for (size_t i = begin; i < end; ++i) records.push_back(pending_[i].value);
  return Dump(nlohmann::json{{"records", std::move(records)}});
}

std::string HttpSyncJob::Key(size_t begin, size_t end) const {
  return "warden:" + job_.name + ":" + pending_[begin].id + ":" + pending_[end - 1].id + ":" +
         std::to_string(end - begin);
}

HttpSyncJob::Verdict HttpSyncJob::SendHttp(size_t begin, size_t end, std::string* why) {
  store_->MarkInflight(pending_[end - 1].id, static_cast<int>(end - begin));
  HttpClient::Request request;
  request.method = "POST";
  request.url = settings_.sink_url;
  for (const auto& header : settings_.sink_headers) request.headers.push_back(header);
  request.headers.emplace_back("Content-Type", "application/json");
  request.headers.emplace_back("Idempotency-Key", Key(begin, end));
  request.body = ChunkBody(begin, end);
  HttpResponse response = Call(request, "POST " + Url::Redact(settings_.sink_url));
  if (response.status >= 200 && response.status < 300) return Verdict::kAcked;
  if (Rejection(response.status)) {
    *why = "HTTP " + std::to_string(response.status) + " " + Short(response.body);
    return Verdict::kRejected;
  }
  throw SyncFailure("POST " + Url::Redact(settings_.sink_url) +
                    ": the sink refused the chunk: HTTP " + std::to_string(response.status) + " " +
                    Short(response.body));
}

HttpSyncJob::Verdict HttpSyncJob::WriteTable(size_t begin, size_t end, std::string* why) {
  for (int attempt = 1;; ++attempt) {
    try {
      Advance(end, static_cast<int64_t>(end - begin), {}, [&](MysqlConnection& conn) {
        MysqlStatement insert = conn.Prepare(InsertSql(settings_, end - begin));
        for (size_t i = begin; i < end; ++i) {
          for (const std::string& column : settings_.sink_columns) {
            insert.Bind(ToValue(Find(pending_[i].value, column)));
          }
        }
        insert.Execute();
      });
      return Verdict::kAcked;
    } catch (const FencedOutError&) {
      throw;
    } catch (const MysqlRetryableError& e) {
      *why = e.what();
    } catch (const MysqlConnectionLostError& e) {
      *why = e.what();
      conn_->Discard();
      conn_.reset();
    } catch (const MysqlConnectError& e) {
      *why = e.what();
      conn_.reset();
    } catch (const MysqlError& e) {
      *why = e.what();  // the data: a rejection
      return Verdict::kRejected;
    }
    if (attempt >= settings_.retry.attempts || !budget_.Take()) {
      throw SyncFailure("cannot write to " + settings_.sink_table + ": " + *why);
    }
    if (deps_.metrics) deps_.metrics->AddCounter("warden_sync_retries_total", job_.name, 1);
    if (request_.cancel->SleepFor(backoff_.Delay(attempt))) throw SyncCancelled();
    if (!conn_) {
      try {
        conn_.emplace(deps_.pool->Acquire());
        store_ = std::make_unique<SyncStore>(**conn_, job_.name, fence_);
      } catch (const MysqlError& e) {
        *why = e.what();
      }
    }
  }
}

void HttpSyncJob::Advance(size_t end, int64_t acked, std::vector<SyncStore::NewDeadLetter> dead,
                          const std::function<void(MysqlConnection&)>& extra) {
  if (!store_) throw MysqlConnectError("no connection to MariaDB", 0, "");
  SyncCheckpoint next = cp_;
  const Record& last = pending_[end - 1];
  next.last_id = last.id;
  next.page_cursor = last.page_cursor;
  next.page_offset = last.page_offset;
  next.chunks += 1;
  next.records += acked;
  store_->Commit(next, dead, extra);
  cp_ = next;
}

void HttpSyncJob::Resolve(size_t begin, size_t end) {
  while (true) {
    std::string why;
    const Verdict verdict =
        settings_.sink_table.empty() ? SendHttp(begin, end, &why) : WriteTable(begin, end, &why);
    if (verdict == Verdict::kAcked) {
      const int64_t n = static_cast<int64_t>(end - begin);
      // A MariaDB sink committed its rows with the checkpoint already.
      if (settings_.sink_table.empty()) Advance(end, n, {});
      delivered_ += n;
      if (deps_.metrics)
        deps_.metrics->AddCounter("warden_sync_records_total", job_.name, static_cast<double>(n));
      return;
    }
    if (end - begin > 1) {
      // Split: the halves go out in order, so what B acknowledged is always a prefix.
      const size_t mid = begin + (end - begin) / 2;
      Resolve(begin, mid);
      Resolve(mid, end);
      return;
    }
    const Record& record = pending_[begin];
    const int rejections = ++rejections_[record.id];
    if (rejections >= settings_.max_record_attempts) {
      if (deps_.logger) {
        deps_.logger->Warn("record moved to the dead-letter table",
                           {{"job", job_.name}, {"record", record.id}, {"error", why}});
      }
      Advance(end, 0, {{record.id, Dump(record.value), why, rejections}});
      ++dead_lettered_;
      if (deps_.metrics) deps_.metrics->AddCounter("warden_sync_dead_letters_total", job_.name, 1);
      return;
    }
    if (!budget_.Take()) {
      throw SyncFailure("retry budget exhausted (" + std::to_string(settings_.retry.budget) +
                        " retries per run): record " + record.id + " rejected: " + why);
    }
    if (request_.cancel->SleepFor(backoff_.Delay(rejections))) throw SyncCancelled();
  }
}

void HttpSyncJob::DeliverReady(bool flush) {
  while (!pending_.empty()) {
    size_t n = 0;
    if (forced_end_) {
      // Resume: the chunk that was in flight goes out again exactly as it was.
      size_t idx = 0;
      while (idx < pending_.size() && CompareRecordIds(pending_[idx].id, *forced_end_) <= 0) ++idx;
      if (idx == pending_.size() && !flush) return;  // need more records
      forced_end_.reset();
      if (idx == 0) continue;  // those records are gone from the source: chunk as usual
      n = idx;
    } else if (pending_.size() >= static_cast<size_t>(settings_.chunk_size)) {
      n = static_cast<size_t>(settings_.chunk_size);
    } else if (flush) {
      n = pending_.size();
    } else {
      return;
    }
    CheckCancelled();  // stop at a chunk boundary
    Resolve(0, n);
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(n));
  }
}

RunOutcome HttpSyncJob::Run() {
  RunOutcome outcome;
  outcome.started_ms = SystemNowMs();
  try {
    conn_.emplace(deps_.pool->Acquire());
    store_ = std::make_unique<SyncStore>(**conn_, job_.name, fence_);
    try {
      cp_ = store_->Begin();
    } catch (const FencedOutError&) {
      // The checkpoint holds a fence above ours. A newer run, or a Redis that lost the fencing
      // counter (restarted empty, flushed) and now hands out fences from 1: then every run
      // would stop here, forever. Redis tells which: a counter behind the checkpoint is raised
      // past it, and this run takes the next fence.
      std::optional<SyncCheckpoint> held = SyncStore::Load(**conn_, job_.name);
      const int64_t fresh =
          held && deps_.reseed_fence ? deps_.reseed_fence(held->fence) : int64_t{0};
      if (fresh <= 0) throw;
      if (deps_.logger) {
        deps_.logger->Warn(
            "the fencing counter in Redis was behind the checkpoint (Redis "
            "restarted empty or was flushed?): raised it",
            {{"job", job_.name}, {"checkpoint_fence", held->fence}, {"fence", fresh}});
      }
      fence_ = fresh;
      store_ = std::make_unique<SyncStore>(**conn_, job_.name, fence_);
      cp_ = store_->Begin();
    }
    cursor_ = cp_.page_cursor;
    offset_ = cp_.page_offset;
    if (cp_.inflight_last_id) forced_end_ = cp_.inflight_last_id;
    std::optional<std::string> last_seen = cp_.last_id;
    int stalled = 0;
    while (true) {
      CheckCancelled();
      Page page = FetchPage();
      size_t fresh = 0;
      for (Record& record : page.records) {
        if (last_seen && CompareRecordIds(record.id, *last_seen) <= 0) continue;  // duplicate
        last_seen = record.id;
        pending_.push_back(std::move(record));
        ++fresh;
      }
      bool progressed = true;
      if (settings_.pagination == HttpSyncSettings::Pagination::kCursor) {
        progressed = fresh > 0 || page.next_cursor != cursor_;
        if (!page.last) cursor_ = page.next_cursor;
      } else {
        progressed = fresh > 0 || page.records.empty();
        // A page of nothing but records already seen: ask again before moving on.
        if (progressed || stalled + 1 >= settings_.retry.attempts) {
          offset_ += static_cast<int64_t>(page.records.size());
          progressed = true;
        }
      }
      if (!progressed) {
        ++stalled;
        if (deps_.metrics) deps_.metrics->AddCounter("warden_sync_retries_total", job_.name, 1);
        if (stalled >= settings_.retry.attempts * 4 || !budget_.Take()) {
          throw SyncFailure("the source keeps returning pages of records already delivered");
        }
        if (request_.cancel->SleepFor(backoff_.Delay(std::min(stalled, 10)))) throw SyncCancelled();
      } else {
        stalled = 0;
      }
      DeliverReady(page.last);
      if (page.last && pending_.empty()) break;
    }
    outcome.result = RunResult::kOk;
  } catch (const SyncCancelled&) {
    outcome.result = RunResult::kCancelled;
    outcome.error = std::string("stopped at a chunk boundary: ") +
                    CancelToken::ReasonText(request_.cancel->reason());
  } catch (const MysqlConnectionLostError& e) {
    if (conn_) conn_->Discard();
    outcome.result = RunResult::kFailed;
    outcome.error = e.what();
  } catch (const std::exception& e) {
    outcome.result = RunResult::kFailed;
    outcome.error = e.what();
  }
  outcome.rows = delivered_;
  if (dead_lettered_ > 0) {
    outcome.output = std::to_string(dead_lettered_) + " record(s) moved to warden_dead_letters\n";
  }
  store_.reset();
  conn_.reset();
  outcome.finished_ms = SystemNowMs();
  return outcome;
}

std::pair<int, int> HttpSyncJob::Replay(const JobSpec& job, MysqlConnection& conn,
                                        const std::vector<DeadLetter>& letters, Logger* logger) {
  const HttpSyncSettings& s = job.Params<HttpSyncSettings>();
  HttpClient http;
  Backoff backoff(s.retry.base_ms, s.retry.max_ms);
  int sent = 0, failed = 0;
  for (const DeadLetter& letter : letters) {
    std::string error;
    nlohmann::json record = nlohmann::json::parse(letter.record, nullptr, false);
    if (record.is_discarded()) {
      error = "the stored record is not valid JSON";
    } else if (!s.sink_table.empty()) {
      try {
        MysqlStatement insert = conn.Prepare(InsertSql(s, 1));
        for (const std::string& column : s.sink_columns) insert.Bind(ToValue(Find(record, column)));
        insert.Execute();
      } catch (const MysqlError& e) {
        error = e.what();
      }
    } else {
      for (int attempt = 1; attempt <= s.retry.attempts; ++attempt) {
        HttpClient::Request request;
        request.method = "POST";
        request.url = s.sink_url;
        request.connect_timeout_ms = s.connect_timeout_ms;
        request.timeout_ms = s.transfer_timeout_ms;
        request.max_response = s.max_response;
        for (const auto& header : s.sink_headers) request.headers.push_back(header);
        request.headers.emplace_back("Content-Type", "application/json");
        request.headers.emplace_back(
            "Idempotency-Key", "warden:" + job.name + ":dead-letter:" + std::to_string(letter.id));
        request.body = Dump(nlohmann::json{{"records", nlohmann::json::array({record})}});
        try {
          HttpResponse response = http.Send(request);
          if (response.status >= 200 && response.status < 300) {
            error.clear();
            break;
          }
          error = "HTTP " + std::to_string(response.status) + " " + Short(response.body);
          if (response.status < 500 && response.status != 408 && response.status != 409 &&
              response.status != 429) {
            break;
          }
        } catch (const HttpError& e) {
          error = e.what();
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(backoff.Delay(attempt)));
      }
    }
    SyncStore::MarkReplayed(conn, letter.id, SystemNowMs(),
                            error.empty() ? std::nullopt : std::optional<std::string>(error));
    if (error.empty()) {
      ++sent;
    } else {
      ++failed;
      if (logger)
        logger->Warn("replay failed",
                     {{"job", job.name}, {"record", letter.record_id}, {"error", error}});
    }
  }
  return {sent, failed};
}

namespace {

bool ValidIdentifier(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (unsigned char c : name) {
    if (!std::isalnum(c) && c != '_') return false;
  }
  return !std::isdigit(static_cast<unsigned char>(name.front()));
}

void ParseRetry(TomlReader& r, RetrySettings* retry, int default_attempts) {
  if (auto v = r.Integer("retries", 0, 100)) {
    retry->attempts = static_cast<int>(*v) + 1;
  } else {
    retry->attempts = default_attempts;
  }
  if (auto v = r.Duration("retry_backoff", 1, 600000)) retry->base_ms = *v;
  if (auto v = r.Duration("retry_backoff_max", 1, 3600000)) retry->max_ms = *v;
  if (retry->max_ms < retry->base_ms) {
    r.Fail(r.Get("retry_backoff_max"), "retry_backoff_max", "is shorter than retry_backoff");
  }
  if (auto v = r.Integer("retry_budget", 0, 1000000)) retry->budget = static_cast<int>(*v);
}

void ParseHttpSync(TomlReader& job, JobSpec* spec, HttpSyncSettings& s) {
  const std::string& path = job.path();
  const std::string context = "job \"" + spec->name + "\"";

  const toml::table* source = job.Table("source");
  if (source == nullptr) job.Fail(nullptr, "source", "missing (required for type http_sync)");
  TomlReader src(path, *source, context + ": source");
  s.source_url = *src.String("url", true);
  if (!ValidHttpUrl(s.source_url)) {
    src.Fail(src.Get("url"), "url", "expected an http:// or https:// URL");
  }
  if (auto v = src.String("pagination")) {
    if (*v == "cursor") {
      s.pagination = HttpSyncSettings::Pagination::kCursor;
    } else if (*v == "offset") {
      s.pagination = HttpSyncSettings::Pagination::kOffset;
    } else {
      src.Fail(src.Get("pagination"), "pagination", "expected \"cursor\" or \"offset\"");
    }
  }
  if (auto v = src.Integer("page_size", 1, 10000)) s.page_size = static_cast<int>(*v);
  if (auto v = src.String("records")) s.records_field = *v;
  if (auto v = src.String("next_cursor")) s.next_cursor_field = *v;
  if (auto v = src.String("cursor_param")) s.cursor_param = *v;
  if (auto v = src.String("limit_param")) s.limit_param = *v;
  if (auto v = src.String("offset_param")) s.offset_param = *v;
  if (auto v = src.StringMap("headers")) s.source_headers = *v;
  src.RejectUnknown(
      "url, pagination, page_size, records, next_cursor, cursor_param, limit_param, "
      "offset_param, headers");

  const toml::table* sink = job.Table("sink");
  if (sink == nullptr) job.Fail(nullptr, "sink", "missing (required for type http_sync)");
  TomlReader dst(path, *sink, context + ": sink");
  if (auto v = dst.String("url")) s.sink_url = *v;
  if (auto v = dst.String("table")) s.sink_table = *v;
  if (s.sink_url.empty() == s.sink_table.empty()) {
    dst.Fail(nullptr, "", "set exactly one of url (an HTTP API) and table (a MariaDB table)");
  }
  if (!s.sink_url.empty() && !ValidHttpUrl(s.sink_url)) {
    dst.Fail(dst.Get("url"), "url", "expected an http:// or https:// URL");
  }
  if (!s.sink_table.empty() && !ValidIdentifier(s.sink_table)) {
    dst.Fail(dst.Get("table"), "table", "expected a table name of letters, digits and _");
  }
  if (auto v = dst.StringMap("headers")) s.sink_headers = *v;
  if (auto v = dst.StringList("columns")) {
    s.sink_columns = *v;
    for (const std::string& column : s.sink_columns) {
      if (!ValidIdentifier(column)) {
        dst.Fail(dst.Get("columns"), "columns", "\"" + column + "\" is not a column name");
      }
    }
  }
  if (auto v = dst.String("key")) s.sink_key = *v;
  dst.RejectUnknown("url, headers, table, columns, key");

  if (auto v = job.String("id_field")) s.id_field = *v;
  if (s.id_field.empty()) job.Fail(job.Get("id_field"), "id_field", "must not be empty");
  if (!s.sink_table.empty()) {
    if (s.sink_columns.empty()) {
      dst.Fail(nullptr, "columns", "missing (required with table: the record fields to store)");
    }
    if (s.sink_key.empty()) s.sink_key = s.id_field;
    if (!ValidIdentifier(s.sink_key)) dst.Fail(dst.Get("key"), "key", "not a column name");
  }
  if (auto v = job.Integer("chunk_size", 1, 10000)) s.chunk_size = static_cast<int>(*v);
  if (auto v = job.Number("rate_limit", 0, 100000)) s.rate_limit = *v;
  if (auto v = job.Duration("connect_timeout", 1, 600000)) s.connect_timeout_ms = *v;
  if (auto v = job.Duration("transfer_timeout", 1, 3600000)) s.transfer_timeout_ms = *v;
  if (auto v = job.Integer("max_response", 1024, int64_t{1} << 30)) s.max_response = *v;
  if (auto v = job.Integer("max_record_attempts", 1, 100)) {
    s.max_record_attempts = static_cast<int>(*v);
  }
  ParseRetry(job, &s.retry, 5);
  if (auto v = job.Integer("breaker_failures", 1, 1000)) s.breaker.failures = static_cast<int>(*v);
  if (auto v = job.Duration("breaker_open", 1, 3600000)) s.breaker.open_ms = *v;
}

}  // namespace

JobType HttpSyncJobType() {
  JobType type;
  type.name = "http_sync";
  type.parse = [](TomlReader& r, JobSpec* spec) {
    auto settings = std::make_shared<HttpSyncSettings>();
    ParseHttpSync(r, spec, *settings);
    spec->params = std::move(settings);
    return std::string(
        "source, sink, id_field, chunk_size, rate_limit, connect_timeout, "
        "transfer_timeout, max_response, max_record_attempts, retries, retry_backoff, "
        "retry_backoff_max, "
        "retry_budget, breaker_failures, breaker_open");
  };
  type.run = [](const RunRequest& request, int64_t, const JobServices& services) {
    if (services.pool == nullptr) return NeedsMariaDb("http_sync");
    HttpSyncJob::Deps deps;
    deps.pool = services.pool;
    deps.breakers = services.breakers;
    deps.metrics = services.metrics;
    deps.logger = services.logger;
    if (services.redis_url != nullptr) {
      deps.reseed_fence = [&services, job = request.job->name](int64_t at_least) {
        RedisConnection conn =
            RedisConnection::Connect(*services.redis_url, services.redis_timeout_ms);
        return RedisCoordinator::ReseedFence(conn, services.prefix, job, at_least);
      };
    }
    return HttpSyncJob(request, std::move(deps)).Run();
  };
  // Each call retries itself (retries, retry_budget); a failed run is not run again.
  type.retries_runs = false;
  return type;
}

}  // namespace warden
