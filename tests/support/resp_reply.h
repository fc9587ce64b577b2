#pragma once

#include <hiredis/hiredis.h>

#include <string>

#include "common/c_ptr.h"

namespace warden::test {

using RespReplyPtr = CPtr<redisReply, freeReplyObject>;

// A reply as hiredis's reader takes it off the wire, from RESP text ("*2\r\n:1\r\n..."), with no
// server: for tests of code that reads replies. Throws std::runtime_error when `resp` is not one
// whole reply.
RespReplyPtr ParseResp(const std::string& resp);

}  // namespace warden::test
