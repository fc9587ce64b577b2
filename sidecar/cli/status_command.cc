#include "cli/status_command.h"

#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "base/errors.h"
#include "base/time_format.h"
#include "common/redis_schema.h"
#include "net/http_client.h"
#include "storage/redis/primary_record.h"
#include "storage/redis/redis_connection.h"

namespace warden {

namespace {

// One sample of a Prometheus text page without labels ("name value"), if present.
std::optional<double> Sample(const std::string& page, std::string_view name) {
  std::istringstream in(page);
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > name.size() && line.compare(0, name.size(), name) == 0 &&
        line[name.size()] == ' ') {
      try {
        return std::stod(line.substr(name.size() + 1));
      } catch (const std::exception&) {
        return std::nullopt;
      }
    }
  }
  return std::nullopt;
}

std::optional<long long> IntegerOf(const RedisReply& reply) {
  ReplyView v = reply.view();
  v.ThrowIfError();
  if (v.is_nil()) return std::nullopt;
  return v.integer();
}

// A node's view of the blacklist, from its warden_status page.
nlohmann::json NodeStatus(HttpClient& http, const std::string& url, std::optional<long long> seq,
                          int64_t timeout_ms) {
  nlohmann::json node = {{"url", url}};
  try {
    HttpClient::Request request;
    request.url = url;
    request.connect_timeout_ms = timeout_ms;
    request.timeout_ms = timeout_ms;
    HttpResponse response = http.Send(request);
    if (response.status != 200) {
      node["error"] = "HTTP " + std::to_string(response.status);
      return node;
    }
    auto change_seq = Sample(response.body, "warden_blacklist_change_seq");
    auto lag = Sample(response.body, "warden_blacklist_sync_lag_seconds");
    if (!change_seq && !lag) {
      node["error"] = "no warden_blacklist_* metrics on the page (is it warden_status?)";
      return node;
    }
    if (change_seq) {
      node["change_seq"] = static_cast<long long>(*change_seq);
      if (seq) node["behind"] = *seq - static_cast<long long>(*change_seq);
    }
    if (lag) node["sync_lag_seconds"] = *lag;  // -1: never heard from Redis
  } catch (const HttpError& e) {
    node["error"] = e.what();
  }
  return node;
}

}  // namespace

StatusCommand::StatusCommand(CLI::App& parent, CommandContext& context) : ctx_(context) {
  app_ = parent.add_subcommand(
      "status",
      "Show the Redis primary and how it was found, the last failover seen, the blacklist's "
      "version in Redis and, with --node, each nginx node's copy and sync lag");
  app_->add_option("--node", nodes_,
                   "An nginx node's warden_status URL (http://host/warden/metrics); repeatable")
      ->type_name("URL");
  app_->add_flag("--json", json_, "Print one JSON object");
}

int StatusCommand::Run() {
  RedisConnection conn = ctx_.Connect();
  const RedisSchema schema = ctx_.schema();
  const RedisDeployment& deployment = conn.deployment();

  nlohmann::json redis = {{"deployment", deployment.Describe()},
                          {"primary", conn.endpoint()},
                          {"found_via", conn.found_via()},
                          {"tls", deployment.tls.enabled}};
  nlohmann::json replicas = nlohmann::json::array();
  nlohmann::json slots = nlohmann::json::array();
  if (const ClusterClient* cluster = conn.cluster()) {
    // A cluster: which primary serves which slots (CLUSTER SLOTS), with its replicas.
    for (const ClusterSlotRange& range : cluster->ranges()) {
      nlohmann::json names = nlohmann::json::array();
      for (const RedisNodeAddress& r : range.replicas) names.push_back(r.ToString());
      slots.push_back({{"slots", std::to_string(range.first) + "-" + std::to_string(range.last)},
                       {"primary", range.primary.ToString()},
                       {"replicas", names}});
    }
    redis["slots"] = slots;
  } else {
    RedisReply role = conn.Command({"ROLE"});
    role.view().ThrowIfError();
    long long primary_offset = role.view()[1].integer();
    if (role.view().size() >= 3) {
      for (size_t i = 0; i < role.view()[2].size(); ++i) {
        ReplyView r = role.view()[2][i];
        const long long offset = r[2].integer();
        replicas.push_back({{"address", std::string(r[0].str()) + ":" + std::string(r[1].str())},
                            {"behind_bytes", primary_offset - offset}});
      }
    }
  }
  redis["replicas"] = replicas;

  nlohmann::json failover = nullptr;
  if (auto last = PrimaryRecord::Last(conn, schema)) {
    failover = {{"from", last->from}, {"to", last->to}, {"at", FormatIsoUtc(last->at_ms)}};
  }

  RedisReply seq_reply = conn.Command({"GET", schema.BlacklistSeq()});
  RedisReply epoch_reply = conn.Command({"GET", schema.BlacklistEpoch()});
  RedisReply entries_reply = conn.Command({"HLEN", schema.BlacklistEntries()});
  const std::optional<long long> seq = IntegerOf(seq_reply);
  epoch_reply.view().ThrowIfError();
  nlohmann::json blacklist = {
      {"seq", seq.value_or(0)},
      {"entries", entries_reply.view().integer()},
      {"epoch", epoch_reply.view().is_nil()
                    ? nlohmann::json(nullptr)
                    : nlohmann::json(std::string(epoch_reply.view().str()))}};

  nlohmann::json nodes = nlohmann::json::array();
  if (!nodes_.empty()) {
    HttpClient http;
    for (const std::string& url : nodes_) {
      nodes.push_back(NodeStatus(http, url, seq, ctx_.settings().timeout_ms()));
    }
  }

  if (json_) {
    nlohmann::json out = {
        {"redis", redis}, {"last_failover", failover}, {"blacklist", blacklist}, {"nodes", nodes}};
    ctx_.out() << out.dump() << '\n';
    return kExitOk;
  }
  std::ostream& out = ctx_.out();
  out << "redis:          " << deployment.Describe() << '\n';
  out << "primary:        " << conn.endpoint() << " (found "
      << (conn.found_via() == "direct" ? "direct" : "via " + conn.found_via()) << ")\n";
  for (const nlohmann::json& range : slots) {
    out << "slots " << range["slots"].get<std::string>() << ": "
        << range["primary"].get<std::string>();
    if (!range["replicas"].empty()) {
      out << " (replicas";
      for (const nlohmann::json& r : range["replicas"]) out << ' ' << r.get<std::string>();
      out << ')';
    }
    out << '\n';
  }
  if (!conn.cluster()) {
    out << "replicas:       ";
    if (replicas.empty()) out << "none connected";
    for (size_t i = 0; i < replicas.size(); ++i) {
      out << (i ? ", " : "") << replicas[i]["address"].get<std::string>() << " ("
          << replicas[i]["behind_bytes"].get<long long>() << " bytes behind)";
    }
    out << '\n';
  }
  out << "last failover:  ";
  if (failover.is_null()) {
    out << (deployment.kind == RedisDeployment::Kind::kSentinel ? "none seen by a sidecar"
                                                                : "n/a (not through Sentinel)");
  } else {
    out << failover["from"].get<std::string>() << " -> " << failover["to"].get<std::string>()
        << ", first seen " << failover["at"].get<std::string>();
  }
  out << '\n';
  out << "blacklist:      seq " << blacklist["seq"].get<long long>() << ", "
      << blacklist["entries"].get<long long>() << " entries, epoch "
      << (blacklist["epoch"].is_null() ? "none yet" : blacklist["epoch"].get<std::string>())
      << '\n';
  for (const nlohmann::json& node : nodes) {
    out << "node " << node["url"].get<std::string>() << ": ";
    if (node.contains("error")) {
      out << "unreachable: " << node["error"].get<std::string>() << '\n';
      continue;
    }
    if (node.contains("change_seq")) {
      out << "seq " << node["change_seq"].get<long long>();
      if (node.contains("behind")) out << " (" << node["behind"].get<long long>() << " behind)";
    }
    if (node.contains("sync_lag_seconds")) {
      double lag = node["sync_lag_seconds"].get<double>();
      out << ", sync lag ";
      if (lag < 0) {
        out << "never synced";
      } else {
        out << lag << " s";
      }
    }
    out << '\n';
  }
  return kExitOk;
}

}  // namespace warden
