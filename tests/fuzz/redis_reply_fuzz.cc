// libFuzzer target for the module's reading of Redis replies (anyone who can write to Redis,
// or sit between it and nginx, chooses these bytes): the input goes through hiredis's own
// reader, and every reply it yields through ParseStreamChanges, the reader of the blacklist's
// change stream. Invariants: no crash, no leak (ASan), and a list only for a stream-shaped
// reply.
#include <hiredis/hiredis.h>

#include <cstdint>
#include <cstdlib>

#include "common/c_ptr.h"
#include "core/stream_change.h"

namespace {

// hiredis's reader allocates an aggregate's element array as announced ("*777777771" is 6 GB
// of calloc) before any element arrives; the module trusts its configured Redis that far.
// Inputs announcing more than this are left out so that the fuzzer explores the parsing, not
// the allocator.
constexpr long long kMaxAnnounced = 100000;

bool AnnouncesHugeAggregate(const uint8_t* data, size_t size) {
  for (size_t i = 0; i < size; ++i) {
    if (data[i] != '*') continue;
    long long n = 0;
    for (size_t j = i + 1; j < size && data[j] >= '0' && data[j] <= '9'; ++j) {
      n = n * 10 + (data[j] - '0');
      if (n > kMaxAnnounced) return true;
    }
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (AnnouncesHugeAggregate(data, size)) return 0;
  warden::CPtr<redisReader, redisReaderFree> reader(redisReaderCreate());
  if (!reader) return 0;
  redisReaderFeed(reader.get(), reinterpret_cast<const char*>(data), size);
  for (int i = 0; i < 64; ++i) {
    void* parsed = nullptr;
    if (redisReaderGetReply(reader.get(), &parsed) != REDIS_OK || parsed == nullptr) break;
    warden::CPtr<redisReply, freeReplyObject> reply(static_cast<redisReply*>(parsed));
    auto changes = warden::ParseStreamChanges(reply.get());
    if (changes && reply->type != REDIS_REPLY_NIL && reply->type != REDIS_REPLY_ARRAY) std::abort();
    if (changes && reply->type == REDIS_REPLY_NIL && !changes->empty()) std::abort();
  }
  return 0;
}
