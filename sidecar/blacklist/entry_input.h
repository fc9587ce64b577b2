#pragma once

#include <istream>
#include <ostream>
#include <string>
#include <vector>

#include "common/address.h"
#include "blacklist/feed_parser.h"

namespace warden {

// Entries given to ban/unban, on the command line or in a list file.
class EntryInput {
 public:
  // Parses command-line entries, dropping repeats. Throws UsageError naming the first bad one.
  static std::vector<Cidr> FromArgs(const std::vector<std::string>& args, bool reject_broad);

  // Reads the list at `path` ("-": `stdin`). Invalid lines are reported to `err` as
  // "FILE:LINE: reason" (the first 20, then a count). Unless `skip_invalid`, any invalid line
  // throws UsageError after the report, so nothing is written. Throws IoError when unreadable.
  static FeedParser::Result FromFile(const std::string& path, std::istream& stdin_stream,
                                     bool reject_broad, bool skip_invalid, std::ostream& err);

  // "<stdin>" for "-", else the path.
  static std::string DisplayName(const std::string& path);

  static constexpr size_t kProblemsShown = 20;
};

}  // namespace warden
