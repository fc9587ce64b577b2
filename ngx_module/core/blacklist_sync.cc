#include "core/blacklist_sync.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "common/blacklist_entry.h"
#include "core/stream_change.h"

namespace warden {

namespace {

constexpr int kSweepSlotsPerTick = 4096;
constexpr uint64_t kMalformedLogLimit = 10;

std::string Str(const redisReply* r) {
  if (!r || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS)) return {};
  return std::string(r->str, r->len);
}

bool IsArray(const redisReply* r, size_t min_elements) {
  return r && r->type == REDIS_REPLY_ARRAY && r->elements >= min_elements;
}

}  // namespace

BlacklistSync::BlacklistSync(RedisEndpoint endpoint, BlacklistTable* table, int32_t pid,
                             Clock clock, AsyncClient::AttachFn attach, LogFn log)
    : schema_(endpoint.Schema()),
      table_(table),
      pid_(pid),
      clock_(clock),
      redis_(AsyncClient::Open(std::move(endpoint), "blacklist sync", clock, std::move(attach),
                               std::move(log))) {
  redis_->set_on_connect([this] {
    if (!step_in_flight_) SendHello(false);
  });
}

BlacklistSync::~BlacklistSync() { Shutdown(); }

void BlacklistSync::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  redis_->Close();
  if (leader_) table_->ResignLeadership(pid_);
  leader_ = false;
}

void BlacklistSync::Tick() {
  if (shut_down_) return;
  int64_t now = clock_();
  leader_ = table_->TryLead(pid_, now, kLeaseMs);
  if (!leader_) {
    redis_->Close();
    held_ = false;  // a leader again loads in full, and decides again
    return;
  }
  {
    // Expired entries stopped matching on time already; this only frees their slots.
    BlacklistTable::WriteBatch batch(*table_, pid_);
    batch.Sweep(now, kSweepSlotsPerTick);
  }
  redis_->Tick();
  if (!step_in_flight_ && redis_->connected()) SendHello(false);
  if (held_ && redis_->connected() && now >= next_accept_check_ms_) {
    next_accept_check_ms_ = now + kAcceptCheckMs;
    redis_->Send({"GET", schema_.BlacklistAccept()}, redis_->endpoint().timeout_ms,
                 [this](redisReply* r) { OnAccept(r); });
  }
}

template <void (BlacklistSync::*Handler)(redisReply*)>
AsyncClient::Callback BlacklistSync::Handle(const char* what) {
  return [this, what](redisReply* r) {
    step_in_flight_ = false;
    if (!r) return;  // the connection failed: it reconnects and says hello again
    if (r->type == REDIS_REPLY_ERROR) {
      redis_->DisconnectSoon(std::string(what) + " failed: " + std::string(r->str, r->len));
      return;
    }
    last_contact_ms_ = clock_();
    (this->*Handler)(r);
  };
}

void BlacklistSync::SendStep(std::vector<std::string> args, int64_t budget_ms,
                             AsyncClient::Callback done) {
  // Set first: sending may connect a cluster's primary, whose on_connect must not start a
  // second chain.
  step_in_flight_ = true;
  step_in_flight_ = redis_->Send(args, budget_ms, std::move(done));
}

std::string BlacklistSync::NewEpoch() {
  static const char kHex[] = "0123456789abcdef";
  std::random_device rd;
  std::string epoch(32, '0');
  for (char& c : epoch) c = kHex[rd() & 15];
  return epoch;
}

void BlacklistSync::SendHello(bool force_full) {
  auto state = table_->ReadSyncState();
  std::string resume_from = (!force_full && state.loaded) ? state.stream_id : "";
  force_full_ = force_full;
  SendStep({"EVAL", RedisSchema::kSyncHelloScript, "3", schema_.BlacklistEpoch(),
            schema_.BlacklistSeq(), schema_.BlacklistLog(), resume_from, NewEpoch()},
           redis_->endpoint().timeout_ms, Handle<&BlacklistSync::OnHello>("sync hello"));
}

void BlacklistSync::OnHello(redisReply* r) {
  if (!IsArray(r, 4) || r->element[1]->type != REDIS_REPLY_INTEGER ||
      r->element[3]->type != REDIS_REPLY_INTEGER) {
    redis_->DisconnectSoon("unexpected reply to the sync hello script");
    return;
  }
  redis_->MarkHealthy();
  bool forced = force_full_;
  std::string epoch = Str(r->element[0]);
  auto seq = static_cast<uint64_t>(r->element[1]->integer);
  std::string last_id = Str(r->element[2]);
  bool present = r->element[3]->integer == 1;

  auto state = table_->ReadSyncState();
  bool same_dataset = state.loaded && epoch == state.epoch && seq >= state.seq;
  bool resumable =
      same_dataset && (present || (std::strcmp(state.stream_id, "0-0") == 0 && seq == state.seq));
  if (!forced && resumable) {
    SendRead();
    return;
  }
  if (state.loaded && !forced) {
    std::string why = epoch != state.epoch ? "redis holds another data set (epoch changed)"
                      : seq < state.seq    ? "redis went back in time (sequence number fell)"
                                           : "the last applied change was trimmed from the log";
    redis_->Log(LogLevel::kInfo, "cannot continue the blacklist change stream: " + why +
                                     "; reloading the whole list");
  }
  load_epoch_ = epoch;
  load_stream_id_ = last_id.empty() ? "0-0" : last_id;
  load_seq_ = seq;
  scan_cursor_ = "0";
  load_started_ms_ = clock_();
  load_entries_ = load_skipped_ = 0;
  load_prev_entries_ = state.loaded || state.reload_held ? table_->entries() : 0;
  held_ = false;  // a hold is decided anew at the end of this load
  {
    BlacklistTable::WriteBatch batch(*table_, pid_);
    batch.BeginGeneration();
    // Until the load completes, a crash must lead to another full load, not a resume.
    batch.sync_state().loaded = false;
  }
  SendScan();
}

void BlacklistSync::SendScan() {
  SendStep({"HSCAN", schema_.BlacklistEntries(), scan_cursor_, "COUNT", std::to_string(kScanCount)},
           redis_->endpoint().timeout_ms, Handle<&BlacklistSync::OnScan>("HSCAN"));
}

void BlacklistSync::OnScan(redisReply* r) {
  if (!IsArray(r, 2) || r->element[0]->type != REDIS_REPLY_STRING ||
      r->element[1]->type != REDIS_REPLY_ARRAY) {
    redis_->DisconnectSoon("unexpected reply to HSCAN");
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
          redis_->Log(LogLevel::kWarn, "skipping malformed blacklist entry in redis: " + error);
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
  if (load_prev_entries_ >= kHoldMinEntries && load_entries_ < load_prev_entries_ / 2) {
    // Both generations keep matching: the old list stays in force, and the changes that
    // follow are applied to the new one, which becomes live once the operator accepts it.
    RecordLoad(/*commit=*/false);
    next_accept_check_ms_ = 0;
    redis_->Log(LogLevel::kError,
                "redis holds " + std::to_string(load_entries_) +
                    " blacklist entries where this node has " + std::to_string(load_prev_entries_) +
                    " (was it restarted without persistence, flushed, or failed over to an empty "
                    "replica?): keeping this node's list and applying new changes on top; if "
                    "the new data set is right, run `warden sync --accept-empty`");
    SendRead();
    return;
  }
  RecordLoad(/*commit=*/true);
  auto stats = table_->ReadStats();
  redis_->Log(
      LogLevel::kInfo,
      "blacklist loaded from redis: " + std::to_string(load_entries_) + " entries in " +
          std::to_string(clock_() - load_started_ms_) + " ms" +
          (load_skipped_ ? ", " + std::to_string(load_skipped_) + " malformed skipped" : "") +
          (stats.rejected_full ? "; warden_blacklist_zone is full, " +
                                     std::to_string(stats.rejected_full) + " entries dropped"
                               : ""));
  SendRead();
}

void BlacklistSync::RecordLoad(bool commit) {
  held_ = !commit;
  BlacklistTable::WriteBatch batch(*table_, pid_);
  if (commit) batch.CommitGeneration();
  auto& state = batch.sync_state();
  std::snprintf(state.epoch, sizeof state.epoch, "%s", load_epoch_.c_str());
  std::snprintf(state.stream_id, sizeof state.stream_id, "%s", load_stream_id_.c_str());
  state.seq = load_seq_;
  if (commit) state.loaded_at_ms = clock_();
  state.loaded = commit;  // held: a restart loads in full again, and holds again
  state.reload_held = !commit;
}

void BlacklistSync::OnAccept(redisReply* r) {
  // held_ is cleared when a new load starts: an answer that comes during one is ignored.
  if (!held_ || r == nullptr || r->type != REDIS_REPLY_STRING) return;
  if (Str(r) != load_epoch_) return;
  {
    // The stream position moved on while the load was held: keep it.
    auto state = table_->ReadSyncState();
    load_stream_id_ = state.stream_id;
    load_seq_ = state.seq;
  }
  RecordLoad(/*commit=*/true);
  redis_->Log(LogLevel::kWarn, "the operator accepted redis's blacklist (epoch " + load_epoch_ +
                                   "): entries only this node had are dropped");
}

void BlacklistSync::SendRead() {
  auto state = table_->ReadSyncState();
  SendStep({"XREAD", "COUNT", std::to_string(kScanCount), "BLOCK", std::to_string(kBlockMs),
            "STREAMS", schema_.BlacklistLog(), state.stream_id},
           kBlockMs + redis_->endpoint().timeout_ms, Handle<&BlacklistSync::OnRead>("XREAD"));
}

void BlacklistSync::OnRead(redisReply* r) {
  std::optional<std::vector<StreamChange>> changes = ParseStreamChanges(r);
  if (!changes) {
    redis_->DisconnectSoon("unexpected reply to XREAD");
    return;
  }
  if (r->type == REDIS_REPLY_NIL) {  // nothing changed within the block time
    SendRead();
    return;
  }
  uint64_t expected = table_->ReadSyncState().seq + 1;
  bool gap = false;
  size_t i = 0;
  while (i < changes->size() && !gap) {
    BlacklistTable::WriteBatch batch(*table_, pid_);
    for (int n = 0; n < kWriteBatch && i < changes->size(); ++n, ++i) {
      const StreamChange& c = (*changes)[i];
      if (c.seq != expected) {
        redis_->Log(LogLevel::kWarn, "gap in the blacklist change stream (expected change " +
                                         std::to_string(expected) + ", got " +
                                         std::to_string(c.seq) + "); reloading the whole list");
        gap = true;
        break;
      }
      Apply(c.op, c.entry, c.value, c.seq, c.id, &batch);
      ++expected;
    }
  }
  // Live in the table now (each batch committed as it closed): when this node had each ban.
  const int64_t applied_ms = clock_();
  for (size_t k = 0; k < i && k < changes->size(); ++k) {
    const StreamChange& c = (*changes)[k];
    if (c.op == "add" && c.seq < expected) applied_.Add(c.seq, applied_ms);
  }
  if (gap) {
    SendHello(true);
  } else {
    SendRead();
  }
}

void BlacklistSync::Apply(const std::string& op, const std::string& entry, const std::string& value,
                          uint64_t seq, const std::string& id, BlacklistTable::WriteBatch* batch) {
  std::string error;
  if (op == "add") {
    auto e = BlacklistEntry::Decode(entry, value, &error);
    if (e) {
      batch->Upsert(e->cidr, e->expires_ms, e->source);
    } else {
      redis_->Log(LogLevel::kWarn, "skipping malformed blacklist change " + id + ": " + error);
    }
  } else if (op == "del") {
    if (auto cidr = Cidr::Parse(entry, &error)) {
      batch->Remove(*cidr);
    } else {
      redis_->Log(LogLevel::kWarn, "skipping malformed blacklist change " + id + ": " + error);
    }
  } else {
    redis_->Log(LogLevel::kWarn,
                "skipping blacklist change " + id + " with unknown op \"" + op + "\"");
  }
  // The position is saved with the change itself, so a new leader resumes exactly here.
  auto& state = batch->sync_state();
  state.seq = seq;
  std::snprintf(state.stream_id, sizeof state.stream_id, "%s", id.c_str());
}

}  // namespace warden
