#include "cli/migrate_keys_command.h"

#include "base/errors.h"
#include "blacklist/blacklist_store.h"
#include "common/redis_deployment.h"
#include "common/redis_schema.h"
#include "scheduler/redis_coordinator.h"
#include "storage/redis/redis_connection.h"
#include "storage/redis/redis_script.h"

namespace warden {

namespace {

// KEYS: a counter. ARGV: a value, its time to live in ms (0: none). Raises the counter to the
// value, never lowers it (the target may be in use already). Returns 1 if it wrote.
constexpr const char* kRaiseScript = R"lua(
local now = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if now >= tonumber(ARGV[1]) then return 0 end
if ARGV[2] ~= '0' then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
else
  redis.call('SET', KEYS[1], ARGV[1])
end
return 1
)lua";

bool IsInteger(std::string_view text) {
  return !text.empty() && text.size() < 19 &&
         text.find_first_not_of("0123456789") == std::string_view::npos;
}

// The job names of the keys matching JobKey(*, what) on `conn`.
std::vector<std::string> JobNames(RedisConnection& conn, const RedisSchema& schema,
                                  const char* what) {
  const std::string pattern = schema.JobKey("*", what);
  const size_t star = pattern.find('*');
  const std::string head = pattern.substr(0, star), tail = pattern.substr(star + 1);
  std::vector<std::string> names;
  for (const std::string& key : conn.ScanKeys(pattern)) {
    if (key.size() <= head.size() + tail.size()) continue;
    names.push_back(key.substr(head.size(), key.size() - head.size() - tail.size()));
  }
  return names;
}

}  // namespace

MigrateKeysCommand::MigrateKeysCommand(CLI::App& parent, CommandContext& context) : ctx_(context) {
  app_ = parent.add_subcommand(
      "migrate-keys",
      "Copy the blacklist, automatic-ban counters and job fences from another Redis deployment "
      "(same prefix) into this one, in this one's key names: from one server to a Redis "
      "Cluster, or back");
  app_->add_option("--from", from_, "The deployment to copy from: redis://..., cluster://...")
      ->required()
      ->type_name("URL");
  app_->add_flag("--dry-run", dry_run_, "Count what would be copied; write nothing");
}

int MigrateKeysCommand::Run() {
  std::string error;
  std::optional<RedisDeployment> from = RedisDeployment::Parse(from_, &error);
  if (!from) throw UsageError("--from: " + error);
  const Settings& settings = ctx_.settings();
  const RedisSchema source_schema = RedisSchema::For(*from, settings.prefix());
  const RedisSchema target_schema = settings.schema();
  if (!RedisSchema::CheckPrefix(settings.prefix(), source_schema.layout(), &error)) {
    throw UsageError("--from: " + error);
  }
  if (from->Describe() == settings.redis().Describe()) {
    throw UsageError("--from names the deployment to copy into (" + from->Describe() + ")");
  }
  RedisConnection source = RedisConnection::Connect(*from, settings.timeout_ms());
  RedisConnection target = ctx_.Connect();

  // The blacklist: what is in force now, values as they are.
  BlacklistStore source_store(source, source_schema);
  const int64_t now_ms = source_store.ServerNowMs();
  std::vector<BlacklistChange> changes;
  for (const BlacklistEntry& entry :
       source_store.ReadLive(now_ms, [this](const std::string& w) { ctx_.Warn(w); })) {
    changes.push_back(
        {BlacklistChange::Op::kAdd, entry.cidr.ToString(), entry.expires_ms, entry.EncodeValue()});
  }
  if (!dry_run_ && !changes.empty()) {
    BlacklistStore target_store(target, target_schema);
    target_store.Apply(changes);
  }

  // The automatic-ban counters (how many bans an address had: the next one's length).
  RedisScript raise(kRaiseScript);
  int64_t counters = 0;
  const std::string counter_head = source_schema.BanCounter("");
  for (const char* family : {"ab:n:*", "bh:n:*"}) {
    for (const std::string& key : source.ScanKeys(source_schema.BanCounter(family))) {
      RedisReply value = source.Command({"GET", key});
      RedisReply ttl = source.Command({"PTTL", key});
      if (!value.view().is_string() || !IsInteger(value.view().str())) continue;  // not ours
      const int64_t ttl_ms = ttl.view().is_integer() ? ttl.view().integer() : -1;
      if (ttl_ms == -2) continue;  // expired meanwhile
      ++counters;
      if (dry_run_) continue;
      raise
          .Run(target, {target_schema.BanCounter(key.substr(counter_head.size()))},
               {std::string(value.view().str()), std::to_string(ttl_ms > 0 ? ttl_ms : 0)})
          .view()
          .ThrowIfError();
    }
  }

  // Each job's last claimed fire time (so no fire time runs again) and fencing counter (so
  // fences keep growing: checkpoints in MariaDB hold the old ones).
  int64_t jobs = 0;
  for (const std::string& job : JobNames(source, source_schema, "fence")) {
    RedisReply fence = source.Command({"GET", source_schema.JobKey(job, "fence")});
    RedisReply claimed = source.Command({"GET", source_schema.JobKey(job, "claimed")});
    if (!fence.view().is_string() || !IsInteger(fence.view().str())) continue;
    ++jobs;
    if (dry_run_) continue;
    RedisCoordinator::ReseedFence(target, settings.prefix(), job, fence.view().integer());
    if (claimed.view().is_string() && IsInteger(claimed.view().str())) {
      raise
          .Run(target, {target_schema.JobKey(job, "claimed")},
               {std::string(claimed.view().str()), "0"})
          .view()
          .ThrowIfError();
    }
  }

  ctx_.out() << (dry_run_ ? "would copy " : "copied ") << changes.size() << " blacklist entries, "
             << counters << " ban counters and " << jobs << " jobs' fences from "
             << from->Describe() << " to " << settings.redis().Describe() << '\n';
  return kExitOk;
}

}  // namespace warden
