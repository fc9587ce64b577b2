#include "common/cache_value.h"

#include <limits>

namespace warden {

namespace {

// Longer values are not what the warmer writes, and would only bloat response headers.
constexpr size_t kMaxEtag = 256;
constexpr size_t kMaxContentType = 256;

// RFC 9110, 8.8.3: entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE,
// etagc = %x21 / %x23-7E / obs-text.
bool ValidEtag(std::string_view tag) {
  if (tag.size() > kMaxEtag) return false;
  if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);
  if (tag.size() < 2 || tag.front() != '"' || tag.back() != '"') return false;
  for (char c : tag.substr(1, tag.size() - 2)) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x21 || u == '"' || u == 0x7f) return false;
  }
  return true;
}

// A field value without controls (RFC 9110, 5.5): no CR or LF can split the header.
bool ValidContentType(std::string_view type) {
  if (type.size() > kMaxContentType) return false;
  for (char c : type) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && u != '\t') || u == 0x7f) return false;
  }
  return true;
}

bool ParseMillis(std::string_view text, int64_t* out) {
  if (text.empty() || text.size() > 19) return false;
  int64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    if (v > (std::numeric_limits<int64_t>::max() - (c - '0')) / 10) return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

}  // namespace

CacheValue::Problem CacheValue::Parse(const std::optional<std::string_view> (&fields)[kFields],
                                      CacheValue* out) {
  bool any = false;
  for (const auto& f : fields) any = any || f.has_value();
  if (!any) return Problem::kMissing;
  if (!fields[kBody] || !fields[kEtag] || !fields[kComputedAt]) return Problem::kMissingField;
  if (fields[kBody]->empty()) return Problem::kEmptyBody;
  if (!ValidEtag(*fields[kEtag])) return Problem::kBadEtag;
  int64_t computed_at = 0;
  if (!ParseMillis(*fields[kComputedAt], &computed_at)) return Problem::kBadComputedAt;
  std::string_view type = fields[kContentType].value_or("");
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.remove_prefix(1);
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  if (!ValidContentType(type)) return Problem::kBadContentType;
  out->body = *fields[kBody];
  out->etag = *fields[kEtag];
  out->computed_at_ms = computed_at;
  out->content_type = type.empty() ? kDefaultContentType : type;
  return Problem::kNone;
}

const char* CacheValue::Describe(Problem problem) {
  switch (problem) {
    case Problem::kNone:
      return "ok";
    case Problem::kMissing:
      return "no such value";
    case Problem::kMissingField:
      return "a field is missing (body, etag and computed_at are required)";
    case Problem::kEmptyBody:
      return "the body is empty";
    case Problem::kBadEtag:
      return "etag is not an entity-tag in quotes, such as \"4f53cd\"";
    case Problem::kBadComputedAt:
      return "computed_at is not Unix milliseconds";
    case Problem::kBadContentType:
      return "content_type holds control characters or is too long";
    case Problem::kNotAHash:
      return "the key is not a hash";
  }
  return "unknown problem";
}

const std::string& CacheValue::StoreScript() {
  static const std::string script = [] {
    auto field = [](const char* name) { return "'" + std::string(name) + "'"; };
    return "redis.call('DEL', KEYS[1])\n"
           "redis.call('HSET', KEYS[1], " +
           field(kFieldNames[kBody]) + ", ARGV[3], " + field(kFieldNames[kEtag]) + ", ARGV[4], " +
           field(kFieldNames[kComputedAt]) + ", ARGV[5], " + field(kFieldNames[kContentType]) +
           ", '" + std::string(kDefaultContentType) + "', " + field(kDeltaField) + ", ARGV[6], " +
           field(kRowsField) + ", ARGV[7], " + field(kTtlField) +
           ", ARGV[2])\n"
           "redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
           "if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end\n"
           "return 1\n";
  }();
  return script;
}

}  // namespace warden
