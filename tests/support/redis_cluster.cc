#include "support/redis_cluster.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <stdexcept>

#include "common/cluster_slots.h"
#include "support/free_port.h"
#include "support/poll_until.h"
#include "support/process.h"

namespace warden::test {

namespace {

std::string InfoField(const std::string& info, const std::string& name) {
  size_t at = info.find(name + ":");
  if (at == std::string::npos) return "";
  at += name.size() + 1;
  return info.substr(at, info.find_first_of("\r\n", at) - at);
}

}  // namespace

RedisCluster::RedisCluster(Options options) : options_(std::move(options)) {
  const int total = options_.primaries * (1 + options_.replicas);
  for (int i = 0; i < total; ++i) {
    std::vector<std::string> args = {
        "--cluster-enabled",      "yes",
        "--cluster-config-file",  "nodes.conf",  // in the server's own directory (--dir)
        "--cluster-node-timeout", std::to_string(options_.node_timeout_ms),
        "--cluster-port",         std::to_string(FreePort())};
    if (!options_.password.empty()) args.insert(args.end(), {"--masterauth", options_.password});
    if (options_.tls) args.insert(args.end(), {"--tls-cluster", "yes", "--tls-replication", "yes"});
    RedisServer::Options node;
    node.password = options_.password;
    node.tls = options_.tls;
    node.extra_args = std::move(args);
    nodes_.push_back(std::make_unique<RedisServer>(std::move(node)));
  }
  const char* cli = std::getenv("WARDEN_REDIS_CLI");
  std::vector<std::string> argv = {cli && *cli ? cli : "redis-cli"};
  if (options_.tls) {
    argv.insert(argv.end(), {"--tls", "--cacert", options_.tls->ca_file, "--cert",
                             options_.tls->cert_file, "--key", options_.tls->key_file});
  }
  argv.insert(argv.end(), {"--cluster", "create"});
  for (const auto& node : nodes_) argv.push_back(node->address());
  argv.insert(argv.end(),
              {"--cluster-replicas", std::to_string(options_.replicas), "--cluster-yes"});
  std::map<std::string, std::string> env;
  if (!options_.password.empty()) env["REDISCLI_AUTH"] = options_.password;  // not in argv
  RunResult created = Run(argv, env, std::nullopt, std::chrono::seconds(60));
  if (created.exit_code != 0) {
    throw std::runtime_error("redis-cli --cluster create failed (" +
                             std::to_string(created.exit_code) + "):\n" + created.out +
                             created.err);
  }
  // Every node must know the others and serve the whole map before a test starts.
  if (!WaitForState("ok", std::chrono::seconds(30))) {
    throw std::runtime_error("the test cluster did not reach cluster_state:ok; log:\n" +
                             ReadFile(nodes_[0]->log_path()));
  }
  bool agreed = PollUntil(
      [&] {
        for (const auto& node : nodes_) {
          RedisValue info = node->Command({"CLUSTER", "INFO"});
          if (InfoField(info.str, "cluster_known_nodes") != std::to_string(total)) return false;
          RedisValue slots = node->Command({"CLUSTER", "SLOTS"});
          size_t covered = 0;
          for (const RedisValue& range : slots.elements) {
            if (range.elements.size() < 3) return false;
            covered +=
                static_cast<size_t>(range.elements[1].integer - range.elements[0].integer + 1);
            if (range.elements.size() != static_cast<size_t>(3 + options_.replicas)) return false;
          }
          if (covered != ClusterSlotMap::kSlots) return false;
        }
        return true;
      },
      std::chrono::seconds(30), std::chrono::milliseconds(50));
  if (!agreed) throw std::runtime_error("the test cluster's nodes did not agree on the slot map");
}

std::string RedisCluster::url() const {
  std::string hosts;
  for (const auto& node : nodes_) hosts += (hosts.empty() ? "" : ",") + node->address();
  std::string auth = options_.password.empty() ? "" : ":" + options_.password + "@";
  std::string tls = options_.tls ? "?tls=on&tls_ca=" + options_.tls->ca_file : "";
  return "cluster://" + auth + hosts + tls;
}

int RedisCluster::Slot(const std::string& key) { return ClusterKeySlot(key); }

RedisValue RedisCluster::Slots() const {
  for (const auto& node : nodes_) {
    if (!node->Ping()) continue;
    RedisValue slots = node->Command({"CLUSTER", "SLOTS"});
    if (!slots.is_error()) return slots;
  }
  throw std::runtime_error("no node of the test cluster answers CLUSTER SLOTS");
}

size_t RedisCluster::IndexOfPort(long long port) const {
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i]->port() == port) return i;
  }
  throw std::runtime_error("CLUSTER SLOTS names port " + std::to_string(port) +
                           ", not a node of the test cluster");
}

size_t RedisCluster::OwnerOf(int slot) const {
  RedisValue slots = Slots();
  for (const RedisValue& range : slots.elements) {
    if (range.elements[0].integer <= slot && slot <= range.elements[1].integer) {
      return IndexOfPort(range.elements[2].elements.at(1).integer);
    }
  }
  throw std::runtime_error("no node of the test cluster serves slot " + std::to_string(slot));
}

std::vector<size_t> RedisCluster::ReplicasOf(int slot) const {
  RedisValue slots = Slots();
  for (const RedisValue& range : slots.elements) {
    if (slot < range.elements.at(0).integer || slot > range.elements.at(1).integer) continue;
    std::vector<size_t> out;
    for (size_t i = 3; i < range.elements.size(); ++i) {
      out.push_back(IndexOfPort(range.elements[i].elements.at(1).integer));
    }
    return out;
  }
  throw std::runtime_error("no node of the test cluster serves slot " + std::to_string(slot));
}

std::vector<size_t> RedisCluster::Primaries() const {
  std::vector<size_t> out;
  RedisValue slots = Slots();
  for (const RedisValue& range : slots.elements) {
    size_t i = IndexOfPort(range.elements[2].elements.at(1).integer);
    if (std::find(out.begin(), out.end(), i) == out.end()) out.push_back(i);
  }
  return out;
}

RedisValue RedisCluster::Checked(size_t node, const std::vector<std::string>& args) const {
  RedisValue v = nodes_.at(node)->Command(args);
  if (v.is_error()) {
    std::string command;
    for (const std::string& a : args) command += (command.empty() ? "" : " ") + a;
    throw std::runtime_error("test cluster node " + std::to_string(node) + ": " + command + ": " +
                             v.str);
  }
  return v;
}

std::string RedisCluster::NodeId(size_t i) const { return Checked(i, {"CLUSTER", "MYID"}).str; }

RedisValue RedisCluster::CommandFor(const std::string& key,
                                    const std::vector<std::string>& args) const {
  return nodes_.at(OwnerOf(Slot(key)))->Command(args);
}

void RedisCluster::BeginMigration(int slot, size_t from, size_t to) {
  const std::string s = std::to_string(slot);
  Checked(to, {"CLUSTER", "SETSLOT", s, "IMPORTING", NodeId(from)});
  Checked(from, {"CLUSTER", "SETSLOT", s, "MIGRATING", NodeId(to)});
}

void RedisCluster::MigrateKeys(int slot, size_t from, size_t to,
                               const std::vector<std::string>& keys) {
  std::vector<std::string> moving = keys;
  if (moving.empty()) {
    RedisValue found = Checked(from, {"CLUSTER", "GETKEYSINSLOT", std::to_string(slot), "100000"});
    for (const RedisValue& key : found.elements) moving.push_back(key.str);
  }
  if (moving.empty()) return;
  std::vector<std::string> args = {
      "MIGRATE", nodes_.at(to)->host(), std::to_string(nodes_.at(to)->port()), "", "0", "5000"};
  if (!options_.password.empty()) args.insert(args.end(), {"AUTH", options_.password});
  args.push_back("KEYS");
  args.insert(args.end(), moving.begin(), moving.end());
  Checked(from, args);
}

void RedisCluster::FinishMigration(int slot, size_t from, size_t to) {
  const std::string s = std::to_string(slot);
  const std::string owner = NodeId(to);
  // The new owner first, then the old one, then the rest: as redis-cli does.
  Checked(to, {"CLUSTER", "SETSLOT", s, "NODE", owner});
  Checked(from, {"CLUSTER", "SETSLOT", s, "NODE", owner});
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (i == from || i == to || !nodes_[i]->Ping()) continue;
    nodes_[i]->Command({"CLUSTER", "SETSLOT", s, "NODE", owner});  // a replica may refuse
  }
}

void RedisCluster::MoveSlot(int slot, size_t to) {
  const size_t from = OwnerOf(slot);
  if (from == to) return;
  BeginMigration(slot, from, to);
  MigrateKeys(slot, from, to);
  FinishMigration(slot, from, to);
}

bool RedisCluster::WaitForState(const std::string& state, std::chrono::milliseconds timeout) const {
  return PollUntil(
      [&] {
        for (const auto& node : nodes_) {
          if (!node->Ping()) continue;
          RedisValue info = node->Command({"CLUSTER", "INFO"});
          if (InfoField(info.str, "cluster_state") != state) return false;
        }
        return true;
      },
      timeout, std::chrono::milliseconds(50));
}

bool RedisCluster::WaitForOwner(int slot, size_t owner, std::chrono::milliseconds timeout) const {
  const int port = nodes_.at(owner)->port();
  return PollUntil(
      [&] {
        for (const auto& node : nodes_) {
          if (!node->Ping()) continue;
          RedisValue slots = node->Command({"CLUSTER", "SLOTS"});
          bool found = false;
          for (const RedisValue& range : slots.elements) {
            if (range.elements.size() >= 3 && range.elements[0].integer <= slot &&
                slot <= range.elements[1].integer) {
              found = range.elements[2].elements.at(1).integer == port;
            }
          }
          if (!found) return false;
        }
        return true;
      },
      timeout, std::chrono::milliseconds(50));
}

}  // namespace warden::test
