#include "core/node_stats.h"

#include <signal.h>

#include <cerrno>
#include <cstring>
#include <new>

namespace warden {

namespace {
// Changes with the layout. (A zone of another size is a new zone on reload anyway.)
constexpr uint64_t kMagic = 0x57415244454e5336ULL;  // "WARDENS6"
constexpr size_t kPrimaryBytes = 64;
}  // namespace

// Rows first, each on its own cache lines.
struct alignas(64) PaddedRow {
  NodeStats::Row row;
};

struct NodeStats::Header {
  uint64_t magic;
  std::atomic<int64_t> last_redis_contact_ms;
  // The primary last confirmed, under a sequence counter (odd while written) and a writer lock
  // holding the writer's pid (a dead writer's is taken over).
  std::atomic<uint64_t> redis_failovers;
  std::atomic<int32_t> primary_writer;
  std::atomic<uint32_t> primary_seq;
  std::atomic<char> primary[kPrimaryBytes];
  alignas(64) PaddedRow rows[kMaxWorkers];
};

namespace {
const char* const kDecisionNames[] = {"pass",  "allow", "block",         "dry_run",
                                      "limit", "delay", "limit_dry_run", "challenge"};
static_assert(sizeof kDecisionNames / sizeof kDecisionNames[0] == NodeStats::kDecisions);
const char* const kBlockCauseNames[] = {"blacklist", "country", "autoban"};
static_assert(sizeof kBlockCauseNames / sizeof kBlockCauseNames[0] == NodeStats::kBlockCauses);
const char* const kClusterEventNames[] = {"moved", "ask", "down", "slot_map"};
static_assert(sizeof kClusterEventNames / sizeof kClusterEventNames[0] ==
              NodeStats::kClusterEvents);
}  // namespace

const char* NodeStats::DecisionName(int decision) {
  return decision >= 0 && decision < kDecisions ? kDecisionNames[decision] : "?";
}

const char* NodeStats::BlockCauseName(int cause) {
  return cause >= 0 && cause < kBlockCauses ? kBlockCauseNames[cause] : "?";
}

const char* NodeStats::ClusterEventName(int event) {
  return event >= 0 && event < kClusterEvents ? kClusterEventNames[event] : "?";
}

size_t NodeStats::RegionSize() { return sizeof(Header) + 64; }

bool NodeStats::Attach(void* region, size_t bytes) {
  // Align by hand: the region comes from nginx's slab allocator.
  auto addr = reinterpret_cast<uintptr_t>(region);
  size_t skip = (64 - addr % 64) % 64;
  if (bytes < sizeof(Header) + skip) return false;
  auto* header = reinterpret_cast<Header*>(addr + skip);
  if (header->magic != kMagic) {
    std::memset(static_cast<void*>(header), 0, sizeof(Header));
    header = new (header) Header();
    header->magic = kMagic;
  }
  header_ = header;
  return true;
}

NodeStats::Row* NodeStats::row(int worker) {
  if (worker < 0) worker = 0;
  if (worker >= kMaxWorkers) worker = kMaxWorkers - 1;
  return &header_->rows[worker].row;
}

void NodeStats::CountBlock(int worker, int cause) {
  if (!header_ || cause < 1 || cause > kBlockCauses) return;
  row(worker)->blocks[cause - 1].fetch_add(1, std::memory_order_relaxed);
}

void NodeStats::CountCache(int worker, int result) {
  if (!header_ || result < 0 || result >= kCacheResults) return;
  row(worker)->cache[result].fetch_add(1, std::memory_order_relaxed);
}

void NodeStats::CountChallenge(int worker, int result) {
  if (!header_ || result < 0 || result >= kChallengeResults) return;
  row(worker)->challenges[result].fetch_add(1, std::memory_order_relaxed);
}

void NodeStats::NoteRedisContact(int64_t now_ms) {
  if (header_) header_->last_redis_contact_ms.store(now_ms, std::memory_order_relaxed);
}

void NodeStats::CountExactLocal(int worker) {
  if (header_) row(worker)->exact_local.fetch_add(1, std::memory_order_relaxed);
}

void NodeStats::CountClusterEvent(int worker, int event) {
  if (header_ && event >= 0 && event < kClusterEvents) {
    row(worker)->cluster[event].fetch_add(1, std::memory_order_relaxed);
  }
}

namespace {

std::string ReadPrimary(const std::atomic<uint32_t>& seq, const std::atomic<char>* text) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    uint32_t before = seq.load(std::memory_order_acquire);
    if (before & 1) continue;
    std::string out;
    for (size_t i = 0; i < kPrimaryBytes; ++i) {
      char c = text[i].load(std::memory_order_relaxed);
      if (!c) break;
      out += c;
    }
    std::atomic_thread_fence(std::memory_order_acquire);
    if (seq.load(std::memory_order_relaxed) == before) return out;
  }
  return "";
}

}  // namespace

bool NodeStats::NotePrimary(const std::string& address, int32_t pid, std::string* previous) {
  if (!header_ || address.empty() || address.size() >= kPrimaryBytes) return false;
  int32_t holder = 0;
  while (!header_->primary_writer.compare_exchange_weak(holder, pid)) {
    // A writer holds it for a few instructions; one killed meanwhile is taken over.
    if (holder != 0 && kill(holder, 0) != 0 && errno == ESRCH) {
      if (header_->primary_writer.compare_exchange_strong(holder, pid)) break;
    }
    holder = 0;
  }
  std::string before = ReadPrimary(header_->primary_seq, header_->primary);
  bool moved = false;
  if (before != address) {
    header_->primary_seq.fetch_add(1, std::memory_order_acq_rel);
    for (size_t i = 0; i < kPrimaryBytes; ++i) {
      header_->primary[i].store(i < address.size() ? address[i] : '\0', std::memory_order_relaxed);
    }
    header_->primary_seq.fetch_add(1, std::memory_order_release);
    if (!before.empty()) {
      header_->redis_failovers.fetch_add(1, std::memory_order_relaxed);
      if (previous) *previous = before;
      moved = true;
    }
  }
  header_->primary_writer.store(0, std::memory_order_release);
  return moved;
}

NodeStats::Totals NodeStats::Sum() const {
  Totals t;
  if (!header_) return t;
  for (const auto& padded : header_->rows) {
    const Row& r = padded.row;
    for (int d = 0; d < kDecisions; ++d) t.decisions[d] += r.decisions[d].load();
    for (int c = 0; c < kCacheResults; ++c) t.cache[c] += r.cache[c].load();
    for (int c = 0; c < kChallengeResults; ++c) t.challenges[c] += r.challenges[c].load();
    for (int c = 0; c < kBlockCauses; ++c) t.blocks[c] += r.blocks[c].load();
    t.redis_errors += r.redis_errors.load();
    t.autobans += r.autobans.load();
    t.limit_pushes += r.limit_pushes.load();
    t.exact_local += r.exact_local.load();
    for (int e = 0; e < kClusterEvents; ++e) t.cluster[e] += r.cluster[e].load();
  }
  t.last_redis_contact_ms = header_->last_redis_contact_ms.load();
  t.redis_failovers = header_->redis_failovers.load();
  t.redis_primary = ReadPrimary(header_->primary_seq, header_->primary);
  return t;
}

}  // namespace warden
