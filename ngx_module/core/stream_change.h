#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

struct redisReply;

namespace warden {

// One change of the blacklist's change stream (bl:log), as XREAD returns it:
// [id, [field, value, ...]] with the fields seq, op ("add" | "del"), entry and value.
struct StreamChange {
  std::string id;
  uint64_t seq = 0;  // 0 when missing or not a number: the caller sees a gap
  std::string op;
  std::string entry;
  std::string value;
};

// The changes of an `XREAD ... STREAMS <log> <id>` reply, in order. nullopt when the reply is
// not one for a stream at all (the caller drops the connection); a nil reply (nothing new
// within the block time) is an empty list. Entries of another shape are skipped. Redis's data
// is anyone's input: nothing here trusts a type, a count or a length.
std::optional<std::vector<StreamChange>> ParseStreamChanges(const redisReply* reply);

}  // namespace warden
