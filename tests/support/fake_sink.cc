#include "support/fake_sink.h"

#include <httplib.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace warden::test {

namespace {

void Drop(httplib::Response& res, const std::string& body) {
  res.set_content_provider(body.size(), "application/json",
                           [body](size_t, size_t, httplib::DataSink& sink) {
                             sink.write(body.data(), body.size() / 2);
                             return false;
                           });
}

std::string IdOf(const nlohmann::json& record) {
  const auto& id = record.at("id");
  return id.is_string() ? id.get<std::string>() : id.dump();
}

}  // namespace

FakeSink::FakeSink(double fault_rate, uint64_t seed, int slow_ms, int delay_ms)
    : server_(std::make_unique<httplib::Server>()),
      slow_ms_(slow_ms),
      delay_ms_(delay_ms),
      faults_(fault_rate, seed) {
  server_->Post("/ingest", [this](const httplib::Request& req, httplib::Response& res) {
    ++requests_;
    if (delay_ms_ > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms_));
    static constexpr Fault kKinds[] = {Fault::kError, Fault::kDrop, Fault::kSlow,
                                       Fault::kLostAnswer};
    const Fault fault = faults_.Pick(kKinds, 4);
    if (fault == Fault::kError) {
      res.status = 503;
      res.set_content("{\"error\":\"overloaded\"}", "application/json");
      return;
    }
    if (fault == Fault::kDrop) {
      Drop(res, "{\"error\":\"gone\"}");
      return;
    }
    // A slow answer still applies the chunk, later: the client has given up by then.
    if (fault == Fault::kSlow) std::this_thread::sleep_for(std::chrono::milliseconds(slow_ms_));
    const std::string key = req.get_header_value("Idempotency-Key");
    if (key.empty()) ++keyless_;
    nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.contains("records") || !body["records"].is_array()) {
      res.status = 400;
      res.set_content("{\"error\":\"bad body\"}", "application/json");
      return;
    }
    std::string answer;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!key.empty() && keys_.contains(key)) {
        ++replays_;
        answer = "{\"status\":\"duplicate\"}";
      } else {
        for (const auto& record : body["records"]) {
          if (poison_.contains(IdOf(record))) {
            res.status = 422;
            res.set_content("{\"error\":\"record " + IdOf(record) + " rejected\"}",
                            "application/json");
            return;
          }
        }
        for (const auto& record : body["records"]) ++applied_[IdOf(record)];
        if (!key.empty()) keys_.insert(key);
        answer = "{\"accepted\":" + std::to_string(body["records"].size()) + "}";
      }
    }
    if (fault == Fault::kLostAnswer) {
      Drop(res, answer);
      return;
    }
    res.set_content(answer, "application/json");
  });
  server_->set_tcp_nodelay(true);
  port_ = server_->bind_to_any_port("127.0.0.1");
  if (port_ <= 0) throw std::runtime_error("FakeSink: cannot bind a loopback port");
  thread_ = std::thread([this] { server_->listen_after_bind(); });
}

FakeSink::~FakeSink() {
  server_->stop();
  thread_.join();
}

std::string FakeSink::url() const {
  return "http://127.0.0.1:" + std::to_string(port_) + "/ingest";
}

void FakeSink::set_poison(std::set<std::string> ids) {
  std::lock_guard<std::mutex> lock(mutex_);
  poison_ = std::move(ids);
}

size_t FakeSink::unique() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return applied_.size();
}

size_t FakeSink::duplicates() const {
  std::lock_guard<std::mutex> lock(mutex_);
  size_t extra = 0;
  for (const auto& [id, n] : applied_) extra += n - 1;
  return extra;
}

size_t FakeSink::applied(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = applied_.find(id);
  return it == applied_.end() ? 0 : it->second;
}

}  // namespace warden::test
