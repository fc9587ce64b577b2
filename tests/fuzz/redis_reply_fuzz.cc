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

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
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
