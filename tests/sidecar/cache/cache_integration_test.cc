// `warden cache warm|show` against a real MariaDB and Redis: the stored format nginx serves,
// and stampede protection (many concurrent warmers and readers, one recomputation).

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/mariadb_server.h"
#include "support/process.h"
#include "support/redis_cluster.h"
#include "support/redis_server.h"
#include "support/server_suite.h"
#include "support/temp_dir.h"
#include "support/warden_cli.h"

namespace warden::test {
namespace {

using namespace std::chrono_literals;

class CacheTest : public MariaDbAndRedisSuite {
 protected:
  void SetUp() override {
    MariaDbAndRedisSuite::SetUp();
    db_->Query(
        "CREATE TABLE product (id INT PRIMARY KEY, name VARCHAR(64), category "
        "VARCHAR(16), price DECIMAL(8,2), rating DOUBLE, sales BIGINT, note TEXT NULL)");
    db_->Query(
        "INSERT INTO product VALUES (1, 'Dune', 'books', 9.99, 4.5, 300, NULL), "
        "(2, 'Emma', 'books', 5.50, 4.1, 500, 'classic'), "
        "(3, 'Lamp', 'home', 20.00, 3.9, 900, NULL), "
        "(4, '한국어 책', 'books', 12.00, 4.8, 100, 'utf-8')");
    // A query that counts its own executions and takes half a second.
    db_->Query("CREATE TABLE calls (id INT AUTO_INCREMENT PRIMARY KEY)");
    db_->Query(
        "CREATE FUNCTION slow_calls() RETURNS INT NOT DETERMINISTIC MODIFIES SQL DATA "
        "BEGIN INSERT INTO calls VALUES (NULL); DO SLEEP(0.5); "
        "RETURN (SELECT COUNT(*) FROM calls); END");
    config_ = tmp_.Write("warden.toml", R"(
[[cache]]
name = "top-books"
sql = "SELECT id, name, price, rating, sales, note FROM product WHERE category = ? ORDER BY sales DESC LIMIT ?"
params = ["books", 10]
key = "cache:top-books"
ttl = "5m"
refresh = "@every 1m"

[[cache]]
name = "slow"
sql = "SELECT slow_calls() AS calls, 'ok' AS status"
key = "cache:slow"
ttl = "10m"
lock_ttl = "10s"

[[cache]]
name = "broken"
sql = "SELECT * FROM no_such_table"
key = "cache:broken"
)");
  }

  WardenCommand Command(const std::vector<std::string>& args) {
    return {.args = args, .mysql = db_->url(), .redis = redis_->url(), .config = config_};
  }
  ProcessOptions WardenOptions(const std::vector<std::string>& args) {
    return WardenProcessOptions(Command(args));
  }
  RunResult Warden(const std::vector<std::string>& args) {
    return RunWarden(Command(args), std::nullopt, 60s);
  }
  std::string Field(const std::string& key, const std::string& field) {
    return redis_->Command({"HGET", key, field}).str;
  }
  int64_t Calls() { return std::stoll(*db_->Query("SELECT COUNT(*) FROM calls")[0][0]); }

  // Starts `n` processes of `args` at once and returns their results.
  std::vector<RunResult> Concurrently(int n, const std::vector<std::string>& args) {
    std::vector<Process> processes;
    for (int i = 0; i < n; ++i) processes.push_back(Process::Start(WardenOptions(args)));
    std::vector<RunResult> results;
    for (Process& p : processes) {
      RunResult r;
      r.exit_code = p.Wait(30s).value_or(-1);
      r.out = p.Stdout();
      r.err = p.Stderr();
      results.push_back(r);
    }
    return results;
  }
  TempDir tmp_{"warden-cache"};
  std::string config_;
};

TEST_F(CacheTest, WarmStoresTheFormatNginxServes) {
  const int64_t before_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
  RunResult r = Warden({"cache", "warm", "top-books", "--json"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  nlohmann::json result = nlohmann::json::parse(r.out);
  EXPECT_EQ(result["outcome"], "computed");
  EXPECT_EQ(result["rows"], 3);

  RedisValue type = redis_->Command({"TYPE", "cache:top-books"});
  EXPECT_EQ(type.str, "hash");
  nlohmann::json body = nlohmann::json::parse(Field("cache:top-books", "body"));
  ASSERT_EQ(body.size(), 3u);
  EXPECT_EQ(body[0], (nlohmann::json{{"id", 2},
                                     {"name", "Emma"},
                                     {"price", "5.50"},
                                     {"rating", 4.1},
                                     {"sales", 500},
                                     {"note", "classic"}}));
  EXPECT_EQ(body[1]["note"], nullptr);
  EXPECT_EQ(body[2]["name"], "한국어 책");
  const std::string etag = Field("cache:top-books", "etag");
  EXPECT_EQ(etag.size(), 34u) << etag;
  EXPECT_EQ(etag.front(), '"');
  EXPECT_EQ(etag.back(), '"');
  EXPECT_EQ(etag, result["etag"]);
  EXPECT_EQ(Field("cache:top-books", "content_type"), "application/json");
  const int64_t computed_at = std::stoll(Field("cache:top-books", "computed_at"));
  EXPECT_GE(computed_at, before_ms);
  EXPECT_LT(computed_at, before_ms + 10000);
  EXPECT_GE(std::stoll(Field("cache:top-books", "delta")), 1);
  const long long pttl = redis_->Command({"PTTL", "cache:top-books"}).integer;
  EXPECT_GT(pttl, 290000);
  EXPECT_LE(pttl, 300000);
  EXPECT_EQ(redis_->Command({"EXISTS", "cache:top-books:lock"}).integer, 0) << "lock released";

  // The same data gives the same ETag.
  r = Warden({"cache", "warm", "top-books", "--force"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_NE(r.out.find("top-books: computed in "), std::string::npos) << r.out;
  EXPECT_EQ(Field("cache:top-books", "etag"), etag);
  db_->Query("UPDATE product SET price = 6.00 WHERE id = 2");
  ASSERT_EQ(Warden({"cache", "warm", "top-books", "--force"}).exit_code, 0);
  EXPECT_NE(Field("cache:top-books", "etag"), etag);

  r = Warden({"cache", "show", "top-books", "--json"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  nlohmann::json shown = nlohmann::json::parse(r.out);
  EXPECT_EQ(shown["body"][0]["price"], "6.00");
  EXPECT_EQ(shown["etag"], Field("cache:top-books", "etag"));
  EXPECT_EQ(shown["rows"], 3);
  EXPECT_GT(shown["ttl_ms"].get<int64_t>(), 0);

  r = Warden({"cache", "show", "top-books"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_NE(r.out.find("etag:         \""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"name\": \"Emma\""), std::string::npos) << r.out;
}

TEST_F(CacheTest, AFreshValueIsNotRecomputed) {
  ASSERT_EQ(Warden({"cache", "warm", "slow"}).exit_code, 0);
  EXPECT_EQ(Calls(), 1);
  RunResult r = Warden({"cache", "warm", "slow"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_NE(r.out.find("slow: fresh, expires in "), std::string::npos) << r.out;
  EXPECT_EQ(Calls(), 1);
}

// Sixteen sidecars find the key missing at once: one computes, the others wait for its value.
TEST_F(CacheTest, StampedeOnAMissingKeyComputesOnce) {
  auto results = Concurrently(16, {"cache", "warm", "slow", "--json"});
  std::map<std::string, int> outcomes;
  for (const RunResult& r : results) {
    ASSERT_EQ(r.exit_code, 0) << Show(r);
    outcomes[nlohmann::json::parse(r.out)["outcome"].get<std::string>()]++;
  }
  EXPECT_EQ(Calls(), 1);
  EXPECT_EQ(outcomes["computed"], 1);
  EXPECT_EQ(outcomes["waited"] + outcomes["fresh"], 15);
  EXPECT_EQ(nlohmann::json::parse(Field("cache:slow", "body"))[0]["calls"], 1);
}

// The value is due (XFetch says refresh): one sidecar recomputes while the other warmers and
// every reader keep the old value.
TEST_F(CacheTest, StampedeOnAnExpiringKeyRecomputesOnceWhileReadersKeepTheOldValue) {
  ASSERT_EQ(Warden({"cache", "warm", "slow"}).exit_code, 0);
  const std::string old_etag = Field("cache:slow", "etag");
  // A huge compute time makes XFetch refresh now, whatever the random draw.
  redis_->Command({"HSET", "cache:slow", "delta", "100000000"});

  std::vector<Process> warmers;
  for (int i = 0; i < 12; ++i) {
    warmers.push_back(Process::Start(WardenOptions({"cache", "warm", "slow", "--json"})));
  }
  int readers_ok = 0;
  for (int i = 0; i < 8; ++i) {
    RunResult r = Warden({"cache", "show", "slow", "--json"});
    ASSERT_EQ(r.exit_code, 0) << Show(r);
    nlohmann::json shown = nlohmann::json::parse(r.out);
    readers_ok += shown["body"][0]["calls"].get<int>() >= 1;
  }
  std::map<std::string, int> outcomes;
  for (Process& p : warmers) {
    ASSERT_EQ(p.Wait(30s), 0) << p.Stderr();
    outcomes[nlohmann::json::parse(p.Stdout())["outcome"].get<std::string>()]++;
  }
  EXPECT_EQ(readers_ok, 8);
  EXPECT_EQ(Calls(), 2) << "one recomputation";
  EXPECT_EQ(outcomes["computed"], 1);
  // A warmer that the loaded machine starts only after the recompute (half a second) finds
  // the new value fresh; the others find the lock and keep the old one.
  EXPECT_GE(outcomes["locked"], 1);
  EXPECT_EQ(outcomes["locked"] + outcomes["fresh"], 11);
  EXPECT_EQ(nlohmann::json::parse(Field("cache:slow", "body"))[0]["calls"], 2);
  EXPECT_NE(Field("cache:slow", "etag"), old_etag);
}

TEST_F(CacheTest, WarmsEveryEntryAndReportsErrors) {
  // A failing query: exit 1, the lock given back, nothing stored.
  RunResult r = Warden({"cache", "warm", "broken"});
  EXPECT_EQ(r.exit_code, 1) << Show(r);
  EXPECT_NE(r.err.find("no_such_table"), std::string::npos) << r.err;
  EXPECT_EQ(redis_->Command({"EXISTS", "cache:broken", "cache:broken:lock"}).integer, 0);

  r = Warden({"cache", "warm", "nope"});
  EXPECT_EQ(r.exit_code, 2) << Show(r);
  EXPECT_EQ(r.err, "warden: no cache named \"nope\" in " + config_ +
                       " (known: top-books, slow, broken)\n");
  r = Warden({"cache", "show", "slow"});
  EXPECT_EQ(r.exit_code, 1) << Show(r);
  EXPECT_EQ(r.err,
            "warden: cache slow is not warm (no cache:slow in Redis): run warden cache "
            "warm slow\n");

  config_ = tmp_.Write("bad.toml",
                       "[[cache]]\nname = \"x\"\nsql = \"SELECT ?\"\nkey = \"k\"\n"
                       "params = [1, 2]\n");
  r = Warden({"cache", "warm"});
  EXPECT_EQ(r.exit_code, 2) << Show(r);
  EXPECT_NE(r.err.find("params: 2 values for 1 placeholders"), std::string::npos) << r.err;
  config_ = tmp_.Write("bad.toml",
                       "[[cache]]\nname = \"x\"\nsql = \"SELECT 1\"\nkey = \"k\"\n"
                       "ttl = \"0s\"\n");
  r = Warden({"cache", "warm"});
  EXPECT_EQ(r.exit_code, 2) << Show(r);
  EXPECT_NE(r.err.find("cache \"x\": ttl"), std::string::npos) << r.err;
}

// On a Redis Cluster the warm lock lives in the key's slot ({KEY}:lock), so the store and
// unlock scripts run there: a stampede still computes once, the value is where nginx reads
// it, and a key whose lock could not share its slot is refused with one line.
TEST_F(CacheTest, OnAClusterTheLockSharesTheKeysSlot) {
  RedisCluster cluster;
  auto warden = [&](const std::vector<std::string>& args) {
    return WardenCommand{
        .args = args, .mysql = db_->url(), .redis = cluster.url(), .config = config_};
  };
  std::vector<Process> warmers;
  for (int i = 0; i < 8; ++i) {
    warmers.push_back(
        Process::Start(WardenProcessOptions(warden({"cache", "warm", "slow", "--json"}))));
  }
  std::map<std::string, int> outcomes;
  for (Process& p : warmers) {
    ASSERT_EQ(p.Wait(30s).value_or(-1), 0) << p.Stderr();
    outcomes[nlohmann::json::parse(p.Stdout())["outcome"].get<std::string>()]++;
  }
  EXPECT_EQ(Calls(), 1);
  EXPECT_EQ(outcomes["computed"], 1);
  EXPECT_EQ(cluster.CommandFor("cache:slow", {"HGET", "cache:slow", "content_type"}).str,
            "application/json");
  EXPECT_EQ(cluster.CommandFor("{cache:slow}:lock", {"EXISTS", "{cache:slow}:lock"}).integer, 0)
      << "lock released";
  RunResult r = RunWarden(warden({"cache", "show", "slow", "--json"}));
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(nlohmann::json::parse(r.out)["body"][0]["calls"], 1);

  config_ = tmp_.Write("braces.toml",
                       "[[cache]]\nname = \"x\"\nsql = \"SELECT 1\"\n"
                       "key = \"page}home\"\n");
  r = RunWarden(warden({"cache", "warm", "x"}));
  EXPECT_EQ(r.exit_code, 2) << Show(r);
  EXPECT_NE(r.err.find("holds a '}' but no hash tag"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

}  // namespace
}  // namespace warden::test
