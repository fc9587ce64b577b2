#pragma once

#include <memory>
#include <string>

struct redisAsyncContext;
struct ssl_ctx_st;  // OpenSSL's SSL_CTX

namespace warden {

// TLS for every connection to a deployment (`warden_redis rediss://...` or tls=on): the client
// context, built once when the configuration is read (its files read then, by the master; the
// workers inherit it), and the name certificates must carry.
struct RedisTlsSettings {
  std::shared_ptr<ssl_ctx_st> context;  // null: plain TCP
  std::string server_name;              // tls_server_name; empty: each host as configured

  bool enabled() const { return context != nullptr; }
  // The name the certificate of a server configured as `host` must carry (RedisTls::NameToCheck).
  const std::string& NameFor(const std::string& host) const {
    return server_name.empty() ? host : server_name;
  }
};

// TLS under one hiredis async context. hiredis 0.14 has no TLS: redisAsyncHandleRead/Write
// read() and write() its socket themselves. For a context given to Start() the event loop calls
// HandleRead/HandleWrite here instead, which wait for the TCP connect, run the handshake
// (non-blocking, on the same read and write events), then move the bytes between OpenSSL and
// hiredis: what SSL_read decrypts is fed to hiredis's reader and the replies dispatched by
// hiredis itself (redisProcessCallbacks), hiredis's formatted output (c.obuf) goes out through
// SSL_write. hiredis keeps its callbacks, pipelining and subscriptions; commands sent before the
// handshake ends wait in its buffer, and the caller's deadlines for them bound the connect and
// the handshake. The context's event hooks are interposed (the host's are kept and called), so
// the host's loop only has to call HandleRead/HandleWrite for every context.
//
// A failure ends the context as hiredis ends a plain one: a failed connect or handshake runs
// the connect callback with REDIS_ERR, a broken connection the disconnect callback (with
// REDIS_OK, as after redisAsyncFree, and ac->err set); either way ErrorOf(ac) says why in one
// line, "TLS: the server's certificate was not accepted: ... (check tls_ca)" (ac->errstr has
// it cut to hiredis's 128 bytes).
class AsyncTls {
 public:
  // Puts TLS under `ac`, just attached to the event loop (its ev hooks set) and not yet driven
  // by it; `name` is checked against the server's certificate. False with `why` when no session
  // can be made: `ac` is left as it was, for the caller to free.
  static bool Start(redisAsyncContext* ac, ssl_ctx_st* context, const std::string& name,
                    std::string* why);

  // Why `ac` failed, from its connect or disconnect callback: the TLS session's words in full,
  // else hiredis's errstr.
  static const char* ErrorOf(const redisAsyncContext* ac) noexcept;

  // The socket of `ac` is readable / writable: TLS for a context given to Start(), else
  // hiredis's own handler. `ac` may have been freed when these return.
  static void HandleRead(redisAsyncContext* ac) noexcept;
  static void HandleWrite(redisAsyncContext* ac) noexcept;
  // A plain (not TLS) connection whose TCP connect is done: a write may be tried at any time,
  // and one that finds no room just waits for the socket.
  static bool PlainAndConnected(const redisAsyncContext* ac) noexcept;
};

}  // namespace warden
