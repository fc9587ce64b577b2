#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "common/address.h"
#include "common/blacklist_entry.h"
#include "core/shm_layout.h"
#include "core/shm_lock.h"

namespace warden {

// The node-wide blacklist in one shared-memory region: an open-addressing hash table keyed by
// (network, prefix length), so a lookup costs one probe sequence per prefix length in use, and
// in front of it a small counting filter that turns away most misses without a table probe.
//
// Readers (every request of every worker) never lock: a sequence counter tells them when a
// writer touched the table meanwhile and they read again. One writer at a time holds a
// pid-owned spin lock that a dead owner cannot keep. The region holds no pointers, so it stays
// valid in every process that maps it and across nginx reloads.
class BlacklistTable {
 public:
  static constexpr size_t kSlotBytes = 32;
  static constexpr int kMaxPrefix = 128;

  struct Match {
    Cidr cidr;
    int64_t expires_ms;  // 0: never
    EntrySource source;
  };

  // State the Redis sync keeps beside the table so any worker (or the next nginx generation)
  // can take over and continue incrementally instead of reloading everything.
  struct SyncState {
    char epoch[40];
    char stream_id[48];  // last applied change in the Redis stream
    uint64_t seq;        // its sequence number
    int64_t loaded_at_ms;
    bool loaded;
    bool reload_held;  // a full reload that would drop most of the list waits for the operator
  };

  struct Stats {
    uint64_t entries;
    uint64_t slots;
    uint64_t rejected_full;
  };

  static constexpr size_t kMinSlots = 64;
  // Counting-filter buckets per slot (rounded up to a power of two in all): a byte each for
  // the writer's counters plus a bit each for the readers.
  static constexpr size_t kFilterBucketsPerSlot = 4;

  // Bytes needed for `slots` slots.
  static size_t RegionSize(size_t slots);
  // How many slots fit in `bytes` (0 when fewer than kMinSlots).
  static size_t SlotsFitting(size_t bytes);

  // Views `region`. If it does not already hold a table of this layout and size, formats it.
  // Returns false when the region is too small for even a minimal table.
  bool Attach(void* region, size_t bytes);
  bool attached() const { return header_ != nullptr; }

  std::optional<Match> Lookup(const IpAddress& addr, int64_t now_ms) const;

  // Writer side. Every mutation happens inside a WriteBatch, which holds the writer lock and
  // makes concurrent readers retry; keep batches short (tens of operations).
  class WriteBatch {
   public:
    WriteBatch(BlacklistTable& table, int32_t pid);
    ~WriteBatch();
    WriteBatch(const WriteBatch&) = delete;
    WriteBatch& operator=(const WriteBatch&) = delete;

    // False when the table is full (the entry is counted in rejected_full).
    bool Upsert(const Cidr& cidr, int64_t expires_ms, EntrySource source);
    bool Remove(const Cidr& cidr);
    // Removes up to `max_slots` slots' worth of expired or stale-generation entries starting
    // at the sweep cursor; returns how many entries it removed.
    size_t Sweep(int64_t now_ms, size_t max_slots);
    SyncState& sync_state();

    // A full reload tags entries with a new generation and sweeps the old ones afterwards, so
    // the old list keeps matching until the new one is complete.
    void BeginGeneration();
    // Makes the generation started by BeginGeneration the live one; entries of older
    // generations are dropped by the following Sweep calls.
    void CommitGeneration();

   private:
    BlacklistTable& table_;
    ShmLock lock_;
  };

  SyncState ReadSyncState() const;
  Stats ReadStats() const;
  size_t entries() const;

  // Leader election among the workers of one node: only the leader talks to Redis.
  // A leader that has not beaten its heartbeat for `lease_ms`, or whose process is gone, loses.
  bool TryLead(int32_t pid, int64_t now_ms, int64_t lease_ms);
  void ResignLeadership(int32_t pid);
  int32_t leader_pid() const;

 private:
  struct Header;
  struct Slot;

  static size_t HeaderBytes();
  static size_t FilterBuckets(size_t slots);
  // Inline: a lookup hashes once per prefix length in use, a dozen times per request.
  static uint64_t HashWords(uint64_t hi, uint64_t lo, int prefix_len) {
    return MixWords(hi, lo ^ (static_cast<uint64_t>(prefix_len) << 56));
  }
  static uint64_t Hash(const IpAddress::Bytes& addr, int prefix_len);
  size_t Home(uint64_t hash) const;
  void FilterAdd(uint64_t hash, int delta);
  size_t Next(size_t i) const { return i + 1 == count_ ? 0 : i + 1; }
  // The slot index holding (key, prefix_len), or npos.
  size_t Find(const IpAddress::Bytes& key, int prefix_len, uint64_t hash) const;
  void RemoveAt(size_t index);
  // Keeps the per-length counts (and the IPv4 short-network maps) in step with an entry
  // added (+1) or removed (-1).
  void CountEntry(const uint8_t* addr, int prefix_len, int delta);
  // One lookup; false when a writer was inside a batch meanwhile (unless !consistent: then
  // whatever the table holds now is the answer).
  bool ReadOnce(const IpAddress& addr, int64_t now_ms, bool consistent, std::optional<Match>* out,
                uint64_t* read_at = nullptr) const;

  Header* header_ = nullptr;
  uint8_t* filter_ = nullptr;        // one counter per bucket: how many entries hash there
  uint64_t* filter_bits_ = nullptr;  // one bit per bucket: counter != 0 (what readers use)
  size_t filter_mask_ = 0;
  Slot* slots_ = nullptr;
  size_t count_ = 0;
  // The batch (sequence, writer) this process already waited for in vain: not waited for
  // again by every lookup.
  mutable uint64_t stuck_seq_ = 0;
  mutable int32_t stuck_writer_ = -1;
  // Addresses that matched nothing, with the sequence they were read at: while the sequence
  // stays, no batch has changed the list, and entries only stop matching with time, so they
  // still match nothing. A client seen a moment ago (its next request on a keep-alive
  // connection) skips the probes and the filter. Per process: each worker has its own.
  struct RecentMiss {
    uint64_t hi = 0, lo = 0;
    uint64_t seq_plus_1 = 0;  // 0: empty
  };
  static constexpr size_t kRecentMisses = 256;  // a power of two
  mutable std::array<RecentMiss, kRecentMisses> recent_misses_{};
};

}  // namespace warden
