// libFuzzer target for the check of cached values read from Redis before nginx serves them
// (anyone who can write to Redis writes them). Input: up to four fields (body, etag,
// computed_at, content_type) separated by NUL bytes; missing ones are absent from the hash.
// Invariants: no crash; whatever is accepted cannot split a header or escape the input.
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string_view>

#include "common/cache_value.h"

namespace {

bool Inside(std::string_view part, std::string_view whole) {
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

bool HeaderSafe(std::string_view value) {
  for (char c : value) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::optional<std::string_view> fields[warden::CacheValue::kFields];
  std::string_view rest = input;
  for (int i = 0; i < warden::CacheValue::kFields && !rest.empty(); ++i) {
    size_t nul = rest.find('\0');
    fields[i] = rest.substr(0, nul);
    rest = nul == std::string_view::npos ? std::string_view() : rest.substr(nul + 1);
  }

  warden::CacheValue value;
  warden::CacheValue::Problem problem = warden::CacheValue::Parse(fields, &value);
  if (problem != warden::CacheValue::Problem::kNone) return 0;
  if (value.body.empty() || !Inside(value.body, input) || !Inside(value.etag, input)) std::abort();
  if (!HeaderSafe(value.etag) || !HeaderSafe(value.content_type)) std::abort();
  if (value.content_type.empty() || value.computed_at_ms < 0) std::abort();
  return 0;
}
