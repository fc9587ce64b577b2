#pragma once

#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace warden {

// One value bound to a `?` of a prepared statement: NULL, a signed or unsigned integer, a
// double or a string (bytes, sent as they are: also right for VARBINARY/BLOB columns).
// Converts implicitly, so statements read naturally:
//   st.Execute({member_id, name, std::nullopt, last_login});
// bool binds as 0/1; std::optional<T> binds as T or NULL.
class MysqlValue {
 public:
  using Variant = std::variant<std::monostate, int64_t, uint64_t, double, std::string>;

  MysqlValue(std::nullopt_t) {}  // NULL
  template <std::signed_integral T>
  MysqlValue(T value) : value_(static_cast<int64_t>(value)) {}
  template <std::unsigned_integral T>
  MysqlValue(T value) : value_(static_cast<uint64_t>(value)) {}
  MysqlValue(double value) : value_(value) {}
  MysqlValue(std::string value) : value_(std::move(value)) {}
  MysqlValue(std::string_view value) : value_(std::string(value)) {}
  MysqlValue(const char* value) : value_(std::string(value)) {}
  template <typename T>
  MysqlValue(const std::optional<T>& value) {
    if (value) value_ = MysqlValue(*value).value_;
  }

  bool is_null() const { return std::holds_alternative<std::monostate>(value_); }
  const Variant& get() const { return value_; }

 private:
  Variant value_;
};

}  // namespace warden
