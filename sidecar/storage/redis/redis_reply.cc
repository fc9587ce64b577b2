#include "storage/redis/redis_reply.h"

#include <charconv>

#include "base/errors.h"

namespace warden {

std::string_view ReplyView::str() const {
  if (!is_string() && !is_status() && !is_error()) Unexpected("a string");
  return std::string_view(reply_->str, reply_->len);
}

long long ReplyView::integer() const {
  if (is_integer()) return reply_->integer;
  if (is_string()) {
    long long value = 0;
    auto [ptr, ec] = std::from_chars(reply_->str, reply_->str + reply_->len, value);
    if (ec == std::errc() && ptr == reply_->str + reply_->len && reply_->len > 0) return value;
  }
  Unexpected("an integer");
}

size_t ReplyView::size() const {
  if (!is_array()) Unexpected("an array");
  return reply_->elements;
}

ReplyView ReplyView::operator[](size_t index) const {
  if (index >= size()) {
    throw RedisReplyError("unexpected reply from Redis to " + std::string(command_) + ": " +
                          std::to_string(size()) + " elements, wanted at least " +
                          std::to_string(index + 1));
  }
  return ReplyView(reply_->element[index], command_);
}

std::string ReplyView::TypeName() const {
  switch (reply_->type) {
    case REDIS_REPLY_STRING:
      return "a string";
    case REDIS_REPLY_ARRAY:
      return "an array";
    case REDIS_REPLY_INTEGER:
      return "an integer";
    case REDIS_REPLY_NIL:
      return "nil";
    case REDIS_REPLY_STATUS:
      return "a status";
    case REDIS_REPLY_ERROR:
      return "an error";
    default:
      return "type " + std::to_string(reply_->type);
  }
}

void ReplyView::ThrowIfError() const {
  if (is_error()) {
    throw RedisReplyError("Redis error from " + std::string(command_) + ": " +
                          std::string(reply_->str, reply_->len));
  }
}

void ReplyView::Unexpected(const char* expected) const {
  ThrowIfError();
  throw RedisReplyError("unexpected reply from Redis to " + std::string(command_) + ": expected " +
                        expected + ", got " + TypeName());
}

}  // namespace warden
