#pragma once

#include <hiredis/hiredis.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "common/c_ptr.h"

namespace warden {

// A read-only view of one (possibly nested) reply. Accessors check the type and throw
// RedisReplyError ("unexpected reply from Redis to HSCAN: expected an array, got a string")
// instead of reading the wrong union member, so a surprising server never crashes the sidecar.
class ReplyView {
 public:
  ReplyView(const redisReply* reply, std::string_view command) : reply_(reply), command_(command) {}

  bool is_error() const { return reply_->type == REDIS_REPLY_ERROR; }
  bool is_nil() const { return reply_->type == REDIS_REPLY_NIL; }
  bool is_array() const { return reply_->type == REDIS_REPLY_ARRAY; }
  bool is_integer() const { return reply_->type == REDIS_REPLY_INTEGER; }
  bool is_string() const { return reply_->type == REDIS_REPLY_STRING; }
  bool is_status() const { return reply_->type == REDIS_REPLY_STATUS; }

  // The text of a string, status or error reply.
  std::string_view str() const;
  // An integer reply, or a string reply holding a decimal integer (as TIME and Lua return them).
  long long integer() const;
  // The elements of an array reply.
  size_t size() const;
  ReplyView operator[](size_t index) const;

  // "a string", "an array", ... for messages.
  std::string TypeName() const;
  // hiredis's reply itself, for readers shared with the module (common/cluster_slots.h).
  const redisReply* raw() const { return reply_; }
  // Throws RedisReplyError("Redis error from CMD: <text>") if this is an error reply.
  void ThrowIfError() const;

 private:
  [[noreturn]] void Unexpected(const char* expected) const;

  const redisReply* reply_;
  std::string_view command_;
};

// Owns one top-level reply from hiredis.
class RedisReply {
 public:
  RedisReply(redisReply* reply, std::string command)
      : reply_(reply), command_(std::move(command)) {}

  ReplyView view() const { return ReplyView(reply_.get(), command_); }
  const std::string& command() const { return command_; }

 private:
  CPtr<redisReply, freeReplyObject> reply_;
  std::string command_;  // the command's name, for messages
};

}  // namespace warden
