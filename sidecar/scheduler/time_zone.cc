#include "scheduler/time_zone.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>

namespace warden {

namespace {

constexpr const char* kDefaultZoneDir = "/usr/share/zoneinfo";
constexpr size_t kMaxTzifBytes = 1 << 20;  // real files are a few KiB

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// A big-endian reader over the file that never reads past the end.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  bool Has(size_t n) const { return data_.size() - pos_ >= n; }
  size_t pos() const { return pos_; }
  bool Skip(size_t n) {
    if (!Has(n)) return false;
    pos_ += n;
    return true;
  }
  bool Be(size_t n, uint64_t* out) {
    if (!Has(n)) return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(data_[pos_ + i]);
    pos_ += n;
    *out = v;
    return true;
  }
  std::string_view Rest() const { return data_.substr(pos_); }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

struct Header {
  char version = 0;
  uint64_t isutcnt = 0, isstdcnt = 0, leapcnt = 0, timecnt = 0, typecnt = 0, charcnt = 0;
};

bool ReadHeader(Reader& r, Header* h) {
  if (!r.Has(44) || r.Rest().substr(0, 4) != "TZif") return false;
  h->version = r.Rest()[4];
  r.Skip(20);
  return r.Be(4, &h->isutcnt) && r.Be(4, &h->isstdcnt) && r.Be(4, &h->leapcnt) &&
         r.Be(4, &h->timecnt) && r.Be(4, &h->typecnt) && r.Be(4, &h->charcnt);
}

size_t BlockSize(const Header& h, size_t time_size) {
  return h.timecnt * time_size + h.timecnt + h.typecnt * 6 + h.charcnt +
         h.leapcnt * (time_size + 4) + h.isstdcnt + h.isutcnt;
}

// --- POSIX TZ strings -----------------------------------------------------------------------

class PosixParser {
 public:
  explicit PosixParser(std::string_view s) : s_(s) {}
  bool AtEnd() const { return pos_ == s_.size(); }
  bool Peek(char c) const { return pos_ < s_.size() && s_[pos_] == c; }
  bool Eat(char c) {
    if (!Peek(c)) return false;
    ++pos_;
    return true;
  }
  bool Name() {
    if (Eat('<')) {
      size_t start = pos_;
      while (pos_ < s_.size() && s_[pos_] != '>') ++pos_;
      if (pos_ == s_.size() || pos_ - start < 3) return false;
      ++pos_;
      return true;
    }
    size_t start = pos_;
    while (pos_ < s_.size() && std::isalpha(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    return pos_ - start >= 3;
  }
  bool Number(int max, int* out) {
    size_t start = pos_;
    int v = 0;
    while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) {
      v = v * 10 + (s_[pos_] - '0');
      if (v > max) return false;
      ++pos_;
    }
    *out = v;
    return pos_ > start;
  }
  // [+-]hh[:mm[:ss]] in seconds.
  bool Time(int max_hours, int32_t* out) {
    int sign = 1;
    if (Eat('-')) {
      sign = -1;
    } else {
      Eat('+');
    }
    int h = 0, m = 0, sec = 0;
    if (!Number(max_hours, &h)) return false;
    if (Eat(':')) {
      if (!Number(59, &m)) return false;
      if (Eat(':') && !Number(59, &sec)) return false;
    }
    *out = sign * (h * 3600 + m * 60 + sec);
    return true;
  }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

}  // namespace

bool IsLeapYear(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned DaysInMonth(int64_t year, unsigned month) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeapYear(year) ? 29 : kDays[month - 1];
}

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = FloorDiv(y, 400);
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void CivilFromDays(int64_t z, int64_t* year, unsigned* month, unsigned* day) {
  z += 719468;
  const int64_t era = FloorDiv(z, 146097);
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  *day = static_cast<unsigned>(doy - (153 * mp + 2) / 5 + 1);
  *month = static_cast<unsigned>(mp < 10 ? mp + 3 : mp - 9);
  *year = yoe + era * 400 + (*month <= 2);
}

unsigned WeekdayFromDays(int64_t z) {
  return static_cast<unsigned>(z >= -4 ? (z + 4) % 7 : (z + 5) % 7 + 6);
}

std::shared_ptr<const TimeZone> TimeZone::Utc() {
  static const std::shared_ptr<const TimeZone> utc = [] {
    auto zone = std::make_shared<TimeZone>();
    zone->name_ = "UTC";
    zone->fixed_ = true;
    return std::shared_ptr<const TimeZone>(std::move(zone));
  }();
  return utc;
}

std::shared_ptr<const TimeZone> TimeZone::Load(std::string_view name, std::string* error,
                                               const std::string& dir) {
  if (name == "UTC" || name == "Etc/UTC" || name == "Z") return Utc();
  // Only names that look like IANA names: no "..", no absolute paths, nothing else odd.
  bool ok = !name.empty() && name.size() <= 128 && name.front() != '/' &&
            name.find("..") == std::string_view::npos;
  for (char c : name) {
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '_' || c == '-' ||
                c == '+');
  }
  if (!ok) {
    *error = "bad time zone \"" + std::string(name) + "\": expected an IANA name such as " +
             "Europe/Berlin";
    return nullptr;
  }
  std::string base = dir;
  if (base.empty()) {
    const char* env = std::getenv("TZDIR");
    base = env != nullptr && *env != '\0' ? env : kDefaultZoneDir;
  }

  // Zones are immutable: load each file once per process.
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<const TimeZone>> cache;
  const std::string path = base + "/" + std::string(name);
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (auto it = cache.find(path); it != cache.end()) return it->second;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = "unknown time zone \"" + std::string(name) + "\" (no " + path +
             (errno == ENOENT ? "; is tzdata installed?)"
                              : ": " + std::string(std::strerror(errno)) + ")");
    return nullptr;
  }
  std::string data(kMaxTzifBytes + 1, '\0');
  in.read(data.data(), static_cast<std::streamsize>(data.size()));
  data.resize(static_cast<size_t>(in.gcount()));
  std::string parse_error;
  auto zone = FromTzif(name, data, &parse_error);
  if (!zone) {
    *error = "time zone \"" + std::string(name) + "\": " + path + ": " + parse_error;
    return nullptr;
  }
  std::lock_guard<std::mutex> lock(mutex);
  cache.emplace(path, zone);
  return zone;
}

std::shared_ptr<const TimeZone> TimeZone::FromTzif(std::string_view name, std::string_view data,
                                                   std::string* error) {
  if (data.size() > kMaxTzifBytes) {
    *error = "too large for a TZif file";
    return nullptr;
  }
  Reader r(data);
  Header h;
  if (!ReadHeader(r, &h)) {
    *error = "not a TZif file";
    return nullptr;
  }
  size_t time_size = 4;
  if (h.version >= '2') {
    // Skip the 32-bit block; the 64-bit one follows with its own header.
    if (!r.Skip(BlockSize(h, 4)) || !ReadHeader(r, &h)) {
      *error = "truncated TZif file";
      return nullptr;
    }
    time_size = 8;
  }
  if (h.typecnt == 0 || h.typecnt > 256 || h.timecnt > 100000 || !r.Has(BlockSize(h, time_size))) {
    *error = "truncated or inconsistent TZif file";
    return nullptr;
  }
  std::vector<int64_t> times(h.timecnt);
  for (auto& t : times) {
    uint64_t v = 0;
    r.Be(time_size, &v);
    t = time_size == 8 ? static_cast<int64_t>(v) : static_cast<int64_t>(static_cast<int32_t>(v));
  }
  std::vector<uint8_t> indices(h.timecnt);
  for (auto& i : indices) {
    uint64_t v = 0;
    r.Be(1, &v);
    i = static_cast<uint8_t>(v);
    if (i >= h.typecnt) {
      *error = "transition to an undefined local time type";
      return nullptr;
    }
  }
  std::vector<int32_t> offsets(h.typecnt);
  for (auto& o : offsets) {
    uint64_t utoff = 0;
    r.Be(4, &utoff);
    r.Skip(2);  // isdst, abbreviation index
    o = static_cast<int32_t>(static_cast<uint32_t>(utoff));
    if (o < -25 * 3600 || o > 26 * 3600) {
      *error = "UTC offset out of range";
      return nullptr;
    }
  }
  r.Skip(h.charcnt + h.leapcnt * (time_size + 4) + h.isstdcnt + h.isutcnt);

  auto zone = std::make_shared<TimeZone>();
  zone->name_ = std::string(name);
  zone->initial_offset_ = offsets[0];
  int32_t current = zone->initial_offset_;
  for (size_t i = 0; i < times.size(); ++i) {
    if (i > 0 && times[i] <= times[i - 1]) {
      *error = "transition times out of order";
      return nullptr;
    }
    const int32_t next = offsets[indices[i]];
    if (next == current) continue;
    zone->transitions_.push_back({times[i], current, next});
    current = next;
  }

  if (time_size == 8) {
    // The footer: "\n<POSIX TZ string>\n".
    std::string_view rest = r.Rest();
    if (rest.size() >= 2 && rest.front() == '\n') {
      size_t end = rest.find('\n', 1);
      if (end != std::string_view::npos && end > 1) {
        PosixRule rule;
        if (!ParsePosixRule(rest.substr(1, end - 1), &rule)) {
          *error = "bad POSIX TZ rule in the footer";
          return nullptr;
        }
        zone->rule_ = rule;
      }
    }
  }
  if (zone->transitions_.empty() && (!zone->rule_ || !zone->rule_->has_dst)) {
    zone->fixed_ = true;
    zone->fixed_offset_ = zone->rule_ ? zone->rule_->std_offset : zone->initial_offset_;
  }
  return zone;
}

std::shared_ptr<const TimeZone> TimeZone::FromPosixRule(std::string_view name,
                                                        std::string_view text, std::string* error) {
  PosixRule rule;
  if (!ParsePosixRule(text, &rule)) {
    *error = "bad POSIX TZ rule \"" + std::string(text) + "\"";
    return nullptr;
  }
  auto zone = std::make_shared<TimeZone>();
  zone->name_ = std::string(name);
  zone->initial_offset_ = rule.std_offset;
  zone->rule_ = rule;
  if (!rule.has_dst) {
    zone->fixed_ = true;
    zone->fixed_offset_ = rule.std_offset;
  }
  return zone;
}

bool TimeZone::ParsePosixRule(std::string_view text, PosixRule* rule) {
  PosixParser p(text);
  int32_t offset = 0;
  if (!p.Name() || !p.Time(24, &offset)) return false;
  rule->std_offset = -offset;  // POSIX counts west of Greenwich as positive
  if (p.AtEnd()) return true;
  if (!p.Name()) return false;
  rule->has_dst = true;
  rule->dst_offset = rule->std_offset + 3600;
  if (!p.Peek(',') && !p.AtEnd()) {
    if (!p.Time(24, &offset)) return false;
    rule->dst_offset = -offset;
  }
  auto parse_date = [&p](PosixRule::Date* date) {
    using Kind = PosixRule::Date::Kind;
    if (p.Eat('M')) {
      date->kind = Kind::kMonthWeekDay;
      if (!p.Number(12, &date->month) || date->month < 1 || !p.Eat('.') ||
          !p.Number(5, &date->week) || date->week < 1 || !p.Eat('.') || !p.Number(6, &date->day)) {
        return false;
      }
    } else if (p.Eat('J')) {
      date->kind = Kind::kJulian1;
      if (!p.Number(365, &date->day) || date->day < 1) return false;
    } else {
      date->kind = Kind::kJulian0;
      if (!p.Number(365, &date->day)) return false;
    }
    date->time = 7200;
    if (p.Eat('/') && !p.Time(167, &date->time)) return false;
    return true;
  };
  if (p.AtEnd()) {
    // No rule: the US rules, as glibc assumes.
    rule->start = {PosixRule::Date::Kind::kMonthWeekDay, 0, 3, 2, 7200};
    rule->end = {PosixRule::Date::Kind::kMonthWeekDay, 0, 11, 1, 7200};
    return true;
  }
  return p.Eat(',') && parse_date(&rule->start) && p.Eat(',') && parse_date(&rule->end) &&
         p.AtEnd();
}

std::vector<TimeZone::Transition> TimeZone::RuleTransitions(int64_t year) const {
  const PosixRule& rule = *rule_;
  auto day_of = [year](const PosixRule::Date& date) -> int64_t {
    using Kind = PosixRule::Date::Kind;
    const int64_t jan1 = DaysFromCivil(year, 1, 1);
    switch (date.kind) {
      case Kind::kJulian1:
        return jan1 + date.day - 1 + (IsLeapYear(year) && date.day >= 60 ? 1 : 0);
      case Kind::kJulian0:
        return jan1 + date.day;
      case Kind::kMonthWeekDay:
        break;
    }
    const int64_t first = DaysFromCivil(year, static_cast<unsigned>(date.month), 1);
    int64_t day = first + (date.day - static_cast<int>(WeekdayFromDays(first)) + 7) % 7 +
                  int64_t{7} * (date.week - 1);
    const int64_t last = first + DaysInMonth(year, static_cast<unsigned>(date.month)) - 1;
    while (day > last) day -= 7;
    return day;
  };
  // The start happens in standard time, the end in daylight time.
  Transition start{day_of(rule.start) * 86400 + rule.start.time - rule.std_offset, rule.std_offset,
                   rule.dst_offset};
  Transition end{day_of(rule.end) * 86400 + rule.end.time - rule.dst_offset, rule.dst_offset,
                 rule.std_offset};
  if (end.at < start.at) return {end, start};
  return {start, end};
}

std::vector<TimeZone::Transition> TimeZone::RuleTransitionsAround(int64_t unix_s) const {
  if (!rule_ || !rule_->has_dst) return {};
  int64_t year = 0;
  unsigned month = 0, day = 0;
  CivilFromDays(FloorDiv(unix_s, 86400), &year, &month, &day);
  std::vector<Transition> raw;
  for (int64_t y = year - 1; y <= year + 1; ++y) {
    for (const Transition& t : RuleTransitions(y)) raw.push_back(t);
  }
  std::stable_sort(raw.begin(), raw.end(),
                   [](const Transition& a, const Transition& b) { return a.at < b.at; });
  // Walk them: several changes at one instant collapse into one, no-op changes disappear.
  std::vector<Transition> out;
  int32_t current = raw.front().offset_before;
  for (size_t i = 0; i < raw.size();) {
    size_t j = i;
    int32_t after = current;
    while (j < raw.size() && raw[j].at == raw[i].at) after = raw[j++].offset_after;
    if (after != current) out.push_back({raw[i].at, current, after});
    current = after;
    i = j;
  }
  return out;
}

int32_t TimeZone::OffsetAt(int64_t unix_s) const {
  if (fixed_) return fixed_offset_;
  if (!transitions_.empty() && unix_s < transitions_.back().at) {
    auto it = std::upper_bound(
        transitions_.begin(), transitions_.end(), unix_s,
        [](int64_t t, const Transition& tr) { return t < tr.at; });  // first with at > t
    if (it == transitions_.begin()) return initial_offset_;
    return std::prev(it)->offset_after;
  }
  const int32_t file_offset =
      transitions_.empty() ? initial_offset_ : transitions_.back().offset_after;
  if (!rule_) return file_offset;
  if (!rule_->has_dst) return rule_->std_offset;
  std::vector<Transition> around = RuleTransitionsAround(unix_s);
  int32_t offset = around.empty() ? rule_->std_offset : around.front().offset_before;
  for (const Transition& t : around) {
    if (t.at > unix_s) break;
    offset = t.offset_after;
  }
  return offset;
}

std::optional<TimeZone::Transition> TimeZone::NextTransition(int64_t unix_s) const {
  if (fixed_) return std::nullopt;
  if (!transitions_.empty() && unix_s < transitions_.back().at) {
    auto it = std::upper_bound(transitions_.begin(), transitions_.end(), unix_s,
                               [](int64_t t, const Transition& tr) { return t < tr.at; });
    return *it;
  }
  if (!rule_ || !rule_->has_dst) return std::nullopt;
  // The rule's changes from here on; the first may also differ from the file's last offset.
  int64_t probe = unix_s;
  for (int round = 0; round < 4; ++round) {
    for (const Transition& t : RuleTransitionsAround(probe)) {
      if (t.at <= unix_s) continue;
      const int32_t before = OffsetAt(t.at - 1);
      if (before != t.offset_after) return Transition{t.at, before, t.offset_after};
    }
    probe += int64_t{366} * 86400;
  }
  return std::nullopt;
}

std::optional<TimeZone::Transition> TimeZone::PrevTransition(int64_t unix_s) const {
  if (fixed_) return std::nullopt;
  const int64_t file_end = transitions_.empty() ? INT64_MIN : transitions_.back().at;
  if (rule_ && rule_->has_dst && unix_s > file_end) {
    int64_t probe = unix_s;
    for (int round = 0; round < 4; ++round) {
      std::vector<Transition> around = RuleTransitionsAround(probe);
      for (auto it = around.rbegin(); it != around.rend(); ++it) {
        if (it->at > unix_s || it->at <= file_end) continue;
        const int32_t before = OffsetAt(it->at - 1);
        if (before != it->offset_after) return Transition{it->at, before, it->offset_after};
      }
      probe -= int64_t{366} * 86400;
      if (probe <= file_end) break;
    }
  }
  if (transitions_.empty()) return std::nullopt;
  auto it = std::upper_bound(transitions_.begin(), transitions_.end(), unix_s,
                             [](int64_t t, const Transition& tr) { return t < tr.at; });
  if (it == transitions_.begin()) return std::nullopt;
  return *std::prev(it);
}

}  // namespace warden
