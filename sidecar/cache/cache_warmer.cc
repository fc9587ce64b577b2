#include "cache/cache_warmer.h"

#include <openssl/evp.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <random>
#include <thread>

#include "base/errors.h"
#include "common/cache_value.h"
#include "common/redis_schema.h"
#include "storage/mysql/rows_json.h"
#include "storage/redis/redis_script.h"

namespace warden {

namespace {

constexpr int64_t kPollMs = 20;

constexpr const char* kUnlockScript = R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
)lua";

int64_t ToInt(std::string_view text, int64_t fallback) {
  try {
    return std::stoll(std::string(text));
  } catch (...) {
    return fallback;
  }
}

}  // namespace

bool XFetchShouldRefresh(double delta_ms, double beta, int64_t ttl_remaining_ms, double u) {
  if (ttl_remaining_ms <= 0) return true;
  if (!(u > 0)) u = std::numeric_limits<double>::min();
  if (u > 1) u = 1;
  return delta_ms * beta * -std::log(u) >= static_cast<double>(ttl_remaining_ms);
}

std::string StrongEtag(const std::string& body) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(body.data(), body.size(), digest, &length, EVP_sha256(), nullptr);
  static const char* kHex = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned i = 0; i < 16 && i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out + "\"";
}

nlohmann::json CacheWarmer::Result::ToJson() const {
  nlohmann::json j = {{"name", name}, {"key", key}, {"outcome", outcome}, {"ttl_ms", ttl_ms}};
  if (outcome == "computed") {
    j["delta_ms"] = delta_ms;
    j["rows"] = rows;
    j["bytes"] = bytes;
    j["etag"] = etag;
  }
  return j;
}

CacheWarmer::CacheWarmer(RedisConnection& redis, MysqlSource mysql, Clock clock,
                         std::function<double()> random)
    : redis_(redis),
      mysql_(std::move(mysql)),
      clock_(std::move(clock)),
      random_(std::move(random)) {
  if (!random_) {
    auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
    random_ = [engine] {
      return 1.0 - std::uniform_real_distribution<double>(0.0, 1.0)(*engine);  // (0, 1]
    };
  }
}

std::string CacheWarmer::NewToken() {
  static const char* kHex = "0123456789abcdef";
  std::random_device device;
  std::string token = std::to_string(::getpid()) + "-";
  for (int i = 0; i < 16; ++i) token += kHex[device() & 15];
  return token;
}

std::string CacheWarmer::LockKey(const CacheSpec& spec) const {
  return RedisSchema::For(redis_.deployment(), "").CacheLock(spec.key);
}

bool CacheWarmer::TryLock(const CacheSpec& spec, const std::string& token) {
  RedisReply reply =
      redis_.Command({"SET", LockKey(spec), token, "NX", "PX", std::to_string(spec.lock_ttl_ms)});
  reply.view().ThrowIfError();
  return !reply.view().is_nil();
}

void CacheWarmer::Unlock(const CacheSpec& spec, const std::string& token) {
  static RedisScript unlock(kUnlockScript);
  unlock.Run(redis_, {LockKey(spec)}, {token}).view().ThrowIfError();
}

CacheWarmer::Result CacheWarmer::Compute(const CacheSpec& spec, const std::string& token) {
  Result result;
  result.name = spec.name;
  result.key = spec.key;
  std::string body;
  try {
    MysqlConnection& conn = mysql_();
    const int64_t start = clock_();
    MysqlStatement statement = conn.Prepare(spec.sql);
    if (statement.param_count() != spec.params.size()) {
      throw UsageError("cache " + spec.name + ": the query has " +
                       std::to_string(statement.param_count()) + " placeholders for " +
                       std::to_string(spec.params.size()) + " params");
    }
    for (const MysqlValue& value : spec.params) statement.Bind(value);
    MysqlRows rows = statement.Query();
    if (static_cast<int64_t>(rows.size()) > spec.max_rows) {
      throw Error("cache " + spec.name + ": the query returned " + std::to_string(rows.size()) +
                      " rows, more than max_rows = " + std::to_string(spec.max_rows),
                  kExitFailure);
    }
    body = RowsToJson(rows).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    result.delta_ms = std::max<int64_t>(clock_() - start, 1);
    result.rows = static_cast<int64_t>(rows.size());
  } catch (...) {
    try {
      Unlock(spec, token);
    } catch (...) {
      // The lock expires on its own after lock_ttl.
    }
    throw;
  }
  result.bytes = static_cast<int64_t>(body.size());
  result.etag = StrongEtag(body);
  result.ttl_ms = spec.ttl_ms;
  result.outcome = "computed";
  static RedisScript store(CacheValue::StoreScript());
  store
      .Run(redis_, {spec.key, LockKey(spec)},
           {token, std::to_string(spec.ttl_ms), body, result.etag, std::to_string(clock_()),
            std::to_string(result.delta_ms), std::to_string(result.rows)})
      .view()
      .ThrowIfError();
  return result;
}

CacheWarmer::Result CacheWarmer::Warm(const CacheSpec& spec, bool force) {
  Result result;
  result.name = spec.name;
  result.key = spec.key;
  std::string why;
  if (!RedisSchema::CheckCacheKey(spec.key, RedisSchema::For(redis_.deployment(), "").layout(),
                                  &why)) {
    throw UsageError("cache " + spec.name + ": " + why);
  }
  const std::string token = NewToken();
  const int64_t deadline = clock_() + spec.lock_ttl_ms + 1000;
  while (true) {
    RedisReply pttl = redis_.Command({"PTTL", spec.key});
    pttl.view().ThrowIfError();
    const int64_t ttl = pttl.view().integer();  // -2: missing, -1: no TTL
    const bool exists = ttl != -2;
    if (exists && !force) {
      RedisReply delta = redis_.Command({"HGET", spec.key, CacheValue::kDeltaField});
      delta.view().ThrowIfError();
      const int64_t delta_ms = delta.view().is_nil() ? 0 : ToInt(delta.view().str(), 0);
      const int64_t remaining = ttl == -1 ? std::numeric_limits<int64_t>::max() : ttl;
      if (!XFetchShouldRefresh(static_cast<double>(delta_ms), spec.beta, remaining, random_())) {
        result.outcome = "fresh";
        result.ttl_ms = ttl;
        return result;
      }
    }
    if (TryLock(spec, token)) return Compute(spec, token);
    if (exists) {
      // Someone else recomputes; everybody keeps reading the old value meanwhile.
      result.outcome = "locked";
      result.ttl_ms = ttl;
      return result;
    }
    // Missing and being computed elsewhere: wait for that value rather than compute it twice.
    while (clock_() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(kPollMs));
      RedisReply value = redis_.Command({"PTTL", spec.key});
      value.view().ThrowIfError();
      if (value.view().integer() != -2) {
        result.outcome = "waited";
        result.ttl_ms = value.view().integer();
        return result;
      }
      RedisReply lock = redis_.Command({"EXISTS", LockKey(spec)});
      lock.view().ThrowIfError();
      if (lock.view().integer() == 0) break;  // the other sidecar gave up: try ourselves
    }
    if (clock_() >= deadline) {
      throw RedisError("cache " + spec.name + ": another sidecar holds " + LockKey(spec) +
                       " and stored nothing within lock_ttl");
    }
  }
}

std::optional<nlohmann::json> CacheWarmer::Read(RedisConnection& redis, const CacheSpec& spec) {
  RedisReply all = redis.Command({"HGETALL", spec.key});
  all.view().ThrowIfError();
  ReplyView view = all.view();
  if (view.size() == 0) return std::nullopt;
  nlohmann::json out = nlohmann::json::object();
  for (size_t i = 0; i + 1 < view.size(); i += 2) {
    out[std::string(view[i].str())] = std::string(view[i + 1].str());
  }
  RedisReply pttl = redis.Command({"PTTL", spec.key});
  pttl.view().ThrowIfError();
  out["ttl_ms"] = pttl.view().integer();
  for (const char* field :
       {CacheValue::kFieldNames[CacheValue::kComputedAt], CacheValue::kDeltaField,
        CacheValue::kRowsField, CacheValue::kTtlField}) {
    if (out.contains(field) && out[field].is_string()) {
      out[field] = ToInt(out[field].get<std::string>(), 0);
    }
  }
  return out;
}

}  // namespace warden
