// warden_challenge end to end: real nginx, HTTP requests that play the page's part (read the
// nonce, solve it, send the proof as the page's script does), and a real headless Chromium
// that runs the page by itself.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <regex>
#include <string>

#include "common/clock.h"
#include "core/challenge.h"
#include "support/chromium.h"
#include "support/nginx_server.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace warden::test {
namespace {

const std::string kOldKey = "old-challenge-key-0123456789abcdefghijklmnop";
const std::string kNewKey = "new-challenge-key-0123456789abcdefghijklmnop";

class ChallengeIntegrationTest : public ::testing::Test {
 protected:
  NginxServer::Options Config(const std::string& keys, int difficulty = 8) {
    std::string file = keys_.Write("keys-" + std::to_string(++files_), keys);
    NginxServer::Options o;
    o.http = "warden_challenge_key " + file +
             ";\n"
             "server {\n  listen 127.0.0.1:@PORT@;\n"
             "  set_real_ip_from 127.0.0.1;\n  real_ip_header X-Forwarded-For;\n"
             "  location / { root @DIR@/html; }\n"
             "  location = /metrics { warden_status; }\n"
             "  location /members/ {\n    warden_challenge on difficulty=" +
             std::to_string(difficulty) +
             ";\n    root @DIR@/html;\n    try_files /index.html =404;\n  }\n"
             "  location /api/ {\n    warden_challenge on exempt=$http_authorization;\n"
             "    root @DIR@/html;\n    try_files /index.html =404;\n  }\n}\n";
    return o;
  }

  static HttpReply From(const NginxServer& nginx, const std::string& addr,
                        const std::string& cookie = "") {
    std::map<std::string, std::string> h = {{"X-Forwarded-For", addr}};
    if (!cookie.empty()) h["Cookie"] = cookie;
    return nginx.Get("/members/", h);
  }
  static bool IsChallenge(const HttpReply& r) {
    return r.status == 403 && r.body.find("id=\"warden-challenge\"") != std::string::npos;
  }
  static std::string NonceIn(const std::string& page) {
    std::smatch m;
    if (!std::regex_search(page, m, std::regex("var nonce = \"([^\"]+)\""))) return "";
    return m[1];
  }
  // The pass cookie a reply sets, as a Cookie header would carry it.
  static std::string PassIn(const HttpReply& r) {
    auto it = r.headers.find("set-cookie");
    if (it == r.headers.end()) return "";
    std::smatch m;
    if (!std::regex_search(it->second, m,
                           std::regex("(warden_pass=[0-9]+\\.[0-9a-f]+\\.[0-9a-f]+)")))
      return "";
    return m[1];
  }
  static Challenge Signer(const std::string& keys) {
    std::string error;
    auto parsed = ChallengeKeys::Parse(keys, &error);
    EXPECT_TRUE(parsed) << error;
    return Challenge(*parsed, ChallengeParams{});
  }

  TempDir keys_{"warden-keys"};
  int files_ = 0;
};

TEST_F(ChallengeIntegrationTest, ACorrectProofEarnsACookieThatLetsTheClientThrough) {
  NginxServer nginx(Config(kNewKey));
  EXPECT_EQ(nginx.Get("/").status, 200) << "a location without the challenge";
  auto page = From(nginx, "192.0.2.1");
  ASSERT_TRUE(IsChallenge(page)) << page.status << page.body;
  EXPECT_EQ(page.headers["cache-control"], "no-store");
  std::string nonce = NonceIn(page.body);
  ASSERT_FALSE(nonce.empty()) << page.body;

  std::string proof = "warden_pow=" + nonce + ":" + Challenge::Solve(nonce, 8);
  auto passed = From(nginx, "192.0.2.1", proof);
  ASSERT_EQ(passed.status, 200) << passed.body << nginx.ErrorLog();
  EXPECT_EQ(passed.body, "ok\n");
  std::string pass = PassIn(passed);
  ASSERT_FALSE(pass.empty()) << passed.headers["set-cookie"];
  EXPECT_NE(passed.headers["set-cookie"].find("HttpOnly"), std::string::npos);

  auto again = From(nginx, "192.0.2.1", pass);
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.body, "ok\n");
  EXPECT_TRUE(IsChallenge(From(nginx, "192.0.2.2", pass))) << "the cookie is the address's";
  EXPECT_TRUE(IsChallenge(From(nginx, "192.0.2.2", proof))) << "so is the proof";
  auto metrics = nginx.Get("/metrics").body;
  EXPECT_NE(metrics.find("warden_challenges_total{result=\"served\"} 3"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("warden_challenges_total{result=\"solved\"} 1"), std::string::npos)
      << metrics;
}

TEST_F(ChallengeIntegrationTest, ClientsThatCannotRunScriptsCanBeExempted) {
  NginxServer nginx(Config(kNewKey));
  auto api = nginx.Get("/api/", {{"X-Forwarded-For", "192.0.2.5"}, {"Authorization", "Bearer t"}});
  EXPECT_EQ(api.status, 200);
  EXPECT_EQ(api.body, "ok\n");
  EXPECT_TRUE(IsChallenge(nginx.Get("/api/", {{"X-Forwarded-For", "192.0.2.5"}})))
      << "without the header";
}

TEST_F(ChallengeIntegrationTest, WrongProofsAndForgedOrExpiredCookiesAreChallengedAgain) {
  NginxServer nginx(Config(kNewKey, 12));
  std::string nonce = NonceIn(From(nginx, "192.0.2.1").body);
  ASSERT_FALSE(nonce.empty());
  // A solution that is not one: the first number short of 12 zero bits.
  std::string right = Challenge::Solve(nonce, 12);
  std::string wrong = right == "0" ? "1" : "0";
  EXPECT_TRUE(IsChallenge(From(nginx, "192.0.2.1", "warden_pow=" + nonce + ":" + wrong)));
  EXPECT_TRUE(IsChallenge(From(nginx, "192.0.2.1", "warden_pow=garbage")));

  Challenge signer = Signer(kNewKey);
  const int64_t now = SystemNowMs();
  std::string valid = signer.Cookie("192.0.2.1", now);
  EXPECT_EQ(From(nginx, "192.0.2.1", "warden_pass=" + valid).status, 200) << "the fleet's key";
  std::string forged = valid;
  forged.back() = forged.back() == 'a' ? 'b' : 'a';
  EXPECT_TRUE(IsChallenge(From(nginx, "192.0.2.1", "warden_pass=" + forged)));
  std::string expired = signer.Cookie("192.0.2.1", now - 2 * 3600 * 1000);
  EXPECT_TRUE(IsChallenge(From(nginx, "192.0.2.1", "warden_pass=" + expired)));
  std::string other_key = Signer(kOldKey).Cookie("192.0.2.1", now);
  EXPECT_TRUE(IsChallenge(From(nginx, "192.0.2.1", "warden_pass=" + other_key)));
  EXPECT_EQ(nginx.ErrorLog().find(kNewKey), std::string::npos) << "the key is never logged";
}

TEST_F(ChallengeIntegrationTest, ARotatedKeyKeepsTheCookiesAlreadyIssued) {
  NginxServer nginx(Config(kOldKey));
  std::string old_cookie = "warden_pass=" + Signer(kOldKey).Cookie("192.0.2.1", SystemNowMs());
  ASSERT_EQ(From(nginx, "192.0.2.1", old_cookie).status, 200);
  // The new key first: it signs; the old one still verifies.
  nginx.Reconfigure(Config(kNewKey + "\n" + kOldKey + "\n"));
  nginx.Reload();
  EXPECT_EQ(From(nginx, "192.0.2.1", old_cookie).status, 200);
  auto page = From(nginx, "192.0.2.1");
  std::string nonce = NonceIn(page.body);
  auto passed = From(nginx, "192.0.2.1", "warden_pow=" + nonce + ":" + Challenge::Solve(nonce, 8));
  ASSERT_EQ(passed.status, 200);
  std::string fresh = PassIn(passed);
  EXPECT_EQ(Signer(kNewKey).VerifyCookie("192.0.2.1", fresh.substr(12), SystemNowMs()),
            Challenge::Result::kOk)
      << "signed with the new key";
  // The old key retired: its cookies no longer pass.
  nginx.Reconfigure(Config(kNewKey));
  nginx.Reload();
  EXPECT_TRUE(IsChallenge(From(nginx, "192.0.2.1", old_cookie)));
  EXPECT_EQ(From(nginx, "192.0.2.1", fresh).status, 200);
}

TEST_F(ChallengeIntegrationTest, BadDirectives) {
  struct Case {
    std::string http, message;
  };
  std::string good = keys_.Write("good", kNewKey);
  std::string weak = keys_.Write("weak", "tiny-secret-xyz\n");
  std::vector<Case> cases = {
      {"server { listen 127.0.0.1:@PORT@; warden_challenge on; }",
       "\"warden_challenge on\" needs \"warden_challenge_key\""},
      {"warden_challenge_key " + weak +
           ";\nserver { listen 127.0.0.1:@PORT@; warden_challenge on; }",
       "key on line 1 is shorter than 32 bytes"},
      {"warden_challenge_key /nonexistent/keys;", "open() \"/nonexistent/keys\" failed"},
      {"warden_challenge_key " + good + ";\nwarden_challenge_key " + good + ";", "is duplicate"},
      {"server { warden_challenge on difficulty=33; }", "invalid difficulty"},
      {"server { warden_challenge maybe; }", "expected \"on\" or \"off\""},
      {"server { warden_challenge on ttl=1s; }", "invalid time \"ttl=1s\""},
      {"server { warden_challenge on exempt=; }", "expected exempt=$variable"},
  };
  for (auto& c : cases) {
    NginxServer::Options o;
    o.http = c.http;
    auto r = NginxServer::Test(o);
    EXPECT_NE(r.exit_code, 0) << c.http;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << c.http << "\n" << r.err;
    EXPECT_EQ(r.err.find("tiny-secret"), std::string::npos) << "a key is never shown: " << r.err;
  }
}

TEST_F(ChallengeIntegrationTest, AHeadlessChromiumSolvesThePageByItself) {
  if (access(kChromium, X_OK) != 0) {
    FAIL() << "chromium is missing: scripts/install-deps.sh installs it";
  }
  NginxServer nginx(Config(kNewKey, 12));
  auto r = ChromiumDumpDom("http://127.0.0.1:" + std::to_string(nginx.port()) + "/members/");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // The page's script solved the puzzle, reloaded with the proof, and got the content.
  EXPECT_NE(r.out.find("ok"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("warden-challenge"), std::string::npos) << r.out;
  // First the page, then the content, for the same client.
  auto log = nginx.AccessLog();
  EXPECT_NE(log.find("\"GET /members/ HTTP/1.1\" 403"), std::string::npos) << log;
  EXPECT_NE(log.find("\"GET /members/ HTTP/1.1\" 200"), std::string::npos) << log;
}

}  // namespace
}  // namespace warden::test
