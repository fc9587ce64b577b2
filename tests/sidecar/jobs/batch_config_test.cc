// Unit tests of the pieces of members, cache and dedupe that need no server: config parsing,
// identifiers, throttle specs, XFetch, ETags and rows as JSON.

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "base/errors.h"
#include "cache/cache_config.h"
#include "cache/cache_warmer.h"
#include "members/members_config.h"
#include "storage/mysql/rows_json.h"
#include "storage/mysql/sql_identifier.h"
#include "support/temp_dir.h"

namespace warden {
namespace {

TEST(SqlIdentifierTest, AcceptsPlainNamesOnly) {
  std::string error;
  EXPECT_TRUE(ValidSqlIdentifier("member", &error));
  EXPECT_TRUE(ValidSqlIdentifier("unconnected_member2", &error));
  EXPECT_TRUE(ValidSqlIdentifier("a$b", &error));
  EXPECT_FALSE(ValidSqlIdentifier("", &error));
  EXPECT_FALSE(ValidSqlIdentifier("123", &error));
  EXPECT_EQ(error, "\"123\" is a number, not a table or column name");
  EXPECT_FALSE(ValidSqlIdentifier("member`; DROP TABLE x", &error));
  EXPECT_FALSE(ValidSqlIdentifier("db.member", &error));
  EXPECT_FALSE(ValidSqlIdentifier(std::string(65, 'a'), &error));
  EXPECT_EQ(QuoteIdentifier("member"), "`member`");
  EXPECT_EQ(QuoteIdentifier("we`ird"), "`we``ird`");
}

TEST(ThrottleSettingsTest, ParsesSpecs) {
  std::string error;
  auto t = ThrottleSettings::Parse("threads_running=25,replica_lag=5s,sleep=10ms", &error);
  ASSERT_TRUE(t) << error;
  EXPECT_EQ(t->threads_running, 25);
  EXPECT_EQ(t->replica_lag_ms, 5000);
  EXPECT_EQ(t->sleep_ms, 10);
  EXPECT_TRUE(t->any());
  EXPECT_EQ(t->ToString(), "threads_running=25,replica_lag=5s,sleep=10ms");
  EXPECT_FALSE(ThrottleSettings::Parse("", &error)->any());
  EXPECT_EQ(ThrottleSettings::Parse("", &error)->checkpoint_age_pct, 75);
  t = ThrottleSettings::Parse("checkpoint_age=40%", &error);
  ASSERT_TRUE(t) << error;
  EXPECT_EQ(t->checkpoint_age_pct, 40);
  EXPECT_EQ(t->ToString(), "checkpoint_age=40%");
  EXPECT_EQ(ThrottleSettings::Parse("checkpoint_age=0", &error)->checkpoint_age_pct, 0);
  EXPECT_FALSE(ThrottleSettings::Parse("checkpoint_age=95%", &error));
  EXPECT_EQ(error,
            "bad throttle checkpoint_age=\"95%\": expected a percentage of the redo log, 0 "
            "(never) to 90%");
  EXPECT_FALSE(ThrottleSettings::Parse("checkpoint_age=%", &error));
  EXPECT_FALSE(ThrottleSettings::Parse("load=3", &error));
  EXPECT_EQ(error,
            "unknown throttle \"load\" (known: threads_running, replica_lag, sleep, check, "
            "checkpoint_age)");
  EXPECT_FALSE(ThrottleSettings::Parse("threads_running=-1", &error));
  EXPECT_FALSE(ThrottleSettings::Parse("sleep", &error));
  EXPECT_EQ(error, "bad throttle \"sleep\": expected NAME=VALUE");
  EXPECT_FALSE(ThrottleSettings::Parse("replica_lag=2h", &error));
}

TEST(MembersSettingsTest, DefaultsAndOverrides) {
  test::TempDir dir;
  MembersSettings defaults = MembersSettings::Load("");
  EXPECT_EQ(defaults.table, "member");
  EXPECT_EQ(defaults.archive_table, "unconnected_member");
  EXPECT_EQ(defaults.last_login_column, "last_login_time");
  EXPECT_EQ(defaults.inactive_for_ms, int64_t{365} * 86400 * 1000);

  MembersSettings s = MembersSettings::Load(dir.Write("w.toml", R"(
[members]
table = "users"
archive_table = "users_archive"
id_column = "user_id"
last_login_column = "last_seen"
inactive_for = "730d"
chunk = 500
chunk_time = "50ms"
throttle = "threads_running=40"
replicas = ["mysql://m:p@10.0.0.2/app"]
)"));
  EXPECT_EQ(s.table, "users");
  EXPECT_EQ(s.id_column, "user_id");
  EXPECT_EQ(s.chunk, 500);
  EXPECT_EQ(s.inactive_for_ms, int64_t{730} * 86400 * 1000);
  EXPECT_EQ(s.chunk_time_ms, 50);
  EXPECT_EQ(s.throttle.threads_running, 40);
  ASSERT_EQ(s.replicas.size(), 1u);
  EXPECT_EQ(s.replicas[0].host, "10.0.0.2");
}

TEST(MembersSettingsTest, ErrorsNameTheLineAndKey) {
  test::TempDir dir;
  auto error_of = [&](const std::string& text) {
    try {
      MembersSettings::Load(dir.Write("w.toml", text));
    } catch (const UsageError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string path = dir.File("w.toml");
  EXPECT_EQ(error_of("[members]\ntable = \"a b\"\n"),
            path +
                ":2: members: table: \"a b\" is not a plain table or column name (letters, "
                "digits, _ and $ only)");
  EXPECT_EQ(error_of("[members]\ninactive_for = \"soon\"\n")
                .rfind(path + ":2: members: inactive_for: bad duration", 0),
            0u);
  EXPECT_EQ(error_of("[members]\nchunk = 0\n"),
            path + ":2: members: chunk: 0 is out of range 1-1000000");
  EXPECT_EQ(error_of("[members]\nthrottle = \"x=1\"\n"),
            path +
                ":2: members: throttle: unknown throttle \"x\" (known: threads_running, "
                "replica_lag, sleep, check, checkpoint_age)");
  EXPECT_EQ(error_of("members = 3\n"), path + ": members: expected a table, got an integer");
}

TEST(CacheConfigTest, ParsesEntries) {
  test::TempDir dir;
  CacheConfig config = CacheConfig::Load(dir.Write("w.toml", R"(
[[cache]]
name = "top"
sql = "SELECT * FROM product WHERE category = ? AND price < ? AND active = ? LIMIT ?"
params = ["books", 9.5, true, 10]
key = "warden:cache:top"
ttl = "5m"
refresh = "*/30 * * * * *"
beta = 2

[[cache]]
name = "plain"
sql = "SELECT 1 AS one"
key = "k"
)"));
  ASSERT_EQ(config.entries.size(), 2u);
  const CacheSpec* top = config.Find("top");
  ASSERT_NE(top, nullptr);
  EXPECT_EQ(top->key, "warden:cache:top");
  EXPECT_EQ(top->ttl_ms, 300000);
  EXPECT_EQ(top->beta, 2.0);
  ASSERT_EQ(top->params.size(), 4u);
  EXPECT_EQ(std::get<std::string>(top->params[0].get()), "books");
  EXPECT_EQ(std::get<double>(top->params[1].get()), 9.5);
  EXPECT_EQ(std::get<int64_t>(top->params[2].get()), 1);
  EXPECT_EQ(config.Find("plain")->ttl_ms, 300000);
  EXPECT_EQ(config.Find("nope"), nullptr);
}

TEST(CacheConfigTest, RejectsMistakes) {
  test::TempDir dir;
  auto error_of = [&](const std::string& text) {
    try {
      CacheConfig::Load(dir.Write("w.toml", text));
    } catch (const UsageError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string path = dir.File("w.toml");
  EXPECT_EQ(error_of("[[cache]]\nname = \"a\"\nkey = \"k\"\n"),
            path + ":1: cache \"a\": sql: missing (required)");
  EXPECT_EQ(error_of("[[cache]]\nname = \"a\"\nsql = \"SELECT 1\"\nkey = \"k\"\nrefresh = \"x\"\n")
                .rfind(path + ":5: cache \"a\": refresh: ", 0),
            0u);
  EXPECT_EQ(error_of("[[cache]]\nname = \"a\"\nsql = \"SELECT 1\"\nkey = \"k k\"\n"),
            path + ":4: cache \"a\": key: must be 1-512 characters without spaces or controls");
  EXPECT_EQ(error_of("[[cache]]\nname = \"a\"\nsql = \"SELECT 1\"\nkey = \"k\"\n"
                     "[[cache]]\nname = \"a\"\nsql = \"SELECT 1\"\nkey = \"k\"\n"),
            path + ":6: cache[1]: name: \"a\" is defined twice");
  EXPECT_EQ(error_of("[[cache]]\nname = \"a\"\nsql = \"SELECT 1\"\nkey = \"k\"\ntll = 5\n"),
            path +
                ":5: cache \"a\": tll: unknown key (known: name, sql, params, key, ttl, "
                "refresh, beta, lock_ttl, max_rows)");
  EXPECT_EQ(error_of("cache = 1\n"), path + ": cache: expected [[cache]] tables, got an integer");
}

TEST(XFetchTest, RefreshesEarlierTheCloserTheExpiryAndTheSlowerTheQuery) {
  // u = 1: -ln(u) = 0, never early.
  EXPECT_FALSE(XFetchShouldRefresh(1000, 1.0, 1, 1.0));
  EXPECT_TRUE(XFetchShouldRefresh(1000, 1.0, 0, 1.0));
  EXPECT_TRUE(XFetchShouldRefresh(1000, 1.0, -2, 0.5));
  // delta * beta * -ln(u) >= ttl.
  EXPECT_TRUE(XFetchShouldRefresh(100, 1.0, 69, 0.5));  // 100 * 0.693 = 69.3
  EXPECT_FALSE(XFetchShouldRefresh(100, 1.0, 70, 0.5));
  EXPECT_TRUE(XFetchShouldRefresh(100, 2.0, 138, 0.5));  // beta > 1: earlier
  EXPECT_TRUE(XFetchShouldRefresh(1, 1.0, 500, 0.0));    // u = 0 is clamped: -ln(u) ~ 708
  EXPECT_FALSE(XFetchShouldRefresh(1, 1.0, 1000, 0.0));

  // The probability of an early refresh is exp(-ttl / (delta * beta)).
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  int early = 0;
  constexpr int kDraws = 20000;
  for (int i = 0; i < kDraws; ++i) early += XFetchShouldRefresh(100, 1.0, 100, 1.0 - uniform(rng));
  EXPECT_NEAR(early / static_cast<double>(kDraws), std::exp(-1.0), 0.02);
  early = 0;
  for (int i = 0; i < kDraws; ++i) early += XFetchShouldRefresh(100, 1.0, 1000, 1.0 - uniform(rng));
  EXPECT_LT(early, kDraws / 1000);  // far from expiry: practically never
}

TEST(StrongEtagTest, QuotedHexOfTheBody) {
  const std::string etag = StrongEtag("[]");
  EXPECT_EQ(etag, "\"4f53cda18c2baa0c0354bb5f9a3ecbe5\"");  // sha256("[]"), first 128 bits
  EXPECT_EQ(StrongEtag("[]"), etag);
  EXPECT_NE(StrongEtag("[1]"), etag);
}

TEST(RowsToJsonTest, NumbersStayNumbersAndNullStaysNull) {
  MysqlRows rows({"id", "name", "price", "ratio", "blob", "bytes", "missing"}, "SELECT ...");
  rows.set_kinds({MysqlColumnKind::kInteger, MysqlColumnKind::kText, MysqlColumnKind::kText,
                  MysqlColumnKind::kFloat, MysqlColumnKind::kBinary, MysqlColumnKind::kBinary,
                  MysqlColumnKind::kText});
  rows.Add({"18446744073709551615", "Émile", "9.99", "0.25", "text", std::string("\xff\x00\x01", 3),
            std::nullopt});
  rows.Add({"-3", "", "0.00", "1e300", "", "", "x"});
  nlohmann::json j = RowsToJson(rows);
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["id"], 18446744073709551615ull);
  EXPECT_EQ(j[0]["name"], "Émile");
  EXPECT_EQ(j[0]["price"], "9.99");
  EXPECT_EQ(j[0]["ratio"], 0.25);
  EXPECT_EQ(j[0]["blob"], "text");
  EXPECT_EQ(j[0]["bytes"], (nlohmann::json{{"base64", "/wAB"}}));
  EXPECT_EQ(j[0]["missing"], nullptr);
  EXPECT_EQ(j[1]["id"], -3);
  EXPECT_EQ(j[1]["ratio"], 1e300);
  EXPECT_EQ(RowsToJson(MysqlRows({"a"}, "")), nlohmann::json::array());
}

}  // namespace
}  // namespace warden
