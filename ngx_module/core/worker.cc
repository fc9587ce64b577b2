#include "core/worker.h"

#include <hiredis/hiredis.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <sstream>
#include <string_view>
#include <unordered_map>

#include "common/cluster_slots.h"
#include "core/async_redis.h"

namespace warden {

Worker::Worker(int32_t pid, Clock clock, AsyncClient::AttachFn attach, LogFn log)
    : pid_(pid),
      clock_(std::move(clock)),
      attach_(std::move(attach)),
      log_(std::move(log)),
      started_ms_(clock_()) {
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  node_name_ = host;
}

void Worker::SetNode(std::string name, std::string nginx_version, int workers) {
  if (!name.empty()) node_name_ = std::move(name);
  nginx_version_ = std::move(nginx_version);
  workers_ = workers;
}

Worker::~Worker() { Shutdown(); }

bool Worker::AttachBlacklist(void* region, size_t bytes) {
  blacklist_bytes_ = bytes;
  return blacklist_.Attach(region, bytes);
}

bool Worker::AttachTraffic(void* region, size_t bytes) {
  if (!traffic_map_.Attach(region, bytes)) return false;
  traffic_ = std::make_unique<TrafficCounter>(&traffic_map_, pid_);
  return true;
}

void Worker::CountTraffic(const IpAddress& addr, const TrafficCounter::Sample& sample,
                          int64_t now_ms) {
  if (traffic_) traffic_->Count(addr, sample, now_ms);
}

bool Worker::AttachStats(void* region, size_t bytes, int worker) {
  worker_ = worker;
  if (!stats_.Attach(region, bytes)) return false;
  stats_row_ = stats_.row(worker_);
  stats_row_->pid.store(pid_);
  return true;
}

int Worker::AddLimitZone(const std::string& name, void* region, size_t bytes, int64_t rate,
                         int64_t sync_ms) {
  auto zone = std::make_unique<Zone>();
  if (!zone->map.Attach(region, bytes)) return -1;
  zone->name = name;
  zone->rate = rate;
  zone->sync_ms = sync_ms;
  zone->limiter = std::make_unique<RateLimiter>(&zone->map);
  if (sync_ms > 0) tick_ms_ = std::max<int64_t>(10, std::min(tick_ms_, sync_ms));
  zones_.push_back(std::move(zone));
  return static_cast<int>(zones_.size() - 1);
}

int Worker::AddAutoban(int limit_zone, AutobanRule rule, void* region, size_t bytes) {
  if (limit_zone < 0 || static_cast<size_t>(limit_zone) >= zones_.size()) return -1;
  auto ban = std::make_unique<Ban>();
  if (!ban->strikes.Attach(region, bytes)) return -1;
  rule.zone = zones_[static_cast<size_t>(limit_zone)]->name;
  ban->autoban = std::make_unique<Autoban>(std::move(rule), &ban->strikes, &blacklist_, node_name_,
                                           pid_, log_);
  autobans_.push_back(std::move(ban));
  return static_cast<int>(autobans_.size() - 1);
}

bool Worker::Strike(int autoban, const IpAddress& addr, int64_t now_ms, uint32_t* strikes) {
  Autoban& rule = *autobans_.at(static_cast<size_t>(autoban))->autoban;
  if (!rule.Strike(addr, now_ms, strikes)) return false;
  // Out to the fleet now, not at the next tick: Send only queues, nothing waits.
  if (autoban_redis_) rule.Flush(autoban_redis_.get(), *schema_);
  return true;
}

int Worker::AddBehaviour(BehaviourRule rule, void* region, size_t bytes) {
  auto b = std::make_unique<Behaviour>(std::move(rule), region, bytes, &blacklist_, node_name_,
                                       pid_, log_);
  if (!b->attached()) return -1;
  behaviours_.push_back(std::move(b));
  behaviour_bytes_.push_back(bytes);
  return static_cast<int>(behaviours_.size() - 1);
}

Behaviour::Result Worker::BehaviourEvent(int behaviour, const IpAddress& addr,
                                         std::string_view path, int status, int64_t now_ms) {
  Behaviour& rule = *behaviours_.at(static_cast<size_t>(behaviour));
  Behaviour::Result r = rule.Event(addr, path, status, now_ms);
  if (r.outcome == Behaviour::Outcome::kOverflow && autoban_redis_) {
    rule.Flush(autoban_redis_.get(), *schema_);
  }
  return r;
}

bool Worker::LimitExact(int zone, std::string_view key, const LeakyBucketParams& params,
                        int64_t now_ms, bool fail_closed, LeakyBucketVerdict* out, ExactDone done) {
  Zone& z = *zones_.at(static_cast<size_t>(zone));
  *out = z.limiter->Take(key, params, now_ms, pid_, false);
  if (out->rejected) return false;  // over the limit by Redis's last word: Redis is not asked
  if (!exact_redis_ || !exact_redis_->connected() || !breaker_.Allow(now_ms)) {
    out->unanswered = true;
    stats_.CountExactLocal(worker_);
    if (fail_closed) {
      out->rejected = true;
      out->retry_after_ms = 1000;
    }
    return false;
  }
  exact_batch_.push_back(ExactRequest{z.limiter.get(), ShmMap::StoredKey(key), &z.name, params,
                                      fail_closed, std::move(done)});
  return true;
}

void Worker::FlushExact() {
  if (exact_batch_.empty()) return;
  if (exact_in_flight_ > 0 && !schema_->cluster()) {
    // The reply sends these (SendExact); its deadline is enforced by the client's Tick, so a
    // call older than that and a tick has lost its reply: then they go without it.
    const int64_t deadline = exact_redis_ ? exact_redis_->endpoint().timeout_ms : 0;
    if (clock_() - exact_sent_ms_ <= deadline + kStaleCallSlackMs) return;
    exact_in_flight_ = 0;
  }
  while (!exact_batch_.empty()) {
    size_t n = std::min(exact_batch_.size(), kExactBatch);
    auto call = std::make_shared<ExactCall>();
    std::vector<ExactRequest>& batch = call->batch;
    if (n == exact_batch_.size()) {
      // The usual turn: all of it, without moving each request; the next turn's room at once.
      batch.swap(exact_batch_);
      exact_batch_.reserve(n);
    } else {
      batch.assign(std::make_move_iterator(exact_batch_.begin()),
                   std::make_move_iterator(exact_batch_.begin() + static_cast<ptrdiff_t>(n)));
      exact_batch_.erase(exact_batch_.begin(), exact_batch_.begin() + static_cast<ptrdiff_t>(n));
    }

    // Requests for one bucket with the same limit become one group: Redis reads and writes the
    // bucket once for all of them (a hot key, e.g. many clients behind one NAT or a per-site
    // limit, costs Redis one key per loop turn, not one per request).
    std::vector<ExactGroup>& groups = call->groups;
    {
      // key -> its newest group (of whichever zone: a group of another zone starts a new one)
      std::unordered_map<std::string_view, size_t> latest;
      auto same_bucket = [](const ExactRequest& a, const ExactRequest& b) {
        return a.zone_name == b.zone_name && a.params.rate == b.params.rate &&
               a.params.burst == b.params.burst && a.stored_key == b.stored_key;
      };
      for (size_t i = 0; i < n; ++i) {
        ExactRequest& req = batch[i];
        size_t group;
        if (i > 0 && same_bucket(batch[i - 1], req)) {
          // A run of one bucket (a hot key): the previous request's group is its key's newest,
          // so the map is not asked (it was asked for the run's first request).
          group = batch[i - 1].group;
        } else {
          auto [it, fresh] = latest.try_emplace(req.stored_key, groups.size());
          if (!fresh && !same_bucket(batch[groups[it->second].first], req)) {
            it->second = groups.size();
            fresh = true;
          }
          if (fresh) groups.push_back(ExactGroup{i, i, 0});
          group = it->second;
        }
        ExactGroup& g = groups[group];
        req.group = group;
        req.place = g.count++;
        g.last = i;
      }
    }
    std::vector<std::string> keys;
    keys.reserve(groups.size());
    for (const ExactGroup& g : groups) {
      const ExactRequest& head = batch[g.first];
      keys.push_back(LimitBucketKey(*schema_, *head.zone_name, head.stored_key));
    }
    if (!schema_->cluster()) {
      BuildExactArgs(call.get(), std::move(keys));
      // EVALSHA once the script is loaded on this connection: a group costs a few dozen bytes.
      SendExact(call, !exact_sha_.empty());
      continue;
    }
    // A Redis Cluster: one call per slot (per bucket group, RedisSchema::LimitBucket), each with
    // its groups and their requests in arrival order; the client pipelines the calls per node.
    std::vector<std::shared_ptr<ExactCall>> calls;
    std::vector<std::vector<std::string>> call_keys;
    std::vector<size_t> call_of_group(groups.size());
    std::vector<size_t> index_in_call(groups.size());
    {
      std::unordered_map<int, size_t> call_of_slot;
      for (size_t gi = 0; gi < groups.size(); ++gi) {
        auto it = call_of_slot.try_emplace(ClusterKeySlot(keys[gi]), calls.size()).first;
        if (it->second == calls.size()) {
          calls.push_back(std::make_shared<ExactCall>());
          call_keys.emplace_back();
        }
        ExactCall& c = *calls[it->second];
        call_of_group[gi] = it->second;
        index_in_call[gi] = c.groups.size();
        c.groups.push_back(ExactGroup{0, 0, groups[gi].count});
        call_keys[it->second].push_back(std::move(keys[gi]));
      }
    }
    std::vector<bool> placed(groups.size(), false);
    for (size_t i = 0; i < n; ++i) {
      ExactRequest& req = batch[i];
      const size_t gi = req.group;
      ExactCall& c = *calls[call_of_group[gi]];
      ExactGroup& g = c.groups[index_in_call[gi]];
      if (!placed[gi]) g.first = c.batch.size();
      placed[gi] = true;
      g.last = c.batch.size();
      req.group = index_in_call[gi];
      c.batch.push_back(std::move(req));
    }
    for (size_t c = 0; c < calls.size(); ++c) {
      BuildExactArgs(calls[c].get(), std::move(call_keys[c]));
      SendExact(calls[c], !exact_sha_.empty());
    }
  }
}

void Worker::BuildExactArgs(ExactCall* call, std::vector<std::string> keys) {
  // The script and its command go in the first two, at each send (SendExact).
  std::vector<std::string>& args = call->args;
  args = {"", "", std::to_string(call->groups.size())};
  args.reserve(3 + 4 * call->groups.size());
  for (std::string& key : keys) args.push_back(std::move(key));
  for (const ExactGroup& g : call->groups) {
    const LeakyBucketParams& p = call->batch[g.first].params;
    args.push_back(std::to_string(p.rate));
    args.push_back(std::to_string(p.burst));
    args.push_back(std::to_string(g.count));
  }
}

void Worker::FailExact(std::vector<ExactRequest>& batch) {
  breaker_.OnFailure(clock_());
  for (auto& req : batch) {
    stats_.CountExactLocal(worker_);
    LeakyBucketVerdict v;
    v.unanswered = true;
    if (req.fail_closed) {
      v.rejected = true;
      v.retry_after_ms = 1000;
    }
    req.done(v, true);
  }
}

void Worker::SendExact(std::shared_ptr<ExactCall> call, bool by_sha) {
  // hiredis formats the command when it is sent: the retry may write over these two.
  call->args[0] = by_sha ? "EVALSHA" : "EVAL";
  call->args[1] = by_sha ? exact_sha_ : RedisSchema::kLimitExactScript;
  bool sent = exact_redis_ && exact_redis_->Send(call->args, exact_redis_->endpoint().timeout_ms,
                                                 [this, call, by_sha](redisReply* r) {
                                                   if (exact_in_flight_ > 0) --exact_in_flight_;
                                                   AnswerExact(call, by_sha, r);
                                                   // what waited for this reply goes now
                                                   if (exact_in_flight_ == 0) FlushExact();
                                                 });
  if (!sent) {
    FailExact(call->batch);
    return;
  }
  ++exact_in_flight_;
  exact_sent_ms_ = clock_();
}

void Worker::AnswerExact(const std::shared_ptr<ExactCall>& sent, bool by_sha, redisReply* r) {
  ExactCall& call = *sent;
  if (r && r->type == REDIS_REPLY_ERROR) {
    exact_sha_.clear();
    // Redis restarted without the script, or SCRIPT FLUSH: the limit is still there. The same
    // call once more with the script itself (EVAL caches it), and the digest again for the
    // calls after it; never a batch of failures for it.
    if (by_sha && std::string_view(r->str, r->len).substr(0, 8) == "NOSCRIPT") {
      LoadExactScript();
      SendExact(sent, false);
      return;
    }
  }
  const auto& groups = call.groups;
  if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != groups.size() ||
      std::any_of(r->element, r->element + r->elements, [](redisReply* e) {
        return e->type != REDIS_REPLY_INTEGER || e->integer < 0 ||
               e->integer > LeakyBucket::kMaxLevel;  // not a level this script returns
      })) {
    FailExact(call.batch);
    return;
  }
  breaker_.OnSuccess();
  exact_redis_->MarkHealthy();
  int64_t now = clock_();
  for (size_t i = 0; i < call.batch.size(); ++i) {
    ExactRequest& req = call.batch[i];
    LeakyBucketVerdict v =
        LeakyBucket::Simultaneous(req.params, r->element[req.group]->integer, req.place);
    // The local mirror needs the level the group left: its last request's.
    if (i == groups[req.group].last) {
      req.limiter->Mirror(req.stored_key, v.excess, v.rejected, now, pid_);
    }
    req.done(v, false);
  }
}

void Worker::LoadExactScript() {
  exact_redis_->Send({"SCRIPT", "LOAD", RedisSchema::kLimitExactScript},
                     exact_redis_->endpoint().timeout_ms, [this](redisReply* r) {
                       if (r && r->type == REDIS_REPLY_STRING) exact_sha_.assign(r->str, r->len);
                     });
}

void Worker::OpenRequestRedis() {
  bool exact =
      std::any_of(zones_.begin(), zones_.end(), [](const auto& z) { return z->sync_ms < 0; });
  std::string purpose =
      exact ? (cache_enabled_ ? "exact rate limits and cache serving" : "exact rate limits")
            : "cache serving";
  exact_redis_ = AsyncClient::Open(*endpoint_, purpose, clock_, attach_, log_);
  exact_redis_->set_on_connect([this] {
    exact_sha_.clear();
    LoadExactScript();
  });
}

void Worker::EnableCache() {
  cache_enabled_ = true;
  if (endpoint_ && !exact_redis_) OpenRequestRedis();
}

void Worker::NoteMalformed(std::string_view key, CacheValue::Problem problem) {
  // Once per kind of problem and worker: a bad value read by every request must not flood
  // the log. The metrics count every occurrence.
  uint32_t bit = 1u << static_cast<int>(problem);
  if (cache_problems_logged_ & bit) return;
  cache_problems_logged_ |= bit;
  log_(LogLevel::kWarn, "cache value \"" + std::string(key) +
                            "\" cannot be served: " + CacheValue::Describe(problem) +
                            "; requests go to the backend (logged once per kind of problem)");
}

bool Worker::CacheGet(std::string_view key, CacheDone done) {
  if (!exact_redis_ || !exact_redis_->connected() || !breaker_.Allow(clock_())) return false;
  std::string k(key);
  auto [read, first] = cache_reads_.try_emplace(k);
  bool sent = false;
  try {
    read->second.push_back(std::move(done));
    if (!first) return true;  // joins the read on its way: its answer is as fresh as any
    std::vector<std::string> args = {"HMGET", k};
    for (const char* field : CacheValue::kFieldNames) args.emplace_back(field);
    sent = exact_redis_->Send(args, exact_redis_->endpoint().timeout_ms, [this, k](redisReply* r) {
      // Runs inside hiredis: nothing may throw out of here, and each `done` runs exactly
      // once. The waiters leave the map first, so a new request starts a new read.
      auto waiting = cache_reads_.extract(k);
      CacheResult result = CacheResult::kError;
      CacheValue value;
      try {
        result = ReadCacheReply(k, r, &value);
      } catch (...) {
        result = CacheResult::kError;
      }
      if (waiting.empty()) return;
      for (CacheDone& done : waiting.mapped()) {
        done(result, result == CacheResult::kHit ? &value : nullptr);
      }
    });
  } catch (...) {
    // (Out of memory.) No read is on its way: later requests must not wait for one.
    if (first) cache_reads_.erase(read);
    throw;
  }
  if (!sent) {
    cache_reads_.erase(read);
    // The circuit may have let this one through as its trial: it must hear how it went.
    breaker_.OnFailure(clock_());
  }
  return sent;
}

Worker::CacheResult Worker::ReadCacheReply(const std::string& key, const redisReply* r,
                                           CacheValue* value) {
  bool wrong_type = r && r->type == REDIS_REPLY_ERROR &&
                    std::string_view(r->str, r->len).substr(0, 9) == "WRONGTYPE";
  if (!r || (r->type != REDIS_REPLY_ARRAY && !wrong_type)) {
    // No answer in time, the connection lost, or Redis refusing (LOADING, NOAUTH...).
    breaker_.OnFailure(clock_());
    return CacheResult::kError;
  }
  breaker_.OnSuccess();
  exact_redis_->MarkHealthy();
  CacheValue::Problem problem = CacheValue::Problem::kNotAHash;
  if (!wrong_type) {
    std::optional<std::string_view> fields[CacheValue::kFields];
    for (size_t i = 0; i < r->elements && i < CacheValue::kFields; ++i) {
      const redisReply* e = r->element[i];
      if (e->type == REDIS_REPLY_STRING) fields[i] = std::string_view(e->str, e->len);
    }
    problem = CacheValue::Parse(fields, value);
  }
  if (problem == CacheValue::Problem::kNone) return CacheResult::kHit;
  if (problem == CacheValue::Problem::kMissing) return CacheResult::kMiss;
  NoteMalformed(key, problem);
  return CacheResult::kMalformed;
}

void Worker::NotePrimary(const std::string& from, const std::string& to) {
  // One line per failover and node: the worker that records the move in the stats zone.
  std::string previous;
  bool moved = stats_.attached() ? stats_.NotePrimary(to, pid_, &previous)
                                 : (previous = from, !from.empty());
  if (moved) {
    log_(LogLevel::kWarn, "redis primary moved from " + previous + " to " + to +
                              " (sentinel master \"" + locator_->master_name() + "\")");
  }
}

void Worker::ConnectRedis(const RedisEndpoint& given) {
  RedisEndpoint endpoint = given;
  if (!endpoint.sentinels.empty()) {
    locator_ = std::make_unique<SentinelLocator>(
        SentinelLocator::Settings{endpoint.sentinels, endpoint.master_name, endpoint.sentinel_user,
                                  endpoint.sentinel_password, endpoint.timeout_ms, endpoint.tls,
                                  endpoint.sentinel_names},
        clock_, attach_, log_);
    locator_->set_on_confirmed(
        [this](const std::string& from, const std::string& to) { NotePrimary(from, to); });
    endpoint.locator = locator_.get();
  }
  if (endpoint.cluster()) {
    endpoint.on_cluster_event = [this](ClusterEvent event) {
      stats_.CountClusterEvent(worker_, static_cast<int>(event));
    };
  }
  schema_ = std::make_unique<RedisSchema>(endpoint.Schema());
  endpoint_ = endpoint;
  if (cache_enabled_ ||
      std::any_of(zones_.begin(), zones_.end(), [](const auto& z) { return z->sync_ms < 0; })) {
    OpenRequestRedis();
  }
  if (!autobans_.empty() || !behaviours_.empty()) {
    autoban_redis_ = AsyncClient::Open(endpoint, "autoban", clock_, attach_, log_);
  }
  if (blacklist_.attached()) {
    blacklist_sync_ =
        std::make_unique<BlacklistSync>(endpoint, &blacklist_, pid_, clock_, attach_, log_);
  }
  bool any_sync =
      std::any_of(zones_.begin(), zones_.end(), [](const auto& z) { return z->sync_ms > 0; });
  // The leader's pushes: limit counts, traffic counts and the node's heartbeat (which needs a
  // leader, hence the blacklist zone every configuration with Redis has).
  if (!any_sync && !traffic_ && !blacklist_sync_) return;
  commands_ = AsyncClient::Open(endpoint, "limit sync, traffic counts and node heartbeat", clock_,
                                attach_, log_);
  RedisSchema schema = endpoint.Schema();
  for (auto& z : zones_) {
    if (z->sync_ms <= 0) continue;
    z->sync = std::make_unique<LimitSync>(z->name, z->rate, z->sync_ms, z->limiter.get(),
                                          commands_.get(), schema, pid_, clock_);
  }
}

LeakyBucketVerdict Worker::Limit(int zone, std::string_view key, const LeakyBucketParams& params,
                                 int64_t now_ms) {
  if (zone < 0 || static_cast<size_t>(zone) >= zones_.size()) return {};  // fail open
  Zone& z = *zones_[static_cast<size_t>(zone)];
  return z.limiter->Take(key, params, now_ms, pid_, z.sync_ms > 0);
}

void Worker::CountLimit(int zone, const LeakyBucketVerdict& verdict, bool dry_run,
                        bool fail_closed) {
  if (zone < 0 || static_cast<size_t>(zone) >= zones_.size()) return;
  ShmMap& map = zones_[static_cast<size_t>(zone)]->map;
  const bool held = verdict.rejected || verdict.delay_ms > 0;
  map.Count(dry_run && held    ? NodeReport::kDryRun
            : verdict.rejected ? NodeReport::kRejected
            : held             ? NodeReport::kDelayed
                               : NodeReport::kPassed);
  if (verdict.unanswered) map.Count(fail_closed ? NodeReport::kFailClosed : NodeReport::kFailOpen);
}

int64_t Worker::next_tick_ms() const {
  if (locator_ && locator_->following()) {
    return std::min<int64_t>(tick_ms_, PromotionWatch::kProbeEveryMs);
  }
  return tick_ms_;
}

void Worker::Tick() {
  if (locator_) locator_->Tick();
  if (blacklist_sync_) blacklist_sync_->Tick();
  if (traffic_) traffic_->Fold();
  if (stats_.attached()) {
    // This process's totals: what its connections and rules did since it started.
    uint64_t errors = 0, bans = 0, pushes = 0;
    if (blacklist_sync_) {
      errors += blacklist_sync_->redis_errors();
      if (blacklist_sync_->leader() && blacklist_sync_->last_contact_ms()) {
        stats_.NoteRedisContact(blacklist_sync_->last_contact_ms());
      }
    }
    if (commands_) errors += commands_->errors();
    if (exact_redis_) errors += exact_redis_->errors();
    if (autoban_redis_) errors += autoban_redis_->errors();
    if (locator_) errors += locator_->errors();
    for (auto& b : autobans_) bans += b->autoban->bans();
    for (auto& z : zones_) pushes += z->sync ? z->sync->pushes() : 0;
    NodeStats::Row* row = stats_.row(worker_);
    row->redis_errors.store(errors, std::memory_order_relaxed);
    row->autobans.store(bans, std::memory_order_relaxed);
    row->limit_pushes.store(pushes, std::memory_order_relaxed);
  }
  if (exact_redis_) exact_redis_->Tick();
  if (autoban_redis_) {
    autoban_redis_->Tick();
    for (auto& b : autobans_) b->autoban->Flush(autoban_redis_.get(), *schema_);
    for (auto& b : behaviours_) b->Flush(autoban_redis_.get(), *schema_);
    int64_t now = clock_();
    if (!behaviours_.empty() && now >= next_hot_push_ms_) {
      next_hot_push_ms_ = now + kHotPushMs;
      for (auto& b : behaviours_) b->PushHot(autoban_redis_.get(), *schema_, node_name_, now);
    }
  }
  if (!commands_) return;
  // One worker per node pushes the node's counts: the same one that follows the blacklist.
  bool leader = blacklist_sync_ && blacklist_sync_->leader();
  if (!leader) {
    commands_->Close();
    return;
  }
  commands_->Tick();
  for (auto& z : zones_) {
    if (z->sync) z->sync->Tick();
  }
  int64_t now = clock_();
  if (now >= next_heartbeat_ms_ && !heartbeat_in_flight_ && commands_->connected()) {
    SendHeartbeat(now);
  }
  if (traffic_ && now >= next_traffic_flush_ms_) {
    next_traffic_flush_ms_ = now + kTrafficFlushMs;
    // the minute by Redis's clock (the heartbeat measures the offset), as top:* had before
    traffic_->Flush(commands_.get(), *schema_, (now + clock_offset_ms_) / 60000);
  }
}

void Worker::SendHeartbeat(int64_t now_ms) {
  next_heartbeat_ms_ = now_ms + kHeartbeatMs;
  std::string report = Report(now_ms).ToJson();
  heartbeat_in_flight_ = true;
  bool sent =
      commands_->Send({"EVAL", RedisSchema::kNodeHeartbeatScript, "2",
                       schema_->NginxNode(node_name_), schema_->NginxNodes(), std::move(report),
                       std::to_string(kHeartbeatTtlMs), std::to_string(kForgetNodeMs), node_name_},
                      commands_->endpoint().timeout_ms, [this, now_ms](redisReply* r) {
                        heartbeat_in_flight_ = false;
                        if (!r || r->type != REDIS_REPLY_INTEGER)
                          return;  // the connection reports failures
                        commands_->MarkHealthy();
                        // Redis's clock against this node's, at the middle of the round trip.
                        clock_offset_ms_ = r->integer - (now_ms + clock_()) / 2;
                      });
  if (!sent) heartbeat_in_flight_ = false;
}

NodeReport Worker::Report(int64_t now_ms) const {
  NodeReport r;
  r.node = node_name_;
  r.pid = pid_;
  r.nginx_version = nginx_version_;
  r.workers = workers_;
  r.started_ms = started_ms_;
  r.now_ms = now_ms;
  r.clock_offset_ms = clock_offset_ms_;
  NodeStats::Totals t = stats_.Sum();
  if (blacklist_.attached()) {
    auto bl = blacklist_.ReadStats();
    auto sync = blacklist_.ReadSyncState();
    r.blacklist.present = true;
    r.blacklist.seq = sync.seq;
    r.blacklist.entries = bl.entries;
    r.blacklist.capacity = bl.slots * 4 / 5;
    r.blacklist.dropped = bl.rejected_full;
    r.blacklist.epoch = std::string(sync.epoch, strnlen(sync.epoch, sizeof sync.epoch));
    r.blacklist.loaded = sync.loaded;
    r.blacklist.reload_held = sync.reload_held;
    r.blacklist.loaded_at_ms = sync.loaded_at_ms;
    int64_t contact = std::max(t.last_redis_contact_ms, sync.loaded ? sync.loaded_at_ms : 0);
    if (blacklist_sync_) contact = std::max(contact, blacklist_sync_->last_contact_ms());
    r.blacklist.last_contact_ms = contact;
    r.shm.push_back({"warden_blacklist", bl.entries, bl.slots * 4 / 5, blacklist_bytes_});
  }
  if (blacklist_sync_) r.applied = blacklist_sync_->applied().Read();
  auto map_zone = [&](std::string name, const ShmMap& map) {
    ShmMap::Stats st = map.ReadStats();
    r.shm.push_back({std::move(name), st.entries, st.slots * 85 / 100, map.bytes()});
  };
  if (traffic_) map_zone("warden_top", traffic_map_);
  for (const auto& z : zones_) {
    map_zone(z->name, z->map);
    NodeReport::Limit limit;
    limit.zone = z->name;
    limit.mode = z->sync_ms < 0   ? "exact"
                 : z->sync_ms > 0 ? "sync=" + std::to_string(z->sync_ms) + "ms"
                                  : "local";
    limit.keys = z->map.ReadStats().entries;
    for (size_t o = 0; o < NodeReport::kLimitOutcomes; ++o) limit.counts[o] = z->map.counter(o);
    r.limits.push_back(std::move(limit));
  }
  for (const auto& b : autobans_) map_zone("warden_autoban:" + b->autoban->rule().zone, b->strikes);
  for (size_t i = 0; i < behaviours_.size(); ++i) {
    ShmMap::Stats st = behaviours_[i]->stats();
    r.shm.push_back({"warden_behaviour:" + behaviours_[i]->rule().name, st.entries,
                     st.slots * 85 / 100, behaviour_bytes_[i]});
  }
  auto connection = [&](const AsyncClient* client) {
    if (!client) return;
    // One entry per server connection: a cluster's name their node in their purpose.
    client->ForEachConnection([&](const AsyncRedis& c) {
      r.redis.push_back(
          {c.purpose(), c.connected(), c.errors(), c.last_error(), c.last_error_ms()});
    });
  };
  if (blacklist_sync_) connection(&blacklist_sync_->redis());
  connection(commands_.get());
  connection(exact_redis_.get());
  connection(autoban_redis_.get());
  for (int d = 0; d < NodeStats::kDecisions; ++d) {
    r.decisions.emplace_back(NodeStats::DecisionName(d), t.decisions[d]);
  }
  return r;
}

std::string Worker::Metrics(int64_t now_ms) {
  NodeStats::Totals t = stats_.Sum();
  std::ostringstream out;
  auto head = [&](const char* name, const char* type, const char* help) {
    out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
  };
  head("warden_requests_total", "counter", "Requests Warden decided on, by decision.");
  for (int d = 0; d < NodeStats::kDecisions; ++d) {
    out << "warden_requests_total{decision=\"" << NodeStats::DecisionName(d) << "\"} "
        << t.decisions[d] << '\n';
  }
  head("warden_blocked_total", "counter", "Requests blocked, by cause.");
  for (int c = 0; c < NodeStats::kBlockCauses; ++c) {
    out << "warden_blocked_total{cause=\"" << NodeStats::BlockCauseName(c) << "\"} " << t.blocks[c]
        << '\n';
  }
  if (blacklist_.attached()) {
    auto bl = blacklist_.ReadStats();
    auto sync = blacklist_.ReadSyncState();
    head("warden_blacklist_entries", "gauge", "Entries in this node's copy of the blacklist.");
    out << "warden_blacklist_entries " << bl.entries << '\n';
    head("warden_blacklist_capacity", "gauge", "Entries warden_blacklist_zone can hold.");
    out << "warden_blacklist_capacity " << bl.slots * 4 / 5 << '\n';
    head("warden_blacklist_dropped_total", "counter",
         "Entries not stored because warden_blacklist_zone was full.");
    out << "warden_blacklist_dropped_total " << bl.rejected_full << '\n';
    head("warden_blacklist_reload_held", "gauge",
         "1 while a reload that would drop most of the list waits for `warden sync "
         "--accept-empty`.");
    out << "warden_blacklist_reload_held " << (sync.reload_held ? 1 : 0) << '\n';
    head("warden_blacklist_loaded", "gauge", "1 once a full load from Redis has completed.");
    out << "warden_blacklist_loaded " << (sync.loaded ? 1 : 0) << '\n';
    head("warden_blacklist_change_seq", "gauge", "Last change from Redis applied here.");
    out << "warden_blacklist_change_seq " << sync.seq << '\n';
    head("warden_blacklist_sync_lag_seconds", "gauge",
         "Seconds since Redis last answered this node's blacklist sync (-1: never).");
    // A completed load is an answer from Redis too; the leader notes its later answers on its
    // next tick, so a page read just after the load must not say "never".
    int64_t contact_ms = std::max(t.last_redis_contact_ms, sync.loaded ? sync.loaded_at_ms : 0);
    if (contact_ms) {
      out << "warden_blacklist_sync_lag_seconds " << (now_ms - contact_ms) / 1000.0 << '\n';
    } else {
      out << "warden_blacklist_sync_lag_seconds -1\n";
    }
  }
  head("warden_redis_errors_total", "counter",
       "Failed Redis connections and commands of the current worker processes.");
  out << "warden_redis_errors_total " << t.redis_errors << '\n';
  if (endpoint_ && !endpoint_->sentinels.empty()) {
    head("warden_redis_failovers_total", "counter",
         "Times this node saw the Redis primary move to another server (Sentinel).");
    out << "warden_redis_failovers_total " << t.redis_failovers << '\n';
    if (!t.redis_primary.empty()) {
      head("warden_redis_primary_info", "gauge",
           "The Redis primary this node's connections last confirmed (ROLE master).");
      out << "warden_redis_primary_info{address=\"" << t.redis_primary << "\"} 1\n";
    }
  }
  if (endpoint_ && endpoint_->cluster()) {
    static_assert(static_cast<int>(ClusterEvent::kSlotMap) == NodeStats::kClusterEvents - 1);
    head("warden_redis_cluster_events_total", "counter",
         "Redis Cluster events of this node's connections: MOVED and ASK redirects followed "
         "(moved, ask), TRYAGAIN/CLUSTERDOWN answers (down), slot maps read (slot_map).");
    for (int e = 0; e < NodeStats::kClusterEvents; ++e) {
      out << "warden_redis_cluster_events_total{event=\"" << NodeStats::ClusterEventName(e)
          << "\"} " << t.cluster[e] << '\n';
    }
  }
  head("warden_autobans_total", "counter", "Addresses banned automatically by this node.");
  out << "warden_autobans_total " << t.autobans << '\n';
  if (!behaviours_.empty()) {
    head("warden_behaviour_events_total", "counter",
         "Responses that matched a warden_behaviour rule.");
    for (auto& b : behaviours_) {
      out << "warden_behaviour_events_total{rule=\"" << b->rule().name << "\"} " << b->events()
          << '\n';
    }
    head("warden_behaviour_decisions_total", "counter",
         "Clients that overflowed a warden_behaviour rule and got its decision.");
    for (auto& b : behaviours_) {
      out << "warden_behaviour_decisions_total{rule=\"" << b->rule().name << "\",decision=\""
          << BehaviourDecisionName(b->rule().decision) << "\"} " << b->decisions() << '\n';
    }
    head("warden_behaviour_keys", "gauge", "Client buckets tracked by a warden_behaviour rule.");
    for (auto& b : behaviours_) {
      out << "warden_behaviour_keys{rule=\"" << b->rule().name << "\"} " << b->stats().entries
          << '\n';
    }
  }
  if (t.challenges[0] || t.challenges[1]) {  // (once a node served one)
    head("warden_challenges_total", "counter",
         "warden_challenge pages served, and answers accepted (a pass issued).");
    out << "warden_challenges_total{result=\"served\"} " << t.challenges[0] << '\n';
    out << "warden_challenges_total{result=\"solved\"} " << t.challenges[1] << '\n';
  }
  if (cache_enabled_) {
    static const char* const kCacheNames[] = {"hit",       "revalidated", "miss",
                                              "malformed", "error",       "bypass"};
    static_assert(sizeof kCacheNames / sizeof *kCacheNames == NodeStats::kCacheResults);
    head("warden_cache_requests_total", "counter",
         "Requests to warden_cache_serve locations, by result.");
    for (int c = 0; c < NodeStats::kCacheResults; ++c) {
      out << "warden_cache_requests_total{result=\"" << kCacheNames[c] << "\"} " << t.cache[c]
          << '\n';
    }
  }
  if (!zones_.empty()) {
    head("warden_limit_keys", "gauge", "Keys tracked in a warden_limit_zone.");
    for (auto& z : zones_) {
      out << "warden_limit_keys{zone=\"" << z->name << "\"} " << z->map.ReadStats().entries << '\n';
    }
    head("warden_limit_capacity", "gauge", "Keys a warden_limit_zone can hold.");
    for (auto& z : zones_) {
      out << "warden_limit_capacity{zone=\"" << z->name << "\"} "
          << z->map.ReadStats().slots * 85 / 100 << '\n';
    }
    head("warden_limit_evictions_total", "counter",
         "Least recently used keys dropped because a zone was full.");
    for (auto& z : zones_) {
      out << "warden_limit_evictions_total{zone=\"" << z->name << "\"} "
          << z->map.ReadStats().evictions << '\n';
    }
    head("warden_limit_requests_total", "counter",
         "Requests each warden_limit_zone judged, by outcome (dry_run: would have been "
         "rejected or delayed; fail_open/fail_closed: sync=exact decided without Redis, "
         "counted in the others too).");
    for (auto& z : zones_) {
      for (size_t o = 0; o < NodeReport::kLimitOutcomes; ++o) {
        out << "warden_limit_requests_total{zone=\"" << z->name << "\",result=\""
            << NodeReport::LimitOutcomeName(o) << "\"} " << z->map.counter(o) << '\n';
      }
    }
    if (std::any_of(zones_.begin(), zones_.end(), [](const auto& z) { return z->sync_ms < 0; })) {
      head("warden_limit_exact_local_total", "counter",
           "Requests of sync=exact zones this node decided alone (by its local limit, or "
           "refused with warden_limit_fail closed) because Redis could not answer.");
      out << "warden_limit_exact_local_total " << t.exact_local << '\n';
    }
    head("warden_limit_sync_pushes_total", "counter",
         "Counts pushed to Redis by the current leader worker.");
    out << "warden_limit_sync_pushes_total " << t.limit_pushes << '\n';
  }
  return out.str();
}

void Worker::Shutdown() {
  if (traffic_) traffic_->Fold();  // the counts of this worker's last tick
  if (commands_) commands_->Close();
  if (exact_redis_) exact_redis_->Close();
  if (autoban_redis_) autoban_redis_->Close();
  if (blacklist_sync_) blacklist_sync_->Shutdown();
  if (locator_) locator_->Close();
}

}  // namespace warden
