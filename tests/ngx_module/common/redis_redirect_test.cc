// Reading an error reply: the redirects and retryable states of a cluster or a failover.
#include "common/redis_redirect.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace warden {
namespace {

using Kind = RedisRedirect::Kind;

TEST(RedisRedirect, MovedAndAsk) {
  RedisRedirect moved = RedisRedirect::Classify("MOVED 3999 127.0.0.1:6381");
  EXPECT_EQ(moved.kind, Kind::kMoved);
  EXPECT_EQ(moved.slot, 3999);
  EXPECT_EQ(moved.endpoint, (RedisNodeAddress{"127.0.0.1", 6381}));

  RedisRedirect ask = RedisRedirect::Classify("ASK 16383 redis-2.internal:7002");
  EXPECT_EQ(ask.kind, Kind::kAsk);
  EXPECT_EQ(ask.slot, 16383);
  EXPECT_EQ(ask.endpoint, (RedisNodeAddress{"redis-2.internal", 7002}));

  // Redis writes an IPv6 host without brackets; accept them too.
  EXPECT_EQ(RedisRedirect::Classify("MOVED 0 ::1:7000").endpoint, (RedisNodeAddress{"::1", 7000}));
  EXPECT_EQ(RedisRedirect::Classify("MOVED 0 [fd00::1]:7000").endpoint,
            (RedisNodeAddress{"fd00::1", 7000}));
  // Redis 7 with an unknown endpoint: an empty host, "the server you asked".
  RedisRedirect same = RedisRedirect::Classify("MOVED 12 :7001");
  EXPECT_EQ(same.kind, Kind::kMoved);
  EXPECT_EQ(same.endpoint, (RedisNodeAddress{"", 7001}));
  EXPECT_EQ(RedisRedirect::Classify("-MOVED 1 h:2").kind, Kind::kMoved);  // as on the wire
}

TEST(RedisRedirect, StatesToRetryOrFollow) {
  EXPECT_EQ(RedisRedirect::Classify("TRYAGAIN Multiple keys request during rehashing of slot").kind,
            Kind::kTryAgain);
  EXPECT_EQ(RedisRedirect::Classify("CLUSTERDOWN The cluster is down").kind, Kind::kClusterDown);
  EXPECT_EQ(RedisRedirect::Classify("CLUSTERDOWN Hash slot not served").kind, Kind::kClusterDown);
  EXPECT_EQ(RedisRedirect::Classify("READONLY You can't write against a read only replica.").kind,
            Kind::kReadOnly);
  EXPECT_EQ(RedisRedirect::Classify("LOADING Redis is loading the dataset in memory").kind,
            Kind::kLoading);
  EXPECT_EQ(RedisRedirect::Classify("MASTERDOWN Link with MASTER is down").kind, Kind::kMasterDown);
  EXPECT_EQ(RedisRedirect::Classify("NOSCRIPT No matching script. Please use EVAL.").kind,
            Kind::kNoScript);
  EXPECT_EQ(RedisRedirect::Classify("TRYAGAIN").kind, Kind::kTryAgain);
}

TEST(RedisRedirect, OtherErrorsAndMalformedRedirects) {
  for (std::string_view text : {"",
                                "-",
                                " ",
                                "ERR unknown command",
                                "WRONGTYPE Operation against a key",
                                "moved 1 h:2",
                                "MOVEDX 1 h:2",
                                "MOVED",
                                "MOVED ",
                                "MOVED 1",
                                "MOVED 1 h",
                                "MOVED 1 h:",
                                "MOVED 1 h:0",
                                "MOVED 1 h:65536",
                                "MOVED 16384 h:1",
                                "MOVED -1 h:1",
                                "MOVED x h:1",
                                "MOVED 1  h:1",
                                "MOVED 1 h:1 extra",
                                "MOVED 1 h 2:3",
                                "ASK 99999999999999999999 h:1",
                                "ASK 1 h:99999999999999999999",
                                "ASK 1 h:+1",
                                "ASK 1 h:1\r\n",
                                "READONLYX"}) {
    RedisRedirect redirect = RedisRedirect::Classify(text);
    EXPECT_EQ(redirect.kind, Kind::kOther) << "\"" << text << "\"";
    EXPECT_EQ(redirect.slot, -1) << text;
    EXPECT_EQ(redirect.endpoint, RedisNodeAddress{}) << text;
  }
}

// Random bytes and random damage to valid replies: never a crash (run under ASan/UBSan too),
// and a MOVED or ASK only with a slot and port in range.
TEST(RedisRedirect, GarbageNeverCrashes) {
  std::mt19937 random(20261207);
  const std::string seeds[] = {"MOVED 3999 127.0.0.1:6381", "ASK 1 [::1]:7000", "MOVED 12 :7001",
                               "TRYAGAIN", "CLUSTERDOWN x"};
  for (int round = 0; round < 20000; ++round) {
    std::string text;
    if (round % 2 == 0) {
      text.resize(random() % 40);
      for (char& c : text) c = static_cast<char>(random() % 256);
    } else {
      text = seeds[random() % std::size(seeds)];
      for (int edit = 0, edits = 1 + random() % 4; edit < edits && !text.empty(); ++edit) {
        size_t at = random() % text.size();
        switch (random() % 3) {
          case 0:
            text[at] = static_cast<char>(random() % 256);
            break;
          case 1:
            text.erase(at, 1 + random() % 3);
            break;
          default:
            text.insert(at, 1, " :0123456789{}[]"[random() % 16]);
            break;
        }
      }
    }
    RedisRedirect redirect = RedisRedirect::Classify(text);
    if (redirect.kind == Kind::kMoved || redirect.kind == Kind::kAsk) {
      EXPECT_GE(redirect.slot, 0) << text;
      EXPECT_LT(redirect.slot, 16384) << text;
      EXPECT_GE(redirect.endpoint.port, 1) << text;
      EXPECT_LE(redirect.endpoint.port, 65535) << text;
    } else {
      EXPECT_EQ(redirect.slot, -1) << text;
    }
  }
}

}  // namespace
}  // namespace warden
