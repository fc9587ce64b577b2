#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "scheduler/alert.h"
#include "base/logger.h"

namespace warden {

// Logs every alert and POSTs it as JSON to the job's webhook from a background thread, so the
// scheduler never waits on a slow receiver. Warden's body:
//   {"event":"failing","job":"sync-orders","node":"edge-1","failures":3,
//    "error":"HTTP 503 from http://b/ingest","text":"...","fire_time":"...","at":"..."}
// With alert_format = "slack", a Slack incoming-webhook body: {"text":"..."}.
// A delivery is tried 3 times (5 s timeout each); failures are logged, never fatal.
class WebhookAlerter : public AlertSink {
 public:
  explicit WebhookAlerter(Logger& logger);
  ~WebhookAlerter() override;  // delivers what is queued (a few seconds at most), then stops
  WebhookAlerter(const WebhookAlerter&) = delete;
  WebhookAlerter& operator=(const WebhookAlerter&) = delete;

  void Send(const JobSpec& job, const AlertEvent& event) override;

  static std::string Body(const AlertEvent& event, bool slack);

 private:
  struct Delivery {
    std::string url;
    std::string body;
    std::string job;
  };
  void Work();

  Logger& logger_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Delivery> queue_;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace warden
