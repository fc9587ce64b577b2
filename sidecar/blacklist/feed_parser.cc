#include "blacklist/feed_parser.h"

#include <unordered_set>

namespace warden {

namespace {

// "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128" is the longest valid entry.
constexpr size_t kLongestEntry = 50;

bool Printable(std::string_view text) {
  for (unsigned char c : text) {
    if (c < 0x20 || c >= 0x7f) return false;
  }
  return true;
}

// At most 40 characters, non-printable ones as '?', for messages.
std::string Shown(std::string_view text) {
  std::string out;
  for (unsigned char c : text.substr(0, 40)) out += (c < 0x20 || c >= 0x7f) ? '?' : char(c);
  if (text.size() > 40) out += "...";
  return out;
}

}  // namespace

FeedParser::LineKind FeedParser::ParseLine(std::string_view line, const Options& options,
                                           Cidr* cidr, std::string* error) {
  if (line.starts_with("\xEF\xBB\xBF")) line.remove_prefix(3);  // a UTF-8 byte order mark
  size_t start = line.find_first_not_of(" \t\r\f\v");
  if (start == std::string_view::npos) return LineKind::kSkip;
  line.remove_prefix(start);
  if (line.front() == '#' || line.front() == ';' || line.starts_with("//")) return LineKind::kSkip;

  std::string_view token = line.substr(0, line.find_first_of(" \t\r\f\v;#,"));
  if (token.size() > kLongestEntry || !Printable(token)) {
    if (error) *error = "\"" + Shown(token) + "\" is not an IP address or CIDR range";
    return LineKind::kInvalid;
  }
  auto parsed = Cidr::Parse(token, error);
  if (!parsed) return LineKind::kInvalid;
  if (options.reject_broad && TooBroad(*parsed, error)) return LineKind::kInvalid;
  *cidr = *parsed;
  return LineKind::kEntry;
}

FeedParser::Result FeedParser::Parse(std::istream& in, const Options& options) {
  Result result;
  std::unordered_set<std::string> seen;
  std::string line;
  while (std::getline(in, line)) {
    ++result.lines;
    Cidr cidr;
    std::string error;
    switch (ParseLine(line, options, &cidr, &error)) {
      case LineKind::kSkip:
        break;
      case LineKind::kInvalid:
        result.problems.push_back({result.lines, std::move(error)});
        break;
      case LineKind::kEntry:
        if (seen.insert(cidr.ToString()).second) {
          result.entries.push_back({cidr, result.lines});
        } else {
          ++result.duplicates;
        }
        break;
    }
  }
  return result;
}

bool FeedParser::TooBroad(const Cidr& cidr, std::string* error) {
  bool broad = cidr.IsV4() ? cidr.prefix_len() < 96 + 8 : cidr.prefix_len() < 16;
  if (broad && error) {
    *error = "\"" + cidr.ToString() + "\" covers more than an IPv" +
             (cidr.IsV4() ? "4 /8" : "6 /16") + "; pass --force if you really mean it";
  }
  return broad;
}

}  // namespace warden
