// `warden` against a real redis-server: what an operator sees, and what lands in Redis.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>

#include "support/free_port.h"
#include "support/poll_until.h"
#include "support/warden_fixture.h"

namespace warden::test {
namespace {

using nlohmann::json;

json ListJson(WardenTest& t, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args = {"list", "--json"};
  args.insert(args.end(), extra.begin(), extra.end());
  RunResult r = t.Warden(args);
  EXPECT_EQ(r.exit_code, 0) << Show(r);
  return json::parse(r.out);
}

size_t Lines(const std::string& text) { return std::count(text.begin(), text.end(), '\n'); }

class CliTest : public WardenTest {};

TEST_F(CliTest, BanThenListShowsReasonAndTtl) {
  RunResult r = Warden({"ban", "203.0.113.7", "--ttl", "1h", "--reason", "credential stuffing"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(r.out, "banned 203.0.113.7 for 1h: credential stuffing\n");

  json list = ListJson(*this);
  ASSERT_EQ(list.size(), 1u) << list;
  EXPECT_EQ(list[0]["entry"], "203.0.113.7");
  EXPECT_EQ(list[0]["source"], "manual");
  EXPECT_EQ(list[0]["reason"], "credential stuffing");
  EXPECT_GE(list[0]["ttl_seconds"].get<int>(), 3590);
  EXPECT_LE(list[0]["ttl_seconds"].get<int>(), 3600);
  EXPECT_TRUE(list[0]["expires_at"].is_string());
  EXPECT_EQ(list[0]["added_by"].get<std::string>().rfind("cli:", 0), 0u);

  r = Warden({"list"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(r.out.rfind("ENTRY", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("203.0.113.7"), std::string::npos);
  EXPECT_NE(r.out.find("credential stuffing"), std::string::npos);
}

TEST_F(CliTest, PermanentBanAndReplacement) {
  ASSERT_EQ(Warden({"ban", "198.51.100.1", "--ttl", "10m"}).exit_code, 0);
  RunResult r = Warden({"ban", "198.51.100.1"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(r.out, "banned 198.51.100.1 permanently (replaced an existing ban)\n");
  json list = ListJson(*this);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_TRUE(list[0]["ttl_seconds"].is_null());
  EXPECT_TRUE(list[0]["expires_at"].is_null());
  EXPECT_EQ(Redis({"ZCARD", "warden:bl:expiry"}).integer, 0);
}

TEST_F(CliTest, BanWritesAStreamEntryWithSequenceNumber) {
  ASSERT_EQ(Warden({"ban", "192.0.2.1", "192.0.2.2"}).exit_code, 0);
  EXPECT_EQ(Redis({"GET", "warden:bl:seq"}).str, "2");
  RedisValue epoch = Redis({"GET", "warden:bl:epoch"});
  EXPECT_EQ(epoch.str.size(), 32u);

  RedisValue log = Redis({"XRANGE", "warden:bl:log", "-", "+"});
  ASSERT_EQ(log.elements.size(), 2u);
  const auto& fields = log.elements[1].elements[1].elements;  // [id, [k, v, ...]]
  ASSERT_EQ(fields.size(), 8u);
  EXPECT_EQ(fields[0].str, "seq");
  EXPECT_EQ(fields[1].str, "2");
  EXPECT_EQ(fields[3].str, "add");
  EXPECT_EQ(fields[5].str, "192.0.2.2");
  EXPECT_EQ(fields[7].str.rfind("v1\t0\t", 0), 0u) << fields[7].str;

  // The epoch is only set once.
  ASSERT_EQ(Warden({"ban", "192.0.2.3"}).exit_code, 0);
  EXPECT_EQ(Redis({"GET", "warden:bl:epoch"}).str, epoch.str);
}

TEST_F(CliTest, Unban) {
  ASSERT_EQ(Warden({"ban", "192.0.2.10", "10.0.0.0/8"}).exit_code, 0);
  RunResult r = Warden({"unban", "192.0.2.10", "192.0.2.99"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(r.out, "unbanned 192.0.2.10\n192.0.2.99: not on the blacklist\n");
  EXPECT_FALSE(OnList("192.0.2.10"));
  EXPECT_TRUE(OnList("10.0.0.0/8"));
  // The deletion is streamed; the no-op is not.
  EXPECT_EQ(Redis({"XLEN", "warden:bl:log"}).integer, 3);
  EXPECT_EQ(Redis({"GET", "warden:bl:seq"}).str, "3");
}

TEST_F(CliTest, UnbanFromFile) {
  ASSERT_EQ(Warden({"ban", "192.0.2.1", "192.0.2.2", "192.0.2.3"}).exit_code, 0);
  RunResult r = Warden({"unban", "--file", "-"}, "192.0.2.1\n192.0.2.2 # gone\n198.51.100.9\n");
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(r.out, "unbanned 2 entries from <stdin> (1 were not on the blacklist)\n");
  EXPECT_EQ(HashLen(), 1);
}

TEST_F(CliTest, CidrCanonicalisation) {
  RunResult r = Warden({"ban", "10.0.0.0/8", "192.0.2.5/32", "::ffff:198.51.100.4",
                        "2001:DB8:0:0::/32", "2001:db8:1::1/128"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  for (const char* canonical :
       {"10.0.0.0/8", "192.0.2.5", "198.51.100.4", "2001:db8::/32", "2001:db8:1::1"}) {
    EXPECT_TRUE(OnList(canonical)) << canonical;
  }
  EXPECT_EQ(HashLen(), 5);

  r = Warden({"ban", "10.1.2.3/8"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "warden: \"10.1.2.3/8\" has host bits set; did you mean 10.0.0.0/8?\n");
  // Unban finds the entry whichever way it is written.
  r = Warden({"unban", "2001:0db8::/32", "192.0.2.5/32"});
  EXPECT_EQ(r.out, "unbanned 2001:db8::/32\nunbanned 192.0.2.5\n") << Show(r);
}

TEST_F(CliTest, Ipv6ListedAndExported) {
  ASSERT_EQ(Warden({"ban", "2001:db8::/48", "--reason", "v6 block"}).exit_code, 0);
  json list = ListJson(*this);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["entry"], "2001:db8::/48");
  RunResult r = Warden({"export", "--format", "plain"});
  EXPECT_EQ(r.out, "2001:db8::/48\n");
}

TEST_F(CliTest, ListFiltersAndLimits) {
  ASSERT_EQ(Warden({"ban", "192.0.2.1", "192.0.2.2", "192.0.2.3"}).exit_code, 0);
  ASSERT_EQ(Warden({"ban", "--file", "-"}, "198.51.100.1\n").exit_code, 0);
  json feed = ListJson(*this, {"--source", "feed"});
  ASSERT_EQ(feed.size(), 1u);
  EXPECT_EQ(feed[0]["entry"], "198.51.100.1");
  EXPECT_EQ(feed[0]["source"], "feed");
  EXPECT_EQ(ListJson(*this, {"--source", "manual"}).size(), 3u);
  EXPECT_EQ(ListJson(*this, {"--source", "autoban"}).size(), 0u);
  json limited = ListJson(*this, {"--limit", "2"});
  ASSERT_EQ(limited.size(), 2u);
  EXPECT_EQ(limited[0]["entry"], "192.0.2.1");  // sorted by address
}

TEST_F(CliTest, FileImportIsStrictByDefault) {
  std::string list = tmp_.Write("feed.txt",
                                "; Spamhaus-style header\n"
                                "192.0.2.0/24 ; SBL1\n"
                                "not-an-address\n"
                                "198.51.100.7 # note\n"
                                "203.0.113.9/24\n");
  RunResult r = Warden({"ban", "--file", list});
  EXPECT_EQ(r.exit_code, 2) << Show(r);
  EXPECT_NE(r.err.find(list + ":3: \"not-an-address\" is not an IP address or CIDR range\n"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find(list + ":5: \"203.0.113.9/24\" has host bits set; did you mean "
                              "203.0.113.0/24?\n"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("nothing was changed"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(Redis({"EXISTS", "warden:bl:entries", "warden:bl:log", "warden:bl:seq"}).integer, 0);
}

TEST_F(CliTest, FileImportShowsTwentyProblemsThenACount) {
  std::string text;
  for (int i = 0; i < 25; ++i) text += "bad" + std::to_string(i) + "\n";
  RunResult r = Warden({"ban", "--file", "-"}, text);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(Lines(r.err), 22u) << r.err;  // 20 problems, "... and 5 more", the summary
  EXPECT_NE(r.err.find("... and 5 more invalid lines"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("<stdin>:1: "), std::string::npos) << r.err;
}

TEST_F(CliTest, SkipInvalidImportsTheValidLines) {
  RunResult r = Warden({"ban", "--file", "-", "--skip-invalid", "--ttl", "1d", "--reason", "feed"},
                       "192.0.2.1\nnope\n192.0.2.0/24\n192.0.2.1\n2001:db8::/32\n");
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_NE(r.err.find("<stdin>:2: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("skipped 1 invalid line"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.rfind("imported 3 entries (3 new) in ", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("1 repeated lines ignored"), std::string::npos) << r.out;
  EXPECT_EQ(HashLen(), 3);
  json list = ListJson(*this);
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0]["source"], "feed");
  EXPECT_EQ(list[0]["reason"], "feed");
}

TEST_F(CliTest, TenThousandLineImport) {
  std::string text = "# generated\n";
  for (int i = 0; i < 10000; ++i) {
    text += "10." + std::to_string(i / 256 % 256) + "." + std::to_string(i % 256) + "." +
            std::to_string(i / 65536 + 1) + (i % 3 == 0 ? " ; SBL\n" : "\n");
  }
  std::string list = tmp_.Write("big.txt", text);
  RunResult r = Warden({"ban", "--file", list, "--source", "manual"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(r.out.rfind("imported 10000 entries (10000 new) in ", 0), 0u) << r.out;
  EXPECT_EQ(HashLen(), 10000);
  EXPECT_EQ(Redis({"GET", "warden:bl:seq"}).str, "10000");
  EXPECT_EQ(Redis({"ZCARD", "warden:bl:expiry"}).integer, 0);

  // Importing again replaces, adds nothing new.
  r = Warden({"ban", "--file", list});
  EXPECT_EQ(r.out.rfind("imported 10000 entries (0 new) in ", 0), 0u) << r.out;
  EXPECT_EQ(HashLen(), 10000);
}

TEST_F(CliTest, ExportNginxFormat) {
  ASSERT_EQ(Warden({"ban", "192.0.2.1", "10.0.0.0/8", "2001:db8::/32"}).exit_code, 0);
  std::string out = tmp_.File("deny.conf");
  RunResult r = Warden({"export", "--format", "nginx", "--output", out});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  std::string text = ReadFile(out);
  std::istringstream lines(text);
  std::string header;
  std::getline(lines, header);
  EXPECT_EQ(header.rfind("# generated by warden at ", 0), 0u) << header;
  EXPECT_NE(header.find(", 3 entries"), std::string::npos) << header;
  std::string rest(std::istreambuf_iterator<char>(lines), {});
  EXPECT_EQ(rest, "deny 10.0.0.0/8;\ndeny 192.0.2.1;\ndeny 2001:db8::/32;\n");

  // Stdout by default; JSON parses.
  r = Warden({"export"});
  EXPECT_EQ(r.out.substr(r.out.find('\n') + 1), rest);
  r = Warden({"export", "--format", "json"});
  EXPECT_EQ(json::parse(r.out).size(), 3u);
}

// The fleet's allow list lives with the blacklist (source "allow", a v2 value): listed,
// exported as nginx's allow rules in the order nginx needs, left out of plain lists, not
// banned over by a feed, taken off by --remove only when it is an allow entry.
TEST_F(CliTest, AllowListedExportedAndNotBannedOverByAFeed) {
  ASSERT_EQ(Warden({"ban", "192.0.2.0/24"}).exit_code, 0);
  RunResult r = Warden({"allow", "192.0.2.7", "198.51.100.0/24", "--reason", "office"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(r.out,
            "allowed 192.0.2.7 permanently: office\nallowed 198.51.100.0/24 permanently: office\n");
  json allowed = ListJson(*this, {"--source", "allow"});
  ASSERT_EQ(allowed.size(), 2u) << allowed.dump();
  EXPECT_EQ(allowed[0]["source"], "allow");
  EXPECT_EQ(allowed[0]["reason"], "office");

  r = Warden({"export"});
  EXPECT_EQ(r.out.substr(r.out.find('\n') + 1),
            "allow 192.0.2.7;\ndeny 192.0.2.0/24;\nallow 198.51.100.0/24;\n");
  r = Warden({"export", "--format", "plain"});
  EXPECT_EQ(r.out, "192.0.2.0/24\n");

  // A feed's list does not ban over it; a person may.
  r = Warden({"ban", "--file", "-"}, "192.0.2.7\n203.0.113.9\n");
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(ListJson(*this, {"--source", "allow"}).size(), 2u);
  EXPECT_EQ(ListJson(*this, {"--source", "feed"}).size(), 1u);
  r = Warden({"ban", "198.51.100.0/24"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(ListJson(*this, {"--source", "allow"}).size(), 1u);
  // Allowing a banned address says it replaced the ban.
  r = Warden({"allow", "203.0.113.9", "--ttl", "1h"});
  EXPECT_EQ(r.out, "allowed 203.0.113.9 for 1h (replaced its ban)\n") << Show(r);

  r = Warden({"allow", "--remove", "192.0.2.7", "192.0.2.0/24"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(r.out, "removed 192.0.2.7 from the allow list\n192.0.2.0/24: not on the allow list\n");
  EXPECT_EQ(ListJson(*this, {"--source", "manual"}).size(), 2u);  // the /24 stays banned

  r = Warden({"allow"});
  EXPECT_EQ(r.exit_code, 2) << Show(r);
  r = Warden({"allow", "--remove", "192.0.2.7", "--ttl", "1h"});
  EXPECT_EQ(r.exit_code, 2) << Show(r);
  EXPECT_NE(r.err.find("allow --remove takes entries only"), std::string::npos) << Show(r);
}

TEST_F(CliTest, ExportToAnUnwritablePlaceFails) {
  RunResult r = Warden({"export", "--output", "/nonexistent-dir/deny.conf"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(Lines(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("/nonexistent-dir/deny.conf"), std::string::npos) << r.err;
}

TEST_F(CliTest, ExpiredEntriesAreNotListed) {
  ASSERT_EQ(Warden({"ban", "192.0.2.50", "--ttl", "1s"}).exit_code, 0);
  ASSERT_EQ(Warden({"ban", "192.0.2.51"}).exit_code, 0);
  EXPECT_EQ(ListJson(*this).size(), 2u);
  EXPECT_TRUE(PollUntil([&] { return ListJson(*this).size() == 1; }, std::chrono::seconds(4),
                        std::chrono::milliseconds(100)));
  json list = ListJson(*this);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["entry"], "192.0.2.51");
  EXPECT_EQ(Warden({"export", "--format", "plain"}).out, "192.0.2.51\n");
}

TEST_F(CliTest, BanPurgesExpiredEntriesOnTheWay) {
  ASSERT_EQ(Warden({"ban", "192.0.2.60", "--ttl", "1s"}).exit_code, 0);
  ASSERT_TRUE(PollUntil([&] { return ListJson(*this).empty(); }, std::chrono::seconds(4),
                        std::chrono::milliseconds(100)));
  EXPECT_TRUE(OnList("192.0.2.60"));  // expired, but nobody purged it yet
  ASSERT_EQ(Warden({"ban", "192.0.2.61"}).exit_code, 0);
  EXPECT_FALSE(OnList("192.0.2.60"));
}

TEST_F(CliTest, MalformedValuesAreSkippedWithAWarning) {
  ASSERT_EQ(Warden({"ban", "192.0.2.1", "--reason", "good"}).exit_code, 0);
  Redis({"HSET", "warden:bl:entries", "192.0.2.2", "garbage"});
  Redis({"HSET", "warden:bl:entries", "not-an-ip", "v1\t0\t0\tmanual\tx\ty"});
  Redis({"HSET", "warden:bl:entries", "192.0.2.3", "v1\tsoon\t0\tmanual\tx\ty"});
  RunResult r = Warden({"list", "--json"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(Lines(r.err), 3u) << r.err;
  EXPECT_NE(r.err.find("warden: skipping malformed entry \"192.0.2.2\""), std::string::npos);
  json list = json::parse(r.out);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["reason"], "good");

  r = Warden({"export"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("deny 192.0.2.1;"), std::string::npos);
}

TEST_F(CliTest, WrongKeyTypeIsAnErrorNotACrash) {
  Redis({"SET", "warden:bl:entries", "oops"});
  RunResult r = Warden({"list"});
  EXPECT_EQ(r.exit_code, 1) << Show(r);
  EXPECT_EQ(Lines(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("WRONGTYPE"), std::string::npos) << r.err;
  r = Warden({"ban", "192.0.2.1"});
  EXPECT_EQ(r.exit_code, 1) << Show(r);
}

TEST_F(CliTest, PrefixSeparatesInstallations) {
  ASSERT_EQ(Warden({"--prefix", "staging:", "ban", "192.0.2.1"}).exit_code, 0);
  EXPECT_EQ(Redis({"HLEN", "staging:bl:entries"}).integer, 1);
  EXPECT_EQ(HashLen(), 0);
  EXPECT_EQ(ListJson(*this).size(), 0u);
  EXPECT_EQ(ListJson(*this, {"--prefix", "staging:"}).size(), 1u);
}

TEST_F(CliTest, UnixSocketUrl) {
  RunResult r =
      test::Run(WardenOptions({"--redis", redis_->unix_url(), "ban", "192.0.2.1"}, false));
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_TRUE(OnList("192.0.2.1"));
}

TEST_F(CliTest, RedisFromEnvironmentAndFlagWins) {
  ProcessOptions options = WardenOptions({"ban", "192.0.2.1"}, false);
  options.env["WARDEN_REDIS"] = redis_->url();
  RunResult r = test::Run(options);
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_TRUE(OnList("192.0.2.1"));

  // A flag beats the variable (which points nowhere here).
  options = WardenOptions({"--redis", redis_->url(), "ban", "192.0.2.2"}, false);
  options.env["WARDEN_REDIS"] = "redis://127.0.0.1:" + std::to_string(FreePort());
  r = test::Run(options);
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_TRUE(OnList("192.0.2.2"));
}

TEST_F(CliTest, RedisFromConfigFile) {
  std::string config = tmp_.Write("warden.toml", "[redis]\nurl = \"" + redis_->url() +
                                                     "\"\nprefix = \"cfg:\"\ntimeout = \"1s\"\n");
  ProcessOptions options = WardenOptions({"--config", config, "ban", "192.0.2.1"}, false);
  RunResult r = test::Run(options);
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(Redis({"HLEN", "cfg:bl:entries"}).integer, 1);

  r = test::Run(WardenOptions({"config", "check", "--config", config}, false));
  EXPECT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(r.out, "config OK: " + config + "\n");

  std::string bad = tmp_.Write("bad.toml", "[redis]\nprefix = \"\"\n");
  r = test::Run(WardenOptions({"config", "check", "--config", bad}, false));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err,
            "warden: " + bad + ": redis.prefix: the key prefix must be 1 to 64 characters\n");
}

TEST_F(CliTest, RedisDownIsExitOneWithAClearMessage) {
  const std::string port = std::to_string(FreePort());
  RunResult r = test::Run(WardenOptions({"--redis", "redis://127.0.0.1:" + port, "list"}, false));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "warden: cannot connect to Redis at 127.0.0.1:" + port + ": Connection refused\n");
  r = test::Run(WardenOptions({"--redis", "redis://127.0.0.1:" + port, "ban", "192.0.2.1"}, false));
  EXPECT_EQ(r.exit_code, 1);
}

TEST_F(CliTest, CommandTimeoutIsExitOne) {
  Redis({"CLIENT", "PAUSE", "5000", "WRITE"});  // Redis holds writes (and scripts) for 5 s
  RunResult r = Warden({"--timeout", "200ms", "ban", "192.0.2.1"});
  Redis({"CLIENT", "UNPAUSE"});
  EXPECT_EQ(r.exit_code, 1) << Show(r);
  const std::string prefix =
      "warden: Redis at 127.0.0.1:" + std::to_string(redis_->port()) + " did not answer ";
  EXPECT_EQ(r.err.rfind(prefix, 0), 0u) << r.err;
  EXPECT_NE(r.err.find(" within 200ms\n"), std::string::npos) << r.err;
  EXPECT_EQ(Lines(r.err), 1u) << r.err;
}

TEST_F(CliTest, BadInputIsExitTwoWithOneLine) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"ban", "999.1.1.1"},
                                             {"ban", "192.0.2.0/33"},
                                             {"ban", "192.0.2.1", "--ttl", "1fortnight"},
                                             {"ban", "--nope"},
                                             {"--redis", "redis://host:notaport", "list"}}) {
    RunResult r = Warden(args);
    EXPECT_EQ(r.exit_code, 2) << Show(r);
    EXPECT_EQ(Lines(r.err), 1u) << Show(r);
    EXPECT_EQ(r.err.rfind("warden: ", 0), 0u) << Show(r);
  }
  EXPECT_EQ(HashLen(), 0);
}

TEST_F(CliTest, PasswordProtectedRedis) {
  RedisServer::Options options;
  options.password = "s3cret";
  RedisServer locked(options);
  RunResult r = test::Run(WardenOptions({"--redis", locked.url(), "ban", "192.0.2.1"}, false));
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(locked.Command({"HLEN", "warden:bl:entries"}).integer, 1);

  std::string wrong = "redis://:wrong@127.0.0.1:" + std::to_string(locked.port());
  r = test::Run(WardenOptions({"--redis", wrong, "list"}, false));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("refused the credentials"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("wrong"), std::string::npos) << "password leaked: " << r.err;
}

}  // namespace
}  // namespace warden::test
