// `make bench` for warden_cache_serve: requests/s of a value warmed into Redis by
// `warden cache warm` and served by nginx, against the same JSON from the backend, in the same
// run on this machine (loopback only, bounded: --seconds x --rounds per path).
//
// The backend is the honest alternative to the cache: an application server that runs the
// same prepared query on MariaDB for every request and serializes the rows with the same code
// as the warmer (RowsToJson), so both paths return identical bytes. It is a C++ server
// (cpp-httplib, one MariaDB connection per thread) behind proxy_pass with upstream keepalive:
// a faster backend than most, so the ratio is on the conservative side. nginx serving the
// same bytes from a file is printed as the ceiling.
//
// One nginx worker on CPU 0, wrk on CPU 1; redis-server, mariadbd and the backend are not
// pinned (they share the two cores, as they would share a small host).
// cpp-httplib listens with a backlog of 5: nginx opening upstream connections in a burst
// would see SYNs dropped and retried a second later.
#define CPPHTTPLIB_LISTEN_BACKLOG 1024
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_support.h"
#include "storage/mysql/mysql_connection.h"
#include "storage/mysql/mysql_statement.h"
#include "storage/mysql/mysql_url.h"
#include "storage/mysql/rows_json.h"
#include "support/mariadb_server.h"
#include "support/nginx_server.h"
#include "support/poll_until.h"
#include "support/process.h"
#include "support/redis_server.h"
#include "support/temp_dir.h"
#include "support/warden_cli.h"

using namespace warden::test;
using warden::bench::Median;
using warden::bench::WrkRun;
using namespace std::chrono_literals;

namespace {

constexpr const char* kKey = "warden:cache:top-books";
constexpr const char* kSql =
    "SELECT id, name, price, rating, sales FROM product WHERE category = ? "
    "ORDER BY sales DESC LIMIT ?";

struct CacheBenchSettings {
  int seconds = 3;
  int rounds = 5;
  int connections = 32;
  long products = 100000;
  int limit = 20;
};

[[noreturn]] void Die(const std::string& why) {
  std::fprintf(stderr, "cache_serve_bench: %s\n", why.c_str());
  std::exit(1);
}

WrkRun WrkOnce(int port, const std::string& path, const CacheBenchSettings& s) {
  WrkRun w = warden::bench::RunWrk(port, path, s.connections, s.seconds);
  if (w.non_2xx) {
    std::fprintf(stderr, "warning: non-2xx responses on %s:\n%s\n", path.c_str(), w.output.c_str());
  }
  if (w.rps == 0) std::fprintf(stderr, "wrk failed: %s\n", w.output.c_str());
  return w;
}

// A run that could not even connect (seen on a loaded shared machine) is tried once more.
WrkRun Wrk(int port, const std::string& path, const CacheBenchSettings& s) {
  WrkRun w = WrkOnce(port, path, s);
  if (w.rps == 0) w = WrkOnce(port, path, s);
  return w;
}

// The application server: the query and the serializer of the warmer, per request.
class Backend {
 public:
  Backend(const std::string& mysql_url, int limit) : limit_(limit) {
    std::string error;
    auto url = warden::MysqlUrl::Parse(mysql_url, &error);
    if (!url) Die("bad MariaDB URL: " + error);
    url_ = *url;
    server_.Get("/top-books", [this](const httplib::Request&, httplib::Response& res) {
      try {
        res.set_content(Compute(), "application/json");
      } catch (const std::exception& e) {
        res.status = 500;
        res.set_content(e.what(), "text/plain");
      }
    });
    // A thread per connection (cpp-httplib's model): enough of them for nginx's upstream
    // keepalive connections, or idle kept-alive connections would hold every thread.
    server_.new_task_queue = [] { return new httplib::ThreadPool(kThreads); };
    // Small responses on kept-alive connections: Nagle plus delayed ACKs would add 40 ms.
    server_.set_tcp_nodelay(true);
    server_.set_keep_alive_max_count(100000);  // not a new connection every 5 requests
    port_ = server_.bind_to_any_port("127.0.0.1");
    if (port_ <= 0) Die("backend cannot listen");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~Backend() {
    server_.stop();
    thread_.join();
  }
  int port() const { return port_; }

  static constexpr int kThreads = 128;

  // As an application with a connection pool and a statement cache: one connection and one
  // prepared statement per thread, reused.
  std::string Compute() {
    thread_local std::unique_ptr<warden::MysqlConnection> conn;
    thread_local std::unique_ptr<warden::MysqlStatement> statement;
    if (!conn) {
      conn = std::make_unique<warden::MysqlConnection>(warden::MysqlConnection::Connect(url_));
      statement = std::make_unique<warden::MysqlStatement>(conn->Prepare(kSql));
    }
    warden::MysqlRows rows = statement->Query({"books", limit_});
    return warden::RowsToJson(rows).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }

 private:
  warden::MysqlUrl url_;
  int limit_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

long Metric(const NginxServer& nginx, const std::string& result) {
  std::string body = nginx.Get("/warden/metrics").body;
  std::smatch m;
  std::regex re("warden_cache_requests_total\\{result=\"" + result + "\"\\} (\\d+)");
  return std::regex_search(body, m, re) ? std::stol(m[1]) : -1;
}

}  // namespace

int main(int argc, char** argv) {
  CacheBenchSettings s;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--seconds") {
      s.seconds = std::stoi(v);
    } else if (k == "--rounds") {
      s.rounds = std::stoi(v);
    } else if (k == "--connections") {
      s.connections = std::stoi(v);
    } else if (k == "--products") {
      s.products = std::stol(v);
    } else if (k == "--limit") {
      s.limit = std::stoi(v);
    } else {
      Die("unknown option " + k);
    }
  }

  std::printf("== cache serving: %ld products in MariaDB, top %d books as JSON ==\n", s.products,
              s.limit);
  MariaDbServer db;
  RedisServer redis;
  db.Query(
      "CREATE TABLE product (id INT PRIMARY KEY, name VARCHAR(64), category VARCHAR(16), "
      "price DECIMAL(8,2), rating DOUBLE, sales BIGINT, KEY by_sales (category, sales))");
  static const char* kCategories[] = {"books", "home",  "garden", "toys",  "music",
                                      "games", "tools", "food",   "sport", "shoes"};
  for (long start = 1; start <= s.products; start += 1000) {
    std::string sql = "INSERT INTO product VALUES ";
    for (long id = start; id < start + 1000 && id <= s.products; ++id) {
      if (id != start) sql += ",";
      sql += "(" + std::to_string(id) + ",'product " + std::to_string(id) + "','" +
             kCategories[id % 10] + "'," + std::to_string(1 + id % 9000) + ".99," +
             std::to_string(1 + id % 5) + ".5," + std::to_string((id * 7919) % 1000003) + ")";
    }
    db.Query(sql);
  }

  db.Query("ANALYZE TABLE product");
  for (const auto& row : db.Query("EXPLAIN SELECT id, name, price, rating, sales FROM product "
                                  "WHERE category = 'books' ORDER BY sales DESC LIMIT " +
                                  std::to_string(s.limit))) {
    std::string line;
    for (const auto& v : row) line += (v ? *v : "NULL") + " ";
    std::printf("the backend's query plan (EXPLAIN): %s\n", line.c_str());
  }

  TempDir tmp("warden-cache-bench");
  std::string config =
      tmp.Write("warden.toml", std::string("[[cache]]\nname = \"top-books\"\nsql = \"") + kSql +
                                   "\"\nparams = [\"books\", " + std::to_string(s.limit) +
                                   "]\nkey = \"" + kKey + "\"\nttl = \"1h\"\n");
  RunResult warm = RunWarden(
      {.args = {"cache", "warm"}, .mysql = db.url(), .redis = redis.url(), .config = config});
  if (warm.exit_code != 0) Die("warden cache warm failed: " + warm.out + warm.err);
  std::string stored = redis.Command({"HGET", kKey, "body"}).str;

  Backend backend(db.url(), s.limit);
  tmp.Write("static.json", stored);

  NginxServer::Options o;
  o.workers = 1;
  o.main = "worker_cpu_affinity 01;\n";
  o.http = "warden_redis 127.0.0.1:" + std::to_string(redis.port()) +
           ";\n"
           "access_log off;\n"
           "upstream backend { server 127.0.0.1:" +
           std::to_string(backend.port()) +
           "; keepalive 64; keepalive_requests 100000; }\n"
           "server {\n  listen 127.0.0.1:@PORT@;\n"
           "  proxy_http_version 1.1;\n  proxy_set_header Connection \"\";\n"
           "  location = /cached { warden_cache_serve " +
           kKey +
           "; proxy_pass http://backend/top-books; }\n"
           "  location = /backend { proxy_pass http://backend/top-books; }\n"
           "  location = /static { default_type application/json; alias " +
           tmp.File("static.json") +
           "; }\n"
           "  location = /warden/metrics { warden_status; }\n"
           "}\n";
  NginxServer nginx(o);

  HttpReply cached;
  if (!PollUntil([&] { return (cached = nginx.Get("/cached")).headers.count("etag") > 0; }, 10s)) {
    Die("nginx does not serve the warmed value: " + std::to_string(cached.status) + "\n" +
        nginx.ErrorLog());
  }
  HttpReply from_backend = nginx.Get("/backend");
  if (from_backend.status != 200 || from_backend.body != cached.body ||
      nginx.Get("/static").body != cached.body) {
    Die("the paths do not return the same JSON:\n" + cached.body + "\n" + from_backend.body);
  }
  std::printf("%zu bytes of JSON, identical on every path\n", cached.body.size());

  std::printf(
      "\n== wrk -t1 -c%d on CPU 1, one nginx worker on CPU 0, %d s x %d rounds, "
      "alternating ==\n",
      s.connections, s.seconds, s.rounds);
  // Warm-up, not counted: the backend's threads open their MariaDB connections and statements.
  CacheBenchSettings warmup = s;
  warmup.seconds = 1;
  Wrk(nginx.port(), "/backend", warmup);
  Wrk(nginx.port(), "/cached", warmup);
  long hits_before = Metric(nginx, "hit");
  std::vector<double> cache_rps, backend_rps, static_rps, cache_p50, backend_p50, cache_p99,
      backend_p99, ratios;
  for (int r = 0; r < s.rounds; ++r) {
    WrkRun c, b, f;
    // Alternate the order, so drift in the machine's load hits every path alike.
    if (r % 2 == 0) {
      c = Wrk(nginx.port(), "/cached", s);
      b = Wrk(nginx.port(), "/backend", s);
      f = Wrk(nginx.port(), "/static", s);
    } else {
      f = Wrk(nginx.port(), "/static", s);
      b = Wrk(nginx.port(), "/backend", s);
      c = Wrk(nginx.port(), "/cached", s);
    }
    if (c.rps == 0 || b.rps == 0 || f.rps == 0) {
      std::printf("round %d: a wrk run failed twice, round left out\n", r + 1);
      continue;
    }
    cache_rps.push_back(c.rps);
    backend_rps.push_back(b.rps);
    static_rps.push_back(f.rps);
    cache_p50.push_back(c.p50_ms);
    backend_p50.push_back(b.p50_ms);
    cache_p99.push_back(c.p99_ms);
    backend_p99.push_back(b.p99_ms);
    ratios.push_back(b.rps > 0 ? c.rps / b.rps : 0);
    std::printf(
        "round %d: cached %.0f req/s, backend %.0f req/s, static file %.0f req/s, "
        "cached/backend %.2f\n",
        r + 1, c.rps, b.rps, f.rps, ratios.back());
  }
  if (ratios.empty()) Die("every round failed");
  long hits = Metric(nginx, "hit") - hits_before;
  long misses = Metric(nginx, "miss") + Metric(nginx, "error") + Metric(nginx, "malformed");
  std::printf("warden_cache_serve from redis : %8.0f req/s  p50 %.2f ms  p99 %.2f ms\n",
              Median(cache_rps), Median(cache_p50), Median(cache_p99));
  std::printf("backend (SQL per request)     : %8.0f req/s  p50 %.2f ms  p99 %.2f ms\n",
              Median(backend_rps), Median(backend_p50), Median(backend_p99));
  std::printf("nginx static file (ceiling)   : %8.0f req/s\n", Median(static_rps));
  std::printf("ratio cached/backend          : %.2f   (median of the rounds' ratios)\n",
              Median(ratios));
  std::printf("ratio cached/static file      : %.2f\n",
              Median(static_rps) > 0 ? Median(cache_rps) / Median(static_rps) : 0);
  std::printf("cache hits during the runs: %ld; misses, errors and malformed: %ld\n", hits, misses);
  return 0;
}
