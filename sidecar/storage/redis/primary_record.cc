#include "storage/redis/primary_record.h"

#include <nlohmann/json.hpp>

#include "storage/redis/redis_script.h"

namespace warden {

namespace {

// KEYS: primary, failover. ARGV: this primary. Returns the failover record written, or false.
const char* const kNoteScript =
    "local old = redis.call('GET', KEYS[1])\n"
    "if old == ARGV[1] then return false end\n"
    "redis.call('SET', KEYS[1], ARGV[1])\n"
    "if not old then return false end\n"
    "local t = redis.call('TIME')\n"
    "local at = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local record = cjson.encode({from = old, to = ARGV[1], at_ms = at})\n"
    "redis.call('SET', KEYS[2], record)\n"
    "return record\n";

std::optional<PrimaryRecord::Failover> Parse(std::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object() || !j["from"].is_string() || !j["to"].is_string() || !j["at_ms"].is_number()) {
    return std::nullopt;
  }
  return PrimaryRecord::Failover{j["from"], j["to"], j["at_ms"].get<int64_t>()};
}

}  // namespace

std::optional<PrimaryRecord::Failover> PrimaryRecord::Note(RedisConnection& conn,
                                                           const RedisSchema& schema) {
  if (conn.deployment().kind != RedisDeployment::Kind::kSentinel) return std::nullopt;
  RedisReply seen = conn.Command({"GET", schema.TopologyPrimary()});
  seen.view().ThrowIfError();
  if (seen.view().is_string() && seen.view().str() == conn.endpoint()) return std::nullopt;
  RedisScript script(kNoteScript);  // rare: only when the primary changed
  RedisReply reply =
      script.Run(conn, {schema.TopologyPrimary(), schema.TopologyFailover()}, {conn.endpoint()});
  reply.view().ThrowIfError();
  if (!reply.view().is_string()) return std::nullopt;
  return Parse(reply.view().str());
}

std::optional<PrimaryRecord::Failover> PrimaryRecord::Last(RedisConnection& conn,
                                                           const RedisSchema& schema) {
  RedisReply reply = conn.Command({"GET", schema.TopologyFailover()});
  reply.view().ThrowIfError();
  if (!reply.view().is_string()) return std::nullopt;
  return Parse(reply.view().str());
}

}  // namespace warden
