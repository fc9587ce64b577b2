#include "core/blacklist_table.h"

#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <new>
#include <string_view>

#include "core/shm_layout.h"

namespace warden {

namespace {

constexpr uint64_t kMagic = 0x57415244454e4231ULL;  // "WARDENB1"
constexpr uint32_t kLayoutVersion = 3;
// IPv4 networks of /8../15 and /16../23 (IPv4-mapped lengths 104..111 and 112..119), counted
// per /8 and per /16, so an IPv4 lookup probes those eight lengths only where such a network
// exists.
constexpr int kV4Mapped = 96, kV4Short8 = 104, kV4Short16 = 112, kV4Long = 120;
enum { kBelow120, kBelow112, kBelow104, kBelow96 };
constexpr uint8_t kFilterSaturated = 255;
constexpr int kReadAttempts = 256;
// Then yields to a writer inside its batch (descheduled on a loaded machine) for this long.
constexpr auto kReadWait = std::chrono::milliseconds(20);
// Inserting stops short of a full table so every probe sequence ends at an empty slot.
constexpr double kMaxLoad = 0.8;

// The 128-bit netmask of every prefix length, as the two 64-bit words of the address bytes in
// memory order, so masking an address is two ANDs.
struct MaskWords {
  uint64_t hi[BlacklistTable::kMaxPrefix + 1];
  uint64_t lo[BlacklistTable::kMaxPrefix + 1];
  MaskWords() {
    for (int len = 0; len <= BlacklistTable::kMaxPrefix; ++len) {
      uint8_t bytes[16];
      for (int i = 0; i < 16; ++i) {
        int bits = len - i * 8;
        bytes[i] = bits >= 8 ? 0xff : bits <= 0 ? 0 : static_cast<uint8_t>(0xff00 >> bits);
      }
      std::memcpy(&hi[len], bytes, 8);
      std::memcpy(&lo[len], bytes + 8, 8);
    }
  }
};
const MaskWords kMasks;

// The two address words of an IPv4-mapped address (::ffff:a.b.c.d) in memory order: hi is 0,
// the low half of lo is 00 00 ff ff.
inline bool IsMapped(uint64_t hi, uint64_t lo) {
  uint32_t marker;
  const uint8_t ffff[4] = {0, 0, 0xff, 0xff};
  std::memcpy(&marker, ffff, 4);
  return hi == 0 && static_cast<uint32_t>(lo) == marker;
}

inline void SetBit(uint64_t* bits, size_t i, bool on) {
  uint64_t bit = uint64_t{1} << (i & 63);
  if (on) {
    bits[i >> 6] |= bit;
  } else {
    bits[i >> 6] &= ~bit;
  }
}

inline bool TestBit(const uint64_t* bits, size_t i) { return (bits[i >> 6] >> (i & 63)) & 1; }

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

}  // namespace

struct BlacklistTable::Header {
  uint64_t magic;
  uint32_t layout_version;
  uint32_t pad0;
  uint64_t slot_count;
  uint64_t filter_buckets;
  std::atomic<uint64_t> seq;  // odd while a writer is inside a batch
  std::atomic<int32_t> writer_pid;
  std::atomic<int32_t> leader_pid;
  std::atomic<int64_t> leader_heartbeat_ms;
  std::atomic<uint64_t> rejected_full;
  uint64_t entry_count;
  uint32_t live_generation;
  uint32_t write_generation;
  uint64_t sweep_cursor;
  uint32_t prefix_counts[kMaxPrefix + 1];
  // The prefix lengths in use, longest first: what a lookup probes, without a bit scan.
  uint32_t length_count;
  uint8_t lengths[kMaxPrefix + 1];
  uint32_t lengths_below[4];  // the index of the first length under 120, 112, 104 and 96
  uint32_t v4_wide_count;     // networks shorter than /96 that hold all of IPv4 (e.g. ::/0)
  uint32_t v4_short8_counts[256];
  uint64_t v4_short8_bits[256 / 64];
  uint32_t v4_short16_counts[65536];
  uint64_t v4_short16_bits[65536 / 64];
  SyncState sync;
};

struct BlacklistTable::Slot {
  uint8_t addr[16];
  int64_t expires_ms;
  uint32_t generation;
  uint8_t prefix_len;
  uint8_t used;
  uint8_t source;
  uint8_t pad;
};

size_t BlacklistTable::HeaderBytes() { return (sizeof(Header) + 63) & ~size_t{63}; }

size_t BlacklistTable::FilterBuckets(size_t slots) {
  size_t buckets = 64;
  while (buckets < slots * kFilterBucketsPerSlot) buckets *= 2;
  return buckets;
}

size_t BlacklistTable::RegionSize(size_t slots) {
  static_assert(sizeof(Slot) == kSlotBytes, "slot layout");
  size_t buckets = FilterBuckets(slots);
  return HeaderBytes() + buckets + buckets / 8 + slots * sizeof(Slot);
}

size_t BlacklistTable::SlotsFitting(size_t bytes) {
  return LargestFitting(bytes, kMinSlots, sizeof(Slot), RegionSize);
}

bool BlacklistTable::Attach(void* region, size_t bytes) {
  size_t slots = SlotsFitting(bytes);
  if (slots == 0) return false;
  auto* header = static_cast<Header*>(region);
  recent_misses_.fill(RecentMiss{});  // sequences of another region say nothing of this one
  size_t buckets = FilterBuckets(slots);
  filter_ = reinterpret_cast<uint8_t*>(region) + HeaderBytes();
  filter_bits_ = reinterpret_cast<uint64_t*>(filter_ + buckets);
  filter_mask_ = buckets - 1;
  slots_ = reinterpret_cast<Slot*>(filter_ + buckets + buckets / 8);
  count_ = slots;
  if (header->magic == kMagic && header->layout_version == kLayoutVersion &&
      header->slot_count == slots && header->filter_buckets == buckets) {
    header_ = header;
    return true;
  }
  std::memset(region, 0, RegionSize(slots));
  header_ = new (region) Header();
  header_->slot_count = slots;
  header_->filter_buckets = buckets;
  header_->layout_version = kLayoutVersion;
  header_->live_generation = header_->write_generation = 1;
  header_->magic = kMagic;
  return true;
}

uint64_t BlacklistTable::Hash(const IpAddress::Bytes& addr, int prefix_len) {
  uint64_t hi, lo;
  std::memcpy(&hi, addr.data(), 8);
  std::memcpy(&lo, addr.data() + 8, 8);
  return HashWords(hi, lo, prefix_len);
}

size_t BlacklistTable::Home(uint64_t hash) const {
  // Maps the hash onto [0, count_) without a modulo, so any slot count works.
  return static_cast<size_t>((static_cast<unsigned __int128>(hash) * count_) >> 64);
}

void BlacklistTable::FilterAdd(uint64_t hash, int delta) {
  size_t bucket = hash & filter_mask_;
  uint8_t& counter = filter_[bucket];
  // A saturated counter stays put: it only costs lookups a table probe, never a match.
  if (counter == kFilterSaturated) return;
  counter = static_cast<uint8_t>(counter + delta);
  SetBit(filter_bits_, bucket, counter != 0);
}

size_t BlacklistTable::Find(const IpAddress::Bytes& key, int prefix_len, uint64_t hash) const {
  size_t i = Home(hash);
  for (size_t probes = 0; probes < count_; ++probes, i = Next(i)) {
    const Slot& s = slots_[i];
    if (!s.used) return static_cast<size_t>(-1);
    if (s.prefix_len == prefix_len && std::memcmp(s.addr, key.data(), 16) == 0) return i;
  }
  return static_cast<size_t>(-1);
}

bool BlacklistTable::ReadOnce(const IpAddress& addr, int64_t now_ms, bool consistent,
                              std::optional<Match>* out, uint64_t* read_at) const {
  uint64_t before = header_->seq.load(std::memory_order_acquire);
  if (read_at) *read_at = before;
  if (consistent && (before & 1)) return false;
  out->reset();
  uint32_t live = header_->live_generation;
  uint32_t writing = header_->write_generation;
  uint64_t hi, lo;
  std::memcpy(&hi, addr.bytes().data(), 8);
  std::memcpy(&lo, addr.bytes().data() + 8, 8);
  // A writer may change the list meanwhile; the bounds keep torn indexes in range and the
  // sequence check below discards whatever was read.
  uint32_t n = std::min<uint32_t>(header_->length_count, kMaxPrefix + 1);
  // Probes the lengths at [from, to) of the list, longest first; true once one matched.
  // Inlined: as a call it cost a third of a lookup that finds nothing.
  auto probe = [&](uint32_t from, uint32_t to) __attribute__((always_inline)) {
    for (uint32_t k = from; k < std::min(to, n); ++k) {
      int len = header_->lengths[k];
      uint64_t net_hi = hi & kMasks.hi[len], net_lo = lo & kMasks.lo[len];
      uint64_t hash = HashWords(net_hi, net_lo, len);
      // Most lookups miss: a bitmap small enough to stay in cache answers those without
      // touching the large table, which would cost a cache miss per prefix length.
      if (!TestBit(filter_bits_, hash & filter_mask_)) continue;
      IpAddress::Bytes network;
      std::memcpy(network.data(), &net_hi, 8);
      std::memcpy(network.data() + 8, &net_lo, 8);
      size_t i = Find(network, len, hash);
      if (i == static_cast<size_t>(-1)) continue;
      const Slot& s = slots_[i];
      if (s.generation != live && s.generation != writing) continue;
      if (s.expires_ms != 0 && s.expires_ms <= now_ms) continue;
      *out = Match{Cidr(IpAddress(network), len), s.expires_ms, static_cast<EntrySource>(s.source)};
      return true;
    }
    return false;
  };
  if (!IsMapped(hi, lo)) {
    probe(0, n);
  } else {
    // An IPv4 client: /24 and longer; /16../23 and /8../15 only where its /16 or /8 holds
    // such a network (exact counts, no false positives); /0../7; and IPv6 networks shorter
    // than /96 only when one of them holds all of IPv4. Still longest first.
    const uint8_t* bytes = addr.bytes().data();
    const uint32_t* below = header_->lengths_below;  // where each group of lengths ends
    bool short16 = TestBit(header_->v4_short16_bits, size_t{bytes[12]} << 8 | bytes[13]);
    bool short8 = TestBit(header_->v4_short8_bits, bytes[12]);
    (void)(probe(0, below[kBelow120]) || (short16 && probe(below[kBelow120], below[kBelow112])) ||
           (short8 && probe(below[kBelow112], below[kBelow104])) ||
           probe(below[kBelow104], below[kBelow96]) ||
           (header_->v4_wide_count && probe(below[kBelow96], n)));
  }
  std::atomic_thread_fence(std::memory_order_acquire);
  return !consistent || header_->seq.load(std::memory_order_relaxed) == before;
}

std::optional<BlacklistTable::Match> BlacklistTable::Lookup(const IpAddress& addr,
                                                            int64_t now_ms) const {
  uint64_t hi, lo;
  std::memcpy(&hi, addr.bytes().data(), 8);
  std::memcpy(&lo, addr.bytes().data() + 8, 8);
  RecentMiss& recent = recent_misses_[MixWords(hi, lo) & (kRecentMisses - 1)];
  // (An odd sequence, a batch under way, never equals a remembered one plus one.)
  if (recent.seq_plus_1 == header_->seq.load(std::memory_order_acquire) + 1 && recent.hi == hi &&
      recent.lo == lo) {
    return std::nullopt;
  }
  std::optional<Match> result;
  for (int attempt = 0; attempt < kReadAttempts; ++attempt) {
    uint64_t read_at;
    if (ReadOnce(addr, now_ms, true, &result, &read_at)) {
      if (!result) recent = RecentMiss{hi, lo, read_at + 1};
      return result;
    }
    CpuRelax();
  }
  // Still inside a batch: its writer was descheduled (a loaded machine), is stalled, or died.
  // A batch is short, so a live writer gets the CPU until it is done, as nginx's shared-memory
  // mutex does: answering without the list would let a banned client in.
  uint64_t seq = header_->seq.load(std::memory_order_acquire);
  int32_t writer = header_->writer_pid.load(std::memory_order_relaxed);
  if (seq != stuck_seq_ || writer != stuck_writer_) {
    const auto deadline = std::chrono::steady_clock::now() + kReadWait;
    do {
      writer = header_->writer_pid.load(std::memory_order_relaxed);
      // 0: between two batches (the next read succeeds); a dead pid will not finish.
      if (writer != 0 && !ShmLock::ProcessAlive(writer)) break;
      sched_yield();
      if (ReadOnce(addr, now_ms, true, &result)) return result;
    } while (std::chrono::steady_clock::now() < deadline);
    // Not again for this batch: the next lookups of this process answer at once.
    stuck_seq_ = header_->seq.load(std::memory_order_acquire);
    stuck_writer_ = header_->writer_pid.load(std::memory_order_relaxed);
  }
  // A writer that died inside its batch changes nothing more (the next one repairs the
  // sequence), and one stalled this long (a blocked log write, a debugger) is taken as it
  // stands too: the list as it is now is the answer. (Torn reads stay within the region.)
  ReadOnce(addr, now_ms, false, &result);
  return result;
}

void BlacklistTable::CountEntry(const uint8_t* addr, int prefix_len, int delta) {
  uint64_t hi, lo;
  std::memcpy(&hi, addr, 8);
  std::memcpy(&lo, addr + 8, 8);
  if (prefix_len < kV4Mapped) {
    static const uint8_t kMappedSpace[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    uint64_t space_hi, space_lo;
    std::memcpy(&space_hi, kMappedSpace, 8);
    std::memcpy(&space_lo, kMappedSpace + 8, 8);
    if ((space_hi & kMasks.hi[prefix_len]) == hi && (space_lo & kMasks.lo[prefix_len]) == lo) {
      header_->v4_wide_count += delta;
    }
  }
  if (prefix_len >= kV4Short8 && prefix_len < kV4Long) {
    if (IsMapped(hi, lo)) {
      if (prefix_len >= kV4Short16) {
        size_t i = size_t{addr[12]} << 8 | addr[13];
        header_->v4_short16_counts[i] += delta;
        SetBit(header_->v4_short16_bits, i, header_->v4_short16_counts[i] != 0);
      } else {
        size_t i = addr[12];
        header_->v4_short8_counts[i] += delta;
        SetBit(header_->v4_short8_bits, i, header_->v4_short8_counts[i] != 0);
      }
    }
  }
  uint32_t& count = header_->prefix_counts[prefix_len];
  bool was_used = count != 0;
  count += delta;
  if (was_used == (count != 0)) return;
  // A length came into use or went out of it (rare): list the lengths in use again.
  uint32_t n = 0;
  for (int len = kMaxPrefix; len >= 0; --len) {
    if (len == kV4Long - 1) header_->lengths_below[kBelow120] = n;
    if (len == kV4Short16 - 1) header_->lengths_below[kBelow112] = n;
    if (len == kV4Short8 - 1) header_->lengths_below[kBelow104] = n;
    if (len == kV4Mapped - 1) header_->lengths_below[kBelow96] = n;
    if (header_->prefix_counts[len]) header_->lengths[n++] = static_cast<uint8_t>(len);
  }
  header_->length_count = n;
}

void BlacklistTable::RemoveAt(size_t hole) {
  // Backward-shift deletion keeps linear probing free of tombstones.
  {
    IpAddress::Bytes key;
    std::memcpy(key.data(), slots_[hole].addr, 16);
    FilterAdd(Hash(key, slots_[hole].prefix_len), -1);
  }
  CountEntry(slots_[hole].addr, slots_[hole].prefix_len, -1);
  header_->entry_count--;
  size_t j = hole;
  for (;;) {
    j = Next(j);
    Slot& s = slots_[j];
    if (!s.used) break;
    IpAddress::Bytes key;
    std::memcpy(key.data(), s.addr, 16);
    size_t home = Home(Hash(key, s.prefix_len));
    bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
    if (stays) continue;
    slots_[hole] = s;
    hole = j;
  }
  std::memset(&slots_[hole], 0, sizeof(Slot));
}

BlacklistTable::WriteBatch::WriteBatch(BlacklistTable& table, int32_t pid)
    : table_(table), lock_(&table.header_->writer_pid, pid) {
  Header* h = table_.header_;
  // A writer that died inside a batch left the sequence odd: even it out first.
  if (lock_.inherited() && (h->seq.load(std::memory_order_relaxed) & 1)) h->seq.fetch_add(1);
  h->seq.fetch_add(1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
}

BlacklistTable::WriteBatch::~WriteBatch() {
  table_.header_->seq.fetch_add(1, std::memory_order_release);
}

bool BlacklistTable::WriteBatch::Upsert(const Cidr& cidr, int64_t expires_ms, EntrySource source) {
  Header* h = table_.header_;
  const auto& key = cidr.network().bytes();
  int len = cidr.prefix_len();
  uint64_t hash = Hash(key, len);
  size_t i = table_.Home(hash);
  for (;; i = table_.Next(i)) {
    Slot& s = table_.slots_[i];
    if (s.used && s.prefix_len == len && std::memcmp(s.addr, key.data(), 16) == 0) break;
    if (!s.used) {
      if (h->entry_count + 1 > static_cast<uint64_t>(h->slot_count * kMaxLoad)) {
        h->rejected_full.fetch_add(1, std::memory_order_relaxed);
        return false;
      }
      std::memcpy(s.addr, key.data(), 16);
      s.prefix_len = static_cast<uint8_t>(len);
      s.used = 1;
      h->entry_count++;
      table_.CountEntry(key.data(), len, +1);
      table_.FilterAdd(hash, +1);
      break;
    }
  }
  Slot& s = table_.slots_[i];
  s.expires_ms = expires_ms;
  s.source = static_cast<uint8_t>(source);
  s.generation = h->write_generation;
  return true;
}

bool BlacklistTable::WriteBatch::Remove(const Cidr& cidr) {
  const auto& key = cidr.network().bytes();
  size_t i = table_.Find(key, cidr.prefix_len(), Hash(key, cidr.prefix_len()));
  if (i == static_cast<size_t>(-1)) return false;
  table_.RemoveAt(i);
  return true;
}

size_t BlacklistTable::WriteBatch::Sweep(int64_t now_ms, size_t max_slots) {
  Header* h = table_.header_;
  bool building = h->write_generation != h->live_generation;
  size_t removed = 0;
  size_t i = h->sweep_cursor % table_.count_;
  for (size_t visited = 0; visited < max_slots; ++visited) {
    Slot& s = table_.slots_[i];
    bool expired = s.used && s.expires_ms != 0 && s.expires_ms <= now_ms;
    bool stale = s.used && !building && s.generation != h->live_generation;
    if (expired || stale) {
      table_.RemoveAt(i);
      ++removed;
      continue;  // a shifted entry now sits at i: look at it again
    }
    i = table_.Next(i);
  }
  h->sweep_cursor = i;
  return removed;
}

BlacklistTable::SyncState& BlacklistTable::WriteBatch::sync_state() { return table_.header_->sync; }

void BlacklistTable::WriteBatch::BeginGeneration() {
  Header* h = table_.header_;
  h->write_generation = h->live_generation + 1;
}

void BlacklistTable::WriteBatch::CommitGeneration() {
  Header* h = table_.header_;
  h->live_generation = h->write_generation;
}

BlacklistTable::SyncState BlacklistTable::ReadSyncState() const {
  SyncState copy;
  for (int attempt = 0; attempt < kReadAttempts; ++attempt) {
    uint64_t before = header_->seq.load(std::memory_order_acquire);
    std::memcpy(&copy, &header_->sync, sizeof copy);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (!(before & 1) && header_->seq.load(std::memory_order_relaxed) == before) break;
  }
  copy.epoch[sizeof copy.epoch - 1] = '\0';
  copy.stream_id[sizeof copy.stream_id - 1] = '\0';
  return copy;
}

BlacklistTable::Stats BlacklistTable::ReadStats() const {
  return Stats{header_->entry_count, header_->slot_count,
               header_->rejected_full.load(std::memory_order_relaxed)};
}

size_t BlacklistTable::entries() const { return header_->entry_count; }

bool BlacklistTable::TryLead(int32_t pid, int64_t now_ms, int64_t lease_ms) {
  int32_t current = header_->leader_pid.load(std::memory_order_acquire);
  if (current == pid) {
    header_->leader_heartbeat_ms.store(now_ms, std::memory_order_release);
    return true;
  }
  int64_t beat = header_->leader_heartbeat_ms.load(std::memory_order_acquire);
  bool vacant = current == 0 || now_ms - beat > lease_ms || !ShmLock::ProcessAlive(current);
  if (!vacant) return false;
  if (!header_->leader_pid.compare_exchange_strong(current, pid)) return false;
  header_->leader_heartbeat_ms.store(now_ms, std::memory_order_release);
  return true;
}

void BlacklistTable::ResignLeadership(int32_t pid) {
  int32_t expected = pid;
  header_->leader_pid.compare_exchange_strong(expected, 0);
}

int32_t BlacklistTable::leader_pid() const {
  return header_->leader_pid.load(std::memory_order_acquire);
}

}  // namespace warden
