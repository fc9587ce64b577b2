// AsyncRedis over TLS (core/async_tls.h) against a real TLS-only redis-server with a CA made
// here, the event loop pumped by hand as nginx's would run it (the module attaches the socket to
// nginx's events instead): commands and large values through TLS, a wrong CA, a wrong name and a
// plain port fail with one line that names the option to check and never the password, a
// connection the server closes is lost and made again.
#include <gtest/gtest.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <poll.h>
#include <signal.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/redis_tls.h"
#include "core/async_redis.h"
#include "core/async_tls.h"
#include "support/redis_server.h"
#include "support/test_certs.h"

namespace warden {
namespace {

using test::RedisServer;
using test::TestCerts;

constexpr const char* kSecret = "s3cret-Tls-Pa55";

// The socket of the one context the connection holds, and what it waits for, as the glue
// keeps it for nginx: the test's own event hooks, which AsyncTls interposes on.
struct Loop {
  redisAsyncContext* ac = nullptr;
  bool want_read = false;
  bool want_write = false;

  static void AddRead(void* p) { static_cast<Loop*>(p)->want_read = true; }
  static void DelRead(void* p) { static_cast<Loop*>(p)->want_read = false; }
  static void AddWrite(void* p) { static_cast<Loop*>(p)->want_write = true; }
  static void DelWrite(void* p) { static_cast<Loop*>(p)->want_write = false; }
  static void Cleanup(void* p) {
    auto* loop = static_cast<Loop*>(p);
    loop->ac = nullptr;
    loop->want_read = loop->want_write = false;
  }

  bool Attach(redisAsyncContext* c) {
    ac = c;
    want_read = want_write = false;
    c->ev.data = this;
    c->ev.addRead = AddRead;
    c->ev.delRead = DelRead;
    c->ev.addWrite = AddWrite;
    c->ev.delWrite = DelWrite;
    c->ev.cleanup = Cleanup;
    return true;
  }

  // One turn: level-triggered, only for what the connection asked for.
  void Turn(int timeout_ms = 20) {
    if (ac == nullptr || (!want_read && !want_write)) return;
    short events = static_cast<short>((want_read ? POLLIN : 0) | (want_write ? POLLOUT : 0));
    pollfd pfd{ac->c.fd, events, 0};
    if (poll(&pfd, 1, timeout_ms) <= 0) return;
    if (pfd.revents & (POLLOUT | POLLERR | POLLHUP)) AsyncTls::HandleWrite(ac);
    if (ac != nullptr && (pfd.revents & (POLLIN | POLLERR | POLLHUP))) AsyncTls::HandleRead(ac);
  }
};

class AsyncTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    signal(SIGPIPE, SIG_IGN);  // as nginx: a write to a closed socket is an error, not a signal
    certs_ = new TestCerts();
    redis_ = new RedisServer(RedisServer::Options{
        .password = kSecret,
        .tls = RedisServer::Tls{certs_->ca(), certs_->server_cert(), certs_->server_key()}});
  }
  static void TearDownTestSuite() {
    delete redis_;
    delete certs_;
  }

  // A connection to `port` with TLS from `tls` (tls_ca etc.), checked as `host_name`.
  void Open(const RedisDeployment::Tls& tls, int port, const std::string& host_name = "127.0.0.1",
            const std::string& password = kSecret, int timeout_ms = 2000) {
    RedisEndpoint endpoint;
    endpoint.host = "127.0.0.1";
    endpoint.host_name = host_name;
    endpoint.port = port;
    endpoint.password = password;
    endpoint.timeout_ms = timeout_ms;
    std::string why;
    SslCtxPtr context = RedisTls::NewContext(tls, &why);
    ASSERT_TRUE(context) << why;
    endpoint.tls.context = std::shared_ptr<SSL_CTX>(context.release(), SSL_CTX_free);
    endpoint.tls.server_name = tls.server_name;
    redis_conn_ = std::make_unique<AsyncRedis>(
        endpoint, "test", SystemNowMs, [this](redisAsyncContext* ac) { return loop_.Attach(ac); },
        [this](LogLevel, const std::string& line) { log_.push_back(line); });
  }

  static RedisDeployment::Tls Tls(const std::string& ca, const std::string& server_name = "") {
    RedisDeployment::Tls tls;
    tls.enabled = true;
    tls.ca_file = ca;
    tls.server_name = server_name;
    return tls;
  }

  template <class Done>
  bool PumpUntil(Done done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      redis_conn_->Tick();
      loop_.Turn();
    }
    return done();
  }

  // The reply to `args` as text ("" for none), pumping until it comes.
  std::string Call(const std::vector<std::string>& args) {
    std::string answer;
    bool done = false;
    if (!redis_conn_->Send(args, 2000, [&](redisReply* r) {
          done = true;
          if (r != nullptr && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS ||
                               r->type == REDIS_REPLY_ERROR)) {
            answer.assign(r->str, r->len);
          }
        })) {
      return "(not sent)";
    }
    PumpUntil([&] { return done; });
    return answer;
  }

  std::string Log() const {
    std::string all;
    for (const auto& l : log_) all += l + "\n";
    return all;
  }

  bool Logged(const std::string& text) const { return Log().find(text) != std::string::npos; }

  static TestCerts* certs_;
  static RedisServer* redis_;
  Loop loop_;
  std::vector<std::string> log_;
  std::unique_ptr<AsyncRedis> redis_conn_;
};

TestCerts* AsyncTlsTest::certs_ = nullptr;
RedisServer* AsyncTlsTest::redis_ = nullptr;

TEST_F(AsyncTlsTest, CommandsAndLargeValuesGoThroughTls) {
  Open(Tls(certs_->ca()), redis_->port());
  redis_conn_->Tick();  // connects; AUTH waits in hiredis's buffer until the handshake ends
  ASSERT_TRUE(redis_conn_->connected());
  EXPECT_EQ(Call({"PING"}), "PONG") << Log();
  // Larger than one TLS record, one write and one read: partial writes and many records.
  std::string big(3 * 1024 * 1024, 'x');
  for (size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>('a' + i % 26);
  EXPECT_EQ(Call({"SET", "tls:big", big}), "OK");
  EXPECT_EQ(Call({"GET", "tls:big"}), big);
  // Pipelined: many commands in one buffer, their replies in order.
  int answered = 0;
  for (int i = 0; i < 500; ++i) {
    ASSERT_TRUE(redis_conn_->Send({"INCR", "tls:n"}, 2000, [&](redisReply* r) {
      if (r != nullptr && r->type == REDIS_REPLY_INTEGER && r->integer == answered + 1) ++answered;
    }));
  }
  EXPECT_TRUE(PumpUntil([&] { return answered == 500; })) << answered;
  EXPECT_EQ(redis_->Command({"GET", "tls:n"}).str, "500");
  EXPECT_EQ(Log().find(kSecret), std::string::npos);
}

TEST_F(AsyncTlsTest, AnUnknownCaFailsWithOneLineThatNamesTlsCa) {
  Open(Tls(certs_->other_ca()), redis_->port());
  redis_conn_->Tick();
  EXPECT_TRUE(PumpUntil([&] { return Logged("certificate was not accepted"); })) << Log();
  ASSERT_EQ(log_.size(), 1u) << Log();
  EXPECT_NE(log_[0].find("cannot connect to redis 127.0.0.1:" + std::to_string(redis_->port()) +
                         ": TLS: the server's certificate was not accepted"),
            std::string::npos)
      << log_[0];
  EXPECT_NE(log_[0].find("(check tls_ca)"), std::string::npos) << log_[0];
  EXPECT_EQ(log_[0].find(kSecret), std::string::npos) << log_[0];
  EXPECT_FALSE(redis_conn_->connected());
  EXPECT_EQ(loop_.ac, nullptr) << "the context is freed";
}

TEST_F(AsyncTlsTest, AnotherNameFailsWithOneLineThatNamesTlsServerName) {
  Open(Tls(certs_->ca(), "redis.example.org"), redis_->port());
  redis_conn_->Tick();
  EXPECT_TRUE(PumpUntil([&] { return Logged("certificate was not accepted"); })) << Log();
  EXPECT_NE(Log().find("(check tls_server_name)"), std::string::npos) << Log();

  // The name the certificate does carry (the host as configured) is accepted.
  log_.clear();
  Open(Tls(certs_->ca()), redis_->port(), "localhost");
  redis_conn_->Tick();
  EXPECT_EQ(Call({"PING"}), "PONG") << Log();
}

// A plain Redis reads the TLS hello as the start of a command line and waits for its end: with
// no command waiting either, only the handshake's own deadline ends the attempt.
TEST_F(AsyncTlsTest, APlainPortThatNeverAnswersTheHandshakeIsLeftAtTheTimeout) {
  RedisServer plain;
  Open(Tls(certs_->ca()), plain.port(), "127.0.0.1", "", 200);
  redis_conn_->Tick();
  EXPECT_TRUE(PumpUntil([&] { return Logged("did not complete the TLS handshake"); })) << Log();
  EXPECT_NE(Log().find("within 200 ms (is it a TLS port?)"), std::string::npos) << Log();
  EXPECT_EQ(Log().find('\n'), Log().size() - 1) << "one line: " << Log();
  EXPECT_EQ(loop_.ac, nullptr) << "the context is freed";
}

TEST_F(AsyncTlsTest, AWrongPasswordIsRefusedWithoutShowingIt) {
  Open(Tls(certs_->ca()), redis_->port(), "127.0.0.1", "not-the-" + std::string(kSecret));
  redis_conn_->Tick();
  EXPECT_TRUE(PumpUntil([&] { return Logged("AUTH failed"); })) << Log();
  EXPECT_NE(Log().find("WRONGPASS"), std::string::npos) << Log();
  EXPECT_EQ(Log().find(kSecret), std::string::npos) << Log();
}

TEST_F(AsyncTlsTest, AConnectionTheServerClosesIsLostAndMadeAgain) {
  Open(Tls(certs_->ca()), redis_->port());
  redis_conn_->Tick();
  ASSERT_EQ(Call({"CLIENT", "SETNAME", "tls-test"}), "OK") << Log();
  // Killed from the server's side: an end of the TLS stream, as a crash or a failover.
  ASSERT_EQ(redis_->Command({"CLIENT", "KILL", "SKIPME", "yes", "TYPE", "normal"}).integer, 1)
      << "the test's own connection, and only it";
  EXPECT_TRUE(PumpUntil([&] { return Logged("lost the redis connection"); })) << Log();
  EXPECT_NE(Log().find("Server closed the connection"), std::string::npos) << Log();
  // The next tick after the backoff connects again, over TLS.
  EXPECT_TRUE(PumpUntil([&] { return redis_conn_->connected() && loop_.ac != nullptr; }));
  EXPECT_EQ(Call({"PING"}), "PONG") << Log();
}

}  // namespace
}  // namespace warden
