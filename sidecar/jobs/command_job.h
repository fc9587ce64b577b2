#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "scheduler/job_run.h"
#include "scheduler/job_type.h"

namespace warden {

// The keys of a `command` [[job]]; members_migrate, cache_warm and dedupe jobs are commands too
// (batch_jobs.h).
struct CommandSettings : JobParams {
  std::vector<std::string> argv;  // a string in the config runs through /bin/sh -c
  std::map<std::string, std::string> env;
  std::string cwd;
  int64_t output_limit = 64 * 1024;  // bytes of output kept in the history (the end)
  // The daemon's whole environment (batch types, which run warden itself); a `command` job
  // gets PATH and HOME only.
  bool inherit_env = false;
};

// Runs a `command` job: the program in its own process group with stdin from /dev/null,
// stdout and stderr captured together (the last output_limit bytes are kept for the history),
// and no other descriptor of the daemon's. The environment is PATH and HOME (the daemon's
// whole environment with inherit_env) plus the job's `env` plus WARDEN_JOB, WARDEN_FIRE_TIME
// (Unix ms), WARDEN_FENCE, WARDEN_TRIGGER and `extra_env`. Cancelling (a timeout, a replace, a
// shutdown) sends SIGTERM to the group, then SIGKILL 5 s later. Exit status 0 is ok; anything
// else fails the run.
// `extra_args` go right after the program (argv[0]). `on_line` (if set) gets each line of
// output as it comes, without its newline (a batch's progress).
using OutputLineSink = std::function<void(std::string_view line)>;
RunOutcome RunCommand(const RunRequest& request,
                      const std::map<std::string, std::string>& extra_env,
                      const std::vector<std::string>& extra_args = {},
                      const OutputLineSink& on_line = {});

// type = "command": command (a string for /bin/sh -c, or an argv array), env, cwd,
// output_limit, retries.
JobType CommandJobType();
// One attempt of a job whose settings are CommandSettings, with WARDEN_RUN_ID set.
RunOutcome RunCommandAttempt(const RunRequest& request, int64_t history_id,
                             const JobServices& services, const OutputLineSink& on_line = {});

}  // namespace warden
