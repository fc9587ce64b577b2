#include "common/address.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace warden {

namespace {

constexpr uint8_t kV4MappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

}  // namespace

std::optional<IpAddress> IpAddress::Parse(std::string_view text) {
  // inet_pton wants a NUL-terminated string; the longest valid text is 45 chars.
  if (text.empty() || text.size() > INET6_ADDRSTRLEN) return std::nullopt;
  char buf[INET6_ADDRSTRLEN + 1];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';

  in_addr v4;
  if (inet_pton(AF_INET, buf, &v4) == 1) return FromV4(ntohl(v4.s_addr));
  in6_addr v6;
  if (inet_pton(AF_INET6, buf, &v6) == 1) return FromV6(v6.s6_addr);
  return std::nullopt;
}

bool IpAddress::IsV4() const {
  return std::memcmp(bytes_.data(), kV4MappedPrefix, sizeof kV4MappedPrefix) == 0;
}

std::string IpAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN];
  if (IsV4()) {
    inet_ntop(AF_INET, bytes_.data() + 12, buf, sizeof buf);
  } else {
    inet_ntop(AF_INET6, bytes_.data(), buf, sizeof buf);
  }
  return buf;
}

IpAddress IpAddress::Masked(int prefix_len) const {
  Bytes b = bytes_;
  for (int i = 0; i < 16; ++i) {
    int bits = prefix_len - i * 8;
    if (bits >= 8) continue;
    b[i] = bits <= 0 ? 0 : static_cast<uint8_t>(b[i] & (0xff00 >> bits));
  }
  return IpAddress(b);
}

std::optional<Cidr> Cidr::Parse(std::string_view text, std::string* error, bool allow_host_bits) {
  auto fail = [&](std::string msg) -> std::optional<Cidr> {
    if (error) *error = std::move(msg);
    return std::nullopt;
  };
  // Trim surrounding blanks: lists pasted from feeds carry them.
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r'))
    text.remove_suffix(1);

  std::string_view addr_text = text;
  std::string_view len_text;
  bool has_len = false;
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    addr_text = text.substr(0, slash);
    len_text = text.substr(slash + 1);
    has_len = true;
  }
  auto addr = IpAddress::Parse(addr_text);
  if (!addr) return fail("\"" + std::string(text) + "\" is not an IP address or CIDR range");

  // A textual IPv4 address ("1.2.3.4/24") counts its prefix in 32 bits.
  bool v4_text = addr_text.find(':') == std::string_view::npos;
  int max_len = v4_text ? 32 : 128;
  int len = max_len;
  if (has_len) {
    int parsed = -1;
    auto [ptr, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), parsed);
    if (len_text.empty() || ec != std::errc() || ptr != len_text.data() + len_text.size() ||
        parsed < 0 || parsed > max_len) {
      return fail("\"" + std::string(text) + "\" has a bad prefix length (0.." +
                  std::to_string(max_len) + ")");
    }
    len = parsed;
  }
  int len128 = v4_text ? len + 96 : len;
  if (!allow_host_bits && addr->Masked(len128) != *addr) {
    return fail("\"" + std::string(text) + "\" has host bits set; did you mean " +
                Cidr(*addr, len128).ToString() + "?");
  }
  return Cidr(*addr, len128);
}

std::string Cidr::ToString() const {
  std::string s = network_.ToString();
  if (prefix_len_ == 128) return s;
  int shown = IsV4() ? prefix_len_ - 96 : prefix_len_;
  return s + "/" + std::to_string(shown);
}

}  // namespace warden
