#include "core/policy.h"

#include <cstdio>

namespace warden {

namespace {

void SetReason(Verdict* v, const char* fmt, const char* a, const char* b = "") {
  int n = std::snprintf(v->reason, sizeof v->reason, fmt, a, b);
  v->reason_len = n < 0 ? 0 : std::min(static_cast<size_t>(n), sizeof v->reason - 1);
}

uint16_t PackCountry(char a, char b) { return static_cast<uint16_t>((a << 8) | b); }

}  // namespace

const char* DecisionName(Decision decision) {
  switch (decision) {
    case Decision::kAllow:
      return "allow";
    case Decision::kBlock:
      return "block";
    case Decision::kDryRun:
      return "dry_run";
    case Decision::kChallenge:
      return "challenge";
    case Decision::kPass:
      break;
  }
  return "pass";
}

bool Policy::BlockCountry(std::string_view code) {
  if (code.size() != 2) return false;
  char a = code[0], b = code[1];
  if (a >= 'a' && a <= 'z') a -= 32;
  if (b >= 'a' && b <= 'z') b -= 32;
  if (a < 'A' || a > 'Z' || b < 'A' || b > 'Z') return false;
  countries_.push_back(PackCountry(a, b));
  return true;
}

void Policy::Evaluate(const IpAddress& addr, const char* country, const BlacklistTable* table,
                      int64_t now_ms, Verdict* out) const {
  out->decision = Decision::kPass;
  out->cause = Cause::kNone;
  out->reason_len = 0;
  out->reason[0] = '\0';
  Decision deny = dry_run_ ? Decision::kDryRun : Decision::kBlock;

  if (!allow_.empty()) {
    if (auto hit = allow_.Match(addr)) {
      out->decision = Decision::kAllow;
      SetReason(out, "allowlist %s", hit->ToString().c_str());
      return;
    }
  }
  if (table) {
    if (auto hit = table->Lookup(addr, now_ms)) {
      if (hit->source == EntrySource::kAllow) {  // the fleet's allow list (`warden allow`)
        out->decision = Decision::kAllow;
        SetReason(out, "allowlist %s (fleet)", hit->cidr.ToString().c_str());
        return;
      }
      out->decision =
          hit->source == EntrySource::kChallenge && !dry_run_ ? Decision::kChallenge : deny;
      out->cause = hit->source == EntrySource::kAutoban ? Cause::kAutoban : Cause::kBlacklist;
      SetReason(out, "blacklist %s (%s)", hit->cidr.ToString().c_str(),
                EntrySourceName(hit->source));
      return;
    }
  }
  if (country && country[0] && !countries_.empty()) {
    uint16_t packed = PackCountry(country[0], country[1]);
    for (uint16_t c : countries_) {
      if (c == packed) {
        out->decision = deny;
        out->cause = Cause::kCountry;
        SetReason(out, "country %s", country);
        return;
      }
    }
  }
}

}  // namespace warden
