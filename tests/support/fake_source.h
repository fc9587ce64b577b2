#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "support/fault_plan.h"

namespace httplib {
class Server;
}

namespace warden::test {

// Service A for http_sync tests: a cpp-httplib server on a free loopback port serving
// `records` records (ids 1..N, {"id": i, "name": "record-i", "amount": i * 3}) by keyset
// cursor:
//   GET /records?cursor=C&limit=L  ->  {"records": [ids C+1 .. C+L], "next_cursor": "C+L"}
//   (next_cursor null on the last page), and by offset: GET /records?offset=O&limit=L.
// With a fault rate, requests fail with 503, a cut connection, a slow answer (slow_ms),
// truncated JSON or a duplicated page (the previous page, next_cursor unchanged).
class FakeSource {
 public:
  FakeSource(int64_t records, double fault_rate = 0, uint64_t seed = 1, int slow_ms = 400);
  ~FakeSource();

  std::string url() const;  // http://127.0.0.1:PORT/records
  void set_fault_rate(double rate) { faults_.set_rate(rate); }
  void set_records(int64_t n) { records_ = n; }
  uint64_t requests() const { return requests_; }
  uint64_t faults() { return faults_.injected(); }

 private:
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<int64_t> records_;
  int slow_ms_;
  FaultPlan faults_;
  std::atomic<uint64_t> requests_{0};
};

}  // namespace warden::test
