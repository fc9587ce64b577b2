#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "core/shm_lock.h"

namespace warden {

// A fixed-size hash map in one shared-memory region, for the per-key state every worker
// updates on the request path: rate-limit buckets, autoban strikes, per-IP traffic counts.
// Keys up to kKeyInline bytes are stored as they are, longer ones as a 16-byte digest; each
// slot carries kValueBytes of the owner's value. When full, the least recently used of a
// sample of slots is evicted: the map never refuses a key and never grows.
//
// Every access happens under Lock (a pid-owned spin lock held for a few hundred ns). A queue
// of keys touched since the last drain lets a background task visit just those.
class ShmMap {
 public:
  static constexpr size_t kSlotBytes = 64;
  static constexpr size_t kKeyInline = 22;
  static constexpr size_t kValueBytes = 24;
  static constexpr size_t kMinSlots = 64;

  struct Slot {
    uint64_t hash;
    int64_t last_used_ms;
    uint8_t key_len;  // of the stored key (the digest for long keys)
    uint8_t flags;
    uint8_t key[kKeyInline];
    uint8_t value[kValueBytes];
  };

  struct Stats {
    uint64_t entries;
    uint64_t slots;
    uint64_t evictions;
  };

  static size_t RegionSize(size_t slots);
  static size_t SlotsFitting(size_t bytes);
  bool Attach(void* region, size_t bytes);
  bool attached() const { return header_ != nullptr; }

  class Lock {
   public:
    Lock(ShmMap& map, int32_t pid);
    ShmLock& lock() { return lock_; }

   private:
    ShmLock lock_;
  };

  // All of these require the Lock.
  Slot* Find(std::string_view key);
  // Finds the key or makes room for it; `fresh` tells which. The value of a fresh slot is zero.
  Slot* FindOrInsert(std::string_view key, int64_t now_ms, bool* fresh);
  void Remove(Slot* slot);
  // The key as stored (for long keys, its digest): what other nodes know it by.
  static std::string StoredKey(const Slot& slot);
  static std::string StoredKey(std::string_view key) {
    KeyBuffer buf;
    return std::string(Stored(key, &buf));
  }
  // Puts the slot's key in the queue of keys to visit, once until drained.
  void Enqueue(Slot* slot);
  // Moves up to `max` queued keys into `out`. When the queue overflowed, scans the map and
  // returns every key for which `wanted` says yes instead.
  template <typename Pred>
  void Drain(std::vector<std::string>* out, size_t max, Pred wanted);
  Stats ReadStats() const;

  // A few counters of the owner's (a limit zone's outcomes), beside the map, shared by every
  // worker and kept across reloads with the map. No lock: a relaxed atomic add.
  static constexpr size_t kCounters = 8;
  void Count(size_t which);
  uint64_t counter(size_t which) const;
  // The region's size in bytes, as attached.
  size_t bytes() const { return bytes_; }

  template <typename T>
  static T& Value(Slot* slot) {
    static_assert(sizeof(T) <= kValueBytes && std::is_trivially_copyable_v<T>, "value");
    return *reinterpret_cast<T*>(slot->value);
  }

 private:
  struct Header;
  static constexpr uint8_t kUsed = 1;
  static constexpr uint8_t kQueued = 2;

  static size_t HeaderBytes();
  static size_t QueueCapacity(size_t slots);
  // The stored form of a key, in a caller's buffer (no allocation on the request path): the
  // key itself when it fits inline, else a 128-bit digest that every node computes alike.
  struct KeyBuffer {
    char data[kKeyInline];
  };
  static std::string_view Stored(std::string_view key, KeyBuffer* buf) {
    return key.size() <= kKeyInline ? key : Digest(key, buf);  // (inline: every lookup)
  }
  static std::string_view Digest(std::string_view key, KeyBuffer* buf);
  // 64 bits of `bytes`, eight at a time (a byte-wise hash cost more than the rest of a lookup).
  static uint64_t HashBytes(std::string_view bytes, uint64_t seed);
  // Where a stored key lives. Seeded per zone at random, so clients that pick their own keys
  // (a header, a token) cannot aim them all at one probe chain.
  uint64_t SlotHash(std::string_view stored) const { return HashBytes(stored, seed_); }
  size_t Home(uint64_t hash) const {
    return static_cast<size_t>((static_cast<unsigned __int128>(hash) * count_) >> 64);
  }
  size_t Next(size_t i) const { return i + 1 == count_ ? 0 : i + 1; }
  void RemoveAt(size_t index);
  void EvictOne(int64_t now_ms);

  Header* header_ = nullptr;
  Slot* slots_ = nullptr;
  uint8_t* queue_ = nullptr;  // ring of queued keys: a length byte + kKeyInline bytes each
  size_t count_ = 0;
  size_t queue_capacity_ = 0;
  uint64_t seed_ = 0;
  size_t bytes_ = 0;
};

struct ShmMap::Header {
  uint64_t magic;
  uint64_t seed;
  uint64_t slot_count;
  uint64_t queue_capacity;
  std::atomic<int32_t> lock_owner;
  uint32_t pad;
  uint64_t entries;
  uint64_t evictions;
  uint64_t evict_cursor;
  uint64_t queue_head;  // next to drain
  uint64_t queue_len;
  uint64_t queue_overflow;
  std::atomic<uint64_t> counters[kCounters];
};

inline void ShmMap::Count(size_t which) {
  if (which < kCounters) header_->counters[which].fetch_add(1, std::memory_order_relaxed);
}

inline uint64_t ShmMap::counter(size_t which) const {
  return which < kCounters ? header_->counters[which].load(std::memory_order_relaxed) : 0;
}

template <typename Pred>
void ShmMap::Drain(std::vector<std::string>* out, size_t max, Pred wanted) {
  constexpr size_t kRecord = 1 + kKeyInline;
  if (header_->queue_overflow) {
    // The queue lost track: visit everything once, then trust the queue again.
    for (size_t i = 0; i < count_; ++i) {
      Slot& s = slots_[i];
      if ((s.flags & kUsed) && wanted(&s)) out->push_back(StoredKey(s));
      s.flags &= static_cast<uint8_t>(~kQueued);
    }
    header_->queue_overflow = 0;
    header_->queue_len = 0;
    return;
  }
  while (header_->queue_len > 0 && out->size() < max) {
    const uint8_t* rec = queue_ + (header_->queue_head % queue_capacity_) * kRecord;
    std::string key(reinterpret_cast<const char*>(rec + 1), rec[0]);
    header_->queue_head++;
    header_->queue_len--;
    uint64_t hash = SlotHash(key);  // queued keys are stored keys
    size_t i = Home(hash);
    for (size_t probes = 0; probes < count_; ++probes, i = Next(i)) {
      Slot& s = slots_[i];
      if (!(s.flags & kUsed)) break;
      if (s.hash == hash && s.key_len == key.size() &&
          std::memcmp(s.key, key.data(), key.size()) == 0) {
        s.flags &= static_cast<uint8_t>(~kQueued);
        if (wanted(&s)) out->push_back(std::move(key));
        break;
      }
    }
  }
}

}  // namespace warden
