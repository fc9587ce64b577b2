#include "core/stream_change.h"

#include <hiredis/hiredis.h>

#include <charconv>
#include <string_view>

namespace warden {

namespace {

std::string_view Text(const redisReply* r) {
  if (!r || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS)) return {};
  return std::string_view(r->str, r->len);
}

bool IsArray(const redisReply* r, size_t min_elements) {
  return r && r->type == REDIS_REPLY_ARRAY && r->elements >= min_elements;
}

}  // namespace

std::optional<std::vector<StreamChange>> ParseStreamChanges(const redisReply* r) {
  std::vector<StreamChange> changes;
  if (r && r->type == REDIS_REPLY_NIL) return changes;
  if (!IsArray(r, 1) || !IsArray(r->element[0], 2) ||
      r->element[0]->element[1]->type != REDIS_REPLY_ARRAY) {
    return std::nullopt;
  }
  const redisReply* entries = r->element[0]->element[1];
  changes.reserve(entries->elements);
  for (size_t i = 0; i < entries->elements; ++i) {
    const redisReply* e = entries->element[i];
    if (!IsArray(e, 2) || e->element[1]->type != REDIS_REPLY_ARRAY) continue;
    StreamChange change;
    change.id = std::string(Text(e->element[0]));
    const redisReply* fields = e->element[1];
    for (size_t f = 0; f + 1 < fields->elements; f += 2) {
      std::string_view name = Text(fields->element[f]);
      std::string_view val = Text(fields->element[f + 1]);
      if (name == "seq") {
        uint64_t seq = 0;
        auto [end, ec] = std::from_chars(val.data(), val.data() + val.size(), seq);
        change.seq = ec == std::errc() && end == val.data() + val.size() ? seq : 0;
      } else if (name == "op") {
        change.op = std::string(val);
      } else if (name == "entry") {
        change.entry = std::string(val);
      } else if (name == "value") {
        change.value = std::string(val);
      }
    }
    changes.push_back(std::move(change));
  }
  return changes;
}

}  // namespace warden
