#include "core/challenge.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <charconv>

namespace warden {

namespace {

std::string Hex(const unsigned char* bytes, size_t len) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (size_t i = 0; i < len; ++i) {
    out.push_back(kDigits[bytes[i] >> 4]);
    out.push_back(kDigits[bytes[i] & 15]);
  }
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

bool Equal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

std::optional<ChallengeKeys> ChallengeKeys::Parse(std::string_view text, std::string* error) {
  ChallengeKeys keys;
  size_t line_no = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = Trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    if (line.empty() || line.front() == '#') continue;
    if (line.size() < kMinKeyBytes) {
      if (error) {
        *error = "key on line " + std::to_string(line_no) + " is shorter than " +
                 std::to_string(kMinKeyBytes) + " bytes";
      }
      return std::nullopt;
    }
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(line.data()), line.size(), digest);
    Key key{Hex(digest, 4), std::string(line)};
    if (keys.Find(key.id)) {
      if (error) *error = "key on line " + std::to_string(line_no) + " is there twice";
      return std::nullopt;
    }
    keys.keys_.push_back(std::move(key));
  }
  if (keys.keys_.empty()) {
    if (error) *error = "no key (one a line, at least 32 bytes each)";
    return std::nullopt;
  }
  return keys;
}

const ChallengeKeys::Key* ChallengeKeys::Find(std::string_view id) const {
  for (const Key& k : keys_) {
    if (k.id == id) return &k;
  }
  return nullptr;
}

const char* Challenge::ResultName(Result r) {
  switch (r) {
    case Result::kOk:
      return "ok";
    case Result::kMalformed:
      return "malformed";
    case Result::kExpired:
      return "expired";
    case Result::kForged:
      return "forged";
    case Result::kWrong:
      return "wrong";
  }
  return "malformed";
}

std::string Challenge::Mac(const ChallengeKeys::Key& key, std::string_view data) const {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.secret.data(), static_cast<int>(key.secret.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return Hex(out, len);
}

bool Challenge::Split(std::string_view text, int64_t* ms, std::string_view* id,
                      std::string_view* mac) {
  size_t a = text.find('.');
  if (a == std::string_view::npos || a == 0 || a > 16) return false;
  size_t b = text.find('.', a + 1);
  if (b == std::string_view::npos) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + a, *ms);
  if (ec != std::errc() || end != text.data() + a || *ms < 0) return false;
  *id = text.substr(a + 1, b - a - 1);
  *mac = text.substr(b + 1);
  return id->size() == 8 && mac->size() == 64;
}

std::string Challenge::Nonce(std::string_view client, int64_t now_ms) const {
  const auto& key = keys_.signer();
  std::string issued = std::to_string(now_ms);
  std::string data = "n|" + std::string(client) + "|" + issued;
  return issued + "." + key.id + "." + Mac(key, data);
}

Challenge::Result Challenge::VerifyAnswer(std::string_view client, std::string_view nonce,
                                          std::string_view solution, int64_t now_ms) const {
  int64_t issued = 0;
  std::string_view id, mac;
  if (!Split(nonce, &issued, &id, &mac)) return Result::kMalformed;
  if (solution.empty() || solution.size() > 20) return Result::kMalformed;
  for (char c : solution) {
    if (c < '0' || c > '9') return Result::kMalformed;
  }
  const ChallengeKeys::Key* key = keys_.Find(id);
  if (!key) return Result::kForged;
  std::string data = "n|" + std::string(client) + "|" + std::to_string(issued);
  if (!Equal(Mac(*key, data), mac)) return Result::kForged;
  if (issued > now_ms + 60000 || now_ms - issued > params_.nonce_ttl_ms) return Result::kExpired;
  std::string text = std::string(nonce) + ":" + std::string(solution);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  return LeadingZeroBits(digest, sizeof digest) >= params_.difficulty ? Result::kOk
                                                                      : Result::kWrong;
}

std::string Challenge::Cookie(std::string_view client, int64_t now_ms) const {
  const auto& key = keys_.signer();
  std::string expires = std::to_string(now_ms + params_.cookie_ttl_ms);
  std::string data = "c|" + std::string(client) + "|" + expires + "|" + key.id;
  return expires + "." + key.id + "." + Mac(key, data);
}

Challenge::Result Challenge::VerifyCookie(std::string_view client, std::string_view cookie,
                                          int64_t now_ms) const {
  int64_t expires = 0;
  std::string_view id, mac;
  if (!Split(cookie, &expires, &id, &mac)) return Result::kMalformed;
  const ChallengeKeys::Key* key = keys_.Find(id);
  if (!key) return Result::kForged;
  std::string data =
      "c|" + std::string(client) + "|" + std::to_string(expires) + "|" + std::string(id);
  if (!Equal(Mac(*key, data), mac)) return Result::kForged;
  // A cookie that claims to outlive its own lifetime was not signed here.
  if (expires - now_ms > params_.cookie_ttl_ms) return Result::kForged;
  return expires > now_ms ? Result::kOk : Result::kExpired;
}

int Challenge::LeadingZeroBits(const unsigned char* digest, size_t len) {
  int bits = 0;
  for (size_t i = 0; i < len; ++i) {
    if (digest[i] == 0) {
      bits += 8;
      continue;
    }
    for (int b = 7; b >= 0 && !(digest[i] >> b & 1); --b) ++bits;
    break;
  }
  return bits;
}

std::string Challenge::Solve(std::string_view nonce, int difficulty) {
  for (uint64_t n = 0;; ++n) {
    std::string solution = std::to_string(n);
    std::string text = std::string(nonce) + ":" + solution;
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
    if (LeadingZeroBits(digest, sizeof digest) >= difficulty) return solution;
  }
}

}  // namespace warden
