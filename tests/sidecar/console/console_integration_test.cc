// The operator's console of `warden daemon` (docs/console.md), against real parts: a
// redis-server, Debian's nginx with the module under test, the built `warden daemon`, and
// Debian's headless Chromium for the page.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>

#include "support/chromium.h"
#include "support/free_port.h"
#include "support/http_client.h"
#include "support/nginx_server.h"
#include "support/poll_until.h"
#include "support/redis_server.h"
#include "support/temp_dir.h"
#include "support/warden_cli.h"

namespace warden::test {
namespace {

using namespace std::chrono_literals;

// nginx enforcing the blacklist and counting traffic into the test's Redis; clients are told
// apart by the loopback address they connect from (127.0.0.10-17).
NginxServer::Options NginxFor(const RedisServer& redis) {
  NginxServer::Options o;
  o.http = "warden_redis 127.0.0.1:" + std::to_string(redis.port()) + ";\n" +
           "server {\n  listen 127.0.0.1:@PORT@;\n  warden on;\n"
           "  location / { root @DIR@/html; }\n}\n";
  return o;
}

std::string Client(int i) { return "127.0.0." + std::to_string(10 + i); }

// An nginx node named `node` with two rate-limit zones: "wide" (sync=100ms, never refuses
// here) and "api" (this node only: 1 request a minute with a burst of 2, so a client's first
// 3 requests pass and the rest are rejected).
NginxServer::Options NginxNode(const RedisServer& redis, const std::string& node) {
  NginxServer::Options o;
  o.http = "warden_node " + node + ";\n" +
           "warden_redis 127.0.0.1:" + std::to_string(redis.port()) + ";\n" +
           "warden_limit_zone $binary_remote_addr zone=wide:1m rate=1000r/s sync=100ms;\n"
           "warden_limit_zone $binary_remote_addr zone=api:1m rate=1r/m sync=off;\n"
           "server {\n  listen 127.0.0.1:@PORT@;\n  warden on;\n"
           "  location / {\n    root @DIR@/html;\n"
           "    warden_limit zone=wide burst=100 nodelay;\n"
           "    warden_limit zone=api burst=2 nodelay;\n  }\n}\n";
  return o;
}

// The row of `node` in a snapshot's or /api/v1/nodes' list (null when absent).
nlohmann::json NodeRow(const nlohmann::json& nodes, const std::string& node) {
  if (!nodes.is_array()) return nullptr;
  for (const auto& n : nodes) {
    if (n.value("node", "") == node) return n;
  }
  return nullptr;
}

// The row of `zone` (and `node`, or the sum over the nodes when empty) in a snapshot's limits.
nlohmann::json LimitRow(const nlohmann::json& limits, const std::string& zone,
                        const std::string& node = "") {
  if (!limits.is_object()) return nullptr;
  for (const auto& row : node.empty() ? limits["zones"] : limits["by_node"]) {
    if (row.value("zone", "") == zone && (node.empty() || row.value("node", "") == node)) {
      return row;
    }
  }
  return nullptr;
}

// A running `warden daemon` with its console on 127.0.0.1 (or `listen`), for one test.
class Daemon {
 public:
  // `extra`: more [daemon] keys; `host`: the address it listens on (its port is a free one).
  explicit Daemon(const RedisServer& redis, const std::string& extra = "",
                  const std::string& node = "console-test", const std::string& host = "127.0.0.1")
      : port_(FreePort()) {
    const std::string config = dir_.path() + "/warden.toml";
    std::ofstream(config) << "[daemon]\nnode = \"" << node << "\"\nlisten = \"" << host << ":"
                          << port_ << "\"\n"
                          << extra;
    process_.emplace(Process::Start(
        WardenProcessOptions({.args = {"daemon"}, .redis = redis.url(), .config = config})));
  }
  ~Daemon() {
    if (process_ && process_->Running()) {
      process_->Signal(SIGTERM);
      process_->Wait(5s);
    }
  }
  int port() const { return port_; }
  const TempDir& dir() const { return dir_; }
  Process& process() { return *process_; }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  HttpReply Get(const std::string& path, const std::map<std::string, std::string>& headers = {}) {
    return HttpGet("127.0.0.1", port_, path, headers);
  }
  HttpReply Post(const std::string& path, const nlohmann::json& body,
                 std::map<std::string, std::string> headers = {}) {
    headers.emplace("Content-Type", "application/json");
    return HttpRequest("POST", "127.0.0.1", port_, path, headers, body.dump());
  }
  nlohmann::json Json(const std::string& path) {
    HttpReply r = Get(path);
    if (r.status != 200) return nullptr;
    return nlohmann::json::parse(r.body, nullptr, false);
  }
  // Polls /api/v1/overview (up to 10 s) until `ready` holds for it; the last one read goes to
  // `*overview` (null when none came).
  bool OverviewUntil(const std::function<bool(const nlohmann::json&)>& ready,
                     nlohmann::json* overview) {
    return PollUntil(
        [&] {
          *overview = Json("/api/v1/overview");
          return overview->is_object() && ready(*overview);
        },
        10s, 100ms);
  }
  // Waits for the first snapshot.
  bool Ready() {
    return PollUntil([&] { return Get("/api/v1/overview").status == 200; }, 10s, 50ms);
  }
  // The CSRF token the page carries, as the page's script reads it.
  std::string Csrf() {
    HttpReply page = Get("/");
    std::smatch m;
    if (!std::regex_search(page.body, m,
                           std::regex(R"(name="warden-csrf" content="([0-9a-f]+)\")")))
      return "";
    return m[1];
  }

 private:
  int port_;
  TempDir dir_{"warden-console"};
  std::optional<Process> process_;
};

// The times at which the first `events` Server-Sent Events arrive on one stream (empty when
// the stream does not open), and the status line.
struct Stream {
  std::string status_line;
  std::vector<std::chrono::steady_clock::time_point> arrivals;
  std::string last_data;
};
// A connection to the daemon with `request` sent (raw, so a test may send any Host); -1 if
// it does not connect.
int Send(int port, const std::string& request) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  (void)!write(fd, request.data(), request.size());
  return fd;
}

// The status line of the answer to a raw request.
std::string StatusLine(int port, const std::string& request) {
  int fd = Send(port, request);
  if (fd < 0) return "";
  std::string raw;
  char buf[4096];
  pollfd p{fd, POLLIN, 0};
  while (raw.find("\r\n") == std::string::npos && poll(&p, 1, 3000) == 1) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    raw.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return raw.substr(0, raw.find("\r\n"));
}

Stream ReadEvents(int port, size_t events, std::chrono::milliseconds budget) {
  Stream out;
  int fd = Send(
      port, "GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n");
  if (fd < 0) return out;
  std::string raw;
  size_t seen = 0;
  const auto deadline = std::chrono::steady_clock::now() + budget;
  while (out.arrivals.size() < events && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    char buf[65536];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    raw.append(buf, static_cast<size_t>(n));
    if (out.status_line.empty() && raw.find("\r\n") != std::string::npos) {
      out.status_line = raw.substr(0, raw.find("\r\n"));
    }
    for (size_t at; (at = raw.find("data: ", seen)) != std::string::npos;) {
      size_t end = raw.find("\n\n", at);
      if (end == std::string::npos) break;
      out.arrivals.push_back(std::chrono::steady_clock::now());
      out.last_data = raw.substr(at + 6, end - at - 6);
      seen = end + 2;
    }
  }
  close(fd);
  return out;
}

// What Client(i) says it is.
std::string Agent(int i) { return "client-" + std::to_string(i) + "/1.0"; }

// Client(i) sends requests[i] requests to nginx, each answered 200.
void Traffic(const NginxServer& nginx, const std::vector<int>& requests) {
  for (size_t i = 0; i < requests.size(); ++i) {
    const int client = static_cast<int>(i);
    for (int n = 0; n < requests[i]; ++n) {
      ASSERT_EQ(HttpGet("127.0.0.1", nginx.port(), "/", {{"User-Agent", Agent(client)}}, 3s,
                        Client(client))
                    .status,
                200);
    }
  }
}

// The sum of a series' values ("pass", "blacklist", ...).
long long SumOf(const nlohmann::json& series, const std::string& name) {
  long long sum = 0;
  if (!series.contains(name)) return -1;
  for (const auto& v : series[name]) sum += v.get<long long>();
  return sum;
}

const nlohmann::json* RowOf(const nlohmann::json& rows, const std::string& address) {
  for (const auto& row : rows) {
    if (row.value("address", "") == address) return &row;
  }
  return nullptr;
}

long long RequestsOf(const nlohmann::json& rows, const std::string& address) {
  for (const auto& row : rows) {
    if (row.value("address", "") == address) return row.value("requests", 0LL);
  }
  return -1;
}

TEST(ConsoleIntegrationTest, TrafficFromEightAddressesShowsWithItsCounts) {
  RedisServer redis;
  NginxServer nginx(NginxFor(redis));
  Daemon daemon(redis);
  ASSERT_TRUE(daemon.Ready()) << daemon.process().Stderr();
  // 127.0.0.1(10+i) sends i+1 requests: 36 in all.
  ASSERT_NO_FATAL_FAILURE(Traffic(nginx, {1, 2, 3, 4, 5, 6, 7, 8}));
  nlohmann::json top;
  ASSERT_TRUE(PollUntil(
      [&] {
        top = daemon.Json("/api/v1/top?by=address&window=1m");
        return top.is_object() && top["rows"].size() == 8 &&
               RequestsOf(top["rows"], Client(0)) == 1;
      },
      10s, 100ms))
      << top.dump();
  EXPECT_EQ(top["by"], "address");
  for (int i = 0; i < 8; ++i) EXPECT_EQ(RequestsOf(top["rows"], Client(i)), i + 1) << Client(i);
  EXPECT_EQ(top["rows"][0]["address"], Client(7));  // the busiest first
  EXPECT_EQ(top["rows"][0]["refused"], 0);

  // The snapshot has them too, each with its state, and the per-second history adds up to 36.
  nlohmann::json overview;
  ASSERT_TRUE(daemon.OverviewUntil(
      [&](const nlohmann::json& o) {
        return o["totals"]["requests"] == 36 && o["top"]["rows"].size() == 8;
      },
      &overview))
      << overview.dump();
  EXPECT_EQ(RequestsOf(overview["top"]["rows"], Client(3)), 4);
  EXPECT_EQ(overview["top"]["rows"][0]["state"], "pass");
  long long sum = 0;
  for (const auto& v : overview["series"]["pass"]) sum += v.get<long long>();
  EXPECT_EQ(sum, 36);
  EXPECT_EQ(overview["series"]["step_ms"], 1000);
  EXPECT_EQ(overview["series"]["pass"].size(), 900u);

  // The series live in Redis: a second sidecar on the same Redis shows the same fleet, while
  // only one of them writes the series.
  Daemon second(redis, "", "console-test-2");
  ASSERT_TRUE(second.Ready()) << second.process().Stderr();
  nlohmann::json other;
  ASSERT_TRUE(second.OverviewUntil(
      [&](const nlohmann::json& o) {
        int sidecars = 0;
        for (const auto& n : o["nodes"]) sidecars += n.value("role", "") == "sidecar" ? 1 : 0;
        return o["totals"]["requests"] == 36 && sidecars == 2;
      },
      &other))
      << other.dump();
  long long other_sum = 0;
  for (const auto& v : other["series"]["pass"]) other_sum += v.get<long long>();
  EXPECT_EQ(other_sum, 36);
  int writers = 0;
  for (const auto& node : other["nodes"]) writers += node.value("writes_series", false) ? 1 : 0;
  EXPECT_EQ(writers, 1) << other["nodes"].dump();
  EXPECT_EQ(redis.Command({"GET", "warden:ts:writer"}).str, "console-test");

  // The minute series, kept 24 h in Redis, counts them as well.
  nlohmann::json minutes = daemon.Json("/api/v1/series?step=1m&range=5m");
  ASSERT_TRUE(minutes.is_object());
  long long minute_sum = 0;
  for (const auto& v : minutes["pass"]) minute_sum += v.get<long long>();
  EXPECT_EQ(minute_sum, 36);

  // A minute before any console wrote (here: 3 minutes ago) comes from the nodes' own counts.
  const long long now_minute = std::stoll(redis.Command({"TIME"}).elements[0].str) / 60;
  redis.Command({"ZADD", "warden:top:req:" + std::to_string(now_minute - 3), "5", "192.0.2.99"});
  minutes = daemon.Json("/api/v1/series?step=1m&range=5m");
  ASSERT_EQ(minutes["pass"].size(), 5u) << minutes.dump();
  EXPECT_EQ(minutes["pass"][1], 5) << minutes.dump();

  // This sidecar beats in Redis and shows as a node, and so does the nginx node (named after
  // the host: no warden_node), after the sidecars.
  ASSERT_FALSE(overview["nodes"].empty());
  EXPECT_EQ(overview["nodes"][0]["node"], "console-test");
  EXPECT_EQ(overview["nodes"][0]["state"], "up");
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  EXPECT_EQ(NodeRow(other["nodes"], host)["role"], "nginx") << other["nodes"].dump();
  EXPECT_EQ(other["nodes"].back()["role"], "nginx");

  // Bad input is a clear JSON error.
  HttpReply bad = daemon.Get("/api/v1/top?window=1d");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("nodes keep counts for 1m to 2h"), std::string::npos) << bad.body;
  HttpReply unknown = daemon.Get("/api/v1/nothing");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_NE(unknown.body.find("\"error\""), std::string::npos);
}

// The chart's series per decision, and each talker's user agent, paths and strikes: one client
// passes, one is on the blacklist, one is rate limited (with autoban strikes).
TEST(ConsoleIntegrationTest, SeriesByDecisionAndTalkersProfiles) {
  RedisServer redis;
  NginxServer::Options o;
  o.http = "warden_redis 127.0.0.1:" + std::to_string(redis.port()) + ";\n" +
           "warden_limit_zone $binary_remote_addr zone=api:1m rate=1r/m;\n"
           "warden_autoban zone=api strikes=50 findtime=1m bantime=1h;\n"
           "server {\n  listen 127.0.0.1:@PORT@;\n  warden on;\n  root @DIR@/html;\n"
           "  location / { try_files /index.html =404; }\n"
           "  location /api { warden_limit zone=api burst=1 nodelay; "
           "try_files /index.html =404; }\n}\n";
  NginxServer nginx(o);
  Daemon daemon(redis);
  ASSERT_TRUE(daemon.Ready()) << daemon.process().Stderr();
  std::map<int, int> statuses;
  auto get = [&](int client, const std::string& path) {
    const int status = HttpGet("127.0.0.1", nginx.port(), path, {{"User-Agent", Agent(client)}}, 3s,
                               Client(client))
                           .status;
    statuses[status]++;
    return status;
  };
  // Client 0 passes: 6 requests over 3 paths, /two the most.
  for (const char* path : {"/one", "/two", "/two", "/three", "/two", "/one"}) get(0, path);
  // Client 1 is banned (from the console), then refused 4 times.
  ASSERT_EQ(daemon
                .Post("/api/v1/ban", {{"entry", Client(1)}, {"reason", "test"}},
                      {{"X-Warden-CSRF", daemon.Csrf()}})
                .status,
            200);
  ASSERT_TRUE(PollUntil([&] { return get(1, "/") == 403; }, 10s, 50ms));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(get(1, "/"), 403);
  // Client 2: 1r/m with burst=1, so 2 pass and 3 are limited (3 strikes).
  for (int i = 0; i < 5; ++i) get(2, "/api");
  const int passed = statuses[200], blocked = statuses[403], limited = statuses[429];
  ASSERT_EQ(blocked, 4);
  ASSERT_EQ(limited, 3);  // (and passed: 8, and what client 1 sent before its ban landed)
  const int total = passed + blocked + limited;

  nlohmann::json series;
  ASSERT_TRUE(PollUntil(
      [&] {
        series = daemon.Json("/api/v1/series?step=1s&range=15m");
        return series.is_object() && SumOf(series, "requests") == total &&
               SumOf(series, "blacklist") == blocked && SumOf(series, "limited") == limited;
      },
      15s, 200ms))
      << series.dump() << "\n"
      << statuses[200] << " " << blocked << " " << limited;
  EXPECT_EQ(SumOf(series, "pass"), passed);
  EXPECT_EQ(SumOf(series, "country"), 0);
  EXPECT_EQ(SumOf(series, "autoban"), 0);
  EXPECT_EQ(SumOf(series, "other"), 0);
  EXPECT_EQ(SumOf(series, "4xx"), blocked + limited);
  EXPECT_EQ(SumOf(series, "5xx"), 0);
  EXPECT_EQ(series["decisions"], nlohmann::json({"pass", "blacklist", "country", "autoban",
                                                 "limited", "challenge", "dry_run", "other"}));
  // The minute series (and the snapshot's) carry them too.
  nlohmann::json minutes = daemon.Json("/api/v1/series?step=1m&range=5m");
  EXPECT_EQ(SumOf(minutes, "blacklist"), blocked) << minutes.dump();
  EXPECT_EQ(SumOf(minutes, "limited"), limited) << minutes.dump();
  nlohmann::json overview;
  ASSERT_TRUE(daemon.OverviewUntil(
      [&](const nlohmann::json& o) { return SumOf(o["series"], "limited") == limited; }, &overview))
      << overview.dump();
  EXPECT_EQ(SumOf(overview["series"], "blacklist"), blocked);

  // The top talkers: user agent, distinct paths, top path, strikes.
  nlohmann::json top;
  ASSERT_TRUE(PollUntil(
      [&] {
        top = daemon.Json("/api/v1/top?by=address&window=5m");
        const nlohmann::json* row = top.is_object() ? RowOf(top["rows"], Client(0)) : nullptr;
        return row && (*row)["requests"] == 6 && RowOf(top["rows"], Client(2));
      },
      10s, 100ms))
      << top.dump();
  const nlohmann::json& c0 = *RowOf(top["rows"], Client(0));
  EXPECT_EQ(c0["user_agent"], Agent(0));
  EXPECT_EQ(c0["distinct_paths"], 3);
  EXPECT_EQ(c0["top_path"], "/two");
  EXPECT_EQ(c0["strikes"], 0);
  const nlohmann::json& c1 = *RowOf(top["rows"], Client(1));
  EXPECT_EQ(c1["user_agent"], Agent(1));
  EXPECT_EQ(c1["refused"], blocked);
  const nlohmann::json& c2 = *RowOf(top["rows"], Client(2));
  EXPECT_EQ(c2["user_agent"], Agent(2));
  EXPECT_EQ(c2["top_path"], "/api");
  EXPECT_EQ(c2["strikes"], 3);
  EXPECT_EQ(c2["distinct_paths"], 1);
}

TEST(ConsoleIntegrationTest, EventStreamDeliversEverySecondAndIsBounded) {
  RedisServer redis;
  Daemon daemon(redis);
  ASSERT_TRUE(daemon.Ready()) << daemon.process().Stderr();
  Stream s = ReadEvents(daemon.port(), 3, 5s);
  ASSERT_EQ(s.arrivals.size(), 3u) << s.status_line;
  EXPECT_NE(s.status_line.find("200"), std::string::npos);
  // The first snapshot at once, then one per period (1 s), never 1.5 s apart.
  EXPECT_LT(s.arrivals[2] - s.arrivals[1], 1500ms);
  EXPECT_GT(s.arrivals[2] - s.arrivals[1], 500ms);
  auto snapshot = nlohmann::json::parse(s.last_data, nullptr, false);
  ASSERT_TRUE(snapshot.is_object()) << s.last_data;
  EXPECT_EQ(snapshot["node"], "console-test");

  // Eight streams hold eight threads of the server's pool; the ninth is refused, and the rest
  // of the endpoint still answers.
  std::vector<int> held;
  for (int i = 0; i < 8; ++i) {
    int fd = Send(daemon.port(), "GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    ASSERT_GE(fd, 0);
    char buf[16];
    pollfd p{fd, POLLIN, 0};
    ASSERT_EQ(poll(&p, 1, 3000), 1);  // its first bytes: the stream is open
    (void)!read(fd, buf, sizeof buf);
    held.push_back(fd);
  }
  Stream ninth = ReadEvents(daemon.port(), 1, 2s);
  EXPECT_NE(ninth.status_line.find("503"), std::string::npos) << ninth.status_line;
  EXPECT_EQ(daemon.Get("/healthz").status, 200);
  EXPECT_EQ(daemon.Get("/api/v1/overview").status, 200);
  for (int fd : held) close(fd);
  // Closed streams give their places back.
  EXPECT_TRUE(
      PollUntil([&] { return ReadEvents(daemon.port(), 1, 2s).arrivals.size() == 1; }, 8s, 200ms));
}

TEST(ConsoleIntegrationTest, BanFromTheApiReachesNginxAndIsAudited) {
  RedisServer redis;
  NginxServer nginx(NginxFor(redis));
  Daemon daemon(redis);
  ASSERT_TRUE(daemon.Ready()) << daemon.process().Stderr();
  const std::string csrf = daemon.Csrf();
  ASSERT_EQ(csrf.size(), 32u);
  ASSERT_EQ(HttpGet("127.0.0.1", nginx.port(), "/", {}, 3s, Client(3)).status, 200);

  // What the page's Ban button sends.
  HttpReply r = daemon.Post(
      "/api/v1/ban",
      {{"entry", Client(3)}, {"ttl", "10m"}, {"reason", "from the test"}, {"by", "tester"}},
      {{"X-Warden-CSRF", csrf}});
  ASSERT_EQ(r.status, 200) << r.body;
  auto reply = nlohmann::json::parse(r.body);
  EXPECT_EQ(reply["banned"], Client(3));
  EXPECT_EQ(reply["added_by"], "console:tester@127.0.0.1");
  EXPECT_TRUE(reply["expires_at"].is_string());

  EXPECT_TRUE(PollUntil(
      [&] { return HttpGet("127.0.0.1", nginx.port(), "/", {}, 3s, Client(3)).status == 403; }, 5s,
      20ms));
  EXPECT_EQ(HttpGet("127.0.0.1", nginx.port(), "/", {}, 3s, Client(4)).status, 200);
  // The audit line: who, from where, what.
  const std::string log = daemon.process().Stderr();
  EXPECT_NE(log.find("console: banned"), std::string::npos) << log;
  EXPECT_NE(log.find("by=tester"), std::string::npos) << log;
  EXPECT_NE(log.find("from=127.0.0.1"), std::string::npos) << log;
  // The ban is in the list with its reason, as `warden list` shows it.
  nlohmann::json bans = daemon.Json("/api/v1/bans");
  ASSERT_EQ(bans["total"], 1) << bans.dump();
  EXPECT_EQ(bans["rows"][0]["entry"], Client(3));
  EXPECT_EQ(bans["rows"][0]["reason"], "from the test");
  EXPECT_GT(bans["rows"][0]["ttl_seconds"].get<int>(), 590);

  // Unban from the row: nginx lets it in again.
  r = daemon.Post("/api/v1/unban", {{"entry", Client(3)}, {"by", "tester"}},
                  {{"X-Warden-CSRF", csrf}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(PollUntil(
      [&] { return HttpGet("127.0.0.1", nginx.port(), "/", {}, 3s, Client(3)).status == 200; }, 5s,
      20ms));
  r = daemon.Post("/api/v1/unban", {{"entry", Client(3)}}, {{"X-Warden-CSRF", csrf}});
  EXPECT_EQ(r.status, 404) << r.body;

  // Bad input: a clear error, nothing written.
  for (const nlohmann::json& body :
       {nlohmann::json{{"entry", "not-an-address"}}, nlohmann::json{{"entry", "0.0.0.0/0"}},
        nlohmann::json{{"entry", Client(1)}, {"ttl", "soon"}},
        nlohmann::json{{"entry", Client(1)}, {"by", "a b"}}}) {
    r = daemon.Post("/api/v1/ban", body, {{"X-Warden-CSRF", csrf}});
    EXPECT_EQ(r.status, 400) << body.dump() << " " << r.body;
    EXPECT_NE(r.body.find("\"error\""), std::string::npos);
  }
  r = HttpRequest("POST", "127.0.0.1", daemon.port(), "/api/v1/ban", {{"X-Warden-CSRF", csrf}},
                  "{not json");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(redis.Command({"HLEN", "warden:bl:entries"}).integer, 0);
}

// The row's Allow: the address passes its network's ban on every node; the top talkers say
// "allowed"; the write is audited and needs the CSRF token like a ban.
TEST(ConsoleIntegrationTest, AllowFromTheApiLetsAnAddressThroughItsNetworksBan) {
  RedisServer redis;
  NginxServer nginx(NginxFor(redis));
  Daemon daemon(redis);
  ASSERT_TRUE(daemon.Ready()) << daemon.process().Stderr();
  const std::string csrf = daemon.Csrf();
  const nlohmann::json allow = {{"entry", Client(3)}, {"reason", "partner"}, {"by", "tester"}};
  EXPECT_EQ(daemon.Post("/api/v1/allow", allow).status, 403);  // no CSRF token
  ASSERT_EQ(
      daemon.Post("/api/v1/ban", {{"entry", "127.0.0.0/24"}}, {{"X-Warden-CSRF", csrf}}).status,
      200);
  HttpReply r = daemon.Post("/api/v1/allow", allow, {{"X-Warden-CSRF", csrf}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(nlohmann::json::parse(r.body)["allowed"], Client(3));
  auto status = [&](int i) {
    return HttpGet("127.0.0.1", nginx.port(), "/", {}, 3s, Client(i)).status;
  };
  // The ban and the allow are two changes in the log: a node can apply the first in one sync
  // and the second in the next, so wait for both before judging.
  ASSERT_TRUE(PollUntil([&] { return status(4) == 403 && status(3) == 200; }, 5s, 20ms))
      << "neighbour " << status(4) << ", allowed " << status(3);
  EXPECT_NE(daemon.process().Stderr().find("console: allowed"), std::string::npos);

  nlohmann::json row;
  ASSERT_TRUE(PollUntil(
      [&] {
        nlohmann::json snap = daemon.Json("/api/v1/overview");
        for (const auto& candidate : snap["top"]["rows"]) {
          if (candidate["address"] == Client(3)) row = candidate;
        }
        return row.is_object() && snap["bans"]["total"] == 1 && snap["bans"]["allowed"] == 1;
      },
      10s, 100ms))
      << daemon.Json("/api/v1/overview").dump();
  EXPECT_EQ(row["state"], "allowed");
  EXPECT_EQ(row["ban"], Client(3));
}

TEST(ConsoleIntegrationTest, WritesWithoutTheCsrfTokenOrFromAnotherOriginAreRefused) {
  RedisServer redis;
  Daemon daemon(redis, "console_hosts = [\"console.example\"]\n");
  ASSERT_TRUE(daemon.Ready()) << daemon.process().Stderr();
  const std::string csrf = daemon.Csrf();
  ASSERT_FALSE(csrf.empty());
  const nlohmann::json ban = {{"entry", "192.0.2.7"}, {"ttl", "1h"}};

  HttpReply none = daemon.Post("/api/v1/ban", ban);
  EXPECT_EQ(none.status, 403);
  EXPECT_NE(none.body.find("X-Warden-CSRF"), std::string::npos) << none.body;
  HttpReply wrong = daemon.Post("/api/v1/ban", ban, {{"X-Warden-CSRF", std::string(32, '0')}});
  EXPECT_EQ(wrong.status, 403);
  HttpReply cross =
      daemon.Post("/api/v1/ban", ban, {{"X-Warden-CSRF", csrf}, {"Origin", "http://evil.example"}});
  EXPECT_EQ(cross.status, 403);
  EXPECT_NE(cross.body.find("cross-origin"), std::string::npos) << cross.body;
  EXPECT_EQ(redis.Command({"HLEN", "warden:bl:entries"}).integer, 0);

  // A page reached through another name (DNS rebinding) gets nothing; its own names do.
  EXPECT_NE(
      StatusLine(daemon.port(), "GET / HTTP/1.0\r\nHost: evil.example:80\r\n\r\n").find(" 403 "),
      std::string::npos);
  EXPECT_NE(StatusLine(daemon.port(), "GET / HTTP/1.0\r\nHost: localhost\r\n\r\n").find(" 200 "),
            std::string::npos);
  EXPECT_NE(
      StatusLine(daemon.port(), "GET / HTTP/1.0\r\nHost: console-test:9477\r\n\r\n").find(" 200 "),
      std::string::npos);
  EXPECT_NE(
      StatusLine(daemon.port(), "GET / HTTP/1.0\r\nHost: warden.example.com\r\n\r\n").find(" 403 "),
      std::string::npos);
  // A name the configuration gives (a reverse proxy's), with the same origin: written.
  const std::string body = R"({"entry": "192.0.2.8"})";
  EXPECT_NE(StatusLine(daemon.port(),
                       "POST /api/v1/ban HTTP/1.0\r\nHost: console.example\r\n"
                       "Origin: https://console.example\r\nX-Warden-CSRF: " +
                           csrf + "\r\nContent-Length: " + std::to_string(body.size()) +
                           "\r\n\r\n" + body)
                .find(" 200 "),
            std::string::npos);
  // With the CSRF token, from the page's own origin: written.
  EXPECT_EQ(daemon.Post("/api/v1/ban", ban, {{"X-Warden-CSRF", csrf}}).status, 200);
}

TEST(ConsoleIntegrationTest, NonLoopbackListenerNeedsTheToken) {
  RedisServer redis;
  TempDir tmp("warden-console-token");
  const std::string token = "console-test-token-0123456789";
  std::ofstream(tmp.path() + "/token") << token << "\n";
  Daemon daemon(redis, "token_file = \"" + tmp.path() + "/token\"\n", "console-test", "0.0.0.0");
  const int port = daemon.port();
  auto get = [&](const std::string& path, const std::map<std::string, std::string>& headers) {
    return HttpGet("127.0.0.1", port, path, headers);
  };
  const std::map<std::string, std::string> bearer = {{"Authorization", "Bearer " + token}};
  ASSERT_TRUE(PollUntil([&] { return get("/api/v1/overview", bearer).status == 200; }, 10s, 50ms))
      << daemon.process().Stderr();

  HttpReply refused = get("/api/v1/overview", {});
  EXPECT_EQ(refused.status, 401);
  EXPECT_NE(refused.body.find("\"error\""), std::string::npos) << refused.body;
  EXPECT_EQ(refused.body.find(token), std::string::npos);
  EXPECT_EQ(get("/api/v1/events", {}).status, 401);
  EXPECT_EQ(get("/api/v1/overview", {{"Authorization", "Bearer wrong"}}).status, 401);
  // The page without the token is a sign-in form, without the CSRF token.
  HttpReply page = get("/", {});
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("action=\"/login\""), std::string::npos);
  EXPECT_EQ(page.body.find("warden-csrf"), std::string::npos);
  // Signing in sets a session cookie that opens the console's paths.
  HttpReply login =
      HttpRequest("POST", "127.0.0.1", port, "/login",
                  {{"Content-Type", "application/x-www-form-urlencoded"}}, "token=" + token);
  EXPECT_EQ(login.status, 303);
  const std::string cookie = login.headers["set-cookie"];
  ASSERT_NE(cookie.find("warden_session="), std::string::npos);
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos);
  EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos);
  const std::string session = cookie.substr(0, cookie.find(';'));
  EXPECT_EQ(get("/api/v1/overview", {{"Cookie", session}}).status, 200);
  EXPECT_NE(get("/", {{"Cookie", session}}).body.find("warden-csrf"), std::string::npos);
  EXPECT_EQ(HttpRequest("POST", "127.0.0.1", port, "/login",
                        {{"Content-Type", "application/x-www-form-urlencoded"}}, "token=nope")
                .status,
            401);
  // A write with the token still needs the CSRF token.
  HttpReply write =
      HttpRequest("POST", "127.0.0.1", port, "/api/v1/ban", bearer, R"({"entry": "192.0.2.1"})");
  EXPECT_EQ(write.status, 403);

  // And the daemon does not start reachable from other hosts without a token.
  TempDir other("warden-console-open");
  std::ofstream(other.path() + "/warden.toml")
      << "[daemon]\nlisten = \"0.0.0.0:" << FreePort() << "\"\n";
  RunResult open = RunWarden(
      {.args = {"daemon"}, .redis = redis.url(), .config = other.path() + "/warden.toml"});
  EXPECT_EQ(open.exit_code, 2) << Show(open);
  EXPECT_NE(open.err.find("set token_file"), std::string::npos) << open.err;
}

TEST(ConsoleIntegrationTest, ARedisOutageShowsInTheSnapshotAndTheApiSaysSo) {
  RedisServer redis;
  Daemon daemon(redis);
  ASSERT_TRUE(daemon.Ready()) << daemon.process().Stderr();
  redis.Kill();
  nlohmann::json overview;
  ASSERT_TRUE(daemon.OverviewUntil(
      [&](const nlohmann::json& o) { return o["redis"]["ok"] == false; }, &overview))
      << overview.dump();
  EXPECT_FALSE(overview["redis"]["error"].get<std::string>().empty());
  EXPECT_TRUE(overview["jobs"].is_array());  // the daemon's own part still comes
  HttpReply bans = daemon.Get("/api/v1/bans");
  EXPECT_EQ(bans.status, 503);
  EXPECT_NE(bans.body.find("redis unavailable"), std::string::npos) << bans.body;
  // The page and the stream still answer, and say so.
  EXPECT_EQ(daemon.Get("/").status, 200);
  EXPECT_EQ(ReadEvents(daemon.port(), 1, 3s).arrivals.size(), 1u);

  redis.Restart();
  EXPECT_TRUE(daemon.OverviewUntil(
      [&](const nlohmann::json& o) { return o["redis"]["ok"] == true; }, &overview))
      << overview.dump();
  EXPECT_EQ(daemon.Get("/api/v1/bans").status, 200);
  const std::string log = daemon.process().Stderr();
  EXPECT_NE(log.find("console: no redis"), std::string::npos) << log;
  EXPECT_NE(log.find("console: redis is back"), std::string::npos) << log;
}

TEST(ConsoleIntegrationTest, NginxNodesReportTheirZonesAndHowFastABanReachedThem) {
  RedisServer redis;
  NginxServer edge_a(NginxNode(redis, "edge-a"));
  NginxServer edge_b(NginxNode(redis, "edge-b"));
  Daemon daemon(redis);
  ASSERT_TRUE(daemon.Ready()) << daemon.process().Stderr();

  // Both nodes beat, each has loaded the blacklist (empty yet), and Redis answers them.
  nlohmann::json nodes;
  ASSERT_TRUE(PollUntil(
      [&] {
        nodes = daemon.Json("/api/v1/nodes");
        for (const char* name : {"edge-a", "edge-b"}) {
          nlohmann::json n = NodeRow(nodes, name);
          if (!n.is_object() || n["state"] != "up" || !n["blacklist"].is_object() ||
              n["blacklist"]["loaded"] != true) {
            return false;
          }
        }
        return true;
      },
      15s, 100ms))
      << nodes.dump();
  for (const char* name : {"edge-a", "edge-b"}) {
    nlohmann::json n = NodeRow(nodes, name);
    EXPECT_EQ(n["role"], "nginx") << name;
    EXPECT_EQ(n["redis_state"], "ok") << n.dump();
    EXPECT_EQ(n["workers"], 2) << n.dump();
    EXPECT_FALSE(n["nginx_version"].get<std::string>().empty());
    EXPECT_TRUE(n["shm_use_pct"].is_number()) << n.dump();
  }
  EXPECT_EQ(NodeRow(nodes, "console-test")["role"], "sidecar");  // the sidecar is listed too
  EXPECT_EQ(redis.Command({"ZCARD", "warden:ng:nodes"}).integer, 2);

  // Traffic: 5 requests to edge-a from one client (3 pass, 2 are rejected by "api"), 4 to
  // edge-b from another (3 pass, 1 rejected).
  auto send = [](const NginxServer& nginx, int client, int requests, int* passed, int* rejected) {
    for (int i = 0; i < requests; ++i) {
      int status = HttpGet("127.0.0.1", nginx.port(), "/", {}, 3s, Client(client)).status;
      (status == 200 ? *passed : *rejected) += 1;
    }
  };
  int passed_a = 0, rejected_a = 0, passed_b = 0, rejected_b = 0;
  send(edge_a, 0, 5, &passed_a, &rejected_a);
  send(edge_b, 1, 4, &passed_b, &rejected_b);
  ASSERT_EQ(passed_a, 3);
  ASSERT_EQ(rejected_a, 2);
  ASSERT_EQ(passed_b, 3);
  ASSERT_EQ(rejected_b, 1);

  // A ban through the console: its sequence number is bl:seq.
  ASSERT_EQ(daemon
                .Post("/api/v1/ban", {{"entry", "198.51.100.7"}, {"reason", "propagation"}},
                      {{"X-Warden-CSRF", daemon.Csrf()}})
                .status,
            200);
  const long long bl_seq = std::stoll(redis.Command({"GET", "warden:bl:seq"}).str);
  ASSERT_GE(bl_seq, 1);

  nlohmann::json o;
  ASSERT_TRUE(daemon.OverviewUntil(
      [&](const nlohmann::json& s) {
        nlohmann::json a = NodeRow(s["nodes"], "edge-a"), b = NodeRow(s["nodes"], "edge-b");
        nlohmann::json api = LimitRow(s["limits"], "api");
        return a.is_object() && b.is_object() && a["blacklist_seq"] == bl_seq &&
               b["blacklist_seq"] == bl_seq && api.is_object() && api["passed"] == 6 &&
               api["rejected"] == 3 && !s["bans"]["rows"].empty() &&
               s["bans"]["rows"][0]["nodes_reached"] == 2;
      },
      &o))
      << o.dump();
  for (const char* name : {"edge-a", "edge-b"}) {
    nlohmann::json n = NodeRow(o["nodes"], name);
    EXPECT_EQ(n["state"], "up");
    EXPECT_EQ(n["behind"], 0) << n.dump();
    EXPECT_GE(n["sync_lag_ms"].get<long long>(), 0) << n.dump();
  }
  // The zones: summed over the two nodes, and per node, exactly as sent.
  nlohmann::json api = LimitRow(o["limits"], "api");
  EXPECT_EQ(api["nodes"], 2);
  EXPECT_EQ(api["mode"], "local");
  EXPECT_EQ(api["delayed"], 0);
  EXPECT_EQ(api["dry_run"], 0);
  EXPECT_EQ(api["fail_open"], 0);
  EXPECT_EQ(LimitRow(o["limits"], "api", "edge-a")["passed"], 3);
  EXPECT_EQ(LimitRow(o["limits"], "api", "edge-a")["rejected"], 2);
  EXPECT_EQ(LimitRow(o["limits"], "api", "edge-b")["passed"], 3);
  EXPECT_EQ(LimitRow(o["limits"], "api", "edge-b")["rejected"], 1);
  nlohmann::json wide = LimitRow(o["limits"], "wide");
  EXPECT_EQ(wide["mode"], "sync=100ms");
  EXPECT_EQ(wide["passed"], 9);
  EXPECT_EQ(wide["rejected"], 0);

  // The ban reached 2 of 2 nodes, each timed from the change stream.
  const nlohmann::json& ban = o["bans"]["rows"][0];
  EXPECT_EQ(ban["entry"], "198.51.100.7");
  EXPECT_EQ(ban["seq"], bl_seq);
  EXPECT_EQ(ban["nodes_of"], 2);
  EXPECT_EQ(ban["nodes_timed"], 2) << ban.dump();
  EXPECT_TRUE(ban["slowest_ms"].is_number()) << ban.dump();
  EXPECT_TRUE(ban["median_ms"].is_number()) << ban.dump();
  EXPECT_GE(ban["slowest_ms"].get<long long>(), ban["median_ms"].get<long long>());

  // A node that stops is stale, then down, and its report goes (no zones of it are summed).
  edge_b.Quit();
  ASSERT_TRUE(PollUntil(  // its report lives 15 s after its last beat
      [&] {
        o = daemon.Json("/api/v1/overview");
        return o.is_object() && NodeRow(o["nodes"], "edge-b")["state"] == "down";
      },
      30s, 200ms))
      << o.dump();
  EXPECT_EQ(LimitRow(o["limits"], "api")["nodes"], 1);
  EXPECT_EQ(o["bans"]["rows"][0]["nodes_of"], 1);
}

// Where a test leaves files for a person to look at.
std::string OutputDir() {
  const char* env = std::getenv("WARDEN_TEST_OUTPUT");
  std::string dir = env != nullptr && *env != '\0' ? env : WARDEN_BUILD_DIR "/test-output";
  dir += "/console";
  std::filesystem::create_directories(dir);
  return dir;
}

TEST(ConsoleIntegrationTest, PageInHeadlessChromiumShowsWhatTheApiHas) {
  RedisServer redis;
  // A named node with a rate-limit zone that lets the test's traffic through.
  NginxServer::Options options = NginxFor(redis);
  options.http =
      "warden_node edge-ui;\n"
      "warden_limit_zone $binary_remote_addr zone=api:1m rate=100r/s sync=off;\n"
      "warden_limit zone=api burst=100 nodelay;\n" +
      options.http;
  NginxServer nginx(options);
  // A job that fails every time, for the jobs panel.
  Daemon daemon(redis,
                "\n[[job]]\nname = \"always-fails\"\ntype = \"command\"\n"
                "schedule = \"@every 1s\"\ncommand = \"false\"\ntimeout = \"2s\"\n");
  ASSERT_TRUE(daemon.Ready()) << daemon.process().Stderr();
  ASSERT_NO_FATAL_FAILURE(Traffic(nginx, {3, 6, 9, 12}));
  ASSERT_EQ(daemon
                .Post("/api/v1/ban", {{"entry", "198.51.100.0/24"}, {"reason", "scanner"}},
                      {{"X-Warden-CSRF", daemon.Csrf()}})
                .status,
            200);
  nlohmann::json overview;
  ASSERT_TRUE(daemon.OverviewUntil(
      [&](const nlohmann::json& o) {
        return o["top"]["rows"].size() == 4 && o["bans"]["total"] == 1 &&
               RequestsOf(o["top"]["rows"], Client(0)) == 3 && o["jobs"].size() == 1 &&
               o["paths"]["rows"].size() == 1 && o["paths"]["rows"][0]["requests"] == 30 &&
               o["jobs"][0]["failures"].is_number() && o["jobs"][0]["failures"] >= 2 &&
               LimitRow(o["limits"], "api")["passed"] == 30 &&
               o["bans"]["rows"][0]["nodes_reached"] == 1;
      },
      &overview))
      << overview.dump();

  // Three snapshots over the event stream, then the page stands still (an open stream would
  // keep Chromium's virtual time from running out).
  RunResult dom = ChromiumDumpDom(daemon.url("/?live=3"), 5000, std::chrono::seconds(90),
                                  {"--enable-logging=stderr", "--v=0"});
  ASSERT_EQ(dom.exit_code, 0) << dom.err;
  const std::string& html = dom.out;
  const std::string dom_file = OutputDir() + "/console.html";  // what the messages point to
  std::ofstream(dom_file) << html;
  // No error of the page's own (its script counts them), and nothing at all in the console
  // (Chromium logs each console message, an uncaught error or a failed load as "CONSOLE").
  EXPECT_NE(html.find(R"(id="page-errors" data-count="0")"), std::string::npos)
      << "see " << dom_file;
  EXPECT_EQ(dom.err.find(":CONSOLE"), std::string::npos) << dom.err;
  EXPECT_NE(html.find("still after 3 updates"), std::string::npos) << "see " << dom_file;
  // The panels show the API's numbers.
  EXPECT_NE(html.find(R"(id="kpi-bans">1<)"), std::string::npos) << "see " << dom_file;
  for (int i = 0; i < 4; ++i) {
    const std::regex row(Client(i) + R"(</button>.*?<td data-col="requests" class="num">)" +
                         std::to_string(3 * (i + 1)) + "<");
    EXPECT_TRUE(std::regex_search(html, row)) << Client(i) << "\n"
                                              << "see " << dom_file;
  }
  // The paths panel: the clients' 30 requests, all for "/".
  EXPECT_EQ(overview["paths"]["rows"][0]["path"], "/");
  EXPECT_TRUE(std::regex_search(
      html,
      std::regex(R"(id="paths-table".*?>/</button>.*?<td data-col="requests" class="num">30<)")))
      << "see " << dom_file;
  // Each talker's user agent (a filter button), distinct paths and top path.
  for (int i = 0; i < 4; ++i) {
    const std::regex row(Client(i) +
                         R"(</button>.*?<td data-col="distinct_paths" class="num">1<)"
                         R"(.*?<td data-col="top_path"><button class="val"[^>]*>/</button>)"
                         R"(.*?<td data-col="user_agent"><button class="val"[^>]*>)" +
                         Agent(i) + "<");
    EXPECT_TRUE(std::regex_search(html, row)) << Client(i) << "\nsee " << dom_file;
  }
  // The chart's legend: each decision and 4xx/5xx by name, with its last step's value.
  for (const char* label : {"passed", "blocked: blacklist", "blocked: country", "blocked: autoban",
                            "limited", "challenged", "dry run", "4xx responses", "5xx responses"}) {
    EXPECT_TRUE(
        std::regex_search(html, std::regex(std::string(R"(<li[^>]*data-series="[^"]+"[^>]*>.*?)") +
                                           label + R"([^<]*: \d+ in the last step</li>)")))
        << label << "\nsee " << dom_file;
  }
  // ... and the chart draws each stacked series and line with its own fill or dash.
  for (const char* series : {"pass", "blacklist", "limited", "4xx", "5xx"}) {
    EXPECT_NE(html.find(std::string("data-series=\"") + series + "\""), std::string::npos)
        << series << "\nsee " << dom_file;
  }
  EXPECT_NE(html.find("url(#pattern-blacklist)"), std::string::npos) << "see " << dom_file;
  EXPECT_NE(html.find(R"(<pattern id="pattern-limited")"), std::string::npos) << "see " << dom_file;
  EXPECT_NE(html.find("198.51.100.0/24"), std::string::npos);
  EXPECT_NE(html.find("scanner"), std::string::npos);
  EXPECT_NE(html.find("console-test"), std::string::npos);
  EXPECT_NE(html.find(R"(data-state="live")"), std::string::npos) << "see " << dom_file;
  // The jobs panel: the job, its last result and its failures in a row (at least the API's).
  EXPECT_NE(html.find("always-fails"), std::string::npos) << "see " << dom_file;
  std::smatch failures;
  ASSERT_TRUE(std::regex_search(html, failures,
                                std::regex(R"(<td data-col="failures" class="num">(\d+)<)")))
      << "see " << dom_file;
  EXPECT_GE(std::stoi(failures[1]), overview["jobs"][0]["failures"].get<int>());
  EXPECT_NE(html.find(R"(<td data-col="result">failed<)"), std::string::npos) << "see " << dom_file;
  // The nodes panel: the nginx node with its role and its blacklist as current as Redis's.
  EXPECT_TRUE(std::regex_search(
      html, std::regex(R"(id="nodes-table".*?>edge-ui</button>.*?>nginx</button>.*?)"
                       R"(<td data-col="blacklist_seq" class="num">)" +
                       std::to_string(overview["blacklist"]["seq"].get<long long>()) +
                       R"( \(current\)<)")))
      << "see " << dom_file;
  // The rate-limit zones: the sum over the nodes and the node's own row, 30 passed.
  EXPECT_TRUE(
      std::regex_search(html, std::regex(R"(id="limits-table".*?>api</button>.*?>all 1 node</button>.*?)"
                                         R"(<td data-col="passed" class="num">30<)")))
      << "see " << dom_file;
  EXPECT_TRUE(std::regex_search(
      html, std::regex(R"(id="limits-table".*?>edge-ui</button>.*?>local</button>.*?)"
                       R"(<td data-col="passed" class="num">30<.*?)"
                       R"(<td data-col="rejected" class="num">0<)")))
      << "see " << dom_file;
  // The ban reached the one node.
  EXPECT_TRUE(std::regex_search(
      html, std::regex(R"(id="bans-table".*?<td data-col="nodes_reached" class="num">1/1 nodes)")))
      << "see " << dom_file;

  const std::string png = OutputDir() + "/console.png";
  std::filesystem::remove(png);
  RunResult shot = ChromiumScreenshot(daemon.url("/?live=0"), png);
  ASSERT_EQ(shot.exit_code, 0) << shot.err;
  ASSERT_TRUE(std::filesystem::exists(png)) << shot.err;
  EXPECT_GT(std::filesystem::file_size(png), 10000u);
  // And in a phone-sized window: the panels stack in one column.
  const std::string narrow = OutputDir() + "/console-narrow.png";
  std::filesystem::remove(narrow);
  shot = ChromiumScreenshot(daemon.url("/?live=0"), narrow, 420, 2400);
  ASSERT_EQ(shot.exit_code, 0) << shot.err;
  EXPECT_TRUE(std::filesystem::exists(narrow)) << shot.err;
  std::cout << "screenshots: " << png << " " << narrow << "\n";
}

}  // namespace
}  // namespace warden::test
