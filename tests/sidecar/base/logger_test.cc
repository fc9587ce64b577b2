#include "base/logger.h"

#include <gtest/gtest.h>

#include <sstream>

namespace warden {
namespace {

constexpr int64_t kNow = 1'700'000'000'123;

TEST(Logger, TextLine) {
  std::ostringstream out;
  Logger logger(Logger::Format::kText, out, [] { return kNow; });
  logger.Info("purged expired bans", {{"count", 3}, {"error", "Connection refused"}});
  EXPECT_EQ(out.str(),
            "2023-11-14T22:13:20.123Z INFO purged expired bans count=3 "
            "error=\"Connection refused\"\n");
}

TEST(Logger, JsonLine) {
  std::ostringstream out;
  Logger logger(Logger::Format::kJson, out, [] { return kNow; });
  logger.Warn("redis unavailable", {{"redis", "127.0.0.1:6379"}});
  auto j = nlohmann::json::parse(out.str());
  EXPECT_EQ(j["time"], "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(j["level"], "warn");
  EXPECT_EQ(j["msg"], "redis unavailable");
  EXPECT_EQ(j["redis"], "127.0.0.1:6379");
}

TEST(Logger, ParseFormat) {
  Logger::Format format;
  EXPECT_TRUE(Logger::ParseFormat("json", &format));
  EXPECT_EQ(format, Logger::Format::kJson);
  EXPECT_TRUE(Logger::ParseFormat("text", &format));
  EXPECT_EQ(format, Logger::Format::kText);
  EXPECT_FALSE(Logger::ParseFormat("xml", &format));
}

}  // namespace
}  // namespace warden
