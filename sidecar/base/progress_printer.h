#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "common/clock.h"

namespace warden {

// Shows the events of a long batch (members migrate, dedupe): on a terminal a progress bar on
// stderr, redrawn at most ten times a second, with rate and ETA; otherwise one JSON object per
// line on stdout, for logs and scripts:
//   [#########...........]  45.0%  270,000/600,000  61,234 rows/s  ETA 5s
//   {"event":"chunk","rows":1200,"moved":270000,"total":600000,...}
// Chunk events carry "moved" (or "done") and "total" (rows), "rows_per_s" and "eta_s"; "pause"
// events a "reason"; "done" ends the bar.
class ProgressPrinter {
 public:
  enum class Mode { kBar, kJson };

  ProgressPrinter(Mode mode, std::ostream& out, std::ostream& err, Clock clock = SystemNowMs)
      : mode_(mode), out_(out), err_(err), clock_(std::move(clock)) {}

  void operator()(const nlohmann::json& event);

  // kBar when `fd` is a terminal, else kJson.
  static Mode ForFd(int fd);
  // "1,234,567".
  static std::string Thousands(int64_t n);

 private:
  void DrawBar(const nlohmann::json& event);
  void EndBar();

  Mode mode_;
  std::ostream& out_;
  std::ostream& err_;
  Clock clock_;
  int64_t last_draw_ms_ = 0;
  bool bar_open_ = false;
};

}  // namespace warden
