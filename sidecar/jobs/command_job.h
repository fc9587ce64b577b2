#pragma once

#include <map>
#include <string>

#include "scheduler/job_run.h"

namespace warden {

// Runs a `command` job: the program in its own process group with stdin from /dev/null and
// stdout and stderr captured together (the last output_limit bytes are kept for the history).
// The environment is the daemon's plus the job's `env` plus WARDEN_JOB, WARDEN_FIRE_TIME
// (Unix ms), WARDEN_FENCE, WARDEN_TRIGGER and `extra_env`. Cancelling sends SIGTERM to the
// group, then SIGKILL 5 s later. Exit status 0 is ok; anything else fails the run.
RunOutcome RunCommand(const RunRequest& request,
                      const std::map<std::string, std::string>& extra_env);

}  // namespace warden
