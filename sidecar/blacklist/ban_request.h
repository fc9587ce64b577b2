#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "blacklist/blacklist_store.h"
#include "common/address.h"
#include "common/blacklist_entry.h"

namespace warden {

// Bans given by hand (`warden ban ADDRESS`, the console's ban button): one entry per network,
// the same expiry, source, author and reason for each.
struct BanRequest {
  static constexpr size_t kMaxReason = 1024;

  std::vector<Cidr> cidrs;
  int64_t ttl_ms = 0;  // 0: never expires
  EntrySource source = EntrySource::kManual;
  std::string added_by;
  std::string reason;

  struct Result {
    int64_t now_ms = 0;              // Redis's clock when the bans were written
    std::vector<std::string> names;  // canonical text, in the order of `cidrs`
    std::vector<bool> replaced;      // whether each replaced an entry that was there
    std::vector<std::optional<std::string>> previous;  // and that entry's value
  };

  // Writes the bans through `store` (one apply script run). Throws RedisError.
  Result Apply(BlacklistStore& store) const;

  // Sets ttl_ms from "1h", "never", ... and reason, or throws UsageError saying what is wrong
  // (the CLI's --ttl/--reason and the console's body alike).
  void SetTtlAndReason(std::string_view ttl, std::string reason_text);
};

}  // namespace warden
