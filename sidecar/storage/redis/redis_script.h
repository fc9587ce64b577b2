#pragma once

#include <string>
#include <vector>

#include "storage/redis/redis_connection.h"
#include "storage/redis/redis_reply.h"

namespace warden {

// A Lua script run by its SHA1 (SCRIPT LOAD once, then EVALSHA), falling back to EVAL when the
// server answers NOSCRIPT (its script cache was flushed or it restarted).
class RedisScript {
 public:
  explicit RedisScript(std::string source) : source_(std::move(source)) {}

  // Runs the script now. No other replies may be pending on `conn`.
  RedisReply Run(RedisConnection& conn, const std::vector<std::string>& keys,
                 const std::vector<std::string>& args);

  // For pipelines: Load() once, then BuildArgv + conn.Append, and read each reply with
  // conn.GetReply("EVALSHA"). A reply for which IsNoScript() holds did not run; send
  // ToEval(argv) once the pipeline is drained.
  void Load(RedisConnection& conn);
  std::vector<std::string> BuildArgv(const std::vector<std::string>& keys,
                                     std::vector<std::string> args) const;
  void ToEval(std::vector<std::string>& argv) const;
  static bool IsNoScript(const RedisReply& reply);
  // Forgets the SHA so the next Run/Load loads the script again.
  void Invalidate() { sha_.clear(); }

  const std::string& sha() const { return sha_; }

 private:
  std::string source_;
  std::string sha_;
};

}  // namespace warden
