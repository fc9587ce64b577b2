#include "base/logger.h"

#include "base/time_format.h"

namespace warden {

namespace {

const char* LevelName(Logger::Level level, bool upper) {
  switch (level) {
    case Logger::Level::kDebug:
      return upper ? "DEBUG" : "debug";
    case Logger::Level::kInfo:
      return upper ? "INFO" : "info";
    case Logger::Level::kWarn:
      return upper ? "WARN" : "warn";
    case Logger::Level::kError:
      break;
  }
  return upper ? "ERROR" : "error";
}

constexpr auto kReplace = nlohmann::json::error_handler_t::replace;

// Field values in text lines: strings bare unless they hold spaces or quotes, then JSON-quoted.
std::string TextValue(const nlohmann::json& value) {
  if (value.is_string()) {
    const std::string& s = value.get_ref<const std::string&>();
    if (!s.empty() && s.find_first_of(" \"=\n\t") == std::string::npos) return s;
  }
  return value.dump(-1, ' ', false, kReplace);
}

}  // namespace

bool Logger::ParseFormat(std::string_view name, Format* format) {
  if (name == "text") {
    *format = Format::kText;
  } else if (name == "json") {
    *format = Format::kJson;
  } else {
    return false;
  }
  return true;
}

void Logger::Log(Level level, std::string_view message, const nlohmann::json& fields) {
  const std::string time = FormatIsoUtcMs(clock_());
  std::string line;
  if (format_ == Format::kJson) {
    nlohmann::json j;
    j["time"] = time;
    j["level"] = LevelName(level, false);
    j["msg"] = message;
    if (fields.is_object()) {
      for (const auto& [key, value] : fields.items()) j[key] = value;
    }
    line = j.dump(-1, ' ', false, kReplace);
  } else {
    line = time + " " + LevelName(level, true) + " " + std::string(message);
    if (fields.is_object()) {
      for (const auto& [key, value] : fields.items()) line += " " + key + "=" + TextValue(value);
    }
  }
  std::lock_guard<std::mutex> lock(mutex_);
  out_ << line << '\n' << std::flush;
}

}  // namespace warden
