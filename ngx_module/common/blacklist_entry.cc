#include "common/blacklist_entry.h"

#include <charconv>

namespace warden {

namespace {

std::string Sanitize(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  }
  return out;
}

bool ParseInt(std::string_view text, int64_t* out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size() && !text.empty() && *out >= 0;
}

}  // namespace

const char* EntrySourceName(EntrySource source) {
  switch (source) {
    case EntrySource::kAutoban:
      return "autoban";
    case EntrySource::kFeed:
      return "feed";
    case EntrySource::kChallenge:
      return "challenge";
    case EntrySource::kAllow:
      return "allow";
    case EntrySource::kManual:
      break;
  }
  return "manual";
}

EntrySource EntrySourceFromName(std::string_view name) {
  if (name == "autoban") return EntrySource::kAutoban;
  if (name == "feed") return EntrySource::kFeed;
  if (name == "challenge") return EntrySource::kChallenge;
  if (name == "allow") return EntrySource::kAllow;
  return EntrySource::kManual;
}

std::string BlacklistEntry::EncodeValue() const {
  std::string v = source == EntrySource::kAllow ? "v2\t" : "v1\t";
  v += std::to_string(expires_ms);
  v += '\t';
  v += std::to_string(added_ms);
  v += '\t';
  v += EntrySourceName(source);
  v += '\t';
  v += Sanitize(added_by);
  v += '\t';
  v += Sanitize(reason);
  return v;
}

std::optional<BlacklistEntry> BlacklistEntry::Decode(std::string_view field, std::string_view value,
                                                     std::string* error) {
  BlacklistEntry e;
  auto cidr = Cidr::Parse(field, error);
  if (!cidr) return std::nullopt;
  e.cidr = *cidr;

  std::string_view parts[6];
  size_t n = 0;
  while (n < 5) {
    size_t tab = value.find('\t');
    if (tab == std::string_view::npos) break;
    parts[n++] = value.substr(0, tab);
    value.remove_prefix(tab + 1);
  }
  parts[n++] = value;
  if (n != 6 || (parts[0] != "v1" && parts[0] != "v2")) {
    if (error) *error = "value of \"" + std::string(field) + "\" is not in the v1 format";
    return std::nullopt;
  }
  if (!ParseInt(parts[1], &e.expires_ms) || !ParseInt(parts[2], &e.added_ms)) {
    if (error) *error = "value of \"" + std::string(field) + "\" has a bad timestamp";
    return std::nullopt;
  }
  e.source = EntrySourceFromName(parts[3]);
  // v2 marks an allow entry; a v1 entry is a ban whatever its source says.
  if ((parts[0] == "v2") != (e.source == EntrySource::kAllow)) {
    if (error) *error = "value of \"" + std::string(field) + "\" mixes the v2 format and a ban";
    return std::nullopt;
  }
  e.added_by = std::string(parts[4]);
  e.reason = std::string(parts[5]);
  return e;
}

}  // namespace warden
