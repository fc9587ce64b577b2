#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace warden {

// An IP address held as 16 bytes; IPv4 is stored IPv4-mapped (::ffff:a.b.c.d) so that
// IPv4 rules match both plain IPv4 clients and IPv4-mapped IPv6 clients.
class IpAddress {
 public:
  using Bytes = std::array<uint8_t, 16>;

  IpAddress() = default;
  explicit IpAddress(const Bytes& bytes) : bytes_(bytes) {}

  static std::optional<IpAddress> Parse(std::string_view text);
  // Inline: the request path converts every client's address.
  static IpAddress FromV4(uint32_t host_order) {
    Bytes b{};  // ::ffff:a.b.c.d
    b[10] = b[11] = 0xff;
    b[12] = static_cast<uint8_t>(host_order >> 24);
    b[13] = static_cast<uint8_t>(host_order >> 16);
    b[14] = static_cast<uint8_t>(host_order >> 8);
    b[15] = static_cast<uint8_t>(host_order);
    return IpAddress(b);
  }
  // The 4 bytes of an in_addr as they are (network order): no swap, no shifts.
  static IpAddress FromV4Bytes(const void* network_order) {
    Bytes b{};
    b[10] = b[11] = 0xff;
    std::memcpy(&b[12], network_order, 4);
    return IpAddress(b);
  }
  static IpAddress FromV6(const uint8_t bytes[16]) {
    Bytes b;
    for (int i = 0; i < 16; ++i) b[i] = bytes[i];
    return IpAddress(b);
  }

  bool IsV4() const;
  const Bytes& bytes() const { return bytes_; }
  std::string ToString() const;

  // The address with all bits past `prefix_len` (0..128) cleared.
  IpAddress Masked(int prefix_len) const;

  friend bool operator==(const IpAddress& a, const IpAddress& b) { return a.bytes_ == b.bytes_; }
  friend bool operator!=(const IpAddress& a, const IpAddress& b) { return !(a == b); }

 private:
  Bytes bytes_{};
};

// A network: address plus prefix length counted in the 128-bit space (an IPv4 /24 is /120).
class Cidr {
 public:
  Cidr() = default;
  Cidr(const IpAddress& network, int prefix_len)
      : network_(network.Masked(prefix_len)), prefix_len_(prefix_len) {}

  // Accepts "1.2.3.4", "1.2.3.0/24", "2001:db8::/32", "::ffff:1.2.3.4/128".
  // Host bits past the prefix are rejected ("1.2.3.4/24" is an error) unless `allow_host_bits`.
  static std::optional<Cidr> Parse(std::string_view text, std::string* error = nullptr,
                                   bool allow_host_bits = false);

  const IpAddress& network() const { return network_; }
  int prefix_len() const { return prefix_len_; }  // 0..128 in the 128-bit space
  bool IsV4() const { return network_.IsV4() && prefix_len_ >= 96; }
  bool IsSingleAddress() const { return prefix_len_ == 128; }
  bool Contains(const IpAddress& addr) const { return addr.Masked(prefix_len_) == network_; }

  // Canonical text: "1.2.3.4" for a single address, "10.0.0.0/8", "2001:db8::/32".
  std::string ToString() const;

  friend bool operator==(const Cidr& a, const Cidr& b) {
    return a.prefix_len_ == b.prefix_len_ && a.network_ == b.network_;
  }

 private:
  IpAddress network_;
  int prefix_len_ = 128;
};

}  // namespace warden
