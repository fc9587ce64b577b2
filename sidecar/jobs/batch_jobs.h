#pragma once

#include <toml++/toml.h>

#include <functional>
#include <string>
#include <vector>

#include "scheduler/job_config.h"
#include "scheduler/job_type.h"

namespace warden {

// The scheduler's job types for the batches of this part of Warden. Each runs the warden binary
// itself as a command job, with the daemon's config file (--config) and environment, so a
// run is the same as the CLI's and a crash or a cancel (SIGTERM, stop at the next chunk) is
// contained in the child:
//   [[job]] type = "members_migrate"   args = ["--max-rows", "100000"]   (optional)
//   [[job]] type = "cache_warm"        cache = "top-products" (default: every entry), force
//   [[job]] type = "dedupe"            table = "contacts", key = "email", keep, args
// and every [[cache]] entry with a `refresh` schedule becomes a cache_warm job named
// "cache:<name>".

JobType MembersMigrateJobType();
JobType CacheWarmJobType();
JobType DedupeJobType();

// cache_warm jobs for the [[cache]] entries that have `refresh`.
std::vector<JobSpec> CacheRefreshJobs(const toml::table& root, const std::string& path,
                                      const DaemonSettings& daemon, const AlertSettings& alerts);
// The running program's path (/proc/self/exe), for the jobs to run it again.
std::string SelfExecutable();

}  // namespace warden
