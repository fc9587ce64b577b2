#include "base/duration.h"

#include <gtest/gtest.h>

namespace warden {
namespace {

int64_t Ms(std::string_view text) {
  std::string error;
  auto ms = ParseDurationMs(text, &error);
  EXPECT_TRUE(ms.has_value()) << text << ": " << error;
  return ms.value_or(-1);
}

TEST(ParseDurationMs, Units) {
  EXPECT_EQ(Ms("500ms"), 500);
  EXPECT_EQ(Ms("30s"), 30'000);
  EXPECT_EQ(Ms("10m"), 600'000);
  EXPECT_EQ(Ms("1h"), 3'600'000);
  EXPECT_EQ(Ms("7d"), int64_t{7} * 86'400'000);
  EXPECT_EQ(Ms("2w"), int64_t{14} * 86'400'000);
}

TEST(ParseDurationMs, Combined) {
  EXPECT_EQ(Ms("1h30m"), 5'400'000);
  EXPECT_EQ(Ms("1d2h3m4s"), ((24 + 2) * 3600 + 3 * 60 + 4) * int64_t{1000});
  EXPECT_EQ(Ms("1m500ms"), 60'500);
}

TEST(ParseDurationMs, BareNumberIsSeconds) {
  EXPECT_EQ(Ms("3600"), 3'600'000);
  EXPECT_EQ(Ms("0"), 0);
}

TEST(ParseDurationMs, Rejects) {
  for (const char* bad : {"", "h", "1x", "1.5h", "-1h", "1h 30m", " 1h", "1hh", "m1", "10 s",
                          "99999999999999999999s", "1000000000d"}) {
    std::string error;
    EXPECT_FALSE(ParseDurationMs(bad, &error).has_value()) << bad;
    EXPECT_FALSE(error.empty()) << bad;
    EXPECT_EQ(error.find('\n'), std::string::npos);
  }
}

TEST(ParseTtlMs, PermanentForms) {
  for (const char* permanent : {"", "0", "never", "permanent"}) {
    std::string error;
    EXPECT_EQ(ParseTtlMs(permanent, &error), 0) << permanent;
  }
}

TEST(ParseTtlMs, DurationsAndErrors) {
  std::string error;
  EXPECT_EQ(ParseTtlMs("1h", &error), 3'600'000);
  EXPECT_FALSE(ParseTtlMs("500ms", &error).has_value());
  EXPECT_NE(error.find("shorter than one second"), std::string::npos);
  EXPECT_FALSE(ParseTtlMs("forever", &error).has_value());
  EXPECT_NE(error.find("bad TTL \"forever\""), std::string::npos) << error;
}

TEST(FormatDuration, Compact) {
  EXPECT_EQ(FormatDuration(0), "0s");
  EXPECT_EQ(FormatDuration(250), "250ms");
  EXPECT_EQ(FormatDuration(1000), "1s");
  EXPECT_EQ(FormatDuration(1001), "2s");  // rounds up: still banned for part of a second
  EXPECT_EQ(FormatDuration((59 * 60 + 12) * 1000), "59m12s");
  EXPECT_EQ(FormatDuration(3'600'000), "1h");
  EXPECT_EQ(FormatDuration(5'400'000), "1h30m");
  EXPECT_EQ(FormatDuration(int64_t{7} * 86'400'000), "7d");
  EXPECT_EQ(FormatDuration((86400 + 5) * int64_t{1000}), "1d5s");
}

TEST(FormatDuration, RoundTrips) {
  for (const char* text : {"1s", "59m12s", "1h30m", "7d", "1d2h3m4s"}) {
    EXPECT_EQ(FormatDuration(Ms(text)), text);
  }
}

}  // namespace
}  // namespace warden
