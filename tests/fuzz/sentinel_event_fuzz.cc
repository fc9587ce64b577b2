// libFuzzer target for reading what a Sentinel sends (anyone who can publish on a Sentinel's
// channels, or sit between it and nginx or the sidecar, chooses these bytes): the first byte
// picks the channel, the rest is the message for SentinelEvent::Parse, and the same bytes cut
// at spaces make a SENTINEL REPLICAS entry for SentinelReplica::FromFields. Invariants: no
// crash, no leak (ASan); an event's addresses carry a port in 1..65535 and a host.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/sentinel_failover.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const char* channels[] = {"+switch-master", "+sdown", "+odown", "+failover-state-wait-promotion",
                            "+promoted-slave"};
  std::string_view channel = channels[data[0] % (sizeof channels / sizeof channels[0])];
  std::string_view message(reinterpret_cast<const char*>(data + 1), size - 1);
  if (auto event = warden::SentinelEvent::Parse(channel, message)) {
    if (event->master.host.empty() || event->master.port < 1 || event->master.port > 65535) {
      std::abort();
    }
  }

  std::vector<std::pair<std::string, std::string>> fields;
  size_t start = 0;
  std::string name;
  bool have_name = false;
  while (start <= message.size()) {
    size_t space = message.find(' ', start);
    if (space == std::string_view::npos) space = message.size();
    std::string word(message.substr(start, space - start));
    if (have_name) {
      fields.emplace_back(std::move(name), std::move(word));
    } else {
      name = std::move(word);
    }
    have_name = !have_name;
    start = space + 1;
  }
  if (auto replica = warden::SentinelReplica::FromFields(fields)) {
    if (replica->address.host.empty() || replica->address.port < 1) std::abort();
    replica->Reachable();
  }
  return 0;
}
