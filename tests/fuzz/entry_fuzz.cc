// libFuzzer target for the decoder of blacklist entries read from Redis (and so from anyone
// who can write to it). Input: field, a NUL byte, value. Invariants: no crash; a decoded
// entry re-encodes to a value that decodes to the same entry.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/blacklist_entry.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t nul = input.find('\0');
  std::string_view field = input.substr(0, nul);
  std::string_view value = nul == std::string_view::npos ? "" : input.substr(nul + 1);

  std::string error;
  auto entry = warden::BlacklistEntry::Decode(field, value, &error);
  if (!entry) {
    if (error.empty()) std::abort();
    return 0;
  }
  auto again = warden::BlacklistEntry::Decode(entry->cidr.ToString(), entry->EncodeValue(), &error);
  if (!again || !(again->cidr == entry->cidr) || again->expires_ms != entry->expires_ms ||
      again->added_ms != entry->added_ms || again->source != entry->source) {
    std::abort();
  }
  return 0;
}
