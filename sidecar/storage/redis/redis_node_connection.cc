#include "storage/redis/redis_node_connection.h"

#include <cctype>

#include "base/errors.h"
#include "common/redis_redirect.h"

namespace warden {

namespace {

// The error replies that mean "this node is not (or not yet) the primary you want": after a
// failover the old primary answers READONLY, a restarted one LOADING, a replica MASTERDOWN.
const char* Demotion(std::string_view error) {
  switch (RedisRedirect::Classify(error).kind) {
    case RedisRedirect::Kind::kReadOnly:
      return "is no longer the primary (READONLY)";
    case RedisRedirect::Kind::kLoading:
      return "is loading its data (LOADING)";
    case RedisRedirect::Kind::kMasterDown:
      return "lost its primary (MASTERDOWN)";
    default:
      return nullptr;
  }
}

}  // namespace

std::string RedisCommandName(std::string_view first) {
  std::string name(first);
  for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return name;
}

RedisNodeConnection::RedisNodeConnection(RedisSocket socket, int64_t timeout_ms)
    : socket_(std::move(socket)), reader_(redisReaderCreate()), timeout_ms_(timeout_ms) {
  if (!reader_) throw RedisConnectError("out of memory creating a Redis reply reader");
}

RedisNodeConnection RedisNodeConnection::Open(const RedisDeployment& deployment,
                                              const RedisNodeAddress* address, int64_t timeout_ms,
                                              NodeKind kind) {
  RedisNodeConnection conn(address ? RedisSocket::ConnectTcp(*address, deployment.tls, timeout_ms)
                                   : RedisSocket::ConnectUnix(deployment.socket_path, timeout_ms),
                           timeout_ms);
  const std::string where = "Redis at " + conn.endpoint();
  try {
    RedisDeployment::Credentials credentials =
        kind == NodeKind::kData
            ? RedisDeployment::Credentials{deployment.user, deployment.password, true}
            : deployment.SentinelCredentials();
    if (!credentials.password.empty()) {
      RedisReply reply = credentials.user.empty()
                             ? conn.Command({"AUTH", credentials.password})
                             : conn.Command({"AUTH", credentials.user, credentials.password});
      if (reply.view().is_error()) {
        std::string who = credentials.user.empty() ? "the password" : "user " + credentials.user;
        if (kind == NodeKind::kSentinel && credentials.strict) {
          who =
              credentials.user.empty() ? "sentinel_password" : "sentinel_user " + credentials.user;
        }
        std::string refused =
            where + " refused the credentials (" + who + "): " + std::string(reply.view().str());
        // Without sentinel_password the Sentinels get the data nodes' credentials, which a
        // Sentinel without a password (or without that user) refuses: go on without, and say
        // why if it then wants them. Credentials given for the Sentinels must work.
        if (credentials.strict) throw RedisConnectError(refused);
        conn.sentinel_auth_error_ = refused;
      }
    }
    if (kind == NodeKind::kData && deployment.db != 0) {
      RedisReply reply = conn.Command({"SELECT", std::to_string(deployment.db)});
      if (reply.view().is_error()) {
        throw RedisConnectError(where + " refused database " + std::to_string(deployment.db) +
                                ": " + std::string(reply.view().str()));
      }
    }
  } catch (const RedisIoError& e) {
    throw RedisUnreachableError(e.what());  // accepted, then closed or silent
  }
  return conn;
}

RedisReply RedisNodeConnection::Command(std::initializer_list<std::string_view> args) {
  std::vector<std::string_view> argv(args);
  AppendArgv(argv);
  return GetReply(RedisCommandName(argv.front()));
}

RedisReply RedisNodeConnection::Command(const std::vector<std::string>& args) {
  Append(args);
  return GetReply(RedisCommandName(args.front()));
}

void RedisNodeConnection::Append(const std::vector<std::string>& args) {
  std::vector<std::string_view> argv(args.begin(), args.end());
  AppendArgv(argv);
}

void RedisNodeConnection::AppendArgv(const std::vector<std::string_view>& args) {
  std::vector<const char*> ptrs;
  std::vector<size_t> lens;
  ptrs.reserve(args.size());
  lens.reserve(args.size());
  for (std::string_view arg : args) {
    ptrs.push_back(arg.data());
    lens.push_back(arg.size());
  }
  char* raw = nullptr;
  int len = redisFormatCommandArgv(&raw, static_cast<int>(args.size()), ptrs.data(), lens.data());
  CPtr<char, redisFreeCommand> encoded(raw);
  if (len < 0 || !encoded) throw RedisIoError("out of memory encoding a Redis command");
  output_.append(encoded.get(), static_cast<size_t>(len));
}

void RedisNodeConnection::ThrowIfBroken() const {
  if (broken_) {
    throw RedisIoError("the connection to Redis at " + endpoint() + " is broken; reconnect");
  }
}

void RedisNodeConnection::SendQueued(const std::string& command) {
  if (output_.empty()) return;
  try {
    socket_.WriteAll(output_, timeout_ms_, command);
  } catch (const RedisError&) {
    broken_ = true;
    output_.clear();
    throw;
  }
  output_.clear();
}

RedisReply RedisNodeConnection::GetReply(std::string command) {
  ThrowIfBroken();
  try {
    SendQueued(command);
    while (true) {
      void* raw = nullptr;
      if (redisReaderGetReply(reader_.get(), &raw) != REDIS_OK) {
        throw RedisIoError("Redis at " + endpoint() +
                           " sent something that is not RESP: " + reader_->errstr);
      }
      if (raw != nullptr) {
        RedisReply reply(static_cast<redisReply*>(raw), std::move(command));
        ReplyView view = reply.view();
        if (view.is_error()) {
          if (const char* why = Demotion(view.str())) {
            throw RedisIoError("Redis at " + endpoint() + " " + why + "; reconnecting");
          }
        }
        return reply;
      }
      char buffer[16384];
      size_t n = socket_.ReadSome(buffer, sizeof buffer, timeout_ms_, command);
      if (redisReaderFeed(reader_.get(), buffer, n) != REDIS_OK) {
        throw RedisIoError("out of memory reading a reply from Redis at " + endpoint());
      }
    }
  } catch (const RedisError&) {
    broken_ = true;
    output_.clear();
    throw;
  }
}

std::optional<RedisReply> RedisNodeConnection::WaitForMessage(int64_t wait_ms,
                                                              std::string command) {
  ThrowIfBroken();
  SendQueued(command);  // a command Append()ed meanwhile (a PING) goes out first
  void* raw = nullptr;
  if (redisReaderGetReply(reader_.get(), &raw) == REDIS_OK && raw != nullptr) {
    return RedisReply(static_cast<redisReply*>(raw), std::move(command));
  }
  // A reader error is GetReply's to report.
  if (raw == nullptr && reader_->err == 0 && !socket_.WaitReadable(wait_ms)) return std::nullopt;
  return GetReply(std::move(command));
}

}  // namespace warden
