#include "core/challenge.h"

#include <gtest/gtest.h>

#include <string>

namespace warden {
namespace {

const std::string kOld = "old-key-0123456789abcdefghijklmnopqrstuvwxyz";
const std::string kNew = "new-key-0123456789abcdefghijklmnopqrstuvwxyz";

Challenge Make(const std::string& file, int difficulty = 8) {
  std::string error;
  auto keys = ChallengeKeys::Parse(file, &error);
  EXPECT_TRUE(keys) << error;
  ChallengeParams p;
  p.difficulty = difficulty;
  p.cookie_ttl_ms = 3600000;
  p.nonce_ttl_ms = 300000;
  return Challenge(*keys, p);
}

using Result = Challenge::Result;

TEST(ChallengeKeysTest, ParsesKeysAndRefusesWeakOnesWithoutShowingThem) {
  std::string error;
  auto keys = ChallengeKeys::Parse("# fleet keys\n\n" + kNew + "\r\n  " + kOld + "  \n", &error);
  ASSERT_TRUE(keys) << error;
  EXPECT_EQ(keys->size(), 2u);
  EXPECT_EQ(keys->signer().secret, kNew);
  EXPECT_EQ(keys->signer().id.size(), 8u);
  EXPECT_FALSE(ChallengeKeys::Parse("short-secret\n", &error));
  EXPECT_EQ(error, "key on line 1 is shorter than 32 bytes");
  EXPECT_FALSE(ChallengeKeys::Parse("# nothing\n\n", &error));
  EXPECT_NE(error.find("no key"), std::string::npos);
  EXPECT_FALSE(ChallengeKeys::Parse(kOld + "\n" + kOld + "\n", &error));
  EXPECT_EQ(error.find(kOld), std::string::npos) << error;
}

TEST(ChallengeTest, ACorrectProofPassesAndAWrongOneDoesNot) {
  auto c = Make(kNew, 10);
  std::string nonce = c.Nonce("192.0.2.1", 1000);
  std::string solution = Challenge::Solve(nonce, 10);
  EXPECT_EQ(c.VerifyAnswer("192.0.2.1", nonce, solution, 2000), Result::kOk);
  // A wrong answer: the first number that does not give 10 zero bits.
  for (int n = 0;; ++n) {
    if (c.VerifyAnswer("192.0.2.1", nonce, std::to_string(n), 2000) == Result::kWrong) break;
    ASSERT_LT(n, 100);
  }
  EXPECT_EQ(c.VerifyAnswer("192.0.2.1", nonce, "", 2000), Result::kMalformed);
  EXPECT_EQ(c.VerifyAnswer("192.0.2.1", nonce, "12a", 2000), Result::kMalformed);
  EXPECT_EQ(c.VerifyAnswer("192.0.2.1", "nonsense", solution, 2000), Result::kMalformed);
}

TEST(ChallengeTest, AProofIsBoundToTheClientAndExpires) {
  auto c = Make(kNew, 8);
  std::string nonce = c.Nonce("192.0.2.1", 1000);
  std::string solution = Challenge::Solve(nonce, 8);
  EXPECT_EQ(c.VerifyAnswer("192.0.2.2", nonce, solution, 2000), Result::kForged);
  EXPECT_EQ(c.VerifyAnswer("192.0.2.1", nonce, solution, 1000 + 300000), Result::kOk);
  EXPECT_EQ(c.VerifyAnswer("192.0.2.1", nonce, solution, 1000 + 300001), Result::kExpired);
  // The time in a nonce is signed: moving it forges it.
  std::string moved = "2" + nonce.substr(1);
  EXPECT_EQ(c.VerifyAnswer("192.0.2.1", moved, solution, 2000), Result::kForged);
}

TEST(ChallengeTest, CookieSignVerifyAndExpiry) {
  auto c = Make(kNew);
  std::string cookie = c.Cookie("192.0.2.1", 1000);
  EXPECT_EQ(c.VerifyCookie("192.0.2.1", cookie, 1000), Result::kOk);
  EXPECT_EQ(c.VerifyCookie("192.0.2.1", cookie, 1000 + 3599999), Result::kOk);
  EXPECT_EQ(c.VerifyCookie("192.0.2.1", cookie, 1000 + 3600000), Result::kExpired);
  EXPECT_EQ(c.VerifyCookie("192.0.2.2", cookie, 2000), Result::kForged) << "another address";
  // Its expiry pushed further: the signature no longer matches.
  std::string later = "9" + cookie;
  EXPECT_EQ(c.VerifyCookie("192.0.2.1", later, 2000), Result::kForged);
  std::string flipped = cookie;
  flipped.back() = flipped.back() == '0' ? '1' : '0';
  EXPECT_EQ(c.VerifyCookie("192.0.2.1", flipped, 2000), Result::kForged);
  EXPECT_EQ(c.VerifyCookie("192.0.2.1", "", 2000), Result::kMalformed);
  EXPECT_EQ(c.VerifyCookie("192.0.2.1", "1.2.3", 2000), Result::kMalformed);
}

TEST(ChallengeTest, ARotationKeepsCookiesAlreadyIssued) {
  auto before = Make(kOld);
  std::string cookie = before.Cookie("192.0.2.1", 1000);
  // The new key first, the old one still there: old cookies pass, new ones are signed anew.
  auto during = Make(kNew + "\n" + kOld);
  EXPECT_EQ(during.VerifyCookie("192.0.2.1", cookie, 2000), Result::kOk);
  std::string fresh = during.Cookie("192.0.2.1", 2000);
  EXPECT_NE(fresh.substr(fresh.find('.')), cookie.substr(cookie.find('.')));
  EXPECT_EQ(before.VerifyCookie("192.0.2.1", fresh, 2000), Result::kForged) << "unknown key";
  // The old key removed: its cookies are no longer accepted.
  auto after = Make(kNew);
  EXPECT_EQ(after.VerifyCookie("192.0.2.1", cookie, 2000), Result::kForged);
  EXPECT_EQ(after.VerifyCookie("192.0.2.1", fresh, 2000), Result::kOk);
}

TEST(ChallengeTest, LeadingZeroBits) {
  const unsigned char a[] = {0x00, 0x00, 0x1f, 0xff};
  EXPECT_EQ(Challenge::LeadingZeroBits(a, sizeof a), 19);
  const unsigned char b[] = {0x80};
  EXPECT_EQ(Challenge::LeadingZeroBits(b, sizeof b), 0);
  const unsigned char z[] = {0, 0};
  EXPECT_EQ(Challenge::LeadingZeroBits(z, sizeof z), 16);
}

}  // namespace
}  // namespace warden
