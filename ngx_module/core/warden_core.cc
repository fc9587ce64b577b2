// The C entry points used by the nginx glue. No exception may cross into nginx: each entry
// point catches everything and reports it as a return value.
#include "core/warden_core.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>

#include "core/async_tls.h"
#include "core/challenge.h"
#include "core/geo_db.h"
#include "core/policy.h"
#include "core/redis_config.h"
#include "core/worker.h"

struct warden_geo_s {
  std::unique_ptr<warden::GeoDb> db;
};

struct warden_policy_s {
  warden::Policy policy;
};

struct warden_challenge_s {
  warden::Challenge challenge;
};

struct warden_redis_s {
  warden::RedisConfig config;
};

struct warden_worker_s {
  std::unique_ptr<warden::Worker> impl;
  std::string metrics;
};

namespace {

void SetError(char* err, size_t errlen, const std::string& msg) {
  if (err && errlen) std::snprintf(err, errlen, "%s", msg.c_str());
}

bool ToAddress(const sockaddr* sa, warden::IpAddress* out) {
  if (sa->sa_family == AF_INET) {
    *out = warden::IpAddress::FromV4Bytes(&reinterpret_cast<const sockaddr_in*>(sa)->sin_addr);
    return true;
  }
  if (sa->sa_family == AF_INET6) {
    *out = warden::IpAddress::FromV6(reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr.s6_addr);
    return true;
  }
  return false;  // unix sockets have no address to judge
}

}  // namespace

extern "C" {

warden_redis_t* warden_redis_parse(const char* address, size_t len, char* err, size_t errlen) {
  try {
    std::string error;
    std::optional<warden::RedisConfig> config =
        warden::RedisConfig::Parse(std::string_view(address, len), &error);
    if (!config) {
      SetError(err, errlen, error);
      return nullptr;
    }
    return new warden_redis_t{std::move(*config)};
  } catch (...) {
    SetError(err, errlen, "out of memory");
    return nullptr;
  }
}

int warden_redis_option(warden_redis_t* r, const char* arg, size_t len, char* err, size_t errlen) {
  try {
    std::string error;
    if (r->config.Option(std::string_view(arg, len), &error)) return 0;
    SetError(err, errlen, error);
  } catch (...) {
    SetError(err, errlen, "out of memory");
  }
  return -1;
}

int warden_redis_finish(warden_redis_t* r, char* err, size_t errlen) {
  try {
    std::string error;
    if (r->config.Finish(&error)) return 0;
    SetError(err, errlen, error);
  } catch (...) {
    SetError(err, errlen, "out of memory");
  }
  return -1;
}

int warden_redis_timeout_ms(const warden_redis_t* r) { return r->config.timeout_ms(); }

void warden_redis_free(warden_redis_t* r) { delete r; }

void warden_redis_read(redisAsyncContext* ac) { warden::AsyncTls::HandleRead(ac); }

void warden_redis_write(redisAsyncContext* ac) { warden::AsyncTls::HandleWrite(ac); }

int warden_redis_may_write_now(const redisAsyncContext* ac) {
  return warden::AsyncTls::PlainAndConnected(ac) ? 1 : 0;
}

int warden_cidr_check(const char* text, size_t len, char* err, size_t errlen) {
  try {
    std::string error;
    if (warden::Cidr::Parse(std::string_view(text, len), &error)) return 0;
    SetError(err, errlen, error);
  } catch (const std::exception& e) {
    SetError(err, errlen, e.what());
  }
  return -1;
}

warden_geo_t* warden_geo_open(const char* path, const char* lookup, char* err, size_t errlen) {
  try {
    std::string error;
    auto db = warden::GeoDb::Open(path, lookup ? lookup : "", &error);
    if (!db) {
      SetError(err, errlen, error);
      return nullptr;
    }
    return new warden_geo_t{std::move(db)};
  } catch (const std::exception& e) {
    SetError(err, errlen, e.what());
    return nullptr;
  }
}

void warden_geo_close(warden_geo_t* geo) { delete geo; }

int warden_geo_country(const warden_geo_t* geo, const struct sockaddr* sa, char out[3]) {
  try {
    return geo && geo->db->Country(sa, out) ? 1 : 0;
  } catch (...) {
    return 0;
  }
}

warden_policy_t* warden_policy_create(void) {
  try {
    return new warden_policy_t();
  } catch (...) {
    return nullptr;
  }
}

void warden_policy_destroy(warden_policy_t* policy) { delete policy; }

int warden_policy_allow(warden_policy_t* policy, const char* cidr, size_t len, char* err,
                        size_t errlen) {
  try {
    std::string error;
    auto parsed = warden::Cidr::Parse(std::string_view(cidr, len), &error);
    if (!parsed) {
      SetError(err, errlen, error);
      return -1;
    }
    policy->policy.Allow(*parsed);
    return 0;
  } catch (const std::exception& e) {
    SetError(err, errlen, e.what());
    return -1;
  }
}

int warden_policy_block_country(warden_policy_t* policy, const char* code, size_t len) {
  try {
    return policy->policy.BlockCountry(std::string_view(code, len)) ? 0 : -1;
  } catch (...) {
    return -1;
  }
}

void warden_policy_set_dry_run(warden_policy_t* policy, int on) {
  policy->policy.set_dry_run(on != 0);
}

int warden_policy_needs_country(const warden_policy_t* policy) {
  return policy->policy.needs_country() ? 1 : 0;
}

void warden_policy_evaluate(const warden_policy_t* policy, const warden_worker_t* w,
                            const struct sockaddr* sa, const char* country, int64_t now_ms,
                            warden_verdict_t* out) {
  static_assert(sizeof out->reason == sizeof warden::Verdict{}.reason, "reason buffer");
  out->decision = WARDEN_PASS;
  out->cause = WARDEN_CAUSE_NONE;
  out->reason_len = 0;
  out->reason[0] = '\0';
  try {
    const warden::BlacklistTable* table = w ? w->impl->blacklist() : nullptr;
    // Nothing to decide (a location with limits only): every request passes, unconverted.
    if (!table && policy->policy.only_passes()) return;
    warden::IpAddress addr;
    if (!ToAddress(sa, &addr)) return;
    warden::Verdict v;
    policy->policy.Evaluate(addr, country, table, now_ms, &v);
    out->decision = static_cast<int>(v.decision);
    out->cause = static_cast<int>(v.cause);
    if (v.reason_len) {  // (a pass has none: no call to memcpy on the common path)
      out->reason_len = v.reason_len;
      std::memcpy(out->reason, v.reason, v.reason_len + 1);  // the text and its NUL
    }
  } catch (...) {
    // Fail open: a request is never refused because Warden itself failed.
  }
}

warden_challenge_t* warden_challenge_create(const char* keys, size_t len, int difficulty,
                                            int64_t cookie_ttl_ms, char* err, size_t errlen) {
  try {
    std::string error;
    auto parsed = warden::ChallengeKeys::Parse(std::string_view(keys, len), &error);
    if (!parsed) {
      SetError(err, errlen, error);
      return nullptr;
    }
    warden::ChallengeParams params;
    params.difficulty = difficulty;
    params.cookie_ttl_ms = cookie_ttl_ms;
    return new warden_challenge_t{warden::Challenge(std::move(*parsed), params)};
  } catch (const std::exception& e) {
    SetError(err, errlen, e.what());
    return nullptr;
  }
}

void warden_challenge_destroy(warden_challenge_t* c) { delete c; }

namespace {

size_t CopyOut(const std::string& value, char* out, size_t outlen) {
  if (value.size() + 1 > outlen) return 0;
  std::memcpy(out, value.data(), value.size());
  out[value.size()] = '\0';
  return value.size();
}

}  // namespace

size_t warden_challenge_nonce(const warden_challenge_t* c, const char* client, size_t client_len,
                              int64_t now_ms, char* out, size_t outlen) {
  try {
    return CopyOut(c->challenge.Nonce(std::string_view(client, client_len), now_ms), out, outlen);
  } catch (...) {
    return 0;
  }
}

size_t warden_challenge_cookie(const warden_challenge_t* c, const char* client, size_t client_len,
                               int64_t now_ms, char* out, size_t outlen) {
  try {
    return CopyOut(c->challenge.Cookie(std::string_view(client, client_len), now_ms), out, outlen);
  } catch (...) {
    return 0;
  }
}

int warden_challenge_verify_answer(const warden_challenge_t* c, const char* client,
                                   size_t client_len, const char* answer, size_t len,
                                   int64_t now_ms) {
  static_assert(WARDEN_CHALLENGE_WRONG == static_cast<int>(warden::Challenge::Result::kWrong));
  try {
    std::string_view text(answer, len);
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return WARDEN_CHALLENGE_MALFORMED;
    return static_cast<int>(c->challenge.VerifyAnswer(std::string_view(client, client_len),
                                                      text.substr(0, colon), text.substr(colon + 1),
                                                      now_ms));
  } catch (...) {
    return WARDEN_CHALLENGE_MALFORMED;
  }
}

int warden_challenge_verify_cookie(const warden_challenge_t* c, const char* client,
                                   size_t client_len, const char* cookie, size_t len,
                                   int64_t now_ms) {
  try {
    return static_cast<int>(c->challenge.VerifyCookie(std::string_view(client, client_len),
                                                      std::string_view(cookie, len), now_ms));
  } catch (...) {
    return WARDEN_CHALLENGE_MALFORMED;
  }
}

size_t warden_table_format(void* region, size_t bytes) {
  try {
    warden::BlacklistTable table;
    return table.Attach(region, bytes) ? table.ReadStats().slots : 0;
  } catch (...) {
    return 0;
  }
}

size_t warden_map_format(void* region, size_t bytes) {
  try {
    warden::ShmMap map;
    return map.Attach(region, bytes) ? map.ReadStats().slots : 0;
  } catch (...) {
    return 0;
  }
}

size_t warden_stats_format(void* region, size_t bytes) {
  try {
    warden::NodeStats stats;
    return stats.Attach(region, bytes) ? 1 : 0;
  } catch (...) {
    return 0;
  }
}

warden_worker_t* warden_worker_create(int pid, warden_log_pt log, warden_attach_pt attach,
                                      void* ctx) {
  try {
    auto log_fn = [log, ctx](warden::LogLevel level, const std::string& msg) {
      log(ctx, static_cast<int>(level), msg.data(), msg.size());
    };
    auto attach_fn = [attach, ctx](redisAsyncContext* ac) { return attach(ctx, ac) == 0; };
    auto w = std::make_unique<warden_worker_t>();
    w->impl = std::make_unique<warden::Worker>(pid, warden::SystemNowMs, attach_fn, log_fn);
    return w.release();
  } catch (...) {
    return nullptr;
  }
}

int warden_worker_attach_blacklist(warden_worker_t* w, void* region, size_t bytes) {
  try {
    return w->impl->AttachBlacklist(region, bytes) ? 0 : -1;
  } catch (...) {
    return -1;
  }
}

void warden_worker_set_node(warden_worker_t* w, const char* name, const char* version,
                            int workers) {
  try {
    w->impl->SetNode(name ? name : "", version ? version : "", workers);
  } catch (...) {
    // (Out of memory.) The host name stays.
  }
}

void warden_worker_count_limit(warden_worker_t* w, int zone, const warden_limit_verdict_t* v,
                               int dry_run, int fail_closed) {
  warden::LeakyBucketVerdict verdict;
  verdict.rejected = v->rejected != 0;
  verdict.delay_ms = v->delay_ms;
  verdict.unanswered = v->unanswered != 0;
  try {
    w->impl->CountLimit(zone, verdict, dry_run != 0, fail_closed != 0);
  } catch (...) {
  }
}

int warden_worker_add_limit_zone(warden_worker_t* w, const char* name, void* region, size_t bytes,
                                 int64_t rate, int64_t sync_ms) {
  try {
    return w->impl->AddLimitZone(name, region, bytes, rate, sync_ms);
  } catch (...) {
    return -1;
  }
}

namespace {

void ToC(const warden::LeakyBucketVerdict& v, warden_limit_verdict_t* out) {
  out->rejected = v.rejected ? 1 : 0;
  out->excess = v.excess;
  out->delay_ms = v.delay_ms;
  out->retry_after_ms = v.retry_after_ms;
  out->unanswered = v.unanswered ? 1 : 0;
}

warden::LeakyBucketParams Params(int64_t rate, int64_t burst, int64_t delay) {
  warden::LeakyBucketParams params;
  params.rate = rate;
  params.burst = burst;
  params.delay = delay < 0 ? warden::LeakyBucketParams::kNoDelay : delay;
  return params;
}

}  // namespace

int warden_worker_limit_exact(warden_worker_t* w, int zone, const unsigned char* key, size_t len,
                              int64_t rate, int64_t burst, int64_t delay, int64_t now_ms,
                              int fail_closed, warden_limit_verdict_t* out,
                              warden_exact_done_pt done, void* data) {
  *out = warden_limit_verdict_t{};
  try {
    warden::LeakyBucketVerdict v;
    bool waiting =
        w->impl->LimitExact(zone, std::string_view(reinterpret_cast<const char*>(key), len),
                            Params(rate, burst, delay), now_ms, fail_closed != 0, &v,
                            [done, data](const warden::LeakyBucketVerdict& verdict, bool failed) {
                              warden_limit_verdict_t c;
                              ToC(verdict, &c);
                              done(data, &c, failed ? 1 : 0);
                            });
    ToC(v, out);
    return waiting ? 1 : 0;
  } catch (...) {
    return 0;  // fail open
  }
}

void warden_worker_exact_flush(warden_worker_t* w) {
  try {
    w->impl->FlushExact();
  } catch (...) {
  }
}

void warden_worker_exact_timed_out(warden_worker_t* w) {
  try {
    w->impl->ExactTimedOut();
  } catch (...) {
  }
}

int warden_worker_add_autoban(warden_worker_t* w, int limit_zone, void* region, size_t bytes,
                              unsigned strikes, int64_t findtime_ms, int64_t bantime_ms,
                              double factor, int64_t maxtime_ms, int ipv6_prefix) {
  try {
    warden::AutobanRule rule;
    rule.ipv6_prefix = ipv6_prefix;
    rule.strikes = strikes;
    rule.findtime_ms = findtime_ms;
    rule.bantime_ms = bantime_ms;
    rule.factor = factor;
    rule.maxtime_ms = maxtime_ms;
    return w->impl->AddAutoban(limit_zone, rule, region, bytes);
  } catch (...) {
    return -1;
  }
}

int warden_worker_strike(warden_worker_t* w, int autoban, const struct sockaddr* sa, int64_t now_ms,
                         unsigned* strikes) {
  try {
    warden::IpAddress addr;
    if (!ToAddress(sa, &addr)) return 0;
    uint32_t count = 0;
    const bool banned = w->impl->Strike(autoban, addr, now_ms, &count);
    if (strikes) *strikes = count;
    return banned ? 1 : 0;
  } catch (...) {
    return 0;
  }
}

size_t warden_behaviour_format(void* region, size_t bytes) {
  try {
    return warden::Behaviour::Format(region, bytes);
  } catch (...) {
    return 0;
  }
}

int warden_worker_add_behaviour(warden_worker_t* w, const warden_behaviour_conf_t* conf,
                                void* region, size_t bytes) {
  try {
    warden::BehaviourRule rule;
    rule.name = conf->name;
    rule.capacity = conf->capacity;
    rule.leak_ms = conf->leak_ms;
    rule.distinct_path = conf->distinct_path != 0;
    rule.decision = conf->decision == WARDEN_BEHAVIOUR_LOG ? warden::BehaviourDecision::kLog
                    : conf->decision == WARDEN_BEHAVIOUR_CHALLENGE
                        ? warden::BehaviourDecision::kChallenge
                        : warden::BehaviourDecision::kBan;
    rule.bantime_ms = conf->bantime_ms;
    rule.factor = conf->factor;
    rule.maxtime_ms = conf->maxtime_ms;
    rule.ipv6_prefix = conf->ipv6_prefix;
    rule.ipv4_subnet = conf->ipv4_subnet;
    return w->impl->AddBehaviour(std::move(rule), region, bytes);
  } catch (...) {
    return -1;
  }
}

int warden_worker_behaviour_event(warden_worker_t* w, int rule, const struct sockaddr* sa,
                                  const char* path, size_t len, int status, int64_t now_ms,
                                  char* reason, size_t reason_size) {
  if (reason && reason_size) reason[0] = '\0';
  try {
    warden::IpAddress addr;
    if (!ToAddress(sa, &addr)) return -1;
    auto r = w->impl->BehaviourEvent(rule, addr, std::string_view(path, len), status, now_ms);
    SetError(reason, reason_size,
             r.subnet.empty() ? r.reason : r.reason + "; and " + r.subnet + " with it");
    switch (r.outcome) {
      case warden::Behaviour::Outcome::kRepeat:
        return WARDEN_BEHAVIOUR_REPEAT;
      case warden::Behaviour::Outcome::kCounted:
        return WARDEN_BEHAVIOUR_COUNTED;
      case warden::Behaviour::Outcome::kOverflow:
        return WARDEN_BEHAVIOUR_OVERFLOW;
      case warden::Behaviour::Outcome::kAlreadyBanned:
        return WARDEN_BEHAVIOUR_BANNED_ALREADY;
    }
    return -1;
  } catch (...) {
    return -1;
  }
}

void warden_worker_connect_redis(warden_worker_t* w, const warden_redis_t* redis) {
  try {
    w->impl->ConnectRedis(redis->config.endpoint());
  } catch (...) {
  }
}

size_t warden_stats_region_size(void) { return warden::NodeStats::RegionSize(); }

int warden_worker_attach_stats(warden_worker_t* w, void* region, size_t bytes, int worker) {
  try {
    return w->impl->AttachStats(region, bytes, worker) ? 0 : -1;
  } catch (...) {
    return -1;
  }
}

int warden_worker_attach_traffic(warden_worker_t* w, void* region, size_t bytes) {
  try {
    return w->impl->AttachTraffic(region, bytes) ? 0 : -1;
  } catch (...) {
    return -1;
  }
}

namespace {

// warden_worker_count's traffic sample, apart: the common call (no warden_top_zone) then needs
// no frame for it.
[[gnu::noinline]] void CountTraffic(warden_worker_t* w, int decision, int block_cause,
                                    const struct sockaddr* sa,
                                    const warden_traffic_sample_t* sample, int64_t now_ms) {
  try {
    warden::IpAddress addr;
    if (!ToAddress(sa, &addr)) return;
    // Every field at once: no default first, then the value (the log phase of every request).
    const warden::TrafficCounter::Sample s{
        .refused = sample->refused != 0,
        .country = sample->country,
        .status = sample->status,
        .bytes = sample->bytes,
        .upstream_ms = sample->upstream_ms,
        .path =
            sample->path ? std::string_view(sample->path, sample->path_len) : std::string_view(),
        .user_agent = sample->user_agent
                          ? std::string_view(sample->user_agent, sample->user_agent_len)
                          : std::string_view(),
        .strikes = sample->strikes,
        .decision = decision,
        .cause = block_cause};
    w->impl->CountTraffic(addr, s, now_ms);
  } catch (...) {
  }
}

}  // namespace

void warden_worker_count(warden_worker_t* w, int decision, int cause, const struct sockaddr* sa,
                         const warden_traffic_sample_t* sample, int64_t now_ms) {
  const int block_cause = decision == WARDEN_BLOCK ? cause : WARDEN_CAUSE_NONE;
  w->impl->CountDecision(decision, block_cause);
  if (!sample) return;
  CountTraffic(w, decision, block_cause, sa, sample, now_ms);
}

const char* warden_worker_metrics(warden_worker_t* w, int64_t now_ms, size_t* len) {
  try {
    w->metrics = w->impl->Metrics(now_ms);
  } catch (...) {
    w->metrics = "# warden: metrics unavailable\n";
  }
  *len = w->metrics.size();
  return w->metrics.data();
}

void warden_worker_tick(warden_worker_t* w) {
  try {
    w->impl->Tick();
  } catch (...) {
  }
}

int64_t warden_worker_tick_ms(const warden_worker_t* w) { return w->impl->tick_ms(); }

int64_t warden_worker_next_tick_ms(const warden_worker_t* w) {
  try {
    return w->impl->next_tick_ms();
  } catch (...) {
    return w->impl->tick_ms();
  }
}

void warden_worker_shutdown(warden_worker_t* w) {
  try {
    w->impl->Shutdown();
  } catch (...) {
  }
}

void warden_worker_destroy(warden_worker_t* w) {
  try {
    delete w;
  } catch (...) {
  }
}

void warden_worker_enable_cache(warden_worker_t* w) {
  try {
    w->impl->EnableCache();
  } catch (...) {
  }
}

int warden_worker_cache_get(warden_worker_t* w, const char* key, size_t len,
                            warden_cache_done_pt done, void* data) {
  static_assert(
      WARDEN_CACHE_HIT == 0 && WARDEN_CACHE_BYPASS + 1 == warden::NodeStats::kCacheResults,
      "the cache results count in NodeStats");
  try {
    return w->impl->CacheGet(
               std::string_view(key, len),
               [done, data](warden::Worker::CacheResult result, const warden::CacheValue* v) {
                 if (result != warden::Worker::CacheResult::kHit) {
                   done(data,
                        result == warden::Worker::CacheResult::kMiss        ? WARDEN_CACHE_MISS
                        : result == warden::Worker::CacheResult::kMalformed ? WARDEN_CACHE_MALFORMED
                                                                            : WARDEN_CACHE_ERROR,
                        nullptr);
                   return;
                 }
                 warden_cache_value_t c;
                 c.body = v->body.data();
                 c.body_len = v->body.size();
                 c.etag = v->etag.data();
                 c.etag_len = v->etag.size();
                 c.content_type = v->content_type.data();
                 c.content_type_len = v->content_type.size();
                 c.computed_at_ms = v->computed_at_ms;
                 done(data, WARDEN_CACHE_HIT, &c);
               })
               ? 1
               : 0;
  } catch (...) {
    return 0;  // the request goes to the backend
  }
}

void warden_worker_count_cache(warden_worker_t* w, int result) { w->impl->CountCache(result); }

void warden_worker_count_challenge(warden_worker_t* w, int result) {
  w->impl->CountChallenge(result);
}

int64_t warden_worker_redis_timeout_ms(const warden_worker_t* w) {
  return w->impl->redis_timeout_ms();
}

void warden_worker_limit(warden_worker_t* w, int zone, const unsigned char* key, size_t len,
                         int64_t rate, int64_t burst, int64_t delay, int64_t now_ms, int dry_run,
                         warden_limit_verdict_t* out) {
  *out = warden_limit_verdict_t{};
  try {
    warden::LeakyBucketParams params;
    params.rate = rate;
    params.burst = burst;
    params.delay = delay < 0 ? warden::LeakyBucketParams::kNoDelay : delay;
    auto v = w->impl->Limit(zone, std::string_view(reinterpret_cast<const char*>(key), len), params,
                            now_ms);
    out->rejected = v.rejected ? 1 : 0;
    out->excess = v.excess;
    out->delay_ms = v.delay_ms;
    out->retry_after_ms = v.retry_after_ms;
    w->impl->CountLimit(zone, v, dry_run != 0, false);
  } catch (...) {
    // Fail open: a request is never refused because Warden itself failed.
  }
}

}  // extern "C"
