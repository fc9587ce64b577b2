#include "storage/mysql/sql_identifier.h"

namespace warden {

bool ValidSqlIdentifier(std::string_view name, std::string* error) {
  auto fail = [&](const std::string& why) {
    if (error != nullptr) *error = "\"" + std::string(name.substr(0, 80)) + "\" " + why;
    return false;
  };
  if (name.empty()) return fail("is empty: expected a table or column name");
  if (name.size() > 64) return fail("is longer than 64 characters");
  bool all_digits = true;
  for (char c : name) {
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    const bool digit = c >= '0' && c <= '9';
    if (!letter && !digit && c != '_' && c != '$') {
      return fail("is not a plain table or column name (letters, digits, _ and $ only)");
    }
    if (!digit) all_digits = false;
  }
  if (all_digits) return fail("is a number, not a table or column name");
  return true;
}

std::string QuoteIdentifier(std::string_view name) {
  std::string out = "`";
  for (char c : name) {
    if (c == '`') out += '`';
    out += c;
  }
  return out + "`";
}

}  // namespace warden
