#include "jobs/webhook_alerter.h"

#include <chrono>
#include <nlohmann/json.hpp>

#include "net/http_client.h"
#include "base/time_format.h"

namespace warden {

const char* AlertEvent::KindName(Kind kind) {
  switch (kind) {
    case Kind::kFailing:
      return "failing";
    case Kind::kDeadline:
      return "deadline";
    case Kind::kRecovered:
      break;
  }
  return "recovered";
}

std::string AlertEvent::Text() const {
  std::string text;
  switch (kind) {
    case Kind::kFailing:
      text = "warden job " + job + " failed " + std::to_string(failures) + " times in a row";
      if (!error.empty()) text += ": " + error;
      break;
    case Kind::kDeadline:
      text = "warden job " + job + " missed its deadline: " + error;
      break;
    case Kind::kRecovered:
      text = "warden job " + job + " recovered: the last run succeeded";
      break;
  }
  return text + " (node " + node + ")";
}

WebhookAlerter::WebhookAlerter(Logger& logger) : logger_(logger) {
  worker_ = std::thread([this] { Work(); });
}

WebhookAlerter::~WebhookAlerter() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  worker_.join();
}

std::string WebhookAlerter::Body(const AlertEvent& event, bool slack) {
  nlohmann::json body;
  if (slack) {
    body["text"] = event.Text();
  } else {
    body = {{"event", AlertEvent::KindName(event.kind)},
            {"job", event.job},
            {"node", event.node},
            {"text", event.Text()},
            {"at", FormatIsoUtcMs(event.at_ms)}};
    if (event.kind == AlertEvent::Kind::kFailing) body["failures"] = event.failures;
    if (!event.error.empty()) body["error"] = event.error;
    if (event.fire_ms > 0) body["fire_time"] = FormatIsoUtcMs(event.fire_ms);
    if (event.started_ms > 0) body["started"] = FormatIsoUtcMs(event.started_ms);
  }
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void WebhookAlerter::Send(const JobSpec& job, const AlertEvent& event) {
  nlohmann::json fields = {{"job", event.job}, {"event", AlertEvent::KindName(event.kind)}};
  if (event.kind == AlertEvent::Kind::kFailing) fields["failures"] = event.failures;
  if (!event.error.empty()) fields["error"] = event.error;
  if (event.kind == AlertEvent::Kind::kRecovered) {
    logger_.Info("alert: " + event.Text(), fields);
  } else {
    logger_.Error("alert: " + event.Text(), fields);
  }
  if (job.alert.webhook.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (queue_.size() >= 1000) queue_.pop_front();  // a dead receiver must not eat memory
    queue_.push_back({job.alert.webhook, Body(event, job.alert.slack), job.name});
  }
  cv_.notify_one();
}

void WebhookAlerter::Work() {
  std::unique_ptr<HttpClient> client;
  while (true) {
    Delivery delivery;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      delivery = std::move(queue_.front());
      queue_.pop_front();
    }
    std::string error;
    for (int attempt = 1; attempt <= 3; ++attempt) {
      try {
        if (!client) client = std::make_unique<HttpClient>();
        HttpClient::Request request;
        request.method = "POST";
        request.url = delivery.url;
        request.headers = {{"Content-Type", "application/json"}};
        request.body = delivery.body;
        request.connect_timeout_ms = 2000;
        request.timeout_ms = 5000;
        HttpResponse response = client->Send(request);
        if (response.status >= 200 && response.status < 300) {
          error.clear();
          break;
        }
        error = "HTTP " + std::to_string(response.status);
      } catch (const std::exception& e) {
        error = e.what();
      }
      bool stopping;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping = stopping_;
      }
      if (stopping) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(200 * attempt));
    }
    if (!error.empty()) {
      logger_.Warn("alert webhook failed", {{"job", delivery.job}, {"error", error}});
    }
  }
}

}  // namespace warden
