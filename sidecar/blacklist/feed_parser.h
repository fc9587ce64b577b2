#pragma once

#include <cstddef>
#include <istream>
#include <string>
#include <string_view>
#include <vector>

#include "common/address.h"

namespace warden {

// Reads lists of addresses and networks as people and feeds write them: one entry per line,
// the entry being the line's first token, so "1.2.3.0/24 ; SBL123", "1.2.3.4 # note" and
// "1.2.3.4,scanner" all work. Blank lines and lines starting with '#', ';' or "//" are skipped.
class FeedParser {
 public:
  struct Options {
    // Refuse networks wider than an IPv4 /8 or an IPv6 /16 (see TooBroad).
    bool reject_broad = true;
  };
  struct Entry {
    Cidr cidr;
    size_t line;
  };
  struct Problem {
    size_t line;
    std::string message;
  };
  struct Result {
    std::vector<Entry> entries;     // valid entries, first occurrence of each, in file order
    std::vector<Problem> problems;  // invalid lines, in file order
    size_t lines = 0;
    size_t duplicates = 0;
  };

  enum class LineKind { kSkip, kEntry, kInvalid };

  // Parses one line. kEntry sets `cidr`, kInvalid sets `error`.
  static LineKind ParseLine(std::string_view line, const Options& options, Cidr* cidr,
                            std::string* error);
  static Result Parse(std::istream& in, const Options& options);

  // True (with `error` naming the override) for a network wider than an IPv4 /8 or an IPv6
  // /16: one typo away from blocking a good part of the Internet.
  static bool TooBroad(const Cidr& cidr, std::string* error);
};

}  // namespace warden
