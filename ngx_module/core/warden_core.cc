// The C entry points used by the nginx glue. No exception may cross into nginx: each entry
// point catches everything and reports it as a return value.
#include "core/warden_core.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdio>
#include <cstring>
#include <memory>

#include "core/geo_db.h"
#include "core/worker.h"
#include "core/policy.h"

struct warden_geo_s {
  std::unique_ptr<warden::GeoDb> db;
};

struct warden_policy_s {
  warden::Policy policy;
};

struct warden_node_s {
  std::unique_ptr<warden::Worker> node;
  std::string metrics;
};

namespace {

void SetError(char* err, size_t errlen, const std::string& msg) {
  if (err && errlen) std::snprintf(err, errlen, "%s", msg.c_str());
}

bool ToAddress(const sockaddr* sa, warden::IpAddress* out) {
  if (sa->sa_family == AF_INET) {
    auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    *out = warden::IpAddress::FromV4(ntohl(in->sin_addr.s_addr));
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

void warden_policy_evaluate(const warden_policy_t* policy, const warden_node_t* node,
                            const struct sockaddr* sa, const char* country, int64_t now_ms,
                            warden_verdict_t* out) {
  static_assert(sizeof out->reason == sizeof warden::Verdict{}.reason, "reason buffer");
  out->decision = WARDEN_PASS;
  out->reason_len = 0;
  out->reason[0] = '\0';
  try {
    const warden::BlacklistTable* table = node ? node->node->blacklist() : nullptr;
    // Nothing to decide (a location with limits only): every request passes, unconverted.
    if (!table && policy->policy.only_passes()) return;
    warden::IpAddress addr;
    if (!ToAddress(sa, &addr)) return;
    warden::Verdict v;
    policy->policy.Evaluate(addr, country, table, now_ms, &v);
    out->decision = static_cast<int>(v.decision);
    out->reason_len = v.reason_len;
    std::memcpy(out->reason, v.reason, sizeof out->reason);
  } catch (...) {
    // Fail open: a request is never refused because Warden itself failed.
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

warden_node_t* warden_node_create(int pid, warden_log_pt log, warden_attach_pt attach, void* ctx) {
  try {
    auto log_fn = [log, ctx](warden::LogLevel level, const std::string& msg) {
      log(ctx, static_cast<int>(level), msg.data(), msg.size());
    };
    auto attach_fn = [attach, ctx](redisAsyncContext* ac) { return attach(ctx, ac) == 0; };
    auto node = std::make_unique<warden_node_t>();
    node->node = std::make_unique<warden::Worker>(pid, warden::SystemNowMs, attach_fn, log_fn);
    return node.release();
  } catch (...) {
    return nullptr;
  }
}

int warden_node_attach_blacklist(warden_node_t* node, void* region, size_t bytes) {
  try {
    return node->node->AttachBlacklist(region, bytes) ? 0 : -1;
  } catch (...) {
    return -1;
  }
}

int warden_node_add_limit_zone(warden_node_t* node, const char* name, void* region, size_t bytes,
                               int64_t rate, int64_t sync_ms) {
  try {
    return node->node->AddLimitZone(name, region, bytes, rate, sync_ms);
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
}

warden::LeakyBucketParams Params(int64_t rate, int64_t burst, int64_t delay) {
  warden::LeakyBucketParams params;
  params.rate = rate;
  params.burst = burst;
  params.delay = delay < 0 ? warden::LeakyBucketParams::kNoDelay : delay;
  return params;
}

}  // namespace

int warden_node_limit_exact(warden_node_t* node, int zone, const unsigned char* key, size_t len,
                            int64_t rate, int64_t burst, int64_t delay, int64_t now_ms,
                            int fail_closed, warden_limit_verdict_t* out, warden_exact_done_pt done,
                            void* data) {
  *out = warden_limit_verdict_t{};
  try {
    warden::LeakyBucketVerdict v;
    bool waiting = node->node->LimitExact(
        zone, std::string_view(reinterpret_cast<const char*>(key), len), Params(rate, burst, delay),
        now_ms, fail_closed != 0, &v,
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

void warden_node_exact_flush(warden_node_t* node) {
  try {
    node->node->FlushExact();
  } catch (...) {
  }
}

void warden_node_exact_timed_out(warden_node_t* node) {
  try {
    node->node->ExactTimedOut();
  } catch (...) {
  }
}

int warden_node_add_autoban(warden_node_t* node, int limit_zone, void* region, size_t bytes,
                            unsigned strikes, int64_t findtime_ms, int64_t bantime_ms,
                            double factor, int64_t maxtime_ms) {
  try {
    warden::AutobanRule rule;
    rule.strikes = strikes;
    rule.findtime_ms = findtime_ms;
    rule.bantime_ms = bantime_ms;
    rule.factor = factor;
    rule.maxtime_ms = maxtime_ms;
    return node->node->AddAutoban(limit_zone, rule, region, bytes);
  } catch (...) {
    return -1;
  }
}

int warden_node_strike(warden_node_t* node, int autoban, const struct sockaddr* sa,
                       int64_t now_ms) {
  try {
    warden::IpAddress addr;
    if (!ToAddress(sa, &addr)) return 0;
    return node->node->Strike(autoban, addr, now_ms) ? 1 : 0;
  } catch (...) {
    return 0;
  }
}

void warden_node_connect_redis(warden_node_t* node, const warden_redis_conf_t* redis) {
  try {
    warden::RedisEndpoint ep;
    if (redis->unix_path) {
      ep.unix_path = redis->unix_path;
    } else {
      ep.host = redis->host;
      ep.port = redis->port;
    }
    if (redis->password) ep.password = redis->password;
    ep.db = redis->db;
    if (redis->prefix) ep.prefix = redis->prefix;
    ep.timeout_ms = redis->timeout_ms;
    node->node->ConnectRedis(ep);
  } catch (...) {
  }
}

size_t warden_stats_region_size(void) { return warden::NodeStats::RegionSize(); }

int warden_node_attach_stats(warden_node_t* node, void* region, size_t bytes, int worker) {
  try {
    return node->node->AttachStats(region, bytes, worker) ? 0 : -1;
  } catch (...) {
    return -1;
  }
}

void warden_node_count(warden_node_t* node, int decision) { node->node->CountDecision(decision); }

int warden_node_attach_traffic(warden_node_t* node, void* region, size_t bytes) {
  try {
    return node->node->AttachTraffic(region, bytes) ? 0 : -1;
  } catch (...) {
    return -1;
  }
}

int warden_node_counts_traffic(const warden_node_t* node) {
  return node->node->counts_traffic() ? 1 : 0;
}

void warden_node_count_traffic(warden_node_t* node, const struct sockaddr* sa, int refused,
                               const char* country, int64_t now_ms) {
  try {
    warden::IpAddress addr;
    if (ToAddress(sa, &addr)) node->node->CountTraffic(addr, refused != 0, country, now_ms);
  } catch (...) {
  }
}

const char* warden_node_metrics(warden_node_t* node, int64_t now_ms, size_t* len) {
  try {
    node->metrics = node->node->Metrics(now_ms);
  } catch (...) {
    node->metrics = "# warden: metrics unavailable\n";
  }
  *len = node->metrics.size();
  return node->metrics.data();
}

void warden_node_tick(warden_node_t* node) {
  try {
    node->node->Tick();
  } catch (...) {
  }
}

int64_t warden_node_tick_ms(const warden_node_t* node) { return node->node->tick_ms(); }

void warden_node_shutdown(warden_node_t* node) {
  try {
    node->node->Shutdown();
  } catch (...) {
  }
}

void warden_node_destroy(warden_node_t* node) {
  try {
    delete node;
  } catch (...) {
  }
}

void warden_node_enable_cache(warden_node_t* node) {
  try {
    node->node->EnableCache();
  } catch (...) {
  }
}

int warden_node_cache_get(warden_node_t* node, const char* key, size_t len,
                          warden_cache_done_pt done, void* data) {
  static_assert(
      WARDEN_CACHE_HIT == 0 && WARDEN_CACHE_BYPASS + 1 == warden::NodeStats::kCacheResults,
      "the cache results count in NodeStats");
  try {
    return node->node->CacheGet(
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

void warden_node_count_cache(warden_node_t* node, int result) { node->node->CountCache(result); }

int64_t warden_node_redis_timeout_ms(const warden_node_t* node) {
  return node->node->redis_timeout_ms();
}

void warden_node_limit(warden_node_t* node, int zone, const unsigned char* key, size_t len,
                       int64_t rate, int64_t burst, int64_t delay, int64_t now_ms,
                       warden_limit_verdict_t* out) {
  *out = warden_limit_verdict_t{};
  try {
    warden::LeakyBucketParams params;
    params.rate = rate;
    params.burst = burst;
    params.delay = delay < 0 ? warden::LeakyBucketParams::kNoDelay : delay;
    auto v = node->node->Limit(zone, std::string_view(reinterpret_cast<const char*>(key), len),
                               params, now_ms);
    out->rejected = v.rejected ? 1 : 0;
    out->excess = v.excess;
    out->delay_ms = v.delay_ms;
    out->retry_after_ms = v.retry_after_ms;
  } catch (...) {
    // Fail open: a request is never refused because Warden itself failed.
  }
}

}  // extern "C"
