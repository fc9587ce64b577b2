#include "support/redis_server.h"

#include <hiredis/hiredis.h>
#include <signal.h>
#include <sys/time.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <thread>

#include "common/c_ptr.h"
#include "support/free_port.h"
#include "support/poll_until.h"

namespace warden::test {

namespace {

using ContextPtr = CPtr<redisContext, redisFree>;
using ReplyPtr = CPtr<redisReply, freeReplyObject>;

RedisValue Copy(const redisReply* r) {
  RedisValue v;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      v.type = RedisValue::Type::kString;
      v.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      v.type = RedisValue::Type::kStatus;
      v.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      v.type = RedisValue::Type::kError;
      v.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      v.type = RedisValue::Type::kInteger;
      v.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      v.type = RedisValue::Type::kArray;
      for (size_t i = 0; i < r->elements; ++i) v.elements.push_back(Copy(r->element[i]));
      break;
    default:
      break;
  }
  return v;
}

ReplyPtr Send(redisContext* c, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const std::string& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  return ReplyPtr(static_cast<redisReply*>(
      redisCommandArgv(c, static_cast<int>(args.size()), argv.data(), lens.data())));
}

}  // namespace

RedisServer::RedisServer(Options options) : options_(std::move(options)), dir_("warden-redis") {
  socket_path_ = dir_.File("redis.sock");
  for (int attempt = 0; attempt < 5; ++attempt) {
    port_ = FreePort();
    if (TryStart()) return;
  }
  throw std::runtime_error("redis-server did not start; log:\n" + ReadFile(log_path()));
}

std::vector<std::string> RedisServer::Argv() const {
  const char* binary = std::getenv("WARDEN_REDIS_SERVER");
  std::vector<std::string> argv = {binary && *binary ? binary : "redis-server"};
  if (options_.sentinel) {
    // Sentinel rewrites its config file: written once, kept across Restart().
    const Sentinel& s = *options_.sentinel;
    const std::string conf = dir_.File("sentinel.conf");
    if (!std::ifstream(conf).good()) {
      const std::string name = s.master_name;
      // With TLS: TLS only on port(), to clients and to the monitored servers; the unix socket
      // stays plain for Command/Ping.
      std::string listen = "port " + std::to_string(port_) + "\n";
      if (options_.tls) {
        const Tls& tls = *options_.tls;
        listen = "port 0\ntls-port " + std::to_string(port_) + "\ntls-cert-file " + tls.cert_file +
                 "\ntls-key-file " + tls.key_file + "\ntls-ca-cert-file " + tls.ca_file +
                 "\ntls-auth-clients " + (tls.auth_clients ? "yes" : "no") +
                 "\ntls-replication yes\nunixsocket " + socket_path_ + "\nunixsocketperm 700\n";
      }
      WriteFile(
          conf,
          listen + "bind " + host_ + "\ndir " + dir_.path() + "\nlogfile " + log_path() +
              "\ndaemonize no\n" + "sentinel monitor " + name + " " + host_ + " " +
              std::to_string(s.master_port) + " " + std::to_string(s.quorum) +
              "\nsentinel down-after-milliseconds " + name + " " + std::to_string(s.down_after_ms) +
              "\nsentinel failover-timeout " + name + " " + std::to_string(s.failover_timeout_ms) +
              "\nsentinel parallel-syncs " + name + " 1\n" +
              (s.auth_pass.empty() ? "" : "sentinel auth-pass " + name + " " + s.auth_pass + "\n") +
              // The Sentinel's own password: clients and the other Sentinels need it.
              (options_.password.empty()
                   ? ""
                   : "requirepass " + options_.password + "\nsentinel sentinel-pass " +
                         options_.password + "\n"));
    }
    argv.push_back(conf);
    argv.push_back("--sentinel");
    argv.insert(argv.end(), options_.extra_args.begin(), options_.extra_args.end());
    return argv;
  }
  if (options_.tls) {
    argv.insert(argv.end(), {"--port", "0", "--tls-port", std::to_string(port_), "--tls-cert-file",
                             options_.tls->cert_file, "--tls-key-file", options_.tls->key_file,
                             "--tls-ca-cert-file", options_.tls->ca_file, "--tls-auth-clients",
                             options_.tls->auth_clients ? "yes" : "no"});
  } else {
    argv.insert(argv.end(), {"--port", std::to_string(port_)});
  }
  argv.insert(argv.end(), {"--bind", host_, "--unixsocket", socket_path_, "--unixsocketperm", "700",
                           "--save", "", "--appendonly", "no", "--dir", dir_.path(), "--logfile",
                           log_path(), "--daemonize", "no"});
  if (options_.replica_of != 0) {
    argv.insert(argv.end(), {"--replicaof", host_, std::to_string(options_.replica_of)});
  }
  if (!options_.password.empty()) {
    argv.push_back("--requirepass");
    argv.push_back(options_.password);
  }
  argv.insert(argv.end(), options_.extra_args.begin(), options_.extra_args.end());
  return argv;
}

bool RedisServer::TryStart() {
  ProcessOptions po;
  po.argv = Argv();
  process_.emplace(Process::Start(std::move(po)));

  bool up = PollUntil([this] { return !process_->Running() || Ping(); }, options_.start_timeout,
                      std::chrono::milliseconds(5));
  if (up && process_->Running()) return true;
  process_->Kill();
  std::string log = ReadFile(log_path());
  if (log.find("Address already in use") != std::string::npos) return false;
  throw std::runtime_error("redis-server did not start on port " + std::to_string(port_) +
                           "; log:\n" + log + process_->Stderr());
}

void RedisServer::Stop() {
  if (!process_ || !process_->Running()) return;
  Resume();  // a paused server would not answer SHUTDOWN
  Command({"SHUTDOWN", "NOSAVE"});
  if (!process_->Wait(std::chrono::seconds(5))) process_->Kill();
}

void RedisServer::Kill() {
  if (process_) process_->Kill();
}

void RedisServer::Pause() {
  if (!process_ || !process_->Running()) throw std::runtime_error("no redis-server to pause");
  const pid_t pid = process_->pid();
  kill(pid, SIGSTOP);
  for (int i = 0; i < 5000; ++i) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat;
    std::getline(in, stat);
    size_t close = stat.rfind(')');
    if (close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'T') return;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  throw std::runtime_error("redis-server " + std::to_string(pid) + " did not stop on SIGSTOP");
}

void RedisServer::Resume() {
  if (process_ && process_->Running()) kill(process_->pid(), SIGCONT);
}

void RedisServer::Restart() {
  if (process_ && process_->Running()) Stop();
  // The port was ours a moment ago; if something else grabbed it, say so rather than move.
  if (!TryStart()) {
    throw std::runtime_error("cannot restart redis-server: port " + std::to_string(port_) +
                             " is taken");
  }
}

bool RedisServer::running() { return process_ && process_->Running(); }

std::string RedisServer::url() const {
  std::string auth = options_.password.empty() ? "" : ":" + options_.password + "@";
  return (options_.tls ? "rediss://" : "redis://") + auth + host_ + ":" + std::to_string(port_) +
         "/0";
}

redisContext* RedisServer::ConnectAdmin(int timeout_ms) const {
  timeval tv{timeout_ms / 1000, timeout_ms % 1000 * 1000};
  return options_.tls ? redisConnectUnixWithTimeout(socket_path_.c_str(), tv)
                      : redisConnectWithTimeout(host_.c_str(), port_, tv);
}

std::string RedisServer::unix_url() const {
  std::string url = "unix://" + socket_path_ + "?db=0";
  if (!options_.password.empty()) url += "&password=" + options_.password;
  return url;
}

RedisValue RedisServer::Command(const std::vector<std::string>& args) const {
  // Longer than the slowest command a test sends on purpose (DEBUG SLEEP 2), with room for
  // a loaded machine.
  ContextPtr c(ConnectAdmin(5000));
  timeval tv{5, 0};
  if (!c || c->err) {
    throw std::runtime_error("cannot connect to test redis on port " + std::to_string(port_) +
                             ": " + (c ? c->errstr : "out of memory"));
  }
  redisSetTimeout(c.get(), tv);
  if (!options_.password.empty()) Send(c.get(), {"AUTH", options_.password});
  ReplyPtr reply = Send(c.get(), args);
  if (!reply) {
    // SHUTDOWN closes the connection instead of answering: that is success.
    if (!args.empty() && (args[0] == "SHUTDOWN" || args[0] == "shutdown")) return RedisValue();
    throw std::runtime_error("test redis on port " + std::to_string(port_) + ": " + c->errstr);
  }
  return Copy(reply.get());
}

bool RedisServer::Ping() const {
  timeval tv{0, 200000};
  ContextPtr c(ConnectAdmin(200));
  if (!c || c->err) return false;
  redisSetTimeout(c.get(), tv);
  if (!options_.password.empty()) Send(c.get(), {"AUTH", options_.password});
  ReplyPtr reply = Send(c.get(), {"PING"});
  return reply && reply->type == REDIS_REPLY_STATUS;
}

long long RedisServer::CommandCalls(const std::string& command) const {
  const std::string info = Command({"INFO", "commandstats"}).str;
  const std::string field = "cmdstat_" + command + ":calls=";
  const size_t at = info.find(field);
  return at == std::string::npos ? 0 : std::stoll(info.substr(at + field.size()));
}

}  // namespace warden::test
