#include "core/async_tls.h"

// hiredis's output buffer. sds.h has no extern "C" of its own, and hiredis.h includes it
// outside its own: it must come first, in C linkage.
extern "C" {
#include <hiredis/sds.h>
}

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstring>
#include <memory>

#include "common/redis_tls.h"

// The second half of hiredis's redisAsyncHandleRead: hands the replies its reader holds to their
// callbacks (and frees the context when it is being disconnected and nothing is left to read).
// libhiredis exports it (0.14 and later) without declaring it in a header.
extern "C" void redisProcessCallbacks(redisAsyncContext* ac);

namespace warden {

namespace {

// One TLS record's plaintext at most: SSL_read never leaves part of a record inside OpenSSL.
constexpr int kReadChunk = 16 * 1024;
// Records read per readable event before the loop gets a turn; what is left stays in the
// socket, and the level-triggered event comes back for it.
constexpr int kMaxReadsPerEvent = 64;

class Session {
 public:
  struct Hooks {
    void* data;
    void (*add_read)(void*);
    void (*del_read)(void*);
    void (*add_write)(void*);
    void (*del_write)(void*);
    void (*cleanup)(void*);
  };

  Session(redisAsyncContext* ac, SslPtr ssl, Hooks host)
      : ac_(ac), ssl_(std::move(ssl)), host_(host) {}

  static Session* Of(redisAsyncContext* ac) {
    return ac->ev.cleanup == &Session::OnCleanup ? static_cast<Session*>(ac->ev.data) : nullptr;
  }

  void Interpose() {
    ac_->ev.data = this;
    ac_->ev.addRead = &Session::OnAddRead;
    ac_->ev.delRead = &Session::OnDelRead;
    ac_->ev.addWrite = &Session::OnAddWrite;
    ac_->ev.delWrite = &Session::OnDelWrite;
    ac_->ev.cleanup = &Session::OnCleanup;
    // The end of the TCP connect shows as writable.
    Call(host_.add_write);
  }

  // The connect and the handshake go on with either event; true once the session is open.
  bool SetUp() {
    switch (state_) {
      case State::kConnecting:
        if (Connected()) Handshake();
        return false;
      case State::kHandshaking:
        Handshake();
        return false;
      case State::kOpen:
        return true;
    }
    return false;
  }

  void Readable() {
    if (!SetUp()) return;
    if (write_wants_read_) {
      write_wants_read_ = false;
      if (!Flush()) return;
    }
    Receive();
  }

  void Writable() {
    if (!SetUp()) return;
    if (read_wants_write_) {
      read_wants_write_ = false;
      if (!Receive()) return;
    }
    Flush();
  }

 private:
  enum class State { kConnecting, kHandshaking, kOpen };

  void Call(void (*hook)(void*)) {
    if (hook) hook(host_.data);
  }

  // The TCP connect ended (the socket turned readable or writable): true when it succeeded.
  bool Connected() {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(ac_->c.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err != 0) {
      FailConnect(std::strerror(err));
      return false;
    }
    state_ = State::kHandshaking;
    return true;
  }

  void Handshake() {
    ERR_clear_error();
    int rc = SSL_connect(ssl_.get());
    if (rc == 1) {
      Open();
      return;
    }
    int err = SSL_get_error(ssl_.get(), rc);
    // Level-triggered events: wait for exactly what OpenSSL waits for, or the other one spins.
    if (err == SSL_ERROR_WANT_READ) {
      Call(host_.del_write);
      Call(host_.add_read);
      return;
    }
    if (err == SSL_ERROR_WANT_WRITE) {
      Call(host_.del_read);
      Call(host_.add_write);
      return;
    }
    fatal_ = true;
    FailConnect("TLS: " + RedisTls::HandshakeFailure(ssl_.get(), err));
  }

  void Open() {
    state_ = State::kOpen;
    ac_->c.flags |= REDIS_CONNECTED;
    Call(host_.add_read);
    std::weak_ptr<bool> alive = alive_;
    if (ac_->onConnect) ac_->onConnect(ac_, REDIS_OK);
    if (alive.expired()) return;
    Flush();
  }

  // Writes hiredis's output buffer; false when the context is gone.
  bool Flush() {
    while (sdslen(ac_->c.obuf) > 0) {
      // A write that OpenSSL asked to try again is tried again with the same length.
      int len = retry_len_ > 0 ? retry_len_
                               : static_cast<int>(std::min<size_t>(sdslen(ac_->c.obuf), INT_MAX));
      ERR_clear_error();
      int n = SSL_write(ssl_.get(), ac_->c.obuf, len);
      if (n > 0) {
        retry_len_ = 0;
        if (static_cast<size_t>(n) == sdslen(ac_->c.obuf)) {
          // As hiredis does: an emptied buffer gives its memory back.
          sds empty = sdsempty();
          if (empty) {
            sdsfree(ac_->c.obuf);
            ac_->c.obuf = empty;
          } else {
            sdsrange(ac_->c.obuf, n, -1);
          }
        } else {
          sdsrange(ac_->c.obuf, n, -1);
        }
        continue;
      }
      int err = SSL_get_error(ssl_.get(), n);
      if (err == SSL_ERROR_WANT_WRITE) {
        retry_len_ = len;
        Call(host_.add_write);
        return true;
      }
      if (err == SSL_ERROR_WANT_READ) {
        // Read interest is always on once open.
        retry_len_ = len;
        write_wants_read_ = true;
        Call(host_.del_write);
        return true;
      }
      fatal_ = true;
      FailOpen(Failure("TLS write failed", err));
      return false;
    }
    Call(host_.del_write);
    return true;
  }

  // Reads what the socket holds into hiredis's reader and has hiredis run the callbacks; false
  // when the context is gone.
  bool Receive() {
    char buf[kReadChunk];
    bool fed = false;
    std::string failure;
    for (int reads = 0; reads < kMaxReadsPerEvent || SSL_pending(ssl_.get()) > 0; ++reads) {
      ERR_clear_error();
      int n = SSL_read(ssl_.get(), buf, sizeof buf);
      if (n > 0) {
        if (redisReaderFeed(ac_->c.reader, buf, static_cast<size_t>(n)) != REDIS_OK) {
          failure = "out of memory reading a reply";
          break;
        }
        fed = true;
        continue;
      }
      int err = SSL_get_error(ssl_.get(), n);
      if (err == SSL_ERROR_WANT_READ) break;
      if (err == SSL_ERROR_WANT_WRITE) {
        read_wants_write_ = true;
        Call(host_.add_write);
        break;
      }
      if (err != SSL_ERROR_ZERO_RETURN) fatal_ = true;
      failure = Failure("TLS read failed", err);
      break;
    }
    if (fed) {
      // Replies that came before an end of the connection still reach their callbacks, which
      // may free the context (and with it this session).
      std::weak_ptr<bool> alive = alive_;
      redisProcessCallbacks(ac_);
      if (alive.expired()) return false;
    }
    if (!failure.empty()) {
      FailOpen(failure);
      return false;
    }
    return true;
  }

  // hiredis's words for an end of the connection, OpenSSL's for anything else.
  static std::string Failure(const char* what, int ssl_error) {
    std::string text = RedisTls::ErrorText();
    if (ssl_error == SSL_ERROR_ZERO_RETURN || (ssl_error == SSL_ERROR_SYSCALL && text.empty())) {
      return "Server closed the connection";
    }
    return std::string(what) + ": " + (text.empty() ? "I/O error" : text);
  }

  // The failure, in full for ErrorOf() while the callbacks run, and in hiredis's errstr (cut
  // to its 128 bytes) for anyone else.
  void SetError(const std::string& why) {
    error_ = why;
    failing_ = true;  // the session outlives the free, for the callbacks it runs
    ac_->c.err = REDIS_ERR_IO;
    snprintf(ac_->c.errstr, sizeof ac_->c.errstr, "%s", why.c_str());
    ac_->err = ac_->c.err;
    ac_->errstr = ac_->c.errstr;
  }

  // As hiredis ends a failed connect: the connect callback with REDIS_ERR, then the free. Ends
  // this session.
  void FailConnect(const std::string& why) {
    redisAsyncContext* ac = ac_;
    SetError(why);
    if (ac->onConnect) ac->onConnect(ac, REDIS_ERR);
    redisAsyncFree(ac);
    delete this;
  }

  // A connection that broke: pending callbacks get no reply, then the disconnect callback runs.
  // Ends this session.
  void FailOpen(const std::string& why) {
    SetError(why);
    redisAsyncFree(ac_);
    delete this;
  }

  static void OnAddRead(void* data) {
    auto* self = static_cast<Session*>(data);
    if (self->state_ == State::kOpen) self->Call(self->host_.add_read);
  }
  static void OnDelRead(void* data) {
    auto* self = static_cast<Session*>(data);
    if (self->state_ == State::kOpen) self->Call(self->host_.del_read);
  }
  // hiredis appended a command: before the handshake ends it waits in the buffer.
  static void OnAddWrite(void* data) {
    auto* self = static_cast<Session*>(data);
    if (self->state_ == State::kOpen) self->Call(self->host_.add_write);
  }
  static void OnDelWrite(void* data) {
    auto* self = static_cast<Session*>(data);
    if (self->state_ == State::kOpen && !self->read_wants_write_) {
      self->Call(self->host_.del_write);
    }
  }
  // hiredis frees the context (and closes the socket right after): the host lets go of the
  // socket, the session ends. close_notify is sent when the connection is still sound.
  static void OnCleanup(void* data) {
    auto* self = static_cast<Session*>(data);
    self->Call(self->host_.cleanup);
    if (self->state_ == State::kOpen && !self->fatal_ && !self->failing_) {
      SSL_shutdown(self->ssl_.get());
      ERR_clear_error();
    }
    if (self->failing_) return;       // FailConnect/FailOpen end it once the free is done
    self->ac_->ev.cleanup = nullptr;  // Of() no longer finds it
    self->ac_->ev.data = nullptr;
    delete self;
  }

 public:
  const std::string& error() const { return error_; }

 private:
  redisAsyncContext* ac_;
  SslPtr ssl_;
  Hooks host_;
  State state_ = State::kConnecting;
  bool fatal_ = false;  // OpenSSL said the session is broken: no close_notify
  bool write_wants_read_ = false;
  bool read_wants_write_ = false;
  int retry_len_ = 0;
  // Expires with the session: a call into hiredis that may free the context checks it after.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  bool failing_ = false;
  std::string error_;
};

}  // namespace

bool AsyncTls::Start(redisAsyncContext* ac, ssl_ctx_st* context, const std::string& name,
                     std::string* why) {
  SslPtr ssl = RedisTls::NewSession(context, ac->c.fd, name, why);
  if (!ssl) return false;
  auto* session = new Session(ac, std::move(ssl),
                              Session::Hooks{ac->ev.data, ac->ev.addRead, ac->ev.delRead,
                                             ac->ev.addWrite, ac->ev.delWrite, ac->ev.cleanup});
  session->Interpose();
  return true;
}

const char* AsyncTls::ErrorOf(const redisAsyncContext* ac) noexcept {
  Session* session = Session::Of(const_cast<redisAsyncContext*>(ac));
  if (session && !session->error().empty()) return session->error().c_str();
  return ac->errstr ? ac->errstr : "";
}

void AsyncTls::HandleRead(redisAsyncContext* ac) noexcept {
  try {
    if (Session* session = Session::Of(ac)) {
      session->Readable();
    } else {
      redisAsyncHandleRead(ac);
    }
  } catch (...) {
    // Only an allocation can throw here; the level-triggered event comes back.
  }
}

bool AsyncTls::PlainAndConnected(const redisAsyncContext* ac) noexcept {
  return Session::Of(const_cast<redisAsyncContext*>(ac)) == nullptr &&
         (ac->c.flags & REDIS_CONNECTED) != 0;
}

void AsyncTls::HandleWrite(redisAsyncContext* ac) noexcept {
  try {
    if (Session* session = Session::Of(ac)) {
      session->Writable();
    } else {
      redisAsyncHandleWrite(ac);
    }
  } catch (...) {
    // As above.
  }
}

}  // namespace warden
