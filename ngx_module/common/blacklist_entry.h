#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/address.h"

namespace warden {

// Who put an entry on the list; shown in $warden_reason.
// kChallenge: the client is challenged (warden_challenge) instead of refused.
// kAllow: not a ban but the fleet's allow list (`warden allow`, the console): never blocked,
// limited or auto-banned, like warden_allow; the most specific entry covering an address wins.
enum class EntrySource : uint8_t {
  kManual = 0,
  kAutoban = 1,
  kFeed = 2,
  kChallenge = 3,
  kAllow = 4,
};
const char* EntrySourceName(EntrySource source);
EntrySource EntrySourceFromName(std::string_view name);

// One blacklist entry as stored in Redis: the hash field is the canonical CIDR text, the value
// is "v1\t<expires_ms>\t<added_ms>\t<source>\t<added_by>\t<reason>" (reason last, so it may
// hold anything but a newline). An allow entry is written "v2\t..." with the same fields: a
// node older than the allow list skips it as malformed instead of reading it as a ban.
// Documented in docs/redis-keys.md.
struct BlacklistEntry {
  Cidr cidr;
  int64_t expires_ms = 0;  // 0: never
  int64_t added_ms = 0;
  EntrySource source = EntrySource::kManual;
  std::string added_by;
  std::string reason;

  std::string EncodeValue() const;
  // Parses a field/value pair read from Redis; nullopt (with `error` set) for malformed data.
  static std::optional<BlacklistEntry> Decode(std::string_view field, std::string_view value,
                                              std::string* error);
  bool ExpiredAt(int64_t now_ms) const { return expires_ms != 0 && expires_ms <= now_ms; }
};

}  // namespace warden
