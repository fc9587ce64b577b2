#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace warden {

// The keys of warden_challenge_key: one a line in a file the fleet shares, blank lines and
// '#' comments skipped, each at least 32 bytes. The first signs; every key verifies, so a
// rotation puts a new key first and keeps the old one until the cookies it signed expired.
// A key is known by an id (the first 8 hex digits of its SHA-256), never by its text.
class ChallengeKeys {
 public:
  struct Key {
    std::string id;
    std::string secret;
  };
  static constexpr size_t kMinKeyBytes = 32;

  // nullopt with `error` set (without any key's text) when the file holds no usable key.
  static std::optional<ChallengeKeys> Parse(std::string_view text, std::string* error);

  const Key& signer() const { return keys_.front(); }
  const Key* Find(std::string_view id) const;
  size_t size() const { return keys_.size(); }

 private:
  std::vector<Key> keys_;
};

struct ChallengeParams {
  int difficulty = 16;              // leading zero bits of SHA-256(nonce ":" solution)
  int64_t cookie_ttl_ms = 3600000;  // how long a solved challenge lets a client through
  int64_t nonce_ttl_ms = 300000;    // how long a puzzle may take to solve
};

// A proof-of-work challenge and the cookie that proves it was solved, both bound to the
// client (its address, as text) and signed with HMAC-SHA256, checked against an injected
// clock:
//   nonce  "<issued ms>.<key id>.<hex HMAC(key, "n|" client "|" issued)>"
//   cookie "<expires ms>.<key id>.<hex HMAC(key, "c|" client "|" expires "|" key id)>"
// The client finds a decimal `solution` such that SHA-256(nonce ":" solution) starts with
// `difficulty` zero bits. Verifying costs one HMAC and one SHA-256.
class Challenge {
 public:
  enum class Result { kOk, kMalformed, kExpired, kForged, kWrong };
  static const char* ResultName(Result r);

  Challenge(ChallengeKeys keys, ChallengeParams params) : keys_(std::move(keys)), params_(params) {}

  std::string Nonce(std::string_view client, int64_t now_ms) const;
  Result VerifyAnswer(std::string_view client, std::string_view nonce, std::string_view solution,
                      int64_t now_ms) const;
  std::string Cookie(std::string_view client, int64_t now_ms) const;
  Result VerifyCookie(std::string_view client, std::string_view cookie, int64_t now_ms) const;

  const ChallengeParams& params() const { return params_; }
  static int LeadingZeroBits(const unsigned char* digest, size_t len);
  // Solves a puzzle here (tests, and the reference for the page's script).
  static std::string Solve(std::string_view nonce, int difficulty);

 private:
  std::string Mac(const ChallengeKeys::Key& key, std::string_view data) const;
  // Splits "<ms>.<id>.<mac>"; false when it is not that shape.
  static bool Split(std::string_view text, int64_t* ms, std::string_view* id,
                    std::string_view* mac);

  ChallengeKeys keys_;
  ChallengeParams params_;
};

}  // namespace warden
