#include "console/console.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <unordered_map>

#include "base/duration.h"
#include "base/errors.h"
#include "base/time_format.h"
#include "blacklist/ban_request.h"
#include "blacklist/blacklist_store.h"
#include "blacklist/entry_formatter.h"
#include "blacklist/entry_input.h"
#include "common/clock.h"
#include "common/redis_schema.h"
#include "console/console_assets.h"
#include "console/nginx_nodes.h"
#include "console/node_registry.h"
#include "console/traffic_series.h"
#include "traffic/traffic_report.h"

namespace warden {

namespace {

constexpr auto kReplace = nlohmann::json::error_handler_t::replace;
constexpr int64_t kSnapshotTopMinutes = 5;
constexpr size_t kCountryRows = 20;
constexpr size_t kPathRows = 20;
constexpr size_t kMaxBansListed = 10000;
constexpr size_t kNetworksMatched = 1000;  // networks a top talker is matched against

ControlServer::Reply Json(int status, const nlohmann::json& body) {
  return {status, body.dump(-1, ' ', false, kReplace) + "\n", "application/json"};
}

ControlServer::Reply JsonError(int status, const std::string& message) {
  return Json(status, {{"error", message}});
}

std::string Query(const ControlServer::ConsoleRequest& request, const std::string& name,
                  const std::string& fallback) {
  auto it = request.query.find(name);
  return it == request.query.end() || it->second.empty() ? fallback : it->second;
}

size_t QueryCount(const ControlServer::ConsoleRequest& request, const std::string& name,
                  size_t fallback, size_t max) {
  const std::string text = Query(request, name, "");
  if (text.empty()) return fallback;
  size_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9' || value > max) {
      throw UsageError("bad " + name + " \"" + text + "\": a count from 1 to " +
                       std::to_string(max));
    }
    value = value * 10 + static_cast<size_t>(c - '0');
  }
  if (value < 1 || value > max) {
    throw UsageError("bad " + name + " \"" + text + "\": a count from 1 to " + std::to_string(max));
  }
  return value;
}

TrafficReport::By ParseBy(const std::string& by) {
  if (auto parsed = TrafficReport::ParseBy(by)) return *parsed;
  throw UsageError("bad by \"" + by + "\": address, country, path or status");
}

// Who wrote a change, as the page names its operator ("by"): letters, digits and ._@-, at
// most Console::kMaxActor characters; "operator" when none is given.
std::string Actor(const nlohmann::json& body) {
  std::string by = body.value("by", "");
  if (by.size() > Console::kMaxActor) throw UsageError("\"by\" is longer than 64 characters");
  for (char c : by) {
    if (!isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '@' && c != '-') {
      throw UsageError("\"by\" may hold letters, digits and . _ @ - only");
    }
  }
  return by.empty() ? "operator" : by;
}

nlohmann::json ParseBody(const std::string& body) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_object()) throw UsageError("the body must be a JSON object");
  for (const char* key : {"entry", "ttl", "reason", "by"}) {
    if (j.contains(key) && !j[key].is_string()) {
      throw UsageError(std::string("\"") + key + "\" must be a string");
    }
  }
  return j;
}

// The top talkers, each with the entry that covers it (exact entries, and up to
// kNetworksMatched networks, the most specific first as nodes decide): "banned" (or
// "allowed", the fleet's allow list) with that entry, or "pass".
nlohmann::json MarkBanned(nlohmann::json rows, const std::vector<BlacklistEntry>& bans) {
  std::unordered_map<std::string, const BlacklistEntry*> singles;
  std::vector<const BlacklistEntry*> networks;
  for (const BlacklistEntry& e : bans) {
    if (e.cidr.IsSingleAddress()) {
      singles.emplace(e.cidr.ToString(), &e);
    } else if (networks.size() < kNetworksMatched) {
      networks.push_back(&e);
    }
  }
  std::stable_sort(networks.begin(), networks.end(), [](const auto* a, const auto* b) {
    return a->cidr.prefix_len() > b->cidr.prefix_len();
  });
  for (nlohmann::json& row : rows) {
    const std::string address = row.value("address", "");
    const BlacklistEntry* match = nullptr;
    if (auto it = singles.find(address); it != singles.end()) {
      match = it->second;
    } else if (auto ip = IpAddress::Parse(address)) {
      for (const BlacklistEntry* e : networks) {
        if (e->cidr.Contains(*ip)) {
          match = e;
          break;
        }
      }
    }
    row["state"] = !match ? "pass" : match->source == EntrySource::kAllow ? "allowed" : "banned";
    row["ban"] = match ? nlohmann::json(match->cidr.ToString()) : nlohmann::json(nullptr);
  }
  return rows;
}

// The nodes panel's rows: the sidecars, then the nginx nodes (each with its "role").
nlohmann::json AllNodes(nlohmann::json sidecars, nlohmann::json nginx_nodes) {
  for (nlohmann::json& n : nginx_nodes) sidecars.push_back(std::move(n));
  return sidecars;
}

}  // namespace

Console::Console(Options options, Logger& logger, JobsSource jobs)
    : options_(std::move(options)),
      logger_(logger),
      jobs_(std::move(jobs)),
      started_ms_(SystemNowMs()) {}

Console::~Console() { Stop(); }

void Console::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void Console::Stop() {
  {
    std::lock_guard<std::mutex> lock(snapshot_mutex_);
    stopping_ = true;
  }
  snapshot_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Console::Loop() {
  auto next = std::chrono::steady_clock::now();
  while (true) {
    Tick();
    next += std::chrono::milliseconds(options_.period_ms);
    const auto now = std::chrono::steady_clock::now();
    if (next < now) next = now;  // a slow tick: no burst to catch up
    std::unique_lock<std::mutex> lock(snapshot_mutex_);
    if (snapshot_cv_.wait_until(lock, next, [this] { return stopping_; })) return;
  }
}

void Console::Tick() {
  nlohmann::json snapshot;
  try {
    WithRedis([&](RedisConnection& conn) {
      snapshot = Snapshot(conn);
      return Reply{};
    });
  } catch (const std::exception& e) {  // data in Redis that is not ours: say so, keep going
    std::lock_guard<std::mutex> lock(redis_mutex_);
    if (redis_error_ != e.what()) logger_.Error("console: snapshot failed", {{"error", e.what()}});
    redis_error_ = e.what();
  }
  if (snapshot.is_null()) {
    std::lock_guard<std::mutex> lock(redis_mutex_);
    snapshot = {{"time", FormatIsoUtcMs(SystemNowMs())},
                {"now_ms", SystemNowMs()},
                {"node", options_.node},
                {"redis", {{"ok", false}, {"error", redis_error_}}}};
  }
  try {
    snapshot["jobs"] = jobs_ ? jobs_() : nlohmann::json::array();
  } catch (const std::exception&) {  // the daemon's loop did not answer: no jobs this time
    snapshot["jobs"] = nlohmann::json::array();
  }
  std::string text = snapshot.dump(-1, ' ', false, kReplace);
  {
    std::lock_guard<std::mutex> lock(snapshot_mutex_);
    snapshot_ = std::move(text);
    ++seq_;
  }
  snapshot_cv_.notify_all();
}

nlohmann::json Console::Snapshot(RedisConnection& conn) {
  const RedisSchema schema = RedisSchema::For(conn.deployment(), options_.prefix);
  BlacklistStore store(conn, schema);
  TrafficReport report(conn, schema);
  const int64_t now_ms = store.ServerNowMs();
  const int64_t minute = now_ms / 60000;
  const std::vector<TrafficReport::Minute> minutes = report.Minutes(minute - 1, minute);
  history_.Add(now_ms, minutes);
  TrafficSeries series(conn, schema);
  const bool writer = series.Record(options_.node, history_.Latest(), minutes);
  // Up to the second before this one: the writer stores each second within it.
  const int64_t last_second = now_ms / 1000 - 1;
  const std::vector<TrafficReport::Minute> seconds =
      series.Seconds(last_second, TrafficSeries::kSecondsKept);
  TrafficReport::Minute last_minute;
  for (size_t i = seconds.size() >= 60 ? seconds.size() - 60 : 0; i < seconds.size(); ++i) {
    last_minute.requests += seconds[i].requests;
    last_minute.refused += seconds[i].refused;
  }

  std::vector<BlacklistEntry> bans = store.ReadLive(now_ms, [](const std::string&) {});
  const auto allowed = std::count_if(bans.begin(), bans.end(), [](const BlacklistEntry& e) {
    return e.source == EntrySource::kAllow;
  });
  nlohmann::json ban_rows = nlohmann::json::array();
  for (size_t i = 0; i < bans.size() && i < kBanRows; ++i) {
    ban_rows.push_back(nlohmann::json(EntryFormatter::ToJson(bans[i], now_ms)));
  }
  RedisReply seq = conn.Command({"GET", schema.BlacklistSeq()});
  seq.view().ThrowIfError();
  const int64_t bl_seq = seq.view().is_string() ? std::stoll(std::string(seq.view().str())) : 0;
  // The nginx nodes' heartbeats: the nodes panel, the rate-limit zones, each ban's reach.
  nlohmann::json nginx_nodes = NginxNodes::Read(conn, schema, now_ms, bl_seq);
  NginxNodes::MarkReach(ban_rows, nginx_nodes, NginxNodes::ReadRecentBans(conn, schema));

  NodeRegistry nodes(conn, schema);
  nodes.Beat(options_.node, now_ms,
             {{"role", "sidecar"},
              {"pid", static_cast<int64_t>(getpid())},
              {"started_at", FormatIsoUtcMs(started_ms_)},
              {"listen", options_.listen},
              {"writes_series", writer}});

  const auto top = report.Top(kSnapshotTopMinutes, TrafficReport::By::kAddress, kTopRows);
  const auto countries = report.Top(kSnapshotTopMinutes, TrafficReport::By::kCountry, kCountryRows);
  const auto paths = report.Top(kSnapshotTopMinutes, TrafficReport::By::kPath, kPathRows);
  return {
      {"version", 1},
      {"time", FormatIsoUtcMs(now_ms)},
      {"now_ms", now_ms},
      {"node", options_.node},
      {"redis", {{"ok", true}, {"error", nullptr}}},
      {"totals",
       {{"seconds", 60}, {"requests", last_minute.requests}, {"refused", last_minute.refused}}},
      {"series", TrafficHistory::SeriesJson(
                     1000, (last_second - TrafficSeries::kSecondsKept + 1) * 1000, seconds)},
      {"top",
       {{"by", "address"},
        {"window", FormatDuration(kSnapshotTopMinutes * 60000)},
        {"rows", MarkBanned(TrafficReport::ToJson(top, TrafficReport::By::kAddress), bans)}}},
      {"countries",
       {{"by", "country"},
        {"window", FormatDuration(kSnapshotTopMinutes * 60000)},
        {"rows", TrafficReport::ToJson(countries, TrafficReport::By::kCountry)}}},
      {"paths",
       {{"by", "path"},
        {"window", FormatDuration(kSnapshotTopMinutes * 60000)},
        {"rows", TrafficReport::ToJson(paths, TrafficReport::By::kPath)}}},
      // total: bans in force; allowed: the allow list's entries (both among the rows)
      {"bans",
       {{"total", static_cast<int64_t>(bans.size()) - allowed},
        {"allowed", allowed},
        {"rows", std::move(ban_rows)}}},
      {"blacklist", {{"seq", bl_seq}, {"entries", store.Count()}}},
      {"limits", NginxNodes::Limits(nginx_nodes)},
      {"nodes", AllNodes(nodes.Read(now_ms), std::move(nginx_nodes))},
  };
}

ControlServer::Reply Console::WithRedis(const std::function<Reply(RedisConnection&)>& task) {
  std::lock_guard<std::mutex> lock(redis_mutex_);
  try {
    if (!conn_) conn_.emplace(options_.connect());
    Reply reply = task(*conn_);
    if (!redis_error_.empty()) {
      logger_.Info("console: redis is back");
    }
    redis_error_.clear();
    return reply;
  } catch (const RedisError& e) {
    if (redis_error_.empty()) {
      logger_.Warn("console: no redis; its snapshots say so until it is back",
                   {{"error", e.what()}});
    }
    redis_error_ = e.what();
    conn_.reset();
    return JsonError(503, std::string("redis unavailable: ") + e.what());
  }
}

std::string Console::NextEvent(uint64_t* seq, int64_t wait_ms) {
  std::unique_lock<std::mutex> lock(snapshot_mutex_);
  snapshot_cv_.wait_for(lock, std::chrono::milliseconds(wait_ms),
                        [&] { return stopping_ || seq_ > *seq; });
  if (stopping_ || seq_ <= *seq) return "";
  *seq = seq_;
  return snapshot_;
}

ControlServer::Reply Console::Handle(const ControlServer::ConsoleRequest& request) {
  try {
    if (request.path.starts_with("/api/")) return Api(request);
    return Page(request);
  } catch (const UsageError& e) {
    return JsonError(400, e.what());
  } catch (const Error& e) {
    return JsonError(500, e.what());
  }
}

ControlServer::Reply Console::Page(const ControlServer::ConsoleRequest& request) const {
  if (request.path == "/console.js") {
    return {200, std::string(kConsoleJs), "text/javascript; charset=utf-8"};
  }
  if (request.path == "/console.css") return {200, std::string(kConsoleCss), "text/css"};
  std::string html(kConsoleHtml);
  for (auto [name, value] : {std::pair<std::string, std::string>{"{{csrf}}", request.csrf},
                             {"{{node}}", options_.node}}) {
    for (size_t pos; (pos = html.find(name)) != std::string::npos;)
      html.replace(pos, name.size(), value);
  }
  return {200, html, "text/html; charset=utf-8"};
}

ControlServer::Reply Console::Api(const ControlServer::ConsoleRequest& request) {
  const std::string name = request.path.substr(std::string("/api/v1/").size());
  const bool get = request.method == "GET";
  if (name == "ban" || name == "unban" || name == "allow") {
    if (get) return JsonError(405, "POST a JSON object to /api/v1/" + name);
    if (name == "allow") return Ban(request, EntrySource::kAllow);
    return name == "ban" ? Ban(request, EntrySource::kManual) : Unban(request);
  }
  if (!get) return JsonError(405, "/api/v1/" + name + " is read with GET");
  if (name == "overview") {
    std::lock_guard<std::mutex> lock(snapshot_mutex_);
    if (snapshot_.empty()) return JsonError(503, "the console is starting");
    return {200, snapshot_ + "\n", "application/json"};
  }
  if (name == "top") return Top(request);
  if (name == "bans") return Bans(request);
  if (name == "series") return Series(request);
  if (name == "jobs") return Json(200, jobs_ ? jobs_() : nlohmann::json::array());
  if (name == "nodes") {
    return WithRedis([&](RedisConnection& conn) {
      const RedisSchema schema = RedisSchema::For(conn.deployment(), options_.prefix);
      BlacklistStore store(conn, schema);
      const int64_t now_ms = store.ServerNowMs();
      RedisReply seq = conn.Command({"GET", schema.BlacklistSeq()});
      seq.view().ThrowIfError();
      const int64_t bl_seq = seq.view().is_string() ? std::stoll(std::string(seq.view().str())) : 0;
      return Json(200, AllNodes(NodeRegistry(conn, schema).Read(now_ms),
                                NginxNodes::Read(conn, schema, now_ms, bl_seq)));
    });
  }
  if (name == "session") {
    return Json(200, {{"csrf", request.csrf},
                      {"csrf_header", ControlServer::kCsrfHeader},
                      {"node", options_.node},
                      {"authenticated", request.authenticated}});
  }
  return JsonError(404, "no console endpoint /api/v1/" + name +
                            " (overview, top, bans, series, jobs, nodes, session, events, ban, "
                            "unban, allow)");
}

ControlServer::Reply Console::Top(const ControlServer::ConsoleRequest& request) {
  const TrafficReport::By by = ParseBy(Query(request, "by", "address"));
  const std::string window = Query(request, "window", "5m");
  const int64_t minutes = TrafficReport::WindowMinutes(window, "window");
  const size_t limit = QueryCount(request, "limit", kTopRows, 1000);
  return WithRedis([&](RedisConnection& conn) {
    TrafficReport report(conn, RedisSchema::For(conn.deployment(), options_.prefix));
    return Json(200, {{"by", TrafficReport::Name(by)},
                      {"window", FormatDuration(minutes * 60000)},
                      {"rows", TrafficReport::ToJson(report.Top(minutes, by, limit), by)}});
  });
}

ControlServer::Reply Console::Bans(const ControlServer::ConsoleRequest& request) {
  const std::string source = Query(request, "source", "");
  if (!source.empty() && source != "manual" && source != "autoban" && source != "feed" &&
      source != "challenge") {
    throw UsageError("bad source \"" + source + "\": manual, autoban, feed or challenge");
  }
  const size_t limit = QueryCount(request, "limit", 500, kMaxBansListed);
  return WithRedis([&](RedisConnection& conn) {
    BlacklistStore store(conn, RedisSchema::For(conn.deployment(), options_.prefix));
    const int64_t now_ms = store.ServerNowMs();
    std::vector<BlacklistEntry> entries = store.ReadLive(now_ms, [](const std::string&) {});
    if (!source.empty()) {
      const EntrySource wanted = EntrySourceFromName(source);
      std::erase_if(entries, [wanted](const BlacklistEntry& e) { return e.source != wanted; });
    }
    nlohmann::json rows = nlohmann::json::array();
    for (size_t i = 0; i < entries.size() && i < limit; ++i) {
      rows.push_back(nlohmann::json(EntryFormatter::ToJson(entries[i], now_ms)));
    }
    return Json(200, {{"total", entries.size()}, {"rows", std::move(rows)}});
  });
}

ControlServer::Reply Console::Series(const ControlServer::ConsoleRequest& request) {
  const std::string step = Query(request, "step", "1s");
  if (step != "1s" && step != "1m") throw UsageError("bad step \"" + step + "\": 1s or 1m");
  const bool seconds = step == "1s";
  const std::string range = Query(request, "range", seconds ? "15m" : "24h");
  std::string error;
  auto range_ms = ParseDurationMs(range, &error);
  if (!range_ms) throw UsageError("bad range \"" + range + "\": " + error);
  const int64_t step_ms = seconds ? 1000 : 60000;
  const int64_t kept = seconds ? TrafficSeries::kSecondsKept : TrafficSeries::kMinutesKept;
  const int64_t count = (*range_ms + step_ms - 1) / step_ms;
  if (count < 1 || count > kept) {
    throw UsageError("bad range \"" + range +
                     "\": " + (seconds ? "1s steps cover 1s to 15m" : "1m steps cover 1m to 24h"));
  }
  return WithRedis([&](RedisConnection& conn) {
    const RedisSchema schema = RedisSchema::For(conn.deployment(), options_.prefix);
    const int64_t now_ms = BlacklistStore(conn, schema).ServerNowMs();
    TrafficSeries series(conn, schema);
    // Seconds up to the one before this (being written); minutes up to this one (partial).
    const int64_t last = seconds ? now_ms / 1000 - 1 : now_ms / 60000;
    std::vector<TrafficReport::Minute> points =
        seconds ? series.Seconds(last, count) : series.Minutes(last, count);
    if (!seconds) {  // minutes no console wrote yet: from the nodes' own counts (kept 2 h)
      const int64_t first = last - count + 1;
      const int64_t from = std::max(first, last - TrafficReport::kMaxWindowMinutes + 1);
      for (const TrafficReport::Minute& m :
           TrafficReport(conn, RedisSchema::For(conn.deployment(), options_.prefix))
               .Minutes(from, last)) {
        TrafficReport::Minute& point = points[static_cast<size_t>(m.minute - first)];
        if (point.requests == 0 && point.refused == 0) point = m;
      }
    }
    return Json(200, TrafficHistory::SeriesJson(step_ms, (last - count + 1) * step_ms, points));
  });
}

ControlServer::Reply Console::Ban(const ControlServer::ConsoleRequest& request,
                                  EntrySource source) {
  const bool allow = source == EntrySource::kAllow;
  const nlohmann::json body = ParseBody(request.body);
  BanRequest ban;
  ban.source = source;
  ban.cidrs = EntryInput::FromArgs({body.value("entry", "")}, /*reject_broad=*/true);
  ban.SetTtlAndReason(body.value("ttl", "1h"), body.value("reason", ""));
  const std::string actor = Actor(body);
  ban.added_by = "console:" + actor + "@" + request.peer;
  return WithRedis([&](RedisConnection& conn) {
    BlacklistStore store(conn, RedisSchema::For(conn.deployment(), options_.prefix));
    BanRequest::Result result = ban.Apply(store);
    logger_.Info(allow ? "console: allowed" : "console: banned",
                 {{"entry", result.names[0]},
                  {"ttl", ban.ttl_ms == 0 ? "never" : FormatDuration(ban.ttl_ms)},
                  {"reason", ban.reason},
                  {"by", actor},
                  {"from", request.peer},
                  {"with_token", request.authenticated},
                  {"replaced", static_cast<bool>(result.replaced[0])}});
    return Json(200,
                {{allow ? "allowed" : "banned", result.names[0]},
                 {"expires_at", ban.ttl_ms == 0
                                    ? nlohmann::json(nullptr)
                                    : nlohmann::json(FormatIsoUtcMs(result.now_ms + ban.ttl_ms))},
                 {"added_by", ban.added_by},
                 {"replaced", static_cast<bool>(result.replaced[0])}});
  });
}

ControlServer::Reply Console::Unban(const ControlServer::ConsoleRequest& request) {
  const nlohmann::json body = ParseBody(request.body);
  std::vector<Cidr> cidrs = EntryInput::FromArgs({body.value("entry", "")}, false);
  const std::string actor = Actor(body);
  const std::string name = cidrs.at(0).ToString();
  return WithRedis([&](RedisConnection& conn) {
    BlacklistStore store(conn, RedisSchema::For(conn.deployment(), options_.prefix));
    auto result = store.Apply({{BlacklistChange::Op::kDel, name, 0, ""}});
    if (result.changed == 0) return JsonError(404, name + " is not on the blacklist");
    logger_.Info("console: unbanned", {{"entry", name},
                                       {"by", actor},
                                       {"from", request.peer},
                                       {"with_token", request.authenticated}});
    return Json(200, {{"unbanned", name}});
  });
}

}  // namespace warden
