#pragma once

#include <maxminddb.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

struct sockaddr;

namespace warden {

// A MaxMind-format country database (libmaxminddb, memory-mapped). Opened at configuration
// time in the master; the mapping is shared by the workers it forks.
class GeoDb {
 public:
  // `lookup` is a dotted path such as "country.iso_code" or "country_code"; empty tries both.
  static std::unique_ptr<GeoDb> Open(const std::string& path, const std::string& lookup,
                                     std::string* error);
  ~GeoDb();
  GeoDb(const GeoDb&) = delete;
  GeoDb& operator=(const GeoDb&) = delete;

  // Writes the two-letter country code into `out` (NUL-terminated) and returns true when the
  // address is in the database. IPv4-mapped IPv6 addresses are looked up as IPv4.
  //
  // Answers come from a small per-process cache of recent addresses first: a tree walk costs
  // several hundred instructions per request, and clients repeat. Not thread-safe: one GeoDb
  // per process (nginx workers are single-threaded; each has its own copy after fork).
  bool Country(const sockaddr* addr, char out[3]) const;

 private:
  struct CachedCountry {
    uint64_t hi = 0, lo = 0;  // the address, IPv4 as IPv4-mapped IPv6
    char code[2] = {};
    uint8_t state = 0;  // kEmpty, kFound or kNotFound
  };
  static constexpr size_t kCacheSize = 2048;  // a power of two

  GeoDb() = default;
  bool LookupPath(MMDB_entry_s* entry, const std::vector<const char*>& path, char out[3]) const;
  bool LookupTree(const sockaddr* addr, char out[3]) const;

  MMDB_s mmdb_{};
  bool open_ = false;
  std::vector<std::vector<std::string>> paths_;  // candidates, in order
  std::vector<std::vector<const char*>> path_ptrs_;
  mutable std::array<CachedCountry, kCacheSize> cache_{};
};

}  // namespace warden
