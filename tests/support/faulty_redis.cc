#include "support/faulty_redis.h"

#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

#include "common/c_ptr.h"

namespace warden::test {

namespace {

using ReaderPtr = CPtr<redisReader, redisReaderFree>;
using ReplyPtr = CPtr<redisReply, freeReplyObject>;

bool WriteAll(int fd, const char* data, size_t len) {
  while (len > 0) {
    ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
    if (n <= 0) return false;
    data += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

// Waits up to 100 ms for `fd` to be readable; reads what is there. -1: closed or failed,
// 0: nothing yet.
ssize_t ReadSome(int fd, char* buffer, size_t size) {
  pollfd pfd{fd, POLLIN, 0};
  int rc = poll(&pfd, 1, 100);
  if (rc == 0) return 0;
  if (rc < 0) return -1;
  ssize_t n = read(fd, buffer, size);
  return n > 0 ? n : -1;
}

int ConnectLoopback(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (fd >= 0) close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

FaultyRedis::FaultyRedis(int upstream_port, Fault fault, bool close_after_fault)
    : upstream_port_(upstream_port),
      close_after_fault_(close_after_fault),
      fault_(std::move(fault)) {
  listener_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (listener_ < 0 || bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(listener_, 64) != 0 ||
      getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (listener_ >= 0) close(listener_);
    throw std::runtime_error("FaultyRedis: cannot listen on a loopback port");
  }
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { Accept(); });
}

FaultyRedis::~FaultyRedis() {
  stopping_ = true;
  acceptor_.join();
  close(listener_);
  std::vector<std::thread> servers;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    servers.swap(servers_);
  }
  for (std::thread& t : servers) t.join();
}

void FaultyRedis::SetFault(Fault fault) {
  std::lock_guard<std::mutex> lock(mutex_);
  fault_ = std::move(fault);
}

std::string FaultyRedis::FaultFor(const std::vector<std::string>& command) {
  std::lock_guard<std::mutex> lock(mutex_);
  return fault_ ? fault_(command) : std::string();
}

void FaultyRedis::Accept() {
  while (!stopping_) {
    pollfd pfd{listener_, POLLIN, 0};
    if (poll(&pfd, 1, 100) <= 0) continue;
    int client = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    std::lock_guard<std::mutex> lock(mutex_);
    servers_.emplace_back([this, client] { Serve(client); });
  }
}

void FaultyRedis::Serve(int client) {
  const int upstream = ConnectLoopback(upstream_port_);
  ReaderPtr commands(redisReaderCreate());
  char buffer[16384];
  bool open = upstream >= 0;
  while (open && !stopping_) {
    ssize_t n = ReadSome(client, buffer, sizeof buffer);
    if (n < 0) break;
    if (n == 0) continue;
    redisReaderFeed(commands.get(), buffer, static_cast<size_t>(n));
    while (open) {
      void* parsed = nullptr;
      if (redisReaderGetReply(commands.get(), &parsed) != REDIS_OK) {
        open = false;
        break;
      }
      if (parsed == nullptr) break;  // a command is not complete yet
      ReplyPtr command(static_cast<redisReply*>(parsed));
      std::vector<std::string> args;
      std::vector<const char*> argv;
      std::vector<size_t> lens;
      for (size_t i = 0; command->type == REDIS_REPLY_ARRAY && i < command->elements; ++i) {
        args.emplace_back(command->element[i]->str, command->element[i]->len);
      }
      for (const std::string& a : args) {
        argv.push_back(a.data());
        lens.push_back(a.size());
      }
      std::string fault = FaultFor(args);
      if (!fault.empty()) {
        ++faults_;
        open = WriteAll(client, fault.data(), fault.size()) && !close_after_fault_;
        continue;
      }
      // Forward the command (formatted anew by hiredis) and pass the one reply back as it comes.
      char* formatted = nullptr;
      long long flen = redisFormatCommandArgv(&formatted, static_cast<int>(argv.size()),
                                              argv.data(), lens.data());
      bool sent = flen > 0 && WriteAll(upstream, formatted, static_cast<size_t>(flen));
      redisFreeCommand(formatted);
      if (!sent) {
        open = false;
        break;
      }
      ReaderPtr reply(redisReaderCreate());
      void* answer = nullptr;
      while (answer == nullptr && !stopping_) {
        ssize_t got = ReadSome(upstream, buffer, sizeof buffer);
        if (got < 0 || !WriteAll(client, buffer, static_cast<size_t>(std::max<ssize_t>(got, 0)))) {
          open = false;
          break;
        }
        if (got == 0) continue;
        redisReaderFeed(reply.get(), buffer, static_cast<size_t>(got));
        if (redisReaderGetReply(reply.get(), &answer) != REDIS_OK) {
          open = false;
          break;
        }
      }
      if (answer != nullptr) freeReplyObject(answer);
    }
  }
  if (upstream >= 0) close(upstream);
  close(client);
}

}  // namespace warden::test
