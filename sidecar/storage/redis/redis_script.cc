#include "storage/redis/redis_script.h"

#include "base/errors.h"

namespace warden {

void RedisScript::Load(RedisConnection& conn) {
  if (!sha_.empty()) return;
  RedisReply reply = conn.Command({"SCRIPT", "LOAD", source_});
  reply.view().ThrowIfError();
  sha_ = std::string(reply.view().str());
}

std::vector<std::string> RedisScript::BuildArgv(const std::vector<std::string>& keys,
                                                std::vector<std::string> args) const {
  std::vector<std::string> argv;
  argv.reserve(3 + keys.size() + args.size());
  argv.push_back("EVALSHA");
  argv.push_back(sha_);
  argv.push_back(std::to_string(keys.size()));
  argv.insert(argv.end(), keys.begin(), keys.end());
  for (std::string& arg : args) argv.push_back(std::move(arg));
  return argv;
}

void RedisScript::ToEval(std::vector<std::string>& argv) const {
  argv[0] = "EVAL";
  argv[1] = source_;
}

bool RedisScript::IsNoScript(const RedisReply& reply) {
  ReplyView view = reply.view();
  return view.is_error() && view.str().starts_with("NOSCRIPT");
}

RedisReply RedisScript::Run(RedisConnection& conn, const std::vector<std::string>& keys,
                            const std::vector<std::string>& args) {
  Load(conn);
  std::vector<std::string> argv = BuildArgv(keys, args);
  RedisReply reply = conn.Command(argv);
  if (!IsNoScript(reply)) return reply;
  Invalidate();
  ToEval(argv);
  return conn.Command(argv);
}

}  // namespace warden
