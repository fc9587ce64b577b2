#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "support/fault_plan.h"

namespace httplib {
class Server;
}

namespace warden::test {

// Service B for http_sync tests: POST /ingest {"records": [...]} on a free loopback port. It
// honours Idempotency-Key as a real idempotent API does (a key seen before gets the stored
// answer and changes nothing), counts how often each record id was applied, refuses chunks
// that hold a "poison" id with 422, and with a fault rate fails requests with 503, a cut
// connection, a slow answer, or by applying the chunk and then cutting the connection.
class FakeSink {
 public:
  explicit FakeSink(double fault_rate = 0, uint64_t seed = 2, int slow_ms = 400, int delay_ms = 0);
  ~FakeSink();

  std::string url() const;  // http://127.0.0.1:PORT/ingest
  void set_fault_rate(double rate) { faults_.set_rate(rate); }
  void set_poison(std::set<std::string> ids);
  void set_delay_ms(int ms) { delay_ms_ = ms; }

  // Ids applied at least once, and the sum of extra applications (duplicates).
  size_t unique() const;
  size_t duplicates() const;
  size_t applied(const std::string& id) const;
  uint64_t requests() const { return requests_; }
  uint64_t replays() const { return replays_; }  // answered from the key store
  uint64_t faults() { return faults_.injected(); }
  // Requests without an Idempotency-Key.
  uint64_t keyless() const { return keyless_; }

 private:
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  int slow_ms_;
  std::atomic<int> delay_ms_;
  FaultPlan faults_;
  mutable std::mutex mutex_;
  std::map<std::string, size_t> applied_;
  std::set<std::string> keys_;
  std::set<std::string> poison_;
  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> replays_{0};
  std::atomic<uint64_t> keyless_{0};
};

}  // namespace warden::test
