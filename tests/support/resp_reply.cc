#include "support/resp_reply.h"

#include <stdexcept>

namespace warden::test {

RespReplyPtr ParseResp(const std::string& resp) {
  CPtr<redisReader, redisReaderFree> reader(redisReaderCreate());
  if (!reader) throw std::runtime_error("out of memory creating a RESP reader");
  redisReaderFeed(reader.get(), resp.data(), resp.size());
  void* parsed = nullptr;
  if (redisReaderGetReply(reader.get(), &parsed) != REDIS_OK || parsed == nullptr) {
    if (parsed) freeReplyObject(parsed);
    throw std::runtime_error("not one whole RESP reply: " + resp);
  }
  return RespReplyPtr(static_cast<redisReply*>(parsed));
}

}  // namespace warden::test
