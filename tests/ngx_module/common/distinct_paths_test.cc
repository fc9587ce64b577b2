#include "common/distinct_paths.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace warden {
namespace {

uint64_t BitHash(unsigned bit) { return uint64_t{bit} << 57; }

TEST(DistinctPathsTest, SmallCountsAreExact) {
  DistinctPaths d;
  EXPECT_TRUE(d.empty());
  EXPECT_EQ(d.Estimate(), 0);
  for (unsigned n = 1; n <= 10; ++n) {
    d.Add(BitHash(n * 11));
    d.Add(BitHash(n * 11));  // again: the same path counts once
    EXPECT_EQ(d.Estimate(), n) << n;
  }
  EXPECT_FALSE(d.saturated());
}

TEST(DistinctPathsTest, EstimatesManyWithinTenPercent) {
  std::mt19937_64 rng(7);
  for (int n : {50, 100, 200}) {
    double total = 0;
    const int trials = 200;
    for (int t = 0; t < trials; ++t) {
      DistinctPaths d;
      for (int i = 0; i < n; ++i) d.Add(rng());
      total += static_cast<double>(d.Estimate());
    }
    EXPECT_NEAR(total / trials, n, n * 0.1) << n;
  }
}

TEST(DistinctPathsTest, SaturatesAtALowerBound) {
  DistinctPaths d;
  for (unsigned bit = 0; bit < DistinctPaths::kBits; ++bit) d.Add(BitHash(bit));
  EXPECT_TRUE(d.saturated());
  EXPECT_EQ(d.Estimate(), DistinctPaths::kSaturated);
  // The bound is the estimate one bit short of saturation, rounded up.
  EXPECT_EQ(DistinctPaths::kSaturated,
            static_cast<int64_t>(std::ceil(std::log(1.0 / 128) / std::log1p(-1.0 / 128))));
}

TEST(DistinctPathsTest, MergeIsAnOrAndHexRoundTrips) {
  DistinctPaths a, b;
  a.Add(BitHash(0));
  a.Add(BitHash(127));
  b.Add(BitHash(127));
  b.Add(BitHash(64));
  a.Merge(b);
  EXPECT_EQ(a.Estimate(), 3);
  EXPECT_EQ(a.ToHex(), "80000000000000010000000000000001");
  auto back = DistinctPaths::FromHex(a.ToHex());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->ToHex(), a.ToHex());
  EXPECT_EQ(DistinctPaths().ToHex(), "");
  EXPECT_FALSE(DistinctPaths::FromHex(""));
  EXPECT_FALSE(DistinctPaths::FromHex("8000000000000001000000000000000"));  // 31 digits
  EXPECT_FALSE(DistinctPaths::FromHex("x0000000000000010000000000000001"));
}

}  // namespace
}  // namespace warden
