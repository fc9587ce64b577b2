#include "core/async_redis.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <unistd.h>

#include <algorithm>
#include <exception>

#include "common/redis_redirect.h"
#include "common/url.h"
#include "core/promotion_watch.h"
#include "core/sentinel_locator.h"

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
  if (!sentinels.empty()) {
    std::string out = "sentinel " + master_name + " via ";
    for (size_t i = 0; i < sentinels.size(); ++i) {
      out += (i ? "," : "") + sentinels[i].ToString();
    }
    return out;
  }
  if (!cluster_seeds.empty()) {
    std::string out = "cluster via ";
    for (size_t i = 0; i < cluster_seeds.size(); ++i) {
      out += (i ? "," : "") + cluster_seeds[i].ToString();
    }
    return out;
  }
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

std::string AsyncRedis::Where() const {
  return target_ ? target_->ToString() : endpoint_.Describe();
}

void AsyncRedis::Tick() {
  int64_t now = clock_();
  SentinelLocator* locator = endpoint_.locator;
  if (locator) locator->Want();
  if (ac_ && handshake_deadline_ms_ != 0 && now > handshake_deadline_ms_) {
    // A server that takes the connection and never answers the TLS hello (a plain port does
    // so: it waits for the end of a command line that never comes).
    ++errors_;
    std::string why = "did not complete the TLS handshake within " +
                      std::to_string(endpoint_.timeout_ms) + " ms (is it a TLS port?)";
    SuspectTarget(why);
    Drop("redis " + Where() + " " + why);
    return;
  }
  if (ac_ && !deadlines_.empty() && now > deadlines_.front()) {
    ++errors_;
    std::string why = "did not answer within " + std::to_string(endpoint_.timeout_ms) + " ms";
    SuspectTarget(why);
    Drop("redis " + Where() + " " + why);
    return;
  }
  if (locator && target_ && locator->generation() != target_generation_) {
    std::optional<RedisNodeAddress> primary = locator->primary();
    target_generation_ = locator->generation();
    if (primary && *primary != *target_) {
      // The Sentinels announced another primary: go there now, not at the next error, nor
      // at the end of a backoff step earned by failing on the old one (a dropped connection
      // waits here through a failover, its steps grown to seconds).
      if (ac_) Drop("");
      backoff_.Reset();
      next_attempt_ms_ = now;
    }
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
  log_(LogLevel::kInfo, "redis " + Where() + " is reachable again (" + purpose_ + ")");
  outage_logged_ = false;
}

void AsyncRedis::ScheduleRetry() {
  // Jitter keeps the nodes of a fleet from reconnecting in lockstep after an outage.
  next_attempt_ms_ = clock_() + backoff_.Next();
  deadlines_.clear();
}

void AsyncRedis::Connect() {
  std::string host = endpoint_.host;
  int port = endpoint_.port;
  if (SentinelLocator* locator = endpoint_.locator) {
    std::optional<RedisNodeAddress> primary = locator->primary();
    if (!primary) return;  // being asked for: the next tick tries again
    target_ = *primary;
    target_generation_ = locator->generation();
    host = primary->host;
    port = primary->port;
  }
  redisAsyncContext* ac = !endpoint_.unix_path.empty() && !endpoint_.locator
                              ? redisAsyncConnectUnix(endpoint_.unix_path.c_str())
                              : redisAsyncConnect(host.c_str(), port);
  if (!ac || ac->err) {
    NoteOutage("cannot connect to redis " + Where() + ": " + (ac ? ac->errstr : "out of memory"));
    if (ac) redisAsyncFree(ac);
    SuspectTarget("refused the connection");
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
  if (endpoint_.tls.enabled()) {
    // A primary named by the Sentinels is checked by its address, or tls_server_name.
    const std::string& name =
        endpoint_.tls.NameFor(target_ || endpoint_.host_name.empty() ? host : endpoint_.host_name);
    std::string why;
    if (!AsyncTls::Start(ac, endpoint_.tls.context.get(), name, &why)) {
      NoteOutage("cannot connect to redis " + Where() + ": TLS: " + why);
      redisAsyncFree(ac);
      ScheduleRetry();
      return;
    }
    // Commands have deadlines of their own; this bounds a handshake with none waiting.
    handshake_deadline_ms_ = clock_() + endpoint_.timeout_ms;
  }
  ac_ = ac;
  ready_ = false;
  auto check = [this](std::string what) {
    return [this, what = std::move(what)](redisReply* r) {
      if (r && r->type == REDIS_REPLY_ERROR) {
        NoteOutage(what + " failed on redis " + Where() + ": " + std::string(r->str, r->len));
        DisconnectSoon("");
      }
    };
  };
  if (!endpoint_.password.empty()) {
    if (endpoint_.user.empty()) {
      SendRaw({"AUTH", endpoint_.password}, endpoint_.timeout_ms, check("AUTH"));
    } else {
      SendRaw({"AUTH", endpoint_.user, endpoint_.password}, endpoint_.timeout_ms,
              check("AUTH as user " + endpoint_.user));
    }
  }
  if (endpoint_.db != 0) {
    SendRaw({"SELECT", std::to_string(endpoint_.db)}, endpoint_.timeout_ms, check("SELECT"));
  }
  if (endpoint_.locator) {
    // Whatever the Sentinels said, only a master is written to.
    SendRaw({"ROLE"}, endpoint_.timeout_ms, [this](redisReply* r) { OnRole(r); });
    return;
  }
  Ready();
}

void AsyncRedis::Ready() {
  ready_ = true;
  if (on_connect_) on_connect_();
}

void AsyncRedis::OnRole(redisReply* r) {
  if (!r) return;  // the connection failed: it is suspected where it fails
  std::string role;
  if (r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
      r->element[0]->type == REDIS_REPLY_STRING) {
    role.assign(r->element[0]->str, r->element[0]->len);
  }
  if (role == "master") {
    // ROLE of a master: "master", its offset, and its replicas as [ip, port, offset].
    std::vector<RedisNodeAddress> replicas;
    if (r->elements >= 3 && r->element[2]->type == REDIS_REPLY_ARRAY) {
      const redisReply* list = r->element[2];
      for (size_t i = 0; i < list->elements && i < PromotionWatch::kMaxCandidates; ++i) {
        const redisReply* e = list->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements < 2 ||
            e->element[0]->type != REDIS_REPLY_STRING ||
            e->element[1]->type != REDIS_REPLY_STRING) {
          continue;
        }
        int port = 0;
        std::string host(e->element[0]->str, e->element[0]->len);
        std::string_view port_text(e->element[1]->str, e->element[1]->len);
        if (!host.empty() && Url::ParseNumber(port_text, 1, 65535, &port)) {
          replicas.push_back(RedisNodeAddress{host, port});
        }
      }
    }
    endpoint_.locator->Confirm(*target_, replicas);
    Ready();
    return;
  }
  std::string why = r->type == REDIS_REPLY_ERROR
                        ? "refused ROLE: " + std::string(r->str, r->len)
                        : "is not the primary (ROLE " + (role.empty() ? "?" : role) +
                              "; a failover is under way)";
  NoteOutage("redis " + Where() + " " + why);
  SuspectTarget(why);
  DisconnectSoon("");
}

void AsyncRedis::SuspectTarget(const std::string& why) {
  if (endpoint_.locator && target_) endpoint_.locator->Suspect(*target_, why);
}

void AsyncRedis::LeaveServer(const std::string& why) {
  NoteOutage("redis " + Where() + " answered " + why);
  SuspectTarget("answered " + why);
  DisconnectSoon("");
}

void AsyncRedis::Drop(const std::string& why) {
  redisAsyncContext* ac = ac_;
  ac_ = nullptr;  // Send() refuses from here on, also from callbacks run by the free below
  ready_ = false;
  handshake_deadline_ms_ = 0;
  if (!why.empty()) NoteOutage(why);
  if (ac) redisAsyncFree(ac);  // runs every pending callback with a null reply
  ScheduleRetry();
}

void AsyncRedis::DisconnectSoon(const std::string& why) {
  if (!why.empty()) NoteOutage(why);
  if (ac_) redisAsyncDisconnect(ac_);
}

bool AsyncRedis::Send(const std::vector<std::string>& args, int64_t budget_ms, Callback callback) {
  if (!ready_) return false;
  return SendRaw(args, budget_ms, std::move(callback));
}

bool AsyncRedis::SendRaw(const std::vector<std::string>& args, int64_t budget_ms,
                         Callback callback) {
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
  auto* r = static_cast<redisReply*>(reply);
  if (r && self->ac_ == ac && r->type == REDIS_REPLY_ERROR) {
    try {
      std::string_view text(r->str, r->len);
      RedisRedirect::Kind kind = RedisRedirect::Classify(text).kind;
      if (kind == RedisRedirect::Kind::kReadOnly || kind == RedisRedirect::Kind::kLoading ||
          kind == RedisRedirect::Kind::kMasterDown) {
        // A demoted primary (or one loading its data) answers every write so: leave it
        // rather than fail each command, and let the callback see the error as it is.
        self->LeaveServer(std::string(text.substr(0, text.find(' '))));
      }
    } catch (...) {
      self->NoteCallbackException("reply");
    }
  }
  if (!callback) return;
  try {
    callback(self->ac_ == ac ? static_cast<redisReply*>(reply) : nullptr);
  } catch (...) {
    self->NoteCallbackException("reply");
  }
}

void AsyncRedis::ConnectCallback(const redisAsyncContext* ac, int status) noexcept {
  auto* self = static_cast<AsyncRedis*>(ac->data);
  if (self->ac_ != ac) return;
  self->handshake_deadline_ms_ = 0;
  if (status == REDIS_OK) return;
  // hiredis frees the context itself after a failed connect.
  self->ac_ = nullptr;
  self->ready_ = false;
  try {
    self->NoteOutage("cannot connect to redis " + self->Where() + ": " + AsyncTls::ErrorOf(ac));
    self->SuspectTarget("refused the connection");
    self->ScheduleRetry();
  } catch (...) {
    self->NoteCallbackException("connect");
  }
}

void AsyncRedis::DisconnectCallback(const redisAsyncContext* ac, int status) noexcept {
  auto* self = static_cast<AsyncRedis*>(ac->data);
  if (self->ac_ != ac) return;
  self->ac_ = nullptr;
  self->ready_ = false;
  self->handshake_deadline_ms_ = 0;
  try {
    // ac->err without REDIS_ERR: a TLS connection that broke (core/async_tls.h).
    self->NoteOutage(
        "lost the redis connection to " + self->Where() +
        (status == REDIS_OK && ac->err == 0 ? "" : std::string(": ") + AsyncTls::ErrorOf(ac)));
    self->SuspectTarget("closed the connection");
    self->ScheduleRetry();
  } catch (...) {
    self->NoteCallbackException("disconnect");
  }
}

}  // namespace warden
