#pragma once

#include <stdexcept>
#include <string>
#include <utility>

namespace warden {

// Exit codes of the `warden` binary.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // Redis or MariaDB unreachable or misbehaving, I/O
inline constexpr int kExitUsage = 2;    // bad input, bad option, bad config

// The sidecar's one error model: typed exceptions, each carrying the exit code it maps to.
// Messages are one line without the "warden: " prefix, which the CLI adds.
class Error : public std::runtime_error {
 public:
  Error(const std::string& message, int exit_code)
      : std::runtime_error(message), exit_code_(exit_code) {}
  int exit_code() const { return exit_code_; }

 private:
  int exit_code_;
};

// Something the user typed or configured is wrong: a bad address, TTL, URL, option or file.
class UsageError : public Error {
 public:
  explicit UsageError(const std::string& message) : Error(message, kExitUsage) {}
};

// Local I/O failed (cannot read the list, cannot write the output file).
class IoError : public Error {
 public:
  explicit IoError(const std::string& message) : Error(message, kExitFailure) {}
};

// Anything that went wrong talking to Redis.
class RedisError : public Error {
 public:
  explicit RedisError(const std::string& message) : Error(message, kExitFailure) {}
};

// The connection could not be established (refused, unknown host, auth failed, timeout).
class RedisConnectError : public RedisError {
 public:
  using RedisError::RedisError;
};

// The server gave no answer at all: the connection was refused or timed out (a dead host, a
// killed Redis). A Sentinel client then looks for a replica already promoted.
class RedisUnreachableError : public RedisConnectError {
 public:
  using RedisConnectError::RedisConnectError;
};

// An established connection broke or timed out; the connection is unusable afterwards.
class RedisIoError : public RedisError {
 public:
  using RedisError::RedisError;
};

// Redis answered with an error, or with a reply of a type the caller did not expect.
class RedisReplyError : public RedisError {
 public:
  using RedisError::RedisError;
};

// Anything that went wrong talking to MariaDB/MySQL. code() is the server's or the client
// library's error number (ER_* / CR_*; 0 when Warden itself found a value unusable), sql() the
// statement as written, with placeholders and never the values bound to them.
class MysqlError : public Error {
 public:
  MysqlError(const std::string& message, unsigned code, std::string sql)
      : Error(message, kExitFailure), code_(code), sql_(std::move(sql)) {}
  unsigned code() const { return code_; }
  const std::string& sql() const { return sql_; }

 private:
  unsigned code_;
  std::string sql_;
};

// The connection could not be established: refused, timed out, access denied, unknown database.
class MysqlConnectError : public MysqlError {
 public:
  using MysqlError::MysqlError;
};

// An established connection broke or timed out (server gone, killed, shut down); the
// connection is unusable afterwards: Reconnect and prepare the statements again.
class MysqlConnectionLostError : public MysqlError {
 public:
  using MysqlError::MysqlError;
};

// A deadlock (1213) or a lock wait timeout (1205): roll back and run the whole transaction again.
class MysqlRetryableError : public MysqlError {
 public:
  using MysqlError::MysqlError;
};

// A unique key already holds this value (1062).
class MysqlDuplicateKeyError : public MysqlError {
 public:
  using MysqlError::MysqlError;
};

}  // namespace warden
