#include "blacklist/ban_request.h"

#include "base/duration.h"
#include "base/errors.h"

namespace warden {

void BanRequest::SetTtlAndReason(std::string_view ttl, std::string reason_text) {
  std::string error;
  auto parsed = ParseTtlMs(ttl, &error);
  if (!parsed) throw UsageError(error);
  if (reason_text.size() > kMaxReason) {
    throw UsageError("the reason is longer than " + std::to_string(kMaxReason) + " characters");
  }
  ttl_ms = *parsed;
  reason = std::move(reason_text);
}

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
  result.previous = store.Get(result.names);
  store.Apply(changes);
  for (const auto& value : result.previous) result.replaced.push_back(value.has_value());
  return result;
}

}  // namespace warden
