#include "scheduler/redis_coordinator.h"

#include <algorithm>

#include "base/errors.h"
#include "common/redis_schema.h"

namespace warden {

namespace {

// Shared by the scripts: Redis's clock in ms, and the live leases after dropping expired ones.
#define WARDEN_LUA_PRELUDE                                                  \
  "local t = redis.call('TIME')\n"                                          \
  "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n" \
  "local function live(leases, cancel)\n"                                   \
  "  local all = redis.call('HGETALL', leases)\n"                           \
  "  local n = 0\n"                                                         \
  "  for i = 1, #all, 2 do\n"                                               \
  "    if tonumber(all[i + 1]) <= now then\n"                               \
  "      redis.call('HDEL', leases, all[i])\n"                              \
  "      redis.call('SREM', cancel, all[i])\n"                              \
  "    else\n"                                                              \
  "      n = n + 1\n"                                                       \
  "    end\n"                                                               \
  "  end\n"                                                                 \
  "  return n\n"                                                            \
  "end\n"                                                                   \
  "local function hold(leases, id, lease_ms)\n"                             \
  "  redis.call('HSET', leases, id, now + lease_ms)\n"                      \
  "  redis.call('PEXPIRE', leases, lease_ms + 60000)\n"                     \
  "end\n"

// KEYS: claimed, leases, cancel, queued, fence.
// ARGV: fire_ms, policy, max_concurrent, lease_ms, lease_id, manual (0|1).
// Returns {outcome, fence or running}.
const char* const kClaimScript = WARDEN_LUA_PRELUDE
    "local manual = ARGV[6] == '1'\n"
    "if not manual then\n"
    "  local claimed = redis.call('GET', KEYS[1])\n"
    "  if claimed and tonumber(ARGV[1]) <= tonumber(claimed) then return {'taken', 0} end\n"
    "  redis.call('SET', KEYS[1], ARGV[1])\n"
    "end\n"
    "local running = live(KEYS[2], KEYS[3])\n"
    "local limit = 1\n"
    "if ARGV[2] == 'allow' then limit = tonumber(ARGV[3]) end\n"
    "if running >= limit then\n"
    "  if manual then return {'busy', running} end\n"
    "  if ARGV[2] == 'queue' then\n"
    "    redis.call('SET', KEYS[4], ARGV[1])\n"
    "    return {'queued', running}\n"
    "  end\n"
    "  if ARGV[2] == 'replace' then\n"
    "    redis.call('SET', KEYS[4], ARGV[1])\n"
    "    for _, id in ipairs(redis.call('HKEYS', KEYS[2])) do\n"
    "      redis.call('SADD', KEYS[3], id)\n"
    "    end\n"
    "    redis.call('PEXPIRE', KEYS[3], tonumber(ARGV[4]) + 60000)\n"
    "    return {'replacing', running}\n"
    "  end\n"
    "  return {'skipped', running}\n"
    "end\n"
    "if not manual then redis.call('DEL', KEYS[4]) end\n"
    "local fence = redis.call('INCR', KEYS[5])\n"
    "hold(KEYS[2], ARGV[5], tonumber(ARGV[4]))\n"
    "return {'run', fence}\n";

// KEYS: leases, cancel. ARGV: lease_id, lease_ms. Returns 'ok', 'cancel' or 'lost'.
const char* const kRenewScript = WARDEN_LUA_PRELUDE
    "live(KEYS[1], KEYS[2])\n"
    "if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 'lost' end\n"
    "hold(KEYS[1], ARGV[1], tonumber(ARGV[2]))\n"
    "if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then return 'cancel' end\n"
    "return 'ok'\n";

// KEYS: leases, cancel, queued, fence.
// ARGV: lease_id, lease_ms, next_lease_id, policy, max_concurrent.
// Returns {} or {queued fire_ms, fence}.
const char* const kReleaseScript = WARDEN_LUA_PRELUDE
    "redis.call('HDEL', KEYS[1], ARGV[1])\n"
    "redis.call('SREM', KEYS[2], ARGV[1])\n"
    "local running = live(KEYS[1], KEYS[2])\n"
    "local limit = 1\n"
    "if ARGV[4] == 'allow' then limit = tonumber(ARGV[5]) end\n"
    "local queued = redis.call('GET', KEYS[3])\n"
    "if ARGV[3] == '' or not queued or running >= limit then return {} end\n"
    "redis.call('DEL', KEYS[3])\n"
    "local fence = redis.call('INCR', KEYS[4])\n"
    "hold(KEYS[1], ARGV[3], tonumber(ARGV[2]))\n"
    "return {queued, fence}\n";

// KEYS: failures, alerting, last. ARGV: ok (1), failed (0) or cancelled (c), after_failures,
// summary. Returns {action, failures}: action 'alert', 'recover' or 'none'.
const char* const kFinishScript =
    "redis.call('SET', KEYS[3], ARGV[3])\n"
    "if ARGV[1] == 'c' then return {'none', tonumber(redis.call('GET', KEYS[1]) or '0')} end\n"
    "if ARGV[1] == '1' then\n"
    "  redis.call('DEL', KEYS[1])\n"
    "  if redis.call('DEL', KEYS[2]) == 1 then return {'recover', 0} end\n"
    "  return {'none', 0}\n"
    "end\n"
    "local n = redis.call('INCR', KEYS[1])\n"
    "if n >= tonumber(ARGV[2]) and redis.call('SET', KEYS[2], '1', 'NX') then\n"
    "  return {'alert', n}\n"
    "end\n"
    "return {'none', n}\n";

#undef WARDEN_LUA_PRELUDE

int64_t Limit(const JobSpec& job) {
  return job.overrun == OverrunPolicy::kAllow ? job.max_concurrent : 1;
}

}  // namespace

RedisCoordinator::RedisCoordinator(std::string prefix)
    : prefix_(std::move(prefix)),
      claim_script_(kClaimScript),
      renew_script_(kRenewScript),
      release_script_(kReleaseScript),
      finish_script_(kFinishScript) {}

std::string RedisCoordinator::Key(const std::string& job, const char* what) const {
  const RedisSchema schema =
      conn_ ? RedisSchema::For(conn_->deployment(), prefix_) : RedisSchema(prefix_);
  return schema.JobKey(job, what);
}

RedisConnection& RedisCoordinator::conn() {
  if (conn_ == nullptr) throw RedisConnectError("not connected to Redis");
  return *conn_;
}

RedisReply RedisCoordinator::Run(RedisScript& script, const std::vector<std::string>& keys,
                                 const std::vector<std::string>& args) {
  try {
    RedisReply reply = script.Run(conn(), keys, args);
    reply.view().ThrowIfError();
    return reply;
  } catch (const RedisError& e) {
    last_error_ = e.what();
    throw;
  }
}

RedisReply RedisCoordinator::Command(std::initializer_list<std::string_view> args) {
  try {
    RedisReply reply = conn().Command(args);
    reply.view().ThrowIfError();
    return reply;
  } catch (const RedisError& e) {
    last_error_ = e.what();
    throw;
  }
}

JobCoordinator::Claim RedisCoordinator::TryClaim(const JobSpec& job, int64_t fire_ms, bool manual,
                                                 const std::string& lease_id) {
  const std::string& n = job.name;
  RedisReply reply = Run(
      claim_script_,
      {Key(n, "claimed"), Key(n, "leases"), Key(n, "cancel"), Key(n, "queued"), Key(n, "fence")},
      {std::to_string(fire_ms), OverrunPolicyName(job.overrun), std::to_string(Limit(job)),
       std::to_string(job.lease_ms), lease_id, manual ? "1" : "0"});
  ReplyView view = reply.view();
  view.ThrowIfError();
  const std::string_view outcome = view[0].str();
  const int64_t number = view[1].integer();
  Claim claim;
  if (outcome == "run") {
    if (!manual) AwaitReplica(job, fire_ms, lease_id);
    claim.outcome = Claim::Outcome::kRun;
    claim.fence = number;
    return claim;
  }
  claim.running = number;
  if (outcome == "taken") {
    claim.outcome = Claim::Outcome::kTaken;
  } else if (outcome == "busy") {
    claim.outcome = Claim::Outcome::kBusy;
  } else if (outcome == "queued") {
    claim.outcome = Claim::Outcome::kQueued;
  } else if (outcome == "replacing") {
    claim.outcome = Claim::Outcome::kReplacing;
  } else if (outcome == "skipped") {
    claim.outcome = Claim::Outcome::kSkipped;
  } else {
    throw RedisReplyError("unexpected claim outcome from Redis: " + std::string(outcome));
  }
  return claim;
}

void RedisCoordinator::AwaitReplica(const JobSpec& job, int64_t fire_ms,
                                    const std::string& lease_id) {
  RedisConnection& c = conn();
  const RedisDeployment::Kind kind = c.deployment().kind;
  if (kind != RedisDeployment::Kind::kSentinel && kind != RedisDeployment::Kind::kCluster) return;
  // In a cluster the claim's replicas are those of its slot's primary: INFO and WAIT go there.
  const std::string claim_key = Key(job.name, "claimed");
  // Half the command timeout: WAIT blocks on the server, the reply must still come in time.
  const int64_t wait_ms = std::max<int64_t>(1, c.timeout_ms() / 2);
  try {
    // No replica connected: there is none Sentinel could promote without the claim (it does
    // not promote one that has been disconnected for long), so the claim is as safe as Redis
    // gets. (Asked first: WAIT would wait its whole timeout for a replica that is not there.)
    // Counted by INFO's connected_slaves, every replica connection, not by ROLE, which lists
    // only replicas already online: one still syncing (or waiting for its first ack after a
    // diskless sync) is not listed, yet says its link is up and may be promoted.
    RedisReply info = c.CommandAtPrimaryOf(claim_key, {"INFO", "replication"});
    info.view().ThrowIfError();
    const std::string_view text = info.view().str();
    const size_t at = text.find("connected_slaves:");
    if (at != std::string_view::npos && text.substr(at + 17, 2) == "0\r") return;
    if (c.WaitForReplicas(1, wait_ms, claim_key) >= 1) return;
  } catch (const RedisError& e) {
    last_error_ = e.what();
    throw;
  }
  // A replica is connected but did not acknowledge the claim: were Redis to fail over to it
  // now, the claim would be lost and the fire time could be claimed and run again. Not running
  // it keeps "at most once"; the claim stays, so a retry finds it taken.
  Release(job, lease_id, "");
  last_error_ = "the claim of job " + job.name + "'s fire time " + std::to_string(fire_ms) +
                " reached no replica within " + std::to_string(wait_ms) +
                " ms; not running it, so that a failover cannot run it twice";
  throw RedisReplyError(last_error_);
}

JobCoordinator::Renewal RedisCoordinator::Renew(const JobSpec& job, const std::string& lease_id) {
  RedisReply reply = Run(renew_script_, {Key(job.name, "leases"), Key(job.name, "cancel")},
                         {lease_id, std::to_string(job.lease_ms)});
  ReplyView view = reply.view();
  view.ThrowIfError();
  if (view.str() == "ok") return Renewal::kOk;
  if (view.str() == "cancel") return Renewal::kCancel;
  return Renewal::kLost;
}

std::optional<JobCoordinator::Handoff> RedisCoordinator::Release(const JobSpec& job,
                                                                 const std::string& lease_id,
                                                                 const std::string& next_lease_id) {
  const std::string& n = job.name;
  RedisReply reply =
      Run(release_script_, {Key(n, "leases"), Key(n, "cancel"), Key(n, "queued"), Key(n, "fence")},
          {lease_id, std::to_string(job.lease_ms), next_lease_id, OverrunPolicyName(job.overrun),
           std::to_string(Limit(job))});
  ReplyView view = reply.view();
  view.ThrowIfError();
  if (view.size() < 2) return std::nullopt;
  return Handoff{view[0].integer(), view[1].integer()};
}

std::optional<int64_t> RedisCoordinator::LastClaimed(const JobSpec& job) {
  RedisReply reply = Command({"GET", Key(job.name, "claimed")});
  ReplyView view = reply.view();
  view.ThrowIfError();
  if (view.is_nil()) return std::nullopt;
  return view.integer();
}

JobCoordinator::Streak RedisCoordinator::Finish(const JobSpec& job, RunResult result,
                                                const std::string& summary) {
  const char* state = result == RunResult::kOk ? "1" : result == RunResult::kCancelled ? "c" : "0";
  const std::string& n = job.name;
  RedisReply reply = Run(finish_script_, {Key(n, "failures"), Key(n, "alerting"), Key(n, "last")},
                         {state, std::to_string(job.alert.after_failures), summary});
  ReplyView view = reply.view();
  view.ThrowIfError();
  Streak streak;
  streak.failures = view[1].integer();
  if (view[0].str() == "alert") streak.action = Streak::Action::kAlert;
  if (view[0].str() == "recover") streak.action = Streak::Action::kRecover;
  Command({"DEL", Key(n, "progress")}).view().ThrowIfError();  // the run's progress ends with it
  return streak;
}

void RedisCoordinator::PublishProgress(const JobSpec& job, const std::string& progress,
                                       int64_t ttl_ms) {
  Command({"SET", Key(job.name, "progress"), progress, "PX", std::to_string(ttl_ms)})
      .view()
      .ThrowIfError();
}

std::optional<std::string> RedisCoordinator::Progress(const std::string& job) {
  RedisReply reply = Command({"GET", Key(job, "progress")});
  ReplyView view = reply.view();
  view.ThrowIfError();
  if (!view.is_string()) return std::nullopt;
  return std::string(view.str());
}

void RedisCoordinator::Preload() {
  try {
    for (RedisScript* script :
         {&claim_script_, &renew_script_, &release_script_, &finish_script_}) {
      script->Load(conn());
    }
  } catch (const RedisError& e) {
    last_error_ = e.what();
    throw;
  }
}

int64_t RedisCoordinator::Running(const std::string& job) {
  RedisReply time = Command({"TIME"});
  const int64_t now = time.view()[0].integer() * 1000 + time.view()[1].integer() / 1000;
  RedisReply reply = Command({"HVALS", Key(job, "leases")});
  int64_t running = 0;
  for (size_t i = 0; i < reply.view().size(); ++i) {
    if (reply.view()[i].integer() > now) ++running;
  }
  return running;
}

std::optional<std::string> RedisCoordinator::LastResult(const std::string& job) {
  RedisReply reply = Command({"GET", Key(job, "last")});
  ReplyView view = reply.view();
  view.ThrowIfError();
  if (view.is_nil()) return std::nullopt;
  return std::string(view.str());
}

int64_t RedisCoordinator::Failures(const std::string& job) {
  RedisReply reply = Command({"GET", Key(job, "failures")});
  ReplyView view = reply.view();
  view.ThrowIfError();
  if (!view.is_string()) return 0;
  const std::string text(view.str());
  return text.find_first_not_of("0123456789") == std::string::npos && !text.empty() &&
                 text.size() < 19
             ? std::stoll(text)
             : 0;
}

int64_t RedisCoordinator::ReseedFence(RedisConnection& conn, const std::string& prefix,
                                      const std::string& job, int64_t at_least) {
  RedisScript reseed(
      "local n = tonumber(redis.call('GET', KEYS[1]) or '0') "
      "if n >= tonumber(ARGV[1]) then return 0 end "
      "redis.call('SET', KEYS[1], ARGV[1]) "
      "return redis.call('INCR', KEYS[1])");
  RedisReply reply =
      reseed.Run(conn, {RedisSchema::For(conn.deployment(), prefix).JobKey(job, "fence")},
                 {std::to_string(at_least)});
  reply.view().ThrowIfError();
  return reply.view().integer();
}

}  // namespace warden
