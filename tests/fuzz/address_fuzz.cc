// libFuzzer target for the address and CIDR parser, which reads untrusted text from the CLI,
// feeds, nginx directives and Redis. Invariants: no crash, and whatever parses prints to a
// canonical form that parses back to the same network.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/address.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);

  if (auto addr = warden::IpAddress::Parse(text)) {
    auto again = warden::IpAddress::Parse(addr->ToString());
    if (!again || *again != *addr) std::abort();
    for (int len = 0; len <= 128; len += 7) {
      if (addr->Masked(len).Masked(len) != addr->Masked(len)) std::abort();
    }
  }

  std::string error;
  for (bool loose : {false, true}) {
    if (auto cidr = warden::Cidr::Parse(text, &error, loose)) {
      if (cidr->prefix_len() < 0 || cidr->prefix_len() > 128) std::abort();
      auto again = warden::Cidr::Parse(cidr->ToString(), &error);
      if (!again || !(*again == *cidr)) std::abort();
      if (!cidr->Contains(cidr->network())) std::abort();
    } else if (error.empty()) {
      std::abort();  // every rejection must say why
    }
    error.clear();
  }
  return 0;
}
