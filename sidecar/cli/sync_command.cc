#include "cli/sync_command.h"

#include "base/errors.h"
#include "common/redis_schema.h"
#include "storage/redis/redis_connection.h"

namespace warden {

SyncCommand::SyncCommand(CLI::App& parent, CommandContext& context) : ctx_(context) {
  app_ = parent.add_subcommand("sync", "Control how the nginx nodes follow the blacklist in Redis");
  app_->add_flag("--accept-empty", accept_empty_,
                 "Let nodes that hold their list against a reload that would drop most of it "
                 "take Redis's list as it is now (after Redis came back empty)");
}

int SyncCommand::Run() {
  if (!accept_empty_) throw UsageError("sync: say what to do: --accept-empty");
  RedisConnection conn = ctx_.Connect();
  const RedisSchema schema = ctx_.schema();
  // The epoch the nodes loaded is the one in Redis now: accept exactly that data set.
  RedisReply reply = conn.Command({"EVAL",
                                   "local e = redis.call('GET', KEYS[1]) "
                                   "if not e then return false end "
                                   "redis.call('SET', KEYS[2], e) return e",
                                   "2", schema.BlacklistEpoch(), schema.BlacklistAccept()});
  reply.view().ThrowIfError();
  if (reply.view().is_nil()) {
    throw IoError(
        "no blacklist in Redis yet (no epoch): no node has loaded it since it was "
        "emptied, so none holds its list against it");
  }
  ctx_.out() << "accepted the blacklist in Redis (epoch " << reply.view().str()
             << "): nodes holding their list drop what Redis does not have within a second\n";
  return kExitOk;
}

}  // namespace warden
