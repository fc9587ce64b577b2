#pragma once

#include <maxminddb.h>

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
  bool Country(const sockaddr* addr, char out[3]) const;

 private:
  GeoDb() = default;
  bool LookupPath(MMDB_entry_s* entry, const std::vector<const char*>& path, char out[3]) const;

  MMDB_s mmdb_{};
  bool open_ = false;
  std::vector<std::vector<std::string>> paths_;  // candidates, in order
  std::vector<std::vector<const char*>> path_ptrs_;
};

}  // namespace warden
