#include "storage/mysql/rows_json.h"

#include <charconv>
#include <cmath>
#include <string>

namespace warden {

namespace {

bool ValidUtf8(const std::string& s) {
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    size_t extra = 0;
    if (c < 0x80) {
      extra = 0;
    } else if ((c & 0xE0) == 0xC0 && c >= 0xC2) {
      extra = 1;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
    } else if ((c & 0xF8) == 0xF0 && c <= 0xF4) {
      extra = 3;
    } else {
      return false;
    }
    if (n - i - 1 < extra) return false;
    for (size_t k = 1; k <= extra; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += extra + 1;
  }
  return true;
}

std::string Base64(const std::string& in) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t n = (static_cast<unsigned char>(in[i]) << 16) |
                       (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  if (i < in.size()) {
    uint32_t n = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) n |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

nlohmann::json Value(const std::string& text, MysqlColumnKind kind) {
  switch (kind) {
    case MysqlColumnKind::kInteger: {
      int64_t i = 0;
      auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), i);
      if (ec == std::errc() && p == text.data() + text.size()) return i;
      uint64_t u = 0;
      auto [pu, ecu] = std::from_chars(text.data(), text.data() + text.size(), u);
      if (ecu == std::errc() && pu == text.data() + text.size()) return u;
      return text;
    }
    case MysqlColumnKind::kFloat: {
      double d = 0;
      auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), d);
      if (ec == std::errc() && p == text.data() + text.size() && std::isfinite(d)) return d;
      return text;
    }
    case MysqlColumnKind::kBinary:
      if (ValidUtf8(text)) return text;
      return nlohmann::json{{"base64", Base64(text)}};
    case MysqlColumnKind::kText:
      break;
  }
  return text;
}

}  // namespace

nlohmann::json RowsToJson(const MysqlRows& rows) {
  nlohmann::json out = nlohmann::json::array();
  for (MysqlRow row : rows) {
    nlohmann::json object = nlohmann::json::object();
    for (size_t c = 0; c < rows.columns().size(); ++c) {
      const auto& value = row.Get(c);
      object[rows.columns()[c]] = value ? Value(*value, rows.kind(c)) : nlohmann::json(nullptr);
    }
    out.push_back(std::move(object));
  }
  return out;
}

}  // namespace warden
