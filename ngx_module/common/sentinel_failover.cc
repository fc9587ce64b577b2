#include "common/sentinel_failover.h"

#include "common/url.h"

namespace warden {

namespace {

std::vector<std::string_view> Words(std::string_view text) {
  std::vector<std::string_view> words;
  while (!text.empty() && words.size() < 16) {
    size_t space = text.find(' ');
    std::string_view word = text.substr(0, space);
    if (!word.empty()) words.push_back(word);
    if (space == std::string_view::npos) break;
    text.remove_prefix(space + 1);
  }
  return words;
}

bool Address(std::string_view host, std::string_view port, RedisNodeAddress* out) {
  int number = 0;
  if (host.empty() || !Url::ParseNumber(port, 1, 65535, &number)) return false;
  *out = RedisNodeAddress{std::string(host), number};
  return true;
}

}  // namespace

std::optional<SentinelEvent> SentinelEvent::Parse(std::string_view channel,
                                                  std::string_view message) {
  std::vector<std::string_view> w = Words(message);
  SentinelEvent event;
  if (channel == "+switch-master") {
    // NAME OLD-IP OLD-PORT NEW-IP NEW-PORT
    if (w.size() != 5 || !Address(w[1], w[2], &event.master) || !Address(w[3], w[4], &event.node)) {
      return std::nullopt;
    }
    event.kind = Kind::kSwitchMaster;
    event.master_name = std::string(w[0]);
    return event;
  }
  if (channel == "+sdown" || channel == "+odown") {
    // master NAME IP PORT [#quorum N/Q]
    if (w.size() < 4 || w[0] != "master" || !Address(w[2], w[3], &event.master)) {
      return std::nullopt;
    }
    event.kind = Kind::kMasterDown;
    event.master_name = std::string(w[1]);
    return event;
  }
  if (channel == "+failover-state-wait-promotion") {
    // slave IP:PORT IP PORT @ MASTER-NAME MASTER-IP MASTER-PORT
    if (w.size() != 8 || w[0] != "slave" || w[4] != "@" || !Address(w[2], w[3], &event.node) ||
        !Address(w[6], w[7], &event.master)) {
      return std::nullopt;
    }
    event.kind = Kind::kWaitPromotion;
    event.master_name = std::string(w[5]);
    return event;
  }
  return std::nullopt;
}

bool SentinelReplica::Reachable() const {
  std::string_view rest = flags;
  while (true) {
    size_t comma = rest.find(',');
    std::string_view flag = rest.substr(0, comma);
    if (flag == "s_down" || flag == "o_down" || flag == "disconnected") return false;
    if (comma == std::string_view::npos) return true;
    rest.remove_prefix(comma + 1);
  }
}

std::optional<SentinelReplica> SentinelReplica::FromFields(
    const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string_view ip, port;
  SentinelReplica replica;
  for (const auto& [name, value] : fields) {
    if (name == "ip") ip = value;
    if (name == "port") port = value;
    if (name == "flags") replica.flags = value;
  }
  if (!Address(ip, port, &replica.address)) return std::nullopt;
  return replica;
}

std::optional<RedisNodeAddress> PromotedReplica(const std::vector<ReplicaRole>& answers) {
  std::optional<RedisNodeAddress> promoted;
  for (const ReplicaRole& answer : answers) {
    if (!answer.master || answer.address == promoted) continue;
    if (promoted) return std::nullopt;  // a second one
    promoted = answer.address;
  }
  return promoted;
}

}  // namespace warden
