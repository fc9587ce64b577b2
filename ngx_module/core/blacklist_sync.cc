#include "blacklist_sync.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <vector>

#include "blacklist_entry.h"

namespace warden {

namespace {

constexpr int64_t kMinBackoffMs = 100;
constexpr int64_t kMaxBackoffMs = 5000;
constexpr int kSweepSlotsPerTick = 4096;
constexpr uint64_t kMalformedLogLimit = 10;

std::string Str(const redisReply* r) {
  if (!r || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS)) return {};
  return std::string(r->str, r->len);
}

bool IsArray(const redisReply* r, size_t min_elements) {
  return r && r->type == REDIS_REPLY_ARRAY && r->elements >= min_elements;
}

int Send(redisAsyncContext* ac, redisCallbackFn* fn, void* priv,
         const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  return redisAsyncCommandArgv(ac, fn, priv, static_cast<int>(args.size()), argv.data(),
                               lens.data());
}

}  // namespace

std::string RedisEndpoint::Describe() const {
  if (!unix_path.empty()) return "unix:" + unix_path;
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

BlacklistSync::BlacklistSync(RedisEndpoint endpoint, BlacklistTable* table, int32_t pid,
                             Clock clock, AttachFn attach, LogFn log)
    : endpoint_(std::move(endpoint)),
      schema_(endpoint_.prefix),
      table_(table),
      pid_(pid),
      clock_(std::move(clock)),
      attach_(std::move(attach)),
      log_(std::move(log)),
      rng_(std::random_device{}() ^ static_cast<uint32_t>(pid)) {}

BlacklistSync::~BlacklistSync() { Shutdown(); }

void BlacklistSync::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  if (ac_) Drop("worker exiting");
  if (leader_) table_->ResignLeadership(pid_);
  leader_ = false;
}

void BlacklistSync::Tick() {
  if (shut_down_) return;
  int64_t now = clock_();
  leader_ = table_->TryLead(pid_, now, kLeaseMs);
  if (!leader_) {
    if (ac_) Drop("another worker leads the sync now");
    return;
  }

  {
    // Expired entries stopped matching on time already; this only frees their slots.
    BlacklistTable::WriteBatch batch(*table_, pid_);
    batch.Sweep(now, kSweepSlotsPerTick);
  }

  if (ac_ && pending_deadline_ms_ && now > pending_deadline_ms_) {
    Drop("redis " + endpoint_.Describe() + " did not answer within " +
         std::to_string(endpoint_.timeout_ms) + " ms");
    return;
  }
  if (!ac_ && now >= next_attempt_ms_) Connect();
}

void BlacklistSync::Expect(int64_t budget_ms) { pending_deadline_ms_ = clock_() + budget_ms; }

void BlacklistSync::ScheduleRetry() {
  backoff_ms_ = backoff_ms_ ? std::min(backoff_ms_ * 2, kMaxBackoffMs) : kMinBackoffMs;
  // Full jitter keeps the nodes of a fleet from reconnecting in lockstep after an outage.
  std::uniform_int_distribution<int64_t> jitter(backoff_ms_ / 2, backoff_ms_);
  next_attempt_ms_ = clock_() + jitter(rng_);
  state_ = State::kIdle;
  pending_deadline_ms_ = 0;
}

void BlacklistSync::Connect() {
  redisAsyncContext* ac = endpoint_.unix_path.empty()
                              ? redisAsyncConnect(endpoint_.host.c_str(), endpoint_.port)
                              : redisAsyncConnectUnix(endpoint_.unix_path.c_str());
  if (!ac || ac->err) {
    if (!outage_logged_) {
      log_(LogLevel::kError, "cannot connect to redis " + endpoint_.Describe() + ": " +
                                 (ac ? ac->errstr : "out of memory") +
                                 "; serving the last known blacklist, retrying");
      outage_logged_ = true;
    }
    if (ac) redisAsyncFree(ac);
    ScheduleRetry();
    return;
  }
  ac->data = this;
  redisAsyncSetConnectCallback(ac, ConnectCallback);
  redisAsyncSetDisconnectCallback(ac, DisconnectCallback);
  if (!attach_(ac)) {
    log_(LogLevel::kError, "cannot attach the redis connection to the event loop");
    redisAsyncFree(ac);
    ScheduleRetry();
    return;
  }
  ac_ = ac;
  Expect(endpoint_.timeout_ms);
  if (!endpoint_.password.empty()) {
    Send(ac_, AuthCallback, const_cast<char*>("AUTH"), {"AUTH", endpoint_.password});
  }
  if (endpoint_.db != 0) {
    Send(ac_, AuthCallback, const_cast<char*>("SELECT"), {"SELECT", std::to_string(endpoint_.db)});
  }
  SendHello(false);
}

void BlacklistSync::Drop(const std::string& why) {
  redisAsyncContext* ac = ac_;
  ac_ = nullptr;  // replies flushed by the free below are stale: the callbacks ignore them
  if (ac) {
    if (!outage_logged_ && why != "worker exiting") {
      log_(LogLevel::kWarn, why + "; reconnecting");
    }
    redisAsyncFree(ac);
  }
  ScheduleRetry();
}

void BlacklistSync::ConnectCallback(const redisAsyncContext* ac, int status) {
  auto* self = static_cast<BlacklistSync*>(ac->data);
  if (status == REDIS_OK || self->ac_ != ac) return;
  // hiredis frees the context itself after a failed connect.
  self->ac_ = nullptr;
  if (!self->outage_logged_) {
    self->log_(LogLevel::kError, "cannot connect to redis " + self->endpoint_.Describe() + ": " +
                                     ac->errstr + "; serving the last known blacklist, retrying");
    self->outage_logged_ = true;
  }
  self->ScheduleRetry();
}

void BlacklistSync::DisconnectCallback(const redisAsyncContext* ac, int status) {
  auto* self = static_cast<BlacklistSync*>(ac->data);
  if (self->ac_ != ac) return;
  self->ac_ = nullptr;
  if (!self->outage_logged_) {
    self->log_(LogLevel::kWarn, "lost the redis connection to " + self->endpoint_.Describe() +
                                    (status == REDIS_OK ? "" : std::string(": ") + ac->errstr) +
                                    "; serving the last known blacklist, reconnecting");
    self->outage_logged_ = true;
  }
  self->ScheduleRetry();
}

template <void (BlacklistSync::*Handler)(redisReply*)>
void BlacklistSync::ReplyCallback(redisAsyncContext* ac, void* reply, void* privdata) {
  auto* self = static_cast<BlacklistSync*>(ac->data);
  // A null reply means hiredis is tearing the connection down; the disconnect path handles it.
  if (!reply || self->ac_ != ac) return;
  auto* r = static_cast<redisReply*>(reply);
  if (r->type == REDIS_REPLY_ERROR) {
    self->ProtocolError(std::string("redis error: ") + std::string(r->str, r->len));
    return;
  }
  (self->*Handler)(r);
}

void BlacklistSync::AuthCallback(redisAsyncContext* ac, void* reply, void* privdata) {
  auto* self = static_cast<BlacklistSync*>(ac->data);
  if (!reply || self->ac_ != ac) return;
  auto* r = static_cast<redisReply*>(reply);
  if (r->type == REDIS_REPLY_ERROR) {
    self->ProtocolError(std::string(static_cast<const char*>(privdata)) +
                        " failed: " + std::string(r->str, r->len));
  }
}

void BlacklistSync::ProtocolError(const std::string& what) {
  // Inside a hiredis callback: ask for a disconnect after the pending replies instead of
  // freeing the context under hiredis's feet. The disconnect callback schedules the retry.
  log_(LogLevel::kError, what + " (redis " + endpoint_.Describe() + ")");
  outage_logged_ = true;
  if (ac_) redisAsyncDisconnect(ac_);
}

std::string BlacklistSync::NewEpoch() {
  static const char kHex[] = "0123456789abcdef";
  std::string epoch(32, '0');
  for (char& c : epoch) c = kHex[rng_() & 15];
  return epoch;
}

void BlacklistSync::SendHello(bool force_full) {
  auto state = table_->ReadSyncState();
  std::string resume_from = (!force_full && state.loaded) ? state.stream_id : "";
  state_ = State::kHello;
  Expect(endpoint_.timeout_ms);
  Send(ac_, ReplyCallback<&BlacklistSync::OnHello>, nullptr,
       {"EVAL", RedisSchema::kSyncHelloScript, "3", schema_.BlacklistEpoch(),
        schema_.BlacklistSeq(), schema_.BlacklistLog(), resume_from, NewEpoch()});
  force_full_ = force_full;
}

void BlacklistSync::OnHello(redisReply* r) {
  if (!IsArray(r, 4) || r->element[1]->type != REDIS_REPLY_INTEGER ||
      r->element[3]->type != REDIS_REPLY_INTEGER) {
    ProtocolError("unexpected reply to the sync hello script");
    return;
  }
  if (outage_logged_) {
    log_(LogLevel::kInfo, "redis " + endpoint_.Describe() + " is reachable again");
    outage_logged_ = false;
  }
  backoff_ms_ = 0;
  bool forced = force_full_;
  std::string epoch = Str(r->element[0]);
  auto seq = static_cast<uint64_t>(r->element[1]->integer);
  std::string last_id = Str(r->element[2]);
  bool present = r->element[3]->integer == 1;

  auto state = table_->ReadSyncState();
  bool same_dataset = state.loaded && epoch == state.epoch && seq >= state.seq;
  bool resumable = same_dataset && (present || (std::strcmp(state.stream_id, "0-0") == 0 &&
                                                seq == state.seq));
  if (!forced && resumable) {
    SendRead();
    return;
  }
  if (state.loaded && !forced) {
    std::string why = epoch != state.epoch ? "redis holds another data set (epoch changed)"
                      : seq < state.seq    ? "redis went back in time (sequence number fell)"
                                           : "the last applied change was trimmed from the log";
    log_(LogLevel::kInfo, "cannot continue the blacklist change stream: " + why +
                              "; reloading the whole list");
  }
  load_epoch_ = epoch;
  load_stream_id_ = last_id.empty() ? "0-0" : last_id;
  load_seq_ = seq;
  scan_cursor_ = "0";
  load_started_ms_ = clock_();
  load_entries_ = load_skipped_ = 0;
  {
    BlacklistTable::WriteBatch batch(*table_, pid_);
    batch.BeginGeneration();
    // Until the load completes, a crash must lead to another full load, not a resume.
    batch.sync_state().loaded = false;
  }
  state_ = State::kLoading;
  SendScan();
}

void BlacklistSync::SendScan() {
  Expect(endpoint_.timeout_ms);
  Send(ac_, ReplyCallback<&BlacklistSync::OnScan>, nullptr,
       {"HSCAN", schema_.BlacklistEntries(), scan_cursor_, "COUNT", std::to_string(kScanCount)});
}

void BlacklistSync::OnScan(redisReply* r) {
  if (!IsArray(r, 2) || r->element[0]->type != REDIS_REPLY_STRING ||
      r->element[1]->type != REDIS_REPLY_ARRAY) {
    ProtocolError("unexpected reply to HSCAN");
    return;
  }
  int64_t now = clock_();
  redisReply* items = r->element[1];
  size_t i = 0;
  while (i + 1 < items->elements) {
    BlacklistTable::WriteBatch batch(*table_, pid_);
    for (int n = 0; n < kWriteBatch && i + 1 < items->elements; ++n, i += 2) {
      std::string field = Str(items->element[i]);
      std::string value = Str(items->element[i + 1]);
      std::string error;
      auto entry = BlacklistEntry::Decode(field, value, &error);
      if (!entry) {
        if (++load_skipped_ <= kMalformedLogLimit) {
          log_(LogLevel::kWarn, "skipping malformed blacklist entry in redis: " + error);
        }
        continue;
      }
      if (entry->ExpiredAt(now)) continue;
      if (batch.Upsert(entry->cidr, entry->expires_ms, entry->source)) ++load_entries_;
    }
  }
  scan_cursor_ = Str(r->element[0]);
  if (scan_cursor_ != "0") {
    SendScan();
    return;
  }
  {
    BlacklistTable::WriteBatch batch(*table_, pid_);
    batch.CommitGeneration();
    auto& state = batch.sync_state();
    std::snprintf(state.epoch, sizeof state.epoch, "%s", load_epoch_.c_str());
    std::snprintf(state.stream_id, sizeof state.stream_id, "%s", load_stream_id_.c_str());
    state.seq = load_seq_;
    state.loaded_at_ms = clock_();
    state.loaded = true;
  }
  auto stats = table_->ReadStats();
  log_(LogLevel::kInfo,
       "blacklist loaded from redis: " + std::to_string(load_entries_) + " entries in " +
           std::to_string(clock_() - load_started_ms_) + " ms" +
           (load_skipped_ ? ", " + std::to_string(load_skipped_) + " malformed skipped" : "") +
           (stats.rejected_full ? "; warden_blacklist_zone is full, " +
                                      std::to_string(stats.rejected_full) + " entries dropped"
                                : ""));
  SendRead();
}

void BlacklistSync::SendRead() {
  state_ = State::kStreaming;
  auto state = table_->ReadSyncState();
  Expect(kBlockMs + endpoint_.timeout_ms);
  Send(ac_, ReplyCallback<&BlacklistSync::OnRead>, nullptr,
       {"XREAD", "COUNT", std::to_string(kScanCount), "BLOCK", std::to_string(kBlockMs),
        "STREAMS", schema_.BlacklistLog(), state.stream_id});
}

void BlacklistSync::OnRead(redisReply* r) {
  if (r->type == REDIS_REPLY_NIL) {  // nothing changed within the block time
    SendRead();
    return;
  }
  if (!IsArray(r, 1) || !IsArray(r->element[0], 2) || r->element[0]->element[1]->type !=
                                                          REDIS_REPLY_ARRAY) {
    ProtocolError("unexpected reply to XREAD");
    return;
  }
  redisReply* entries = r->element[0]->element[1];
  uint64_t expected = table_->ReadSyncState().seq + 1;
  bool gap = false;
  size_t i = 0;
  while (i < entries->elements && !gap) {
    BlacklistTable::WriteBatch batch(*table_, pid_);
    for (int n = 0; n < kWriteBatch && i < entries->elements; ++n, ++i) {
      redisReply* e = entries->element[i];
      if (!IsArray(e, 2) || e->element[1]->type != REDIS_REPLY_ARRAY) continue;
      std::string id = Str(e->element[0]);
      std::string op, entry, value;
      uint64_t seq = 0;
      redisReply* fields = e->element[1];
      for (size_t f = 0; f + 1 < fields->elements; f += 2) {
        std::string name = Str(fields->element[f]);
        std::string val = Str(fields->element[f + 1]);
        if (name == "seq") {
          seq = std::strtoull(val.c_str(), nullptr, 10);
        } else if (name == "op") {
          op = val;
        } else if (name == "entry") {
          entry = val;
        } else if (name == "value") {
          value = val;
        }
      }
      if (seq != expected) {
        log_(LogLevel::kWarn, "gap in the blacklist change stream (expected change " +
                                  std::to_string(expected) + ", got " + std::to_string(seq) +
                                  "); reloading the whole list");
        gap = true;
        break;
      }
      Apply(op, entry, value, seq, id, &batch);
      ++expected;
    }
  }
  if (gap) {
    SendHello(true);
  } else {
    SendRead();
  }
}

void BlacklistSync::Apply(const std::string& op, const std::string& entry,
                          const std::string& value, uint64_t seq, const std::string& id,
                          BlacklistTable::WriteBatch* batch) {
  std::string error;
  if (op == "add") {
    auto e = BlacklistEntry::Decode(entry, value, &error);
    if (e) {
      batch->Upsert(e->cidr, e->expires_ms, e->source);
    } else {
      log_(LogLevel::kWarn, "skipping malformed blacklist change " + id + ": " + error);
    }
  } else if (op == "del") {
    if (auto cidr = Cidr::Parse(entry, &error)) {
      batch->Remove(*cidr);
    } else {
      log_(LogLevel::kWarn, "skipping malformed blacklist change " + id + ": " + error);
    }
  } else {
    log_(LogLevel::kWarn, "skipping blacklist change " + id + " with unknown op \"" + op + "\"");
  }
  // The position is saved with the change itself, so a new leader resumes exactly here.
  auto& state = batch->sync_state();
  state.seq = seq;
  std::snprintf(state.stream_id, sizeof state.stream_id, "%s", id.c_str());
}

}  // namespace warden
