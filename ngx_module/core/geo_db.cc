#include "core/geo_db.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

#include "core/shm_layout.h"

namespace warden {

namespace {

constexpr uint8_t kEmpty = 0, kFound = 1, kNotFound = 2;

std::vector<std::string> SplitPath(const std::string& dotted) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= dotted.size()) {
    size_t dot = dotted.find('.', start);
    if (dot == std::string::npos) dot = dotted.size();
    parts.push_back(dotted.substr(start, dot - start));
    start = dot + 1;
  }
  return parts;
}

}  // namespace

std::unique_ptr<GeoDb> GeoDb::Open(const std::string& path, const std::string& lookup,
                                   std::string* error) {
  std::unique_ptr<GeoDb> db(new GeoDb());
  int status = MMDB_open(path.c_str(), MMDB_MODE_MMAP, &db->mmdb_);
  if (status != MMDB_SUCCESS) {
    *error = std::string("cannot open \"") + path + "\": " + MMDB_strerror(status) +
             (status == MMDB_IO_ERROR ? std::string(" (") + std::strerror(errno) + ")" : "");
    return nullptr;
  }
  db->open_ = true;
  if (lookup.empty()) {
    db->paths_ = {{"country", "iso_code"}, {"country_code"}};
  } else {
    auto parts = SplitPath(lookup);
    for (auto& p : parts) {
      if (p.empty()) {
        *error = "bad lookup path \"" + lookup + "\"";
        return nullptr;
      }
    }
    db->paths_ = {parts};
  }
  for (auto& parts : db->paths_) {
    std::vector<const char*> ptrs;
    for (auto& p : parts) ptrs.push_back(p.c_str());
    ptrs.push_back(nullptr);
    db->path_ptrs_.push_back(std::move(ptrs));
  }
  return db;
}

GeoDb::~GeoDb() {
  if (open_) MMDB_close(&mmdb_);
}

bool GeoDb::LookupPath(MMDB_entry_s* entry, const std::vector<const char*>& path,
                       char out[3]) const {
  MMDB_entry_data_s data;
  if (MMDB_aget_value(entry, &data, path.data()) != MMDB_SUCCESS || !data.has_data ||
      data.type != MMDB_DATA_TYPE_UTF8_STRING || data.data_size != 2) {
    return false;
  }
  out[0] = data.utf8_string[0];
  out[1] = data.utf8_string[1];
  out[2] = '\0';
  return true;
}

bool GeoDb::Country(const sockaddr* addr, char out[3]) const {
  uint64_t hi, lo;
  if (addr->sa_family == AF_INET6) {
    const auto* a6 = reinterpret_cast<const sockaddr_in6*>(addr);
    std::memcpy(&hi, a6->sin6_addr.s6_addr, 8);
    std::memcpy(&lo, a6->sin6_addr.s6_addr + 8, 8);
  } else if (addr->sa_family == AF_INET) {
    uint8_t mapped[8] = {0, 0, 0xff, 0xff};
    std::memcpy(mapped + 4, &reinterpret_cast<const sockaddr_in*>(addr)->sin_addr, 4);
    hi = 0;
    std::memcpy(&lo, mapped, 8);
  } else {
    return false;
  }
  CachedCountry& c = cache_[MixWords(hi, lo) & (kCacheSize - 1)];
  if (c.state == kEmpty || c.hi != hi || c.lo != lo) {
    c.hi = hi;
    c.lo = lo;
    c.state = LookupTree(addr, out) ? kFound : kNotFound;
    if (c.state == kFound) std::memcpy(c.code, out, 2);
  }
  if (c.state != kFound) return false;
  out[0] = c.code[0];
  out[1] = c.code[1];
  out[2] = '\0';
  return true;
}

bool GeoDb::LookupTree(const sockaddr* addr, char out[3]) const {
  sockaddr_in v4;
  if (addr->sa_family == AF_INET6) {
    // Look mapped clients up in the IPv4 tree: databases hold IPv4 data there.
    auto* a6 = reinterpret_cast<const sockaddr_in6*>(addr);
    if (IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr)) {
      std::memset(&v4, 0, sizeof v4);
      v4.sin_family = AF_INET;
      std::memcpy(&v4.sin_addr, a6->sin6_addr.s6_addr + 12, 4);
      addr = reinterpret_cast<const sockaddr*>(&v4);
    }
  } else if (addr->sa_family != AF_INET) {
    return false;
  }
  int mmdb_error = 0;
  MMDB_lookup_result_s result = MMDB_lookup_sockaddr(&mmdb_, addr, &mmdb_error);
  if (mmdb_error != MMDB_SUCCESS || !result.found_entry) return false;
  for (auto& path : path_ptrs_) {
    if (LookupPath(&result.entry, path, out)) return true;
  }
  return false;
}

}  // namespace warden
