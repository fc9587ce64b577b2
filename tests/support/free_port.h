#pragma once

namespace warden::test {

// A TCP port on 127.0.0.1 that was free a moment ago: binds port 0, reads the port the kernel
// chose, closes the socket. Another process may take it meanwhile, so servers started on it
// should retry with a new port when the bind fails (RedisServer does).
int FreePort();

}  // namespace warden::test
