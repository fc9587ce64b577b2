#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/blacklist_table.h"
#include "core/cidr_set.h"

namespace warden {

// 4-6 are the glue's (limits); kChallenge: the blacklist says challenge, not refuse.
enum class Decision { kPass = 0, kAllow = 1, kBlock = 2, kDryRun = 3, kChallenge = 7 };
const char* DecisionName(Decision decision);
// What refused (or would have refused) a request: WARDEN_CAUSE_* in warden_core.h.
enum class Cause { kNone = 0, kBlacklist = 1, kCountry = 2, kAutoban = 3 };

struct Verdict {
  Decision decision = Decision::kPass;
  Cause cause = Cause::kNone;
  // Fixed size, filled without allocating; only its first reason_len bytes and a NUL are
  // written (Evaluate clears it): not zeroed, as it is made for every request.
  char reason[96];
  size_t reason_len = 0;
};

// What one nginx location enforces: its allow list, blocked countries and dry-run switch,
// applied together with the node's shared blacklist.
class Policy {
 public:
  void Allow(const Cidr& cidr) { allow_.Add(cidr); }
  // Takes an ISO 3166 alpha-2 code; returns false for anything else.
  bool BlockCountry(std::string_view code);
  void set_dry_run(bool on) { dry_run_ = on; }
  bool needs_country() const { return !countries_.empty(); }
  // No allow list and no countries: without a blacklist, every request passes.
  bool only_passes() const { return allow_.empty() && countries_.empty(); }

  // Allow list first (it wins over everything), then the blacklist, then the countries.
  // `country` may be null when unknown; `table` may be null when no blacklist is configured.
  void Evaluate(const IpAddress& addr, const char* country, const BlacklistTable* table,
                int64_t now_ms, Verdict* out) const;

 private:
  CidrSet allow_;
  std::vector<uint16_t> countries_;
  bool dry_run_ = false;
};

}  // namespace warden
