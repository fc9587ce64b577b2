#include "blacklist/ban_request.h"

namespace warden {

BanRequest::Result BanRequest::Apply(BlacklistStore& store) const {
  Result result;
  result.now_ms = store.ServerNowMs();
  BlacklistEntry entry;
  entry.expires_ms = ttl_ms == 0 ? 0 : result.now_ms + ttl_ms;
  entry.added_ms = result.now_ms;
  entry.source = source;
  entry.added_by = added_by;
  entry.reason = reason;

  std::vector<BlacklistChange> changes;
  for (const Cidr& cidr : cidrs) {
    entry.cidr = cidr;
    result.names.push_back(cidr.ToString());
    changes.push_back(
        {BlacklistChange::Op::kAdd, result.names.back(), entry.expires_ms, entry.EncodeValue()});
  }
  auto before = store.Get(result.names);
  store.Apply(changes);
  for (const auto& value : before) result.replaced.push_back(value.has_value());
  return result;
}

}  // namespace warden
