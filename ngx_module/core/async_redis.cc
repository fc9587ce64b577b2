#include "core/async_redis.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <unistd.h>

#include <algorithm>
#include <exception>

namespace warden {

namespace {

constexpr int64_t kMinBackoffMs = 100;
constexpr int64_t kMaxBackoffMs = 5000;

}  // namespace

struct AsyncRedis::Pending {
  AsyncRedis* owner;
  Callback callback;
};

std::string RedisEndpoint::Describe() const {
  if (!unix_path.empty()) return "unix:" + unix_path;
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

AsyncRedis::AsyncRedis(RedisEndpoint endpoint, std::string purpose, Clock clock, AttachFn attach,
                       LogFn log)
    : endpoint_(std::move(endpoint)),
      purpose_(std::move(purpose)),
      clock_(std::move(clock)),
      attach_(std::move(attach)),
      log_(std::move(log)),
      backoff_(kMinBackoffMs, kMaxBackoffMs, Backoff::Jitter::kEqual,
               std::random_device{}() ^ static_cast<uint32_t>(getpid())) {}

AsyncRedis::~AsyncRedis() { Close(); }

void AsyncRedis::Close() {
  if (ac_) Drop("");
}

void AsyncRedis::Tick() {
  int64_t now = clock_();
  if (ac_ && !deadlines_.empty() && now > deadlines_.front()) {
    ++errors_;
    Drop("redis " + endpoint_.Describe() + " did not answer within " +
         std::to_string(endpoint_.timeout_ms) + " ms");
    return;
  }
  if (!ac_ && now >= next_attempt_ms_) Connect();
}

void AsyncRedis::NoteOutage(const std::string& what) {
  ++errors_;
  last_error_ = what;
  last_error_ms_ = clock_();
  if (outage_logged_) return;
  log_(LogLevel::kError, what + " (" + purpose_ + "; nothing waits on it, retrying)");
  outage_logged_ = true;
}

void AsyncRedis::MarkHealthy() {
  backoff_.Reset();
  if (!outage_logged_) return;
  log_(LogLevel::kInfo, "redis " + endpoint_.Describe() + " is reachable again (" + purpose_ + ")");
  outage_logged_ = false;
}

void AsyncRedis::ScheduleRetry() {
  // Jitter keeps the nodes of a fleet from reconnecting in lockstep after an outage.
  next_attempt_ms_ = clock_() + backoff_.Next();
  deadlines_.clear();
}

void AsyncRedis::Connect() {
  redisAsyncContext* ac = endpoint_.unix_path.empty()
                              ? redisAsyncConnect(endpoint_.host.c_str(), endpoint_.port)
                              : redisAsyncConnectUnix(endpoint_.unix_path.c_str());
  if (!ac || ac->err) {
    NoteOutage("cannot connect to redis " + endpoint_.Describe() + ": " +
               (ac ? ac->errstr : "out of memory"));
    if (ac) redisAsyncFree(ac);
    ScheduleRetry();
    return;
  }
  ac->data = this;
  redisAsyncSetConnectCallback(ac, ConnectCallback);
  redisAsyncSetDisconnectCallback(ac, DisconnectCallback);
  if (!attach_(ac)) {
    log_(LogLevel::kError, "cannot attach the redis connection to the event loop");
    redisAsyncFree(ac);
    ScheduleRetry();
    return;
  }
  ac_ = ac;
  auto check = [this](const char* what) {
    return [this, what](redisReply* r) {
      if (r && r->type == REDIS_REPLY_ERROR) {
        NoteOutage(std::string(what) + " failed on redis " + endpoint_.Describe() + ": " +
                   std::string(r->str, r->len));
        DisconnectSoon("");
      }
    };
  };
  if (!endpoint_.password.empty()) {
    Send({"AUTH", endpoint_.password}, endpoint_.timeout_ms, check("AUTH"));
  }
  if (endpoint_.db != 0) {
    Send({"SELECT", std::to_string(endpoint_.db)}, endpoint_.timeout_ms, check("SELECT"));
  }
  if (on_connect_) on_connect_();
}

void AsyncRedis::Drop(const std::string& why) {
  redisAsyncContext* ac = ac_;
  ac_ = nullptr;  // Send() refuses from here on, also from callbacks run by the free below
  if (!why.empty()) NoteOutage(why);
  if (ac) redisAsyncFree(ac);  // runs every pending callback with a null reply
  ScheduleRetry();
}

void AsyncRedis::DisconnectSoon(const std::string& why) {
  if (!why.empty()) NoteOutage(why);
  if (ac_) redisAsyncDisconnect(ac_);
}

bool AsyncRedis::Send(const std::vector<std::string>& args, int64_t budget_ms, Callback callback) {
  if (!ac_ || (ac_->c.flags & REDIS_DISCONNECTING)) return false;
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  argv.reserve(args.size());
  lens.reserve(args.size());
  for (auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  auto* pending = new Pending{this, std::move(callback)};
  if (redisAsyncCommandArgv(ac_, ReplyCallback, pending, static_cast<int>(args.size()), argv.data(),
                            lens.data()) != REDIS_OK) {
    delete pending;
    return false;
  }
  deadlines_.push_back(clock_() + budget_ms);
  return true;
}

// hiredis calls these from C, inside nginx's event handlers: nothing may unwind through it. An
// exception (in practice std::bad_alloc) is logged and the event goes on as handled.
void AsyncRedis::NoteCallbackException(const char* callback) noexcept {
  const char* what = "unknown exception";
  try {
    throw;
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
  }
  ++errors_;
  try {
    log_(LogLevel::kError, std::string("an exception in a redis ") + callback + " callback (" +
                               purpose_ + "): " + what);
  } catch (...) {
    // Nothing left to report with.
  }
}

void AsyncRedis::ReplyCallback(redisAsyncContext* ac, void* reply, void* privdata) noexcept {
  auto* pending = static_cast<Pending*>(privdata);
  AsyncRedis* self = pending->owner;
  if (reply && self->ac_ == ac && !self->deadlines_.empty()) self->deadlines_.pop_front();
  Callback callback = std::move(pending->callback);
  delete pending;
  if (!callback) return;
  try {
    callback(self->ac_ == ac ? static_cast<redisReply*>(reply) : nullptr);
  } catch (...) {
    self->NoteCallbackException("reply");
  }
}

void AsyncRedis::ConnectCallback(const redisAsyncContext* ac, int status) noexcept {
  auto* self = static_cast<AsyncRedis*>(ac->data);
  if (status == REDIS_OK || self->ac_ != ac) return;
  // hiredis frees the context itself after a failed connect.
  self->ac_ = nullptr;
  try {
    self->NoteOutage("cannot connect to redis " + self->endpoint_.Describe() + ": " + ac->errstr);
    self->ScheduleRetry();
  } catch (...) {
    self->NoteCallbackException("connect");
  }
}

void AsyncRedis::DisconnectCallback(const redisAsyncContext* ac, int status) noexcept {
  auto* self = static_cast<AsyncRedis*>(ac->data);
  if (self->ac_ != ac) return;
  self->ac_ = nullptr;
  try {
    self->NoteOutage("lost the redis connection to " + self->endpoint_.Describe() +
                     (status == REDIS_OK ? "" : std::string(": ") + ac->errstr));
    self->ScheduleRetry();
  } catch (...) {
    self->NoteCallbackException("disconnect");
  }
}

}  // namespace warden
