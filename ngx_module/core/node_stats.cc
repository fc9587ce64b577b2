#include "core/node_stats.h"

#include <cstring>
#include <new>

namespace warden {

namespace {
// Changes with the layout. (A zone of another size is a new zone on reload anyway.)
constexpr uint64_t kMagic = 0x57415244454e5334ULL;  // "WARDENS4"
}  // namespace

// Rows first, each on its own cache lines.
struct alignas(64) PaddedRow {
  NodeStats::Row row;
};

struct NodeStats::Header {
  uint64_t magic;
  std::atomic<int64_t> last_redis_contact_ms;
  alignas(64) PaddedRow rows[kMaxWorkers];
};

namespace {
const char* const kDecisionNames[] = {"pass",  "allow", "block",         "dry_run",
                                      "limit", "delay", "limit_dry_run", "challenge"};
static_assert(sizeof kDecisionNames / sizeof kDecisionNames[0] == NodeStats::kDecisions);
const char* const kBlockCauseNames[] = {"blacklist", "country", "autoban"};
static_assert(sizeof kBlockCauseNames / sizeof kBlockCauseNames[0] == NodeStats::kBlockCauses);
}  // namespace

const char* NodeStats::DecisionName(int decision) {
  return decision >= 0 && decision < kDecisions ? kDecisionNames[decision] : "?";
}

const char* NodeStats::BlockCauseName(int cause) {
  return cause >= 0 && cause < kBlockCauses ? kBlockCauseNames[cause] : "?";
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

void NodeStats::CountDecision(int worker, int decision) {
  if (!header_ || decision < 0 || decision >= kDecisions) return;
  row(worker)->decisions[decision].fetch_add(1, std::memory_order_relaxed);
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
  }
  t.last_redis_contact_ms = header_->last_redis_contact_ms.load();
  return t;
}

}  // namespace warden
