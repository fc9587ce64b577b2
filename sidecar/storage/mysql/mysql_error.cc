#include "storage/mysql/mysql_error.h"

#include <string>

#include "base/errors.h"

namespace warden {

namespace {

// Server errors (mysqld_error.h) and client errors (errmsg.h); the numbers are the same in
// MariaDB Connector/C and libmysqlclient.
constexpr unsigned kServerShutdown = 1053;       // ER_SERVER_SHUTDOWN
constexpr unsigned kDupEntry = 1062;             // ER_DUP_ENTRY
constexpr unsigned kNetReadError = 1158;         // ER_NET_READ_ERROR .. 1161
constexpr unsigned kNetWriteInterrupted = 1161;  // ER_NET_WRITE_INTERRUPTED
constexpr unsigned kLockWaitTimeout = 1205;      // ER_LOCK_WAIT_TIMEOUT
constexpr unsigned kLockDeadlock = 1213;         // ER_LOCK_DEADLOCK
constexpr unsigned kDupEntryWithKeyName = 1586;  // ER_DUP_ENTRY_WITH_KEY_NAME
constexpr unsigned kConnectionKilled = 1927;     // ER_CONNECTION_KILLED (MariaDB)
constexpr unsigned kClientDisconnected = 4031;   // ER_CLIENT_INTERACTION_TIMEOUT (MySQL 8)
constexpr unsigned kServerGone = 2006;           // CR_SERVER_GONE_ERROR
constexpr unsigned kServerLost = 2013;           // CR_SERVER_LOST
constexpr unsigned kServerLostExtended = 2055;   // CR_SERVER_LOST_EXTENDED
constexpr unsigned kErrNetRead = 5013;           // CR_ERR_NET_READ (Connector/C)
constexpr unsigned kErrNetWrite = 5014;          // CR_ERR_NET_WRITE (Connector/C)

constexpr size_t kMaxSqlInMessage = 200;

}  // namespace

std::string ShortSql(std::string_view sql) {
  std::string out;
  for (char c : sql) {
    bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r';
    if (space) {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += c;
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  if (out.size() > kMaxSqlInMessage) out = out.substr(0, kMaxSqlInMessage) + "...";
  return out;
}

bool IsMysqlConnectionLost(unsigned code) {
  return code == kServerGone || code == kServerLost || code == kServerLostExtended ||
         code == kErrNetRead || code == kErrNetWrite || code == kServerShutdown ||
         code == kConnectionKilled || code == kClientDisconnected ||
         (code >= kNetReadError && code <= kNetWriteInterrupted);
}

void ThrowMysqlError(unsigned code, std::string_view message, std::string_view endpoint,
                     std::string_view sql) {
  std::string text = "MariaDB at " + std::string(endpoint) + ": " + std::string(message);
  if (code != 0) text += " (" + std::to_string(code) + ")";
  if (!sql.empty()) text += " in: " + ShortSql(sql);
  std::string statement(sql);
  if (IsMysqlConnectionLost(code)) throw MysqlConnectionLostError(text, code, statement);
  if (code == kLockDeadlock || code == kLockWaitTimeout) {
    throw MysqlRetryableError(text, code, statement);
  }
  if (code == kDupEntry || code == kDupEntryWithKeyName) {
    throw MysqlDuplicateKeyError(text, code, statement);
  }
  throw MysqlError(text, code, statement);
}

}  // namespace warden
