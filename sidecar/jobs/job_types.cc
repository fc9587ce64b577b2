#include "jobs/job_types.h"

#include "jobs/batch_jobs.h"
#include "jobs/command_job.h"
#include "jobs/http_sync_job.h"
#include "jobs/sql_job.h"

namespace warden {

const JobTypeRegistry& BuiltinJobTypes() {
  static const JobTypeRegistry types = [] {
    JobTypeRegistry r;
    r.Add(HttpSyncJobType());
    r.Add(SqlJobType());
    r.Add(CommandJobType());
    r.Add(MembersMigrateJobType());
    r.Add(CacheWarmJobType());
    r.Add(DedupeJobType());
    r.AddSource(CacheRefreshJobs);
    return r;
  }();
  return types;
}

}  // namespace warden
