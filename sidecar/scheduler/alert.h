#pragma once

#include <cstdint>
#include <string>

#include "scheduler/job_config.h"

namespace warden {

// Something a person should hear about.
struct AlertEvent {
  enum class Kind {
    kFailing,    // after_failures consecutive failures (once per streak, fleet-wide)
    kDeadline,   // a run is still going after its deadline
    kRecovered,  // the first success after a kFailing alert
  };
  Kind kind = Kind::kFailing;
  std::string job;
  std::string node;
  int64_t failures = 0;  // kFailing: the streak
  std::string error;     // the last error
  int64_t fire_ms = 0;
  int64_t started_ms = 0;
  int64_t at_ms = 0;  // when it was raised

  static const char* KindName(Kind kind);
  // "job sync-orders failed 3 times in a row: HTTP 503 from ..." and the like.
  std::string Text() const;
};

// Where alerts go. Send must not block the caller for long.
class AlertSink {
 public:
  virtual ~AlertSink() = default;
  virtual void Send(const JobSpec& job, const AlertEvent& event) = 0;
};

}  // namespace warden
