#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "common/clock.h"
#include "common/redis_node_address.h"
#include "common/sentinel_failover.h"

namespace warden {

// Follows a failover of the primary a worker uses before the Sentinels announce it. The
// Sentinels' leader sends the chosen replica REPLICAOF NO ONE, and announces +switch-master
// only after its next INFO of that replica (INFO once a second): about 0.8 s during which the
// replica already answers ROLE master. While a Sentinel reports the primary down, this says
// which of its replicas to ask ROLE and when, and decides from their answers with the rule of
// common/sentinel_failover.h (exactly one says master). No I/O: SentinelLocator asks.
//
// The candidates are the replicas the primary listed in its ROLE answer (known before it
// died), those a Sentinel lists (SENTINEL REPLICAS), or, once the failover's leader names the
// replica it is promoting (+failover-state-wait-promotion), that one alone.
class PromotionWatch {
 public:
  static constexpr int64_t kProbeEveryMs = 25;  // a candidate is asked at most this often
  static constexpr int64_t kWindowMs = 5000;    // how long one report of the primary down lasts
  static constexpr size_t kMaxCandidates = 8;

  explicit PromotionWatch(Clock clock) : clock_(std::move(clock)) {}

  // The replicas `primary` listed when a connection confirmed it.
  void NoteReplicas(const RedisNodeAddress& primary, std::vector<RedisNodeAddress> replicas);
  // A Sentinel's event about `primary`, the primary in use: +sdown or +odown opens (or
  // extends) the window over its replicas, +failover-state-wait-promotion narrows it to the
  // replica named. False when the event is about another primary (nothing changes then).
  bool Open(const SentinelEvent& event, const RedisNodeAddress& primary);
  // More candidates for the failed primary (a Sentinel's list), unless the leader named one.
  void AddCandidates(const RedisNodeAddress& primary, const std::vector<RedisNodeAddress>& more);

  // A Sentinel reported the primary down within the window, and nothing is decided yet.
  bool open() const { return failed_.port != 0 && clock_() < until_ms_; }
  // Open, with replicas to ask.
  bool active() const { return open() && !candidates_.empty(); }
  // The primary reported down (empty when not watching).
  const RedisNodeAddress& failed() const { return failed_; }
  // Whether `node` is asked in this window.
  bool IsCandidate(const RedisNodeAddress& node) const;
  // The candidates to ask ROLE now; each comes again kProbeEveryMs later at the earliest.
  std::vector<RedisNodeAddress> Due();
  // A candidate's answer to ROLE (`master` false also when it refused the connection or did
  // not answer in time). Once every candidate has answered, the replica to move to when the
  // rule decides (the watch is then over), else nullopt.
  std::optional<RedisNodeAddress> Answer(const RedisNodeAddress& node, bool master);
  // +switch-master came, or the primary changed anyway.
  void Close();

 private:
  struct Candidate {
    RedisNodeAddress address;
    int64_t next_ask_ms = 0;
    std::optional<bool> master;  // its last answer
  };
  void Add(const RedisNodeAddress& node);

  Clock clock_;
  RedisNodeAddress replicas_of_;
  std::vector<RedisNodeAddress> replicas_;
  RedisNodeAddress failed_;
  std::vector<Candidate> candidates_;
  bool named_ = false;  // the leader named the replica
  int64_t until_ms_ = 0;
};

}  // namespace warden
