#pragma once

#include <string_view>

#include "common/redis_node_address.h"

namespace warden {

// What an error reply asks of the client, read from its text (hiredis's reply->str, without the
// leading '-'). The kinds a client of a cluster or a failing-over primary must tell apart;
// anything else is kOther and is the command's own error.
struct RedisRedirect {
  enum class Kind {
    kMoved,        // MOVED slot host:port: the slot lives there now; update the slot map
    kAsk,          // ASK slot host:port: this once, send ASKING then the command there
    kTryAgain,     // TRYAGAIN: a multi-key command during resharding; retry shortly
    kClusterDown,  // CLUSTERDOWN: the cluster cannot serve; back off
    kReadOnly,     // READONLY: a replica answered (a failover happened); find the new primary
    kLoading,      // LOADING: the server is loading its dataset; retry shortly
    kMasterDown,   // MASTERDOWN: a replica lost its primary; retry shortly
    kNoScript,     // NOSCRIPT: EVALSHA of a script this server has not loaded; send EVAL
    kOther,        // any other error, and a MOVED or ASK that does not parse
  };

  Kind kind = Kind::kOther;
  int slot = -1;              // kMoved, kAsk
  RedisNodeAddress endpoint;  // kMoved, kAsk; an empty host means the server that replied (Redis 7)

  // Never fails: garbage is kOther.
  static RedisRedirect Classify(std::string_view error);
};

}  // namespace warden
