#include "core/promotion_watch.h"

#include <algorithm>

namespace warden {

void PromotionWatch::NoteReplicas(const RedisNodeAddress& primary,
                                  std::vector<RedisNodeAddress> replicas) {
  if (replicas.size() > kMaxCandidates) replicas.resize(kMaxCandidates);
  replicas_of_ = primary;
  replicas_ = std::move(replicas);
}

bool PromotionWatch::Open(const SentinelEvent& event, const RedisNodeAddress& primary) {
  if (event.master != primary) return false;
  if (!open() || failed_ != primary) {
    Close();
    failed_ = primary;
  }
  until_ms_ = clock_() + kWindowMs;
  switch (event.kind) {
    case SentinelEvent::Kind::kMasterDown:
      if (!named_ && replicas_of_ == primary) {
        for (const RedisNodeAddress& r : replicas_) Add(r);
      }
      break;
    case SentinelEvent::Kind::kWaitPromotion:
      if (!named_) {
        candidates_.clear();
        named_ = true;
        Add(event.node);
      }
      break;
    case SentinelEvent::Kind::kSwitchMaster:
      Close();
      return false;
  }
  return true;
}

void PromotionWatch::AddCandidates(const RedisNodeAddress& primary,
                                   const std::vector<RedisNodeAddress>& more) {
  if (named_ || failed_ != primary || !open()) return;
  for (const RedisNodeAddress& r : more) Add(r);
}

void PromotionWatch::Add(const RedisNodeAddress& node) {
  if (node == failed_ || IsCandidate(node) || candidates_.size() >= kMaxCandidates) return;
  candidates_.push_back(Candidate{node, 0, std::nullopt});
}

bool PromotionWatch::IsCandidate(const RedisNodeAddress& node) const {
  return std::any_of(candidates_.begin(), candidates_.end(),
                     [&](const Candidate& c) { return c.address == node; });
}

std::vector<RedisNodeAddress> PromotionWatch::Due() {
  std::vector<RedisNodeAddress> due;
  if (!open()) {
    Close();
    return due;
  }
  int64_t now = clock_();
  for (Candidate& c : candidates_) {
    if (now < c.next_ask_ms) continue;
    c.next_ask_ms = now + kProbeEveryMs;
    due.push_back(c.address);
  }
  return due;
}

std::optional<RedisNodeAddress> PromotionWatch::Answer(const RedisNodeAddress& node, bool master) {
  if (!open()) return std::nullopt;
  std::vector<ReplicaRole> answers;
  for (Candidate& c : candidates_) {
    if (c.address == node) c.master = master;
  }
  for (const Candidate& c : candidates_) {
    // "Exactly one says master" holds only once each has said something.
    if (!c.master) return std::nullopt;
    answers.push_back(ReplicaRole{c.address, *c.master});
  }
  std::optional<RedisNodeAddress> promoted = PromotedReplica(answers);
  if (promoted) Close();
  return promoted;
}

void PromotionWatch::Close() {
  candidates_.clear();
  named_ = false;
  failed_ = RedisNodeAddress{};
  until_ms_ = 0;
}

}  // namespace warden
