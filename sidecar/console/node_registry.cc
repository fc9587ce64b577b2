#include "console/node_registry.h"

#include "base/time_format.h"

namespace warden {

void NodeRegistry::Beat(const std::string& node, int64_t now_ms, nlohmann::json fields) {
  fields["node"] = node;
  fields["heartbeat_ms"] = now_ms;
  conn_.Append({"SET", schema_.SidecarNode(node),
                fields.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), "PX",
                std::to_string(kTtlMs)});
  conn_.Append({"ZADD", schema_.SidecarNodes(), std::to_string(now_ms), node});
  conn_.Append(
      {"ZREMRANGEBYSCORE", schema_.SidecarNodes(), "-inf", std::to_string(now_ms - kForgetMs)});
  for (const char* command : {"SET", "ZADD", "ZREMRANGEBYSCORE"}) {
    conn_.GetReply(command).view().ThrowIfError();
  }
}

nlohmann::json NodeRegistry::Read(int64_t now_ms) {
  nlohmann::json nodes = nlohmann::json::array();
  RedisReply names = conn_.Command({"ZRANGE", schema_.SidecarNodes(), "0", "-1", "WITHSCORES"});
  ReplyView v = names.view();
  v.ThrowIfError();
  for (size_t i = 0; i + 1 < v.size(); i += 2) {
    const std::string node(v[i].str());
    const int64_t seen = std::stoll(std::string(v[i + 1].str()));
    nlohmann::json j = nlohmann::json::object();
    RedisReply beat = conn_.Command({"GET", schema_.SidecarNode(node)});
    if (beat.view().is_string()) {
      j = nlohmann::json::parse(beat.view().str(), nullptr, false);
      if (!j.is_object()) j = nlohmann::json::object();  // not ours: show the name only
    }
    const int64_t age = std::max<int64_t>(0, now_ms - seen);
    j["node"] = node;
    j["role"] = j.value("role", "sidecar");
    j["last_seen"] = FormatIsoUtcMs(seen);
    j["age_ms"] = age;
    j["state"] = age >= kTtlMs ? "down" : age >= kStaleMs ? "stale" : "up";
    nodes.push_back(std::move(j));
  }
  return nodes;
}

}  // namespace warden
