#pragma once

#include <string>
#include <string_view>

namespace warden {

// Table and column names come from the config file and the command line, and an identifier
// cannot be bound to a `?`. So every name is checked against a conservative shape (1 to 64
// ASCII letters, digits, `_` or `$`, not all digits) before it is quoted into SQL with
// backticks; nothing else ever reaches the statement text.
bool ValidSqlIdentifier(std::string_view name, std::string* error);

// "`name`", any backtick in it doubled: right for names read back from information_schema,
// which may hold characters the check above refuses. Names from input are checked first.
std::string QuoteIdentifier(std::string_view name);

}  // namespace warden
