#include "core/shm_map.h"

#include <bit>
#include <cstring>
#include <new>
#include <random>

#include "core/shm_layout.h"

namespace warden {

namespace {

constexpr uint64_t kMagic = 0x57415244454e4d33ULL;  // "WARDENM3"
constexpr double kMaxLoad = 0.85;
constexpr size_t kEvictionSample = 16;

}  // namespace

static_assert(sizeof(ShmMap::Slot) == ShmMap::kSlotBytes, "slot layout");

size_t ShmMap::HeaderBytes() { return (sizeof(Header) + 63) & ~size_t{63}; }

size_t ShmMap::QueueCapacity(size_t slots) { return slots / 4 < 256 ? 256 : slots / 4; }

size_t ShmMap::RegionSize(size_t slots) {
  return HeaderBytes() + QueueCapacity(slots) * (1 + kKeyInline) + slots * sizeof(Slot);
}

size_t ShmMap::SlotsFitting(size_t bytes) {
  return LargestFitting(bytes, kMinSlots, sizeof(Slot), RegionSize);
}

bool ShmMap::Attach(void* region, size_t bytes) {
  size_t slots = SlotsFitting(bytes);
  if (slots == 0) return false;
  auto* header = static_cast<Header*>(region);
  queue_capacity_ = QueueCapacity(slots);
  queue_ = static_cast<uint8_t*>(region) + HeaderBytes();
  slots_ = reinterpret_cast<Slot*>(queue_ + queue_capacity_ * (1 + kKeyInline));
  count_ = slots;
  bytes_ = bytes;
  if (header->magic == kMagic && header->slot_count == slots &&
      header->queue_capacity == queue_capacity_) {
    header_ = header;
    seed_ = header_->seed;
    return true;
  }
  std::memset(region, 0, RegionSize(slots));
  header_ = new (region) Header();
  header_->slot_count = slots;
  header_->queue_capacity = queue_capacity_;
  std::random_device random;
  header_->seed = (uint64_t{random()} << 32) ^ random();
  seed_ = header_->seed;
  header_->magic = kMagic;
  return true;
}

ShmMap::Lock::Lock(ShmMap& map, int32_t pid) : lock_(&map.header_->lock_owner, pid) {}

uint64_t ShmMap::HashBytes(std::string_view bytes, uint64_t seed) {
  uint64_t h = seed ^ (bytes.size() * 0x9e3779b97f4a7c15ULL);
  size_t n = bytes.size();
  const char* p = bytes.data();
  for (; n >= 8; n -= 8, p += 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    h = Mix64(h ^ word);
  }
  if (n) {
    // The last bytes zero-padded (the length is in the seed, so that is unambiguous), built
    // from fixed-size loads: a memcpy of a variable few bytes is a call, and a limit's key
    // ($binary_remote_addr: 4 bytes) is hashed on every request. The same value as copying
    // them into a zeroed word: digests of long keys are what Redis knows them by.
    static_assert(std::endian::native == std::endian::little, "the tail's word as memcpy's");
    uint64_t word;
    if (n >= 4) {
      uint32_t first, last;
      std::memcpy(&first, p, 4);
      std::memcpy(&last, p + n - 4, 4);
      word = n == 4 ? first : first | uint64_t{last >> (8 * (8 - n))} << 32;
    } else {
      word = uint64_t{static_cast<uint8_t>(p[0])};
      if (n > 1) word |= uint64_t{static_cast<uint8_t>(p[1])} << 8;
      if (n > 2) word |= uint64_t{static_cast<uint8_t>(p[2])} << 16;
    }
    h = Mix64(h ^ word);
  }
  return Mix64(h + 0x632be59bd9b4e019ULL);
}

std::string_view ShmMap::Digest(std::string_view key, KeyBuffer* buf) {
  // Two lanes with fixed seeds: the same digest on every node, since Redis knows keys by it.
  uint64_t a = HashBytes(key, 0x243f6a8885a308d3ULL);
  uint64_t b = HashBytes(key, 0x13198a2e03707344ULL);
  std::memcpy(buf->data, &a, 8);
  std::memcpy(buf->data + 8, &b, 8);
  return std::string_view(buf->data, 16);
}

std::string ShmMap::StoredKey(const Slot& slot) {
  return std::string(reinterpret_cast<const char*>(slot.key), slot.key_len);
}

ShmMap::Slot* ShmMap::Find(std::string_view key) {
  KeyBuffer buf;
  std::string_view stored = Stored(key, &buf);
  uint64_t hash = SlotHash(stored);
  size_t i = Home(hash);
  for (size_t probes = 0; probes < count_; ++probes, i = Next(i)) {
    Slot& s = slots_[i];
    if (!(s.flags & kUsed)) return nullptr;
    if (s.hash == hash && s.key_len == stored.size() &&
        std::memcmp(s.key, stored.data(), stored.size()) == 0) {
      return &s;
    }
  }
  return nullptr;
}

ShmMap::Slot* ShmMap::FindOrInsert(std::string_view key, int64_t now_ms, bool* fresh) {
  KeyBuffer buf;
  std::string_view stored = Stored(key, &buf);
  uint64_t hash = SlotHash(stored);
  for (int attempt = 0; attempt < 2; ++attempt) {
    size_t i = Home(hash);
    for (size_t probes = 0; probes < count_; ++probes, i = Next(i)) {
      Slot& s = slots_[i];
      if (s.flags & kUsed) {
        if (s.hash == hash && s.key_len == stored.size() &&
            std::memcmp(s.key, stored.data(), stored.size()) == 0) {
          *fresh = false;
          s.last_used_ms = now_ms;
          return &s;
        }
        continue;
      }
      if (header_->entries + 1 > static_cast<uint64_t>(count_ * kMaxLoad)) break;
      std::memset(&s, 0, sizeof s);
      s.hash = hash;
      s.last_used_ms = now_ms;
      s.key_len = static_cast<uint8_t>(stored.size());
      std::memcpy(s.key, stored.data(), stored.size());
      s.flags = kUsed;
      header_->entries++;
      *fresh = true;
      return &s;
    }
    // Full: make room, then probe again (the eviction may have moved this key's chain).
    EvictOne(now_ms);
  }
  return nullptr;  // unreachable in practice: an eviction always frees a slot
}

void ShmMap::EvictOne(int64_t now_ms) {
  size_t victim = count_;
  int64_t oldest = INT64_MAX;
  size_t i = header_->evict_cursor % count_;
  for (size_t seen = 0; seen < count_ && seen < kEvictionSample * 4; ++seen, i = Next(i)) {
    const Slot& s = slots_[i];
    if (!(s.flags & kUsed)) continue;
    if (s.last_used_ms < oldest) {
      oldest = s.last_used_ms;
      victim = i;
    }
    if (seen >= kEvictionSample && victim != count_) break;
  }
  header_->evict_cursor = Next(i);
  if (victim == count_) return;
  RemoveAt(victim);
  header_->evictions++;
}

void ShmMap::Remove(Slot* slot) { RemoveAt(static_cast<size_t>(slot - slots_)); }

void ShmMap::RemoveAt(size_t hole) {
  header_->entries--;
  size_t j = hole;
  for (;;) {
    j = Next(j);
    Slot& s = slots_[j];
    if (!(s.flags & kUsed)) break;
    size_t home = Home(s.hash);
    bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
    if (stays) continue;
    slots_[hole] = s;
    hole = j;
  }
  std::memset(&slots_[hole], 0, sizeof(Slot));
}

void ShmMap::Enqueue(Slot* slot) {
  if (slot->flags & kQueued) return;
  if (header_->queue_len == queue_capacity_) {
    header_->queue_overflow = 1;
    return;
  }
  uint8_t* rec =
      queue_ + ((header_->queue_head + header_->queue_len) % queue_capacity_) * (1 + kKeyInline);
  rec[0] = slot->key_len;
  std::memcpy(rec + 1, slot->key, slot->key_len);
  header_->queue_len++;
  slot->flags |= kQueued;
}

ShmMap::Stats ShmMap::ReadStats() const {
  return Stats{header_->entries, header_->slot_count, header_->evictions};
}

}  // namespace warden
