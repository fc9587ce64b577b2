#pragma once

#include <stdexcept>
#include <string>

namespace warden {

// Exit codes of the `warden` binary.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // Redis unreachable or misbehaving, I/O failure
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

}  // namespace warden
