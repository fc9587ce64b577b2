#include "storage/redis/redis_socket.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "base/duration.h"
#include "base/errors.h"
#include "common/redis_tls.h"

namespace warden {

namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// An fd owned until released into a RedisSocket.
class FdGuard {
 public:
  explicit FdGuard(int fd) : fd_(fd) {}
  ~FdGuard() {
    if (fd_ >= 0) ::close(fd_);
  }
  FdGuard(const FdGuard&) = delete;
  FdGuard& operator=(const FdGuard&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

using AddrInfoPtr = CPtr<addrinfo, freeaddrinfo>;

bool PollFd(int fd, short events, int64_t deadline_ms) {
  while (true) {
    int64_t left = deadline_ms - NowMs();
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, static_cast<int>(left));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return true;  // let the next call report the error
  }
}

// Connects a non-blocking socket within the deadline; returns 0 or an errno (ETIMEDOUT).
int ConnectFd(int fd, const sockaddr* addr, socklen_t len, int64_t deadline_ms) {
  if (::connect(fd, addr, len) == 0) return 0;
  if (errno != EINPROGRESS) return errno;
  if (!PollFd(fd, POLLOUT, deadline_ms)) return ETIMEDOUT;
  int err = 0;
  socklen_t err_len = sizeof err;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &err_len) != 0) return errno;
  return err;
}

int NewSocket(int family) {
  return ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
}

std::string ErrnoText(int err) {
  if (err == ETIMEDOUT) return "timed out";
  return std::strerror(err);
}

}  // namespace

RedisSocket RedisSocket::ConnectTcp(const RedisNodeAddress& address,
                                    const RedisDeployment::Tls& tls, int64_t timeout_ms) {
  const int64_t deadline = NowMs() + timeout_ms;
  const std::string endpoint = address.ToString();
  const std::string where = "cannot connect to Redis at " + endpoint;

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG;
  addrinfo* raw = nullptr;
  const std::string port = std::to_string(address.port);
  int rc = ::getaddrinfo(address.host.c_str(), port.c_str(), &hints, &raw);
  AddrInfoPtr list(raw);
  if (rc != 0) throw RedisConnectError(where + ": cannot resolve the host: " + gai_strerror(rc));

  std::string last = "no address";
  for (const addrinfo* ai = list.get(); ai != nullptr; ai = ai->ai_next) {
    FdGuard fd(NewSocket(ai->ai_family));
    if (fd.get() < 0) {
      last = ErrnoText(errno);
      continue;
    }
    int err = ConnectFd(fd.get(), ai->ai_addr, ai->ai_addrlen, deadline);
    if (err == ETIMEDOUT) {
      throw RedisUnreachableError(where + ": no answer within " + FormatDuration(timeout_ms));
    }
    if (err != 0) {
      last = ErrnoText(err);
      continue;
    }
    int one = 1;
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ::setsockopt(fd.get(), SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    RedisSocket socket(fd.release(), endpoint);
    if (tls.enabled) socket.StartTls(address, tls, deadline);
    return socket;
  }
  throw RedisUnreachableError(where + ": " + last);
}

RedisSocket RedisSocket::ConnectUnix(const std::string& path, int64_t timeout_ms) {
  const std::string where = "cannot connect to Redis at " + path;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) throw RedisConnectError(where + ": path too long");
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  FdGuard fd(NewSocket(AF_UNIX));
  if (fd.get() < 0) throw RedisConnectError(where + ": " + ErrnoText(errno));
  int err = ConnectFd(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr,
                      NowMs() + timeout_ms);
  if (err == ETIMEDOUT) {
    throw RedisConnectError(where + ": no answer within " + FormatDuration(timeout_ms));
  }
  if (err != 0) throw RedisConnectError(where + ": " + ErrnoText(err));
  return RedisSocket(fd.release(), path);
}

void RedisSocket::StartTls(const RedisNodeAddress& address, const RedisDeployment::Tls& tls,
                           int64_t deadline_ms) {
  const std::string where = "TLS with Redis at " + endpoint_ + " failed: ";
  std::string why;
  ctx_ = RedisTls::NewContext(tls, &why);
  if (!ctx_) throw RedisConnectError(where + why);
  ssl_ = RedisTls::NewSession(ctx_.get(), fd_, RedisTls::NameToCheck(tls, address.host), &why);
  if (!ssl_) throw RedisConnectError(where + why);
  while (true) {
    ERR_clear_error();
    int rc = SSL_connect(ssl_.get());
    if (rc == 1) return;
    int err = SSL_get_error(ssl_.get(), rc);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      if (!Wait(err == SSL_ERROR_WANT_WRITE, deadline_ms)) {
        throw RedisConnectError(where + "no TLS handshake within the timeout");
      }
      continue;
    }
    throw RedisConnectError(where + RedisTls::HandshakeFailure(ssl_.get(), err));
  }
}

RedisSocket::RedisSocket(RedisSocket&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      endpoint_(std::move(other.endpoint_)),
      ctx_(std::move(other.ctx_)),
      ssl_(std::move(other.ssl_)) {}

RedisSocket& RedisSocket::operator=(RedisSocket&& other) noexcept {
  if (this != &other) {
    ssl_.reset();
    ctx_.reset();
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    endpoint_ = std::move(other.endpoint_);
    ctx_ = std::move(other.ctx_);
    ssl_ = std::move(other.ssl_);
  }
  return *this;
}

RedisSocket::~RedisSocket() {
  ssl_.reset();  // before the fd it uses
  if (fd_ >= 0) ::close(fd_);
}

bool RedisSocket::WaitReadable(int64_t wait_ms) const {
  if (ssl_ && SSL_pending(ssl_.get()) > 0) return true;
  return Wait(false, NowMs() + wait_ms);
}

bool RedisSocket::Wait(bool for_write, int64_t deadline_ms) const {
  return PollFd(fd_, for_write ? POLLOUT : POLLIN, deadline_ms);
}

void RedisSocket::ThrowIo(const std::string& what) const {
  throw RedisIoError("lost the connection to Redis at " + endpoint_ + ": " + what);
}

void RedisSocket::WriteAll(std::string_view data, int64_t timeout_ms, const std::string& command) {
  const int64_t deadline = NowMs() + timeout_ms;
  while (!data.empty()) {
    bool want_write = true;
    if (ssl_) {
      ERR_clear_error();
      int n = SSL_write(ssl_.get(), data.data(), static_cast<int>(data.size()));
      if (n > 0) {
        data.remove_prefix(static_cast<size_t>(n));
        continue;
      }
      int err = SSL_get_error(ssl_.get(), n);
      if (err == SSL_ERROR_WANT_READ) {
        want_write = false;
      } else if (err != SSL_ERROR_WANT_WRITE) {
        std::string text = RedisTls::ErrorText();
        ThrowIo(text.empty() ? ErrnoText(errno) : text);
      }
    } else {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n >= 0) {
        data.remove_prefix(static_cast<size_t>(n));
        continue;
      }
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) ThrowIo(ErrnoText(errno));
    }
    if (!Wait(want_write, deadline)) {
      throw RedisIoError("Redis at " + endpoint_ + " did not take " + command + " within " +
                         FormatDuration(timeout_ms));
    }
  }
}

size_t RedisSocket::ReadSome(char* buffer, size_t size, int64_t timeout_ms,
                             const std::string& command) {
  const int64_t deadline = NowMs() + timeout_ms;
  while (true) {
    bool want_write = false;
    if (ssl_) {
      ERR_clear_error();
      errno = 0;
      int n = SSL_read(ssl_.get(), buffer, static_cast<int>(size));
      if (n > 0) return static_cast<size_t>(n);
      int err = SSL_get_error(ssl_.get(), n);
      if (err == SSL_ERROR_ZERO_RETURN) ThrowIo("the server closed the connection");
      if (err == SSL_ERROR_WANT_WRITE) {
        want_write = true;
      } else if (err != SSL_ERROR_WANT_READ) {
        std::string text = RedisTls::ErrorText();
        ThrowIo(text.empty() ? (errno != 0 ? ErrnoText(errno) : "the server closed the connection")
                             : text);
      }
    } else {
      ssize_t n = ::recv(fd_, buffer, size, 0);
      if (n > 0) return static_cast<size_t>(n);
      if (n == 0) ThrowIo("the server closed the connection");
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) ThrowIo(ErrnoText(errno));
    }
    if (!Wait(want_write, deadline)) {
      throw RedisIoError("Redis at " + endpoint_ + " did not answer " + command + " within " +
                         FormatDuration(timeout_ms));
    }
  }
}

}  // namespace warden
