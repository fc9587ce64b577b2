#pragma once

#include <string>
#include <string_view>

namespace warden {

// Turns an error number from the server or the client library into the MysqlError subclass it
// belongs to (errors.h) and throws it. `message` is the library's text, `endpoint` names the
// server ("127.0.0.1:3306"), `sql` is the statement (placeholders only) or empty.
// The message reads "MariaDB at ENDPOINT: MESSAGE (CODE) in: SQL", one line, the SQL shortened.
[[noreturn]] void ThrowMysqlError(unsigned code, std::string_view message,
                                  std::string_view endpoint, std::string_view sql);

// The statement on one line, runs of whitespace collapsed, shortened to 200 characters.
std::string ShortSql(std::string_view sql);

// True for the error numbers that mean the connection is gone (2006, 2013, ...).
bool IsMysqlConnectionLost(unsigned code);

}  // namespace warden
