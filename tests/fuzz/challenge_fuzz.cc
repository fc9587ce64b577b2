// libFuzzer target for what a client sends a challenge: the answer (nonce and solution) and
// the cookie, and for the key file. Invariants: no crash; nothing a client makes up verifies.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/challenge.h"

namespace {

const warden::Challenge& Instance() {
  static const warden::Challenge c = [] {
    std::string error;
    auto keys = warden::ChallengeKeys::Parse(
        "fuzz-key-0123456789abcdefghijklmnopqrstuvwxyz\n"
        "old-key-0123456789abcdefghijklmnopqrstuvwxyz\n",
        &error);
    if (!keys) std::abort();
    warden::ChallengeParams p;
    p.difficulty = 12;
    return warden::Challenge(*keys, p);
  }();
  return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto& c = Instance();
  const int64_t now = 1700000000000;
  using R = warden::Challenge::Result;

  // The cookie as sent: only one this node signed verifies.
  if (c.VerifyCookie("192.0.2.1", text, now) == R::kOk) std::abort();

  // The answer as posted: "nonce:solution" split at the last ':'.
  size_t colon = text.rfind(':');
  std::string_view nonce = text.substr(0, colon == std::string_view::npos ? 0 : colon);
  std::string_view solution = colon == std::string_view::npos ? text : text.substr(colon + 1);
  if (c.VerifyAnswer("192.0.2.1", nonce, solution, now) == R::kOk) std::abort();

  // A real nonce with a made-up solution: verifies only with enough zero bits, never crashes.
  std::string real = c.Nonce("192.0.2.1", now);
  c.VerifyAnswer("192.0.2.1", real, text, now);

  // The key file: whatever parses has a signer with an id.
  std::string error;
  if (auto keys = warden::ChallengeKeys::Parse(text, &error)) {
    if (keys->signer().id.size() != 8) std::abort();
  } else if (error.empty()) {
    std::abort();
  }
  return 0;
}
