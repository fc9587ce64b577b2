#include "base/progress_printer.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "base/duration.h"

namespace warden {

ProgressPrinter::Mode ProgressPrinter::ForFd(int fd) {
  return ::isatty(fd) ? Mode::kBar : Mode::kJson;
}

std::string ProgressPrinter::Thousands(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return (n < 0 ? "-" : "") + out;
}

void ProgressPrinter::operator()(const nlohmann::json& event) {
  if (mode_ == Mode::kJson) {
    out_ << event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    out_.flush();
    return;
  }
  const std::string kind = event.value("event", "");
  if (kind == "chunk") {
    DrawBar(event);
  } else if (kind == "pause") {
    EndBar();
    err_ << "paused: " << event.value("reason", "") << '\n';
  } else if (kind == "rest") {
    EndBar();
    err_ << "resting " << event.value("rest_ms", int64_t{0}) << "ms: " << event.value("reason", "")
         << '\n';
  } else if (kind == "retry") {
    EndBar();
    err_ << "retrying a chunk: " << event.value("error", "") << '\n';
  } else if (kind == "created" || kind == "note" || kind == "lock_wait") {
    EndBar();
    err_ << event.value("message", "") << '\n';
  } else if (kind == "done") {
    EndBar();
  }
  err_.flush();
}

void ProgressPrinter::DrawBar(const nlohmann::json& event) {
  const int64_t now = clock_();
  const int64_t moved = event.value("done", event.value("moved", int64_t{0}));
  const int64_t total = event.value("total", int64_t{0});
  if (bar_open_ && now - last_draw_ms_ < 100 && moved < total) return;
  last_draw_ms_ = now;
  const double fraction = total > 0 ? std::min(1.0, static_cast<double>(moved) / total) : 1.0;
  constexpr int kWidth = 24;
  const int filled = static_cast<int>(fraction * kWidth);
  std::string bar = "[" + std::string(filled, '#') + std::string(kWidth - filled, '.') + "]";
  char percent[16];
  std::snprintf(percent, sizeof(percent), "%5.1f%%", fraction * 100);
  const int64_t rate = static_cast<int64_t>(event.value("rows_per_s", 0.0));
  const int64_t eta_s = static_cast<int64_t>(event.value("eta_s", 0.0));
  err_ << '\r' << bar << ' ' << percent << "  " << Thousands(moved) << '/' << Thousands(total)
       << "  " << Thousands(rate) << " rows/s  ETA " << FormatDuration(eta_s * 1000) << "   ";
  bar_open_ = true;
}

void ProgressPrinter::EndBar() {
  if (!bar_open_) return;
  err_ << '\n';
  bar_open_ = false;
}

}  // namespace warden
