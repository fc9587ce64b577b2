#pragma once

#include <mutex>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string_view>

#include "common/clock.h"

namespace warden {

// Line-oriented logs for the daemon, one line per event, safe to call from several threads.
//   text: 2024-05-01T12:00:00.123Z INFO purged expired entries count=3
//   json: {"time":"2024-05-01T12:00:00.123Z","level":"info","msg":"purged expired
//   entries","count":3}
class Logger {
 public:
  enum class Format { kText, kJson };
  enum class Level { kDebug, kInfo, kWarn, kError };

  Logger(Format format, std::ostream& out, Clock clock = SystemNowMs)
      : format_(format), out_(out), clock_(std::move(clock)) {}

  // `fields` is a JSON object of extra key/value pairs (or null).
  void Log(Level level, std::string_view message, const nlohmann::json& fields = nullptr);
  void Info(std::string_view message, const nlohmann::json& fields = nullptr) {
    Log(Level::kInfo, message, fields);
  }
  void Warn(std::string_view message, const nlohmann::json& fields = nullptr) {
    Log(Level::kWarn, message, fields);
  }
  void Error(std::string_view message, const nlohmann::json& fields = nullptr) {
    Log(Level::kError, message, fields);
  }

  // "text" or "json"; false for anything else.
  static bool ParseFormat(std::string_view name, Format* format);

 private:
  Format format_;
  std::ostream& out_;
  Clock clock_;
  std::mutex mutex_;
};

}  // namespace warden
