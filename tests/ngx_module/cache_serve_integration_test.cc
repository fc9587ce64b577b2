// warden_cache_serve end to end: Debian's nginx with the module, a real redis-server, values
// warmed by the real sidecar (`warden cache warm` against a real MariaDB) or written in the
// warmer's format, and a second server block acting as the backend behind proxy_pass.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/mariadb_server.h"
#include "support/nginx_server.h"
#include "support/poll_until.h"
#include "support/process.h"
#include "support/redis_server.h"
#include "support/temp_dir.h"
#include "support/warden_cli.h"

namespace warden::test {
namespace {

using namespace std::chrono_literals;

constexpr const char* kKey = "warden:cache:top-books";
constexpr const char* kBackendBody = "{\"from\":\"backend\"}";

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int Count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t pos = 0; (pos = text.find(what, pos)) != std::string::npos; pos += what.size()) ++n;
  return n;
}

class CacheServeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    RedisServer::Options options;
    options.extra_args = {"--enable-debug-command", "yes"};  // DEBUG SLEEP: a slow Redis
    redis_ = std::make_unique<RedisServer>(options);
  }
  static void TearDownTestSuite() { redis_.reset(); }
  void SetUp() override {
    if (!redis_->running()) redis_->Restart();
    redis_->Command({"FLUSHALL"});
  }

  // A front server whose locations serve cached values, falling through to a backend server
  // on a unix socket that answers kBackendBody with "X-Backend: yes".
  static NginxServer::Options Config(const std::string& locations, int workers = 1,
                                     const std::string& http = "",
                                     const std::string& timeout = "300ms") {
    NginxServer::Options o;
    o.workers = workers;
    o.http = "warden_redis 127.0.0.1:" + std::to_string(redis_->port()) + " timeout=" + timeout +
             ";\n" + http +
             "log_format cache '$request_method $uri $status $warden_cache';\n"
             "access_log @DIR@/access.log cache;\n"
             "server {\n  listen 127.0.0.1:@PORT@;\n" +
             locations +
             "  location = /warden/metrics { warden_status; }\n"
             "}\n"
             "server {\n  listen unix:@DIR@/backend.sock;\n  access_log off;\n"
             "  location / { default_type application/json; add_header X-Backend yes;\n"
             "    return 200 '" +
             kBackendBody +
             "'; }\n"
             "}\n";
    return o;
  }
  static std::string Served(const std::string& key = kKey) {
    return "warden_cache_serve " + key +
           ";\n    proxy_pass http://unix:@DIR@/backend.sock:/backend; ";
  }
  // One worker unless a test says otherwise: each worker has its own Redis connection, and
  // a sequence of requests is only deterministic when they all meet the same one.
  static NginxServer::Options Default(int workers = 1) {
    return Config("  location = /top-books { " + Served() + "}\n", workers);
  }

  // A value exactly as sidecar/cache_warmer.cc stores it.
  static void Store(const std::string& key, const std::string& body, const std::string& etag,
                    int64_t computed_at) {
    redis_->Command({"DEL", key});
    redis_->Command({"HSET", key, "body", body, "etag", etag, "computed_at",
                     std::to_string(computed_at), "content_type", "application/json", "delta", "3",
                     "rows", "2", "ttl", "300000"});
    redis_->Command({"PEXPIRE", key, "300000"});
  }
  static void StoreDefault() { Store(kKey, kBody, kEtag, NowMs()); }

  // A Redis that does not answer: SIGSTOP, confirmed in /proc. Connections are still
  // accepted (by the kernel), commands are not answered.
  static pid_t RedisPid() {
    std::smatch m;
    std::string info = redis_->Command({"INFO", "server"}).str;
    std::regex re(R"(process_id:(\d+))");
    return std::regex_search(info, m, re) ? static_cast<pid_t>(std::stol(m[1])) : -1;
  }
  static bool Stopped(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat;
    std::getline(in, stat);
    size_t close = stat.rfind(')');
    return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'T';
  }
  static void PauseRedis(pid_t pid) {
    ASSERT_GT(pid, 0);
    ASSERT_EQ(kill(pid, SIGSTOP), 0);
    ASSERT_TRUE(PollUntil([&] { return Stopped(pid); }, 5s, 1ms));
  }

  // Continues a paused Redis when the test ends, whatever happened.
  struct Resume {
    pid_t pid;
    ~Resume() { kill(pid, SIGCONT); }
  };
  static std::string RespCommand(const std::vector<std::string>& args) {
    std::string out = "*" + std::to_string(args.size()) + "\r\n";
    for (const auto& a : args) out += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
    return out;
  }
  // Bytes received but not yet read by Redis, over its established connections on 127.0.0.1.
  static size_t RedisUnreadBytes() {
    std::ifstream in("/proc/net/tcp");
    std::string line;
    std::getline(in, line);  // header
    size_t total = 0;
    char port[8];
    std::snprintf(port, sizeof port, ":%04X", static_cast<unsigned>(redis_->port()));
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string sl, local, remote, state, queues;
      fields >> sl >> local >> remote >> state >> queues;
      if (local.size() < 5 || local.substr(local.size() - 5) != port || state != "01") continue;
      total += std::stoul(queues.substr(queues.find(':') + 1), nullptr, 16);
    }
    return total;
  }

  // A GET on a connection of its own, sent and left open; returns the socket.
  static int SendRequest(const NginxServer& nginx, const std::string& uri) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    EXPECT_GE(fd, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(nginx.port()));
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    std::string req = "GET " + uri + " HTTP/1.0\r\nHost: x\r\n\r\n";
    EXPECT_EQ(send(fd, req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
    return fd;
  }
  static long long HmgetCalls() { return redis_->CommandCalls("hmget"); }

  static bool FromBackend(const HttpReply& r) {
    return r.status == 200 && r.headers.count("x-backend") && r.body == kBackendBody;
  }
  static bool Hit(const HttpReply& r) {
    return r.status == 200 && !r.headers.count("x-backend") && r.body == kBody;
  }
  // The access log's $warden_cache values, in order.
  static std::vector<std::string> CacheResults(const NginxServer& nginx) {
    std::vector<std::string> out;
    std::string log = nginx.AccessLog();
    std::regex line(R"(\S+ \S+ \d+ (\S+)\n)");
    for (auto it = std::sregex_iterator(log.begin(), log.end(), line); it != std::sregex_iterator();
         ++it) {
      out.push_back((*it)[1]);
    }
    return out;
  }
  static std::string Metric(const NginxServer& nginx, const std::string& result) {
    std::string body = nginx.Get("/warden/metrics").body;
    std::smatch m;
    std::regex re("warden_cache_requests_total\\{result=\"" + result + "\"\\} (\\d+)");
    return std::regex_search(body, m, re) ? std::string(m[1]) : "absent";
  }
  static void ExpectNoCrash(const NginxServer& nginx) {
    std::string log = nginx.ErrorLog();
    EXPECT_EQ(log.find("exited on signal"), std::string::npos) << log;
    EXPECT_EQ(log.find("[alert]"), std::string::npos) << log;
  }

  static constexpr const char* kBody =
      "[{\"id\":2,\"name\":\"Emma\"},{\"id\":1,\"name\":\"Dune\"}]";
  static constexpr const char* kEtag = "\"0123456789abcdef0123456789abcdef\"";
  static inline std::unique_ptr<RedisServer> redis_;
};

// The real pipeline: rows in MariaDB, `warden cache warm`, nginx answering from Redis.
TEST_F(CacheServeTest, ServesWhatTheSidecarWarmed) {
  MariaDbServer db;
  db.Query(
      "CREATE TABLE product (id INT PRIMARY KEY, name VARCHAR(64), category VARCHAR(16), "
      "price DECIMAL(8,2), sales BIGINT)");
  db.Query(
      "INSERT INTO product VALUES (1, 'Dune', 'books', 9.99, 300), "
      "(2, 'Emma', 'books', 5.50, 500), (3, 'Lamp', 'home', 20.00, 900), "
      "(4, '한국어 책', 'books', 12.00, 100)");
  TempDir tmp("warden-cache-serve");
  std::string config = tmp.Write("warden.toml", std::string(R"(
[[cache]]
name = "top-books"
sql = "SELECT id, name, price FROM product WHERE category = ? ORDER BY sales DESC LIMIT ?"
params = ["books", 10]
key = ")") + kKey + R"("
ttl = "5m"
)");
  WardenCommand warm = {
      .args = {"cache", "warm"}, .mysql = db.url(), .redis = redis_->url(), .config = config};
  RunResult r = RunWarden(warm);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const std::string body = redis_->Command({"HGET", kKey, "body"}).str;
  const std::string etag = redis_->Command({"HGET", kKey, "etag"}).str;
  const int64_t computed_at = std::stoll(redis_->Command({"HGET", kKey, "computed_at"}).str);
  ASSERT_NE(body.find("한국어 책"), std::string::npos) << body;

  NginxServer nginx(Default(2));
  HttpReply res;
  // The workers connect to Redis in the background, right after they start.
  ASSERT_TRUE(PollUntil([&] { return (res = nginx.Get("/top-books")).body == body; }, 10s))
      << res.status << " " << res.body;
  const int64_t after = NowMs();
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.headers["content-type"], "application/json");
  EXPECT_EQ(res.headers["etag"], etag);
  EXPECT_EQ(res.headers["content-length"], std::to_string(body.size()));
  EXPECT_EQ(res.headers.count("x-backend"), 0u);
  ASSERT_TRUE(res.headers.count("age"));
  const int64_t age = std::stoll(res.headers["age"]);
  EXPECT_GE(age, 0);
  EXPECT_LE(age, (after - computed_at) / 1000);

  // The client's copy is current: 304, with the ETag and no body.
  HttpReply same = nginx.Get("/top-books", {{"If-None-Match", etag}});
  EXPECT_EQ(same.status, 304);
  EXPECT_EQ(same.headers["etag"], etag);
  EXPECT_EQ(same.body, "");

  // New rows, warmed again: a new ETag, and the old one no longer matches.
  db.Query("UPDATE product SET price = 6.00 WHERE id = 2");
  warm.args.push_back("--force");
  ASSERT_EQ(RunWarden(warm).exit_code, 0);
  const std::string new_etag = redis_->Command({"HGET", kKey, "etag"}).str;
  ASSERT_NE(new_etag, etag);
  HttpReply changed = nginx.Get("/top-books", {{"If-None-Match", etag}});
  EXPECT_EQ(changed.status, 200);
  EXPECT_EQ(changed.headers["etag"], new_etag);
  EXPECT_NE(changed.body.find("\"6.00\""), std::string::npos) << changed.body;
  EXPECT_EQ(Metric(nginx, "revalidated"), "1");
  ExpectNoCrash(nginx);
}

TEST_F(CacheServeTest, IfNoneMatchFormsAndHead) {
  StoreDefault();
  NginxServer nginx(Default());
  ASSERT_TRUE(PollUntil([&] { return Hit(nginx.Get("/top-books")); }, 10s));

  struct Case {
    std::string if_none_match;
    int status;
  };
  const std::string etag = kEtag;
  std::vector<Case> cases = {
      {etag, 304},
      {"*", 304},
      {"W/" + etag, 304},  // weak comparison (RFC 9110, 13.1.2)
      {"\"other\", " + etag, 304},
      {"\"other\",W/" + etag + " , \"more\"", 304},
      {"\"other\"", 200},
      {"\"0123456789abcdef\"", 200},
      {etag.substr(0, etag.size() - 1), 200},
  };
  for (const Case& c : cases) {
    HttpReply r = nginx.Get("/top-books", {{"If-None-Match", c.if_none_match}});
    EXPECT_EQ(r.status, c.status) << c.if_none_match;
    EXPECT_EQ(r.headers["etag"], kEtag) << c.if_none_match;
    EXPECT_EQ(r.body, c.status == 304 ? "" : kBody) << c.if_none_match;
    EXPECT_EQ(r.headers.count("x-backend"), 0u);
  }

  HttpReply head = HttpRequest("HEAD", "127.0.0.1", nginx.port(), "/top-books");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, "");
  EXPECT_EQ(head.headers["content-length"], std::to_string(std::string(kBody).size()));
  EXPECT_EQ(head.headers["etag"], kEtag);
  EXPECT_EQ(head.headers["content-type"], "application/json");
  EXPECT_EQ(head.headers.count("x-backend"), 0u);
  HttpReply head304 =
      HttpRequest("HEAD", "127.0.0.1", nginx.port(), "/top-books", {{"If-None-Match", kEtag}});
  EXPECT_EQ(head304.status, 304);

  // Other methods are the backend's.
  HttpReply post = HttpRequest("POST", "127.0.0.1", nginx.port(), "/top-books", {}, "{}");
  EXPECT_TRUE(FromBackend(post)) << post.status << " " << post.body;

  std::vector<std::string> results;
  ASSERT_TRUE(PollUntil(
      [&] {
        results = CacheResults(nginx);
        return !results.empty() && results.back() == "BYPASS";
      },
      5s));
  EXPECT_EQ(results.back(), "BYPASS");
  EXPECT_EQ(results[results.size() - 2], "REVALIDATED");
  EXPECT_EQ(results[results.size() - 3], "HIT");
  EXPECT_EQ(Metric(nginx, "revalidated"), "6");
  EXPECT_EQ(Metric(nginx, "bypass"), "1");
}

TEST_F(CacheServeTest, AgeCountsFromComputedAt) {
  NginxServer nginx(Default());
  Store(kKey, kBody, kEtag, NowMs());
  ASSERT_TRUE(PollUntil([&] { return Hit(nginx.Get("/top-books")); }, 10s));

  const int64_t computed_at = NowMs() - 42500;
  Store(kKey, kBody, kEtag, computed_at);
  const int64_t before = NowMs();
  HttpReply r = nginx.Get("/top-books");
  const int64_t after = NowMs();
  ASSERT_TRUE(Hit(r));
  const int64_t age = std::stoll(r.headers["age"]);
  // Whole seconds since computed_at, as nginx's clock (updated once per event loop turn) saw it.
  EXPECT_GE(age, (before - computed_at) / 1000 - 1);
  EXPECT_LE(age, (after - computed_at) / 1000);
  EXPECT_GE(age, 41);

  // A clock ahead of ours (another host's): never a negative Age.
  Store(kKey, kBody, kEtag, NowMs() + 60000);
  r = nginx.Get("/top-books");
  ASSERT_TRUE(Hit(r));
  EXPECT_EQ(r.headers["age"], "0");
}

TEST_F(CacheServeTest, MissGoesToTheBackendAndHitFollowsTheWarm) {
  NginxServer nginx(Default());
  // Before the value exists (and while the workers connect): the backend answers, every time.
  for (int i = 0; i < 5; ++i) {
    HttpReply r = nginx.Get("/top-books");
    EXPECT_TRUE(FromBackend(r)) << r.status << " " << r.body;
  }
  // Until the worker's connection is up these are ERROR, then MISS.
  ASSERT_TRUE(PollUntil(
      [&] {
        HttpReply r = nginx.Get("/top-books");
        EXPECT_TRUE(FromBackend(r)) << r.status << " " << r.body;
        return Metric(nginx, "miss") != "0";
      },
      10s, 50ms));
  StoreDefault();
  ASSERT_TRUE(PollUntil([&] { return Hit(nginx.Get("/top-books")); }, 10s));
  // Expired (or flushed): the backend again.
  redis_->Command({"DEL", kKey});
  HttpReply r = nginx.Get("/top-books");
  EXPECT_TRUE(FromBackend(r)) << r.status << " " << r.body;
  auto results = CacheResults(nginx);
  ASSERT_FALSE(results.empty());
  EXPECT_EQ(results.back(), "MISS");
  EXPECT_EQ(std::count(results.begin(), results.end(), "HIT"), 1);
}

TEST_F(CacheServeTest, MalformedValuesAreLoggedOnceAndSkipped) {
  NginxServer nginx(Default(1));  // one worker: "once" is per worker
  StoreDefault();
  ASSERT_TRUE(PollUntil([&] { return Hit(nginx.Get("/top-books")); }, 10s));

  struct Case {
    std::string what;
    std::vector<std::vector<std::string>> commands;
    std::string logged;
  };
  std::vector<Case> cases = {
      {"a string", {{"SET", kKey, "[1,2,3]"}}, "the key is not a hash"},
      {"no etag", {{"HSET", kKey, "body", "[]", "computed_at", "1"}}, "a field is missing"},
      {"header injection in etag",
       {{"HSET", kKey, "body", "[]", "etag", "\"a\"\r\nSet-Cookie: x=y", "computed_at", "1"}},
       "etag is not an entity-tag"},
      {"header injection in content_type",
       {{"HSET", kKey, "body", "[]", "etag", "\"a\"", "computed_at", "1", "content_type",
         "text/html\r\nX-Evil: 1"}},
       "content_type holds control characters"},
      {"computed_at not a number",
       {{"HSET", kKey, "body", "[]", "etag", "\"a\"", "computed_at", "yesterday"}},
       "computed_at is not Unix milliseconds"},
      {"empty body",
       {{"HSET", kKey, "body", "", "etag", "\"a\"", "computed_at", "1"}},
       "the body is empty"},
  };
  for (const Case& c : cases) {
    redis_->Command({"DEL", kKey});
    for (const auto& command : c.commands) redis_->Command(command);
    for (int i = 0; i < 3; ++i) {
      HttpReply r = nginx.Get("/top-books");
      EXPECT_TRUE(FromBackend(r)) << c.what << ": " << r.status << " " << r.body;
      EXPECT_EQ(r.headers.count("x-evil"), 0u);
      EXPECT_EQ(r.headers.count("set-cookie"), 0u);
    }
    std::string log = nginx.ErrorLog();
    EXPECT_EQ(Count(log, c.logged), 1) << c.what << "\n" << log;
    EXPECT_NE(log.find("cache value \"warden:cache:top-books\" cannot be served"),
              std::string::npos);
  }
  EXPECT_EQ(Metric(nginx, "malformed"), std::to_string(3 * cases.size()));
  // A good value again is served again.
  StoreDefault();
  EXPECT_TRUE(Hit(nginx.Get("/top-books")));
  ExpectNoCrash(nginx);
}

TEST_F(CacheServeTest, RedisDownFallsThroughAtOnceAndHitsResumeWhenItIsBack) {
  StoreDefault();
  NginxServer nginx(Default(2));
  ASSERT_TRUE(PollUntil([&] { return Hit(nginx.Get("/top-books")); }, 10s));

  redis_->Kill();
  // Each of these completes within the client's 3 s timeout, from the backend: no request
  // waits on a Redis that is not there.
  for (int i = 0; i < 20; ++i) {
    HttpReply r = nginx.Get("/top-books");
    ASSERT_TRUE(FromBackend(r)) << i << ": " << r.status << " " << r.error << " " << r.body;
  }
  EXPECT_NE(Metric(nginx, "error"), "0");

  redis_->Restart();  // empty, as after a failover to a fresh replica
  StoreDefault();
  // The workers reconnect (backoff up to 5 s) and the circuit closes (open for 5 s).
  ASSERT_TRUE(PollUntil([&] { return Hit(nginx.Get("/top-books")); }, 20s, 50ms));
  auto results = CacheResults(nginx);
  EXPECT_NE(std::find(results.begin(), results.end(), "ERROR"), results.end());
  EXPECT_EQ(results.back(), "HIT");
  ExpectNoCrash(nginx);
}

TEST_F(CacheServeTest, SlowRedisTimesOutToTheBackend) {
  StoreDefault();
  NginxServer nginx(Default());
  ASSERT_TRUE(PollUntil([&] { return Hit(nginx.Get("/top-books")); }, 10s));

  pid_t pid = RedisPid();
  PauseRedis(pid);
  Resume resume{pid};
  // Redis does not answer: warden_redis timeout=300ms sends these to the backend, each well
  // within the client's 3 s timeout, and once the circuit opens the rest do not wait at all.
  std::vector<HttpReply> responses;
  for (int i = 0; i < 8; ++i) responses.push_back(nginx.Get("/top-books"));
  kill(pid, SIGCONT);
  for (const HttpReply& r : responses) {
    EXPECT_TRUE(FromBackend(r)) << r.status << " " << r.error << " " << r.body;
  }
  // Whichever comes first says so: the request's own timer, or the connection's deadline
  // (both 300 ms; the second drops the connection and answers every waiting request).
  std::string log = nginx.ErrorLog();
  EXPECT_TRUE(log.find("redis did not answer the cache lookup in time") != std::string::npos ||
              log.find("did not answer within 300 ms (cache serving") != std::string::npos)
      << log;
  ASSERT_TRUE(PollUntil([&] { return Hit(nginx.Get("/top-books")); }, 20s, 50ms));
  auto results = CacheResults(nginx);
  // The eight, and those the open circuit sent on before Redis came back.
  EXPECT_GE(std::count(results.begin(), results.end(), "ERROR"), 8);
  ExpectNoCrash(nginx);
}

// Clients that give up while their request waits for Redis: the reply finds the request gone.
TEST_F(CacheServeTest, ClientsLeavingWhileWaitingAreForgotten) {
  // A key per request (requests for one key would share one read), so ten lookups wait.
  for (int i = 0; i < 10; ++i) Store(kKey + std::to_string(i), kBody, kEtag, NowMs());
  StoreDefault();
  NginxServer nginx(Config(
      "  location = /top-books { " + Served(std::string(kKey) + "$arg_n") + "}\n", 1, "", "2s"));
  ASSERT_TRUE(PollUntil([&] { return Hit(nginx.Get("/top-books")); }, 10s));
  auto workers = nginx.WorkerPids();

  pid_t pid = RedisPid();
  PauseRedis(pid);
  Resume resume{pid};
  std::vector<int> fds;
  for (int i = 0; i < 10; ++i)
    fds.push_back(SendRequest(nginx, "/top-books?n=" + std::to_string(i)));
  // The stopped Redis cannot read, so its socket buffers show what was sent: once all ten
  // lookups are there, all ten requests are waiting (for up to 2 s).
  const size_t lookup =
      RespCommand({"HMGET", std::string(kKey) + "0", "body", "etag", "computed_at", "content_type"})
          .size();
  ASSERT_TRUE(PollUntil([&] { return RedisUnreadBytes() >= 10 * lookup; }, 10s))
      << RedisUnreadBytes() << " bytes";
  for (int fd : fds) close(fd);
  // Each request was waiting for Redis when its client left: 499, and no cache result.
  ASSERT_TRUE(
      PollUntil([&] { return Count(nginx.AccessLog(), "GET /top-books 499 -\n") == 10; }, 10s))
      << nginx.AccessLog();
  // The connection's deadline then fails their lookups, with nobody left to answer.
  ASSERT_TRUE(
      PollUntil([&] { return Count(nginx.ErrorLog(), "did not answer within 2000 ms") > 0; }, 10s));
  kill(pid, SIGCONT);
  ASSERT_TRUE(PollUntil([&] { return Hit(nginx.Get("/top-books")); }, 20s, 50ms));
  EXPECT_EQ(nginx.WorkerPids(), workers) << "a worker died";
  ExpectNoCrash(nginx);
}

// Requests for one key while its read is on its way share that read: a hot key costs Redis
// one HMGET per round trip, and every request gets the whole answer.
TEST_F(CacheServeTest, RequestsForOneKeyShareTheReadOnItsWay) {
  StoreDefault();
  NginxServer nginx(
      Config("  location = /top-books { " + Served() + "}\n  location = /status { stub_status; }\n",
             1, "", "2s"));
  ASSERT_TRUE(PollUntil([&] { return Hit(nginx.Get("/top-books")); }, 10s));
  const long long reads_before = HmgetCalls();

  pid_t pid = RedisPid();
  PauseRedis(pid);
  Resume resume{pid};
  std::vector<HttpReply> responses(10);
  std::vector<std::thread> clients;
  for (HttpReply& r : responses) clients.emplace_back([&] { r = nginx.Get("/top-books"); });
  // All ten are in the worker, waiting (stub_status counts this request too).
  bool waiting = PollUntil(
      [&] { return nginx.Get("/status").body.find("Writing: 11 ") != std::string::npos; }, 10s);
  kill(pid, SIGCONT);
  for (std::thread& t : clients) t.join();
  ASSERT_TRUE(waiting) << nginx.Get("/status").body;
  for (const HttpReply& r : responses) {
    EXPECT_TRUE(Hit(r)) << r.status << " " << r.error << " " << r.body;
  }
  EXPECT_EQ(HmgetCalls() - reads_before, 1) << "ten requests, one read";
  auto results = CacheResults(nginx);
  EXPECT_EQ(std::count(results.begin(), results.end(), "HIT"), 11);  // the warm-up's too
  ExpectNoCrash(nginx);
}

// Warden's blacklist and limits (preaccess) and nginx's access checks run before the cache.
TEST_F(CacheServeTest, AccessChecksComeFirst) {
  StoreDefault();
  NginxServer nginx(
      Config("  warden on;\n"
             "  location = /warm { " +
                 Served() +
                 "}\n"
                 "  location = /top-books { warden_limit zone=one; " +
                 Served() +
                 "}\n"
                 "  location = /private { deny all; " +
                 Served() + "}\n",
             1,
             "warden_limit_zone $binary_remote_addr zone=one:1m rate=1r/m "
             "sync=off;\n"));
  ASSERT_TRUE(PollUntil([&] { return Hit(nginx.Get("/warm")); }, 10s));
  EXPECT_TRUE(Hit(nginx.Get("/top-books")));
  EXPECT_EQ(nginx.Get("/top-books").status, 429) << "the limit of one a minute";
  EXPECT_EQ(nginx.Get("/private").status, 403);

  RunResult ban = RunWarden({.args = {"ban", "127.0.0.1"}, .redis = redis_->url()});
  ASSERT_EQ(ban.exit_code, 0) << ban.out << ban.err;
  ASSERT_TRUE(PollUntil([&] { return nginx.Get("/warm").status == 403; }, 10s));
  auto results = CacheResults(nginx);
  ASSERT_FALSE(results.empty());
  EXPECT_EQ(results.back(), "-") << "refused before the cache was looked at";
}

TEST_F(CacheServeTest, KeyFromVariablesAndOff) {
  Store("warden:cache:a", "[\"a\"]", "\"a\"", NowMs());
  Store("warden:cache:b", "[\"b\"]", "\"b\"", NowMs());
  NginxServer nginx(Config("  location /cached/ { " + Served("warden:cache:$arg_name") +
                           "\n    location /cached/live/ { warden_cache_serve off; "
                           "proxy_pass http://unix:@DIR@/backend.sock:/backend; }\n  }\n"
                           "  location /files/ { warden_cache_serve warden:cache:$arg_name;\n"
                           "    root @DIR@/html; try_files /nothing-here =404; }\n"));
  ASSERT_TRUE(PollUntil([&] { return nginx.Get("/cached/?name=a").body == "[\"a\"]"; }, 10s));
  EXPECT_EQ(nginx.Get("/cached/?name=b").body, "[\"b\"]");
  EXPECT_EQ(nginx.Get("/cached/?name=b").headers["etag"], "\"b\"");
  EXPECT_TRUE(FromBackend(nginx.Get("/cached/?name=c")));
  EXPECT_TRUE(FromBackend(nginx.Get("/cached/live/?name=a")));
  // No name: the key is "warden:cache:", which is looked up like any other.
  EXPECT_TRUE(FromBackend(nginx.Get("/cached/")));
  // try_files runs in the same phase, after the lookup: a hit first, try_files on a miss.
  EXPECT_EQ(nginx.Get("/files/?name=a").body, "[\"a\"]");
  EXPECT_EQ(nginx.Get("/files/?name=c").status, 404);
}

TEST_F(CacheServeTest, BadDirectivesFailConfigTest) {
  struct Case {
    std::string http, location, message;
  };
  std::vector<Case> cases = {
      {"", "warden_cache_serve;", "invalid number of arguments"},
      {"", "warden_cache_serve a b;", "invalid number of arguments"},
      {"", "warden_cache_serve \"\";", "empty key"},
      {"", "warden_cache_serve a;\nwarden_cache_serve b;", "is duplicate"},
      {"warden_cache_serve a;", "", "\"warden_cache_serve\" directive is not allowed here"},
  };
  for (const Case& c : cases) {
    NginxServer::Options o = Config("  location / { " + c.location + " }\n", 1, c.http + "\n");
    auto r = NginxServer::Test(o);
    EXPECT_NE(r.exit_code, 0) << c.http << c.location;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << c.http << c.location << "\n" << r.err;
    EXPECT_NE(r.err.find("nginx.conf:"), std::string::npos) << r.err;
  }

  NginxServer::Options no_redis;
  no_redis.http =
      "server { listen 127.0.0.1:@PORT@;\n"
      "  location / { warden_cache_serve warden:cache:x; } }\n";
  auto r = NginxServer::Test(no_redis);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("\"warden_cache_serve\" in "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nginx.conf:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("reads the value from redis, but there is no \"warden_redis\""),
            std::string::npos)
      << r.err;

  auto ok = NginxServer::Test(Config("  location / { " + Served() + "}\n"));
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
}

}  // namespace
}  // namespace warden::test
