#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace warden::test {

// A RESP proxy in front of a real redis-server that answers what no real server does: for each
// command a client sends, `fault` may return the raw bytes to answer instead (a reply of the
// wrong type, an array of the wrong length, nil elements, a huge bulk string, a reply cut
// short, an error such as READONLY or LOADING); an empty string forwards the command to Redis
// and its reply back. `close_after_fault` also closes the client's connection after a fault
// answer (needed after a reply cut short). Commands are read with hiredis's reader, so the
// proxy knows where each one ends. Loopback only, a thread per connection, stopped and joined
// by the destructor.
class FaultyRedis {
 public:
  using Fault = std::function<std::string(const std::vector<std::string>& command)>;

  FaultyRedis(int upstream_port, Fault fault, bool close_after_fault = false);
  ~FaultyRedis();
  FaultyRedis(const FaultyRedis&) = delete;
  FaultyRedis& operator=(const FaultyRedis&) = delete;

  int port() const { return port_; }
  // Replaces the fault (e.g. with one that forwards everything, to see the client recover).
  void SetFault(Fault fault);
  // Commands answered with a fault so far.
  int faults() const { return faults_; }

 private:
  void Accept();
  void Serve(int client);
  std::string FaultFor(const std::vector<std::string>& command);

  int upstream_port_;
  bool close_after_fault_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> faults_{0};
  std::mutex mutex_;
  Fault fault_;
  std::vector<int> clients_;
  std::thread acceptor_;
  std::vector<std::thread> servers_;
};

}  // namespace warden::test
