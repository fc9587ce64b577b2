#include "support/fake_source.h"

#include <httplib.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace warden::test {

namespace {

void Drop(httplib::Response& res, const std::string& body) {
  // Announce the whole body, send half, then fail: the client sees a cut transfer.
  res.set_content_provider(body.size(), "application/json",
                           [body](size_t, size_t, httplib::DataSink& sink) {
                             sink.write(body.data(), body.size() / 2);
                             return false;
                           });
}

}  // namespace

FakeSource::FakeSource(int64_t records, double fault_rate, uint64_t seed, int slow_ms)
    : server_(std::make_unique<httplib::Server>()),
      records_(records),
      slow_ms_(slow_ms),
      faults_(fault_rate, seed) {
  server_->Get("/records", [this](const httplib::Request& req, httplib::Response& res) {
    ++requests_;
    const int64_t limit = req.has_param("limit") ? std::stoll(req.get_param_value("limit")) : 100;
    int64_t start = 0;
    const bool by_cursor = req.has_param("cursor");
    if (by_cursor) start = std::stoll(req.get_param_value("cursor"));
    if (req.has_param("offset")) start = std::stoll(req.get_param_value("offset"));
    static constexpr Fault kKinds[] = {Fault::kError, Fault::kDrop, Fault::kSlow, Fault::kTruncated,
                                       Fault::kDuplicate};
    const Fault fault = faults_.Pick(kKinds, 5);
    if (fault == Fault::kError) {
      res.status = 503;
      res.set_content("{\"error\":\"try later\"}", "application/json");
      return;
    }
    if (fault == Fault::kSlow) std::this_thread::sleep_for(std::chrono::milliseconds(slow_ms_));
    int64_t page_start = start;
    if (fault == Fault::kDuplicate && start > 0) page_start = std::max<int64_t>(0, start - limit);
    const int64_t total = records_;
    const int64_t page_end = std::min(page_start + limit, total);
    nlohmann::json records = nlohmann::json::array();
    for (int64_t id = page_start + 1; id <= page_end; ++id) {
      records.push_back({{"id", id}, {"name", "record-" + std::to_string(id)}, {"amount", id * 3}});
    }
    nlohmann::json body = {{"records", records}};
    if (fault == Fault::kDuplicate && start > 0) {
      body["next_cursor"] = by_cursor ? nlohmann::json(std::to_string(start)) : nullptr;
    } else {
      body["next_cursor"] =
          page_end < total ? nlohmann::json(std::to_string(page_end)) : nlohmann::json(nullptr);
    }
    std::string text = body.dump();
    if (fault == Fault::kTruncated) text = text.substr(0, text.size() / 2);
    if (fault == Fault::kDrop) {
      Drop(res, text);
      return;
    }
    res.set_content(text, "application/json");
  });
  server_->set_tcp_nodelay(true);
  port_ = server_->bind_to_any_port("127.0.0.1");
  if (port_ <= 0) throw std::runtime_error("FakeSource: cannot bind a loopback port");
  thread_ = std::thread([this] { server_->listen_after_bind(); });
}

FakeSource::~FakeSource() {
  server_->stop();
  thread_.join();
}

std::string FakeSource::url() const {
  return "http://127.0.0.1:" + std::to_string(port_) + "/records";
}

}  // namespace warden::test
