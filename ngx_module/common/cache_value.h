#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace warden {

// A value warmed by `warden cache warm` (docs/cache.md) as nginx serves it: the fields of the
// Redis hash read with HMGET <key> body etag computed_at content_type. The views point into
// the Redis reply and live as long as it does.
struct CacheValue {
  // The order of the HMGET fields, and of Parse's `fields`.
  enum Field { kBody = 0, kEtag, kComputedAt, kContentType, kFields };
  static constexpr const char* kFieldNames[kFields] = {"body", "etag", "computed_at",
                                                       "content_type"};
  static constexpr std::string_view kDefaultContentType = "application/json";
  // Fields for the warmer only (XFetch's recompute time, the row count, the TTL it was given).
  static constexpr const char* kDeltaField = "delta";
  static constexpr const char* kRowsField = "rows";
  static constexpr const char* kTtlField = "ttl";

  // The writer's side of the format (`warden cache warm`): replaces the hash whole, sets its
  // TTL, and gives the warm lock back if it is still ours. Built from kFieldNames, so the
  // reader (HMGET in nginx) and the writer cannot drift apart.
  // KEYS: cache key, lock key. ARGV: token, ttl_ms, body, etag, computed_at, delta, rows.
  static const std::string& StoreScript();

  // Why a value cannot be served. Redis data is anyone's input: each problem is a reason to
  // fall through to the backend, never to serve a broken response.
  enum class Problem {
    kNone,
    kMissing,       // no such key, or none of the fields: not warmed (or expired)
    kMissingField,  // body, etag or computed_at absent: not written by the warmer
    kEmptyBody,
    kBadEtag,         // not an RFC 9110 entity-tag ("..." or W/"..."), or too long
    kBadComputedAt,   // not a non-negative decimal integer of Unix milliseconds
    kBadContentType,  // control characters (header injection), or too long
    kNotAHash,        // the key holds another type (WRONGTYPE)
  };
  static constexpr int kProblems = static_cast<int>(Problem::kNotAHash) + 1;

  // `fields[i]` is field i, nullopt when the hash lacks it. An absent or empty content_type
  // means kDefaultContentType.
  static Problem Parse(const std::optional<std::string_view> (&fields)[kFields], CacheValue* out);
  static const char* Describe(Problem problem);

  std::string_view body;
  std::string_view etag;  // with its quotes, as the ETag header carries it
  std::string_view content_type;
  int64_t computed_at_ms = 0;
};

}  // namespace warden
