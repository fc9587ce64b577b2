// PromotionWatch under an injected clock: which replicas a worker asks ROLE, how often and for
// how long, once a Sentinel reports the primary down, and when it moves to the promoted one.
#include "core/promotion_watch.h"

#include <gtest/gtest.h>

#include <vector>

namespace warden {
namespace {

const RedisNodeAddress kPrimary{"127.0.0.1", 6379};
const RedisNodeAddress kReplicaA{"127.0.0.1", 6380};
const RedisNodeAddress kReplicaB{"127.0.0.1", 6381};

SentinelEvent Down(const RedisNodeAddress& master, const char* name = "mymaster") {
  return SentinelEvent{SentinelEvent::Kind::kMasterDown, name, master, {}};
}
SentinelEvent WaitPromotion(const RedisNodeAddress& replica) {
  return SentinelEvent{SentinelEvent::Kind::kWaitPromotion, "mymaster", kPrimary, replica};
}

class PromotionWatchTest : public ::testing::Test {
 protected:
  int64_t now_ = 1000000;
  PromotionWatch watch_{[this] { return now_; }};
};

TEST_F(PromotionWatchTest, NothingToAskUntilASentinelReportsThePrimaryDown) {
  watch_.NoteReplicas(kPrimary, {kReplicaA, kReplicaB});
  EXPECT_FALSE(watch_.active());
  EXPECT_TRUE(watch_.Due().empty());
  EXPECT_FALSE(watch_.Answer(kReplicaA, true));  // not asked: nothing follows from it

  // Another primary down (another master, or one this worker left already) opens nothing.
  EXPECT_FALSE(watch_.Open(Down(RedisNodeAddress{"127.0.0.1", 7000}), kPrimary));
  EXPECT_FALSE(watch_.active());
}

TEST_F(PromotionWatchTest, AsksThePrimarysReplicasEveryProbeIntervalAndMovesToTheOneThatIsMaster) {
  watch_.NoteReplicas(kPrimary, {kReplicaA, kReplicaB});
  ASSERT_TRUE(watch_.Open(Down(kPrimary), kPrimary));
  EXPECT_TRUE(watch_.active());
  EXPECT_EQ(watch_.failed(), kPrimary);
  EXPECT_EQ(watch_.Due(), (std::vector<RedisNodeAddress>{kReplicaA, kReplicaB}));
  EXPECT_TRUE(watch_.Due().empty()) << "asked again before the interval";
  EXPECT_FALSE(watch_.Answer(kReplicaA, false));
  EXPECT_FALSE(watch_.Answer(kReplicaB, false));
  EXPECT_TRUE(watch_.active());

  now_ += PromotionWatch::kProbeEveryMs;
  EXPECT_EQ(watch_.Due().size(), 2u);
  // The leader's REPLICAOF NO ONE reached B.
  std::optional<RedisNodeAddress> promoted = watch_.Answer(kReplicaB, true);
  ASSERT_TRUE(promoted.has_value());
  EXPECT_EQ(*promoted, kReplicaB);
  EXPECT_FALSE(watch_.active()) << "decided: the watch is over";
  EXPECT_TRUE(watch_.Due().empty());
}

TEST_F(PromotionWatchTest, DecidesOnlyOnceEachHasAnsweredAndNotBetweenTwoMasters) {
  watch_.NoteReplicas(kPrimary, {kReplicaA, kReplicaB});
  ASSERT_TRUE(watch_.Open(Down(kPrimary), kPrimary));
  watch_.Due();
  EXPECT_FALSE(watch_.Answer(kReplicaA, true)) << "B has not answered yet";
  EXPECT_FALSE(watch_.Answer(kReplicaB, true)) << "A and B both say master";
  EXPECT_FALSE(watch_.Answer(kReplicaA, true));
  EXPECT_TRUE(watch_.active());
  // A is a replica again (or stopped answering): B alone is master now.
  EXPECT_EQ(watch_.Answer(kReplicaA, false), kReplicaB);
}

TEST_F(PromotionWatchTest, TheLeaderNamingTheReplicaNarrowsTheWatchToIt) {
  watch_.NoteReplicas(kPrimary, {kReplicaA});
  ASSERT_TRUE(watch_.Open(Down(kPrimary), kPrimary));
  ASSERT_TRUE(watch_.Open(WaitPromotion(kReplicaB), kPrimary));
  EXPECT_EQ(watch_.Due(), (std::vector<RedisNodeAddress>{kReplicaB}));
  EXPECT_FALSE(watch_.IsCandidate(kReplicaA));
  EXPECT_FALSE(watch_.Answer(kReplicaA, true)) << "not the replica being promoted";
  // A later report of the primary down, or a Sentinel's list, does not widen it again.
  watch_.Open(Down(kPrimary), kPrimary);
  watch_.AddCandidates(kPrimary, {kReplicaA});
  EXPECT_FALSE(watch_.IsCandidate(kReplicaA));
  EXPECT_EQ(watch_.Answer(kReplicaB, true), kReplicaB);
}

TEST_F(PromotionWatchTest, ASentinelsListAddsCandidatesTheRoleAnswerDidNotHave) {
  // The primary was confirmed before this replica attached: its ROLE listed none.
  watch_.NoteReplicas(kPrimary, {});
  ASSERT_TRUE(watch_.Open(Down(kPrimary), kPrimary));
  EXPECT_TRUE(watch_.open());
  EXPECT_FALSE(watch_.active()) << "nothing to ask yet";
  watch_.AddCandidates(kPrimary, {kReplicaA, kPrimary});  // the failed primary is never asked
  EXPECT_EQ(watch_.Due(), (std::vector<RedisNodeAddress>{kReplicaA}));
  // A list for another primary is not this window's.
  watch_.AddCandidates(RedisNodeAddress{"127.0.0.1", 7000}, {kReplicaB});
  EXPECT_FALSE(watch_.IsCandidate(kReplicaB));
}

TEST_F(PromotionWatchTest, TheWindowClosesWithoutAPromotionAndEachReportExtendsIt) {
  watch_.NoteReplicas(kPrimary, {kReplicaA});
  ASSERT_TRUE(watch_.Open(Down(kPrimary), kPrimary));
  now_ += PromotionWatch::kWindowMs - 1;
  EXPECT_TRUE(watch_.active());
  ASSERT_TRUE(watch_.Open(Down(kPrimary), kPrimary));  // +odown after +sdown
  now_ += PromotionWatch::kWindowMs - 1;
  EXPECT_TRUE(watch_.active());
  now_ += 1;
  EXPECT_FALSE(watch_.active());
  EXPECT_TRUE(watch_.Due().empty());
  EXPECT_FALSE(watch_.Answer(kReplicaA, true)) << "too late: +switch-master decides now";
}

TEST_F(PromotionWatchTest, SwitchMasterClosesIt) {
  watch_.NoteReplicas(kPrimary, {kReplicaA});
  ASSERT_TRUE(watch_.Open(Down(kPrimary), kPrimary));
  EXPECT_FALSE(watch_.Open(
      SentinelEvent{SentinelEvent::Kind::kSwitchMaster, "mymaster", kPrimary, kReplicaA},
      kPrimary));
  EXPECT_FALSE(watch_.active());
  EXPECT_FALSE(watch_.Answer(kReplicaA, true));
}

TEST_F(PromotionWatchTest, CandidatesAreBounded) {
  std::vector<RedisNodeAddress> many;
  for (int i = 0; i < 50; ++i) many.push_back(RedisNodeAddress{"127.0.0.1", 7000 + i});
  watch_.NoteReplicas(kPrimary, many);
  ASSERT_TRUE(watch_.Open(Down(kPrimary), kPrimary));
  watch_.AddCandidates(kPrimary, many);
  EXPECT_EQ(watch_.Due().size(), PromotionWatch::kMaxCandidates);
}

}  // namespace
}  // namespace warden
