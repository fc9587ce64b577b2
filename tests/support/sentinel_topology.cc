#include "support/sentinel_topology.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

#include "support/poll_until.h"

namespace warden::test {

namespace {

// A field of a Sentinel's SENTINEL MASTER reply (a flat name/value array), or "".
std::string Field(const RedisValue& reply, const std::string& name) {
  for (size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
    if (reply.elements[i].str == name) return reply.elements[i + 1].str;
  }
  return "";
}

bool InSync(const RedisServer& replica) {
  RedisValue info = replica.Command({"INFO", "replication"});
  return info.str.find("master_link_status:up") != std::string::npos;
}

}  // namespace

SentinelTopology::SentinelTopology(const std::string& password,
                                   const std::string& sentinel_password)
    : password_(password) {
  std::vector<std::string> auth;
  if (!password.empty()) auth = {"--masterauth", password};
  RedisServer::Options primary;
  primary.password = password;
  primary.extra_args = auth;
  primary_ = std::make_unique<RedisServer>(primary);
  RedisServer::Options replica = primary;
  replica.replica_of = primary_->port();
  replica_ = std::make_unique<RedisServer>(replica);
  for (int i = 0; i < 3; ++i) {
    RedisServer::Options sentinel;
    sentinel.password = sentinel_password;
    sentinel.sentinel =
        RedisServer::Sentinel{.master_port = primary_->port(), .auth_pass = password};
    sentinels_.push_back(std::make_unique<RedisServer>(sentinel));
  }
  // In sync on both sides: the replica's link is up, and the primary lists it online (ROLE),
  // which it does only after the replica's first acknowledgement.
  auto online = [this] {
    RedisValue role = primary_->Command({"ROLE"});
    return role.elements.size() >= 3 && !role.elements[2].elements.empty();
  };
  if (!PollUntil([&] { return InSync(*replica_) && online(); }, std::chrono::seconds(20),
                 std::chrono::milliseconds(50))) {
    throw std::runtime_error("the test replica did not sync; log:\n" +
                             ReadFile(replica_->log_path()));
  }
  bool ready = PollUntil(
      [this] {
        for (const auto& s : sentinels_) {
          RedisValue m = s->Command({"SENTINEL", "MASTER", kMaster});
          if (m.is_error() || Field(m, "num-slaves") != "1" ||
              Field(m, "num-other-sentinels") != "2") {
            return false;
          }
        }
        return true;
      },
      std::chrono::seconds(30), std::chrono::milliseconds(100));
  if (!ready) {
    throw std::runtime_error("the test Sentinels did not find each other; log:\n" +
                             ReadFile(sentinels_[0]->log_path()));
  }
}

SentinelTopology::PortHolder::PortHolder(int port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);  // past TIME_WAIT
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, 64) != 0) {
    ::close(fd_);
    throw std::runtime_error("cannot hold port " + std::to_string(port) +
                             ": another server took it already");
  }
  thread_ = std::thread([this] {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) > 0) {
        int client = ::accept(fd_, nullptr, nullptr);
        if (client >= 0) ::close(client);
      }
    }
  });
}

SentinelTopology::PortHolder::~PortHolder() {
  stop_ = true;
  thread_.join();
  ::close(fd_);
}

void SentinelTopology::KillPrimary() {
  primary_->Kill();
  held_port_ = std::make_unique<PortHolder>(primary_->port());
}

void SentinelTopology::RestartPrimary() {
  held_port_.reset();
  primary_->Restart();
}

std::string SentinelTopology::url() const {
  std::string hosts;
  for (const auto& s : sentinels_) hosts += (hosts.empty() ? "" : ",") + s->address();
  std::string auth = password_.empty() ? "" : ":" + password_ + "@";
  return "sentinel://" + auth + hosts + "/" + kMaster + "?db=0";
}

std::string SentinelTopology::SentinelsPrimary() const {
  for (const auto& s : sentinels_) {
    try {
      RedisValue r = s->Command({"SENTINEL", "get-master-addr-by-name", kMaster});
      if (r.elements.size() == 2) return r.elements[0].str + ":" + r.elements[1].str;
    } catch (const std::runtime_error&) {
    }
  }
  return "";
}

bool SentinelTopology::WaitForPrimary(const std::string& address,
                                      std::chrono::milliseconds timeout) const {
  return PollUntil(
      [&] {
        if (SentinelsPrimary() != address) return false;
        RedisServer* node = address == primary_->address() ? primary_.get() : replica_.get();
        try {
          RedisValue role = node->Command({"ROLE"});
          return !role.elements.empty() && role.elements[0].str == "master";
        } catch (const std::runtime_error&) {
          return false;
        }
      },
      timeout, std::chrono::milliseconds(100));
}

}  // namespace warden::test
