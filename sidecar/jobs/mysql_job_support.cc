#include "jobs/mysql_job_support.h"

#include "jobs/http_sync_job.h"
#include "jobs/sql_job.h"

namespace warden {

std::unique_ptr<MysqlJobSupport> MysqlJobSupport::Create(const Settings& settings) {
  if (!settings.mysql()) return nullptr;
  auto support = std::make_unique<MysqlJobSupport>();
  support->url_ = *settings.mysql();
  support->connect_timeout_ms_ = settings.timeout_ms();
  MysqlConnection::Options options;
  options.connect_timeout_ms = settings.timeout_ms();
  support->pool_ = std::make_unique<MysqlPool>(support->url_, options);
  support->history_ = std::make_unique<MysqlRunHistory>(*support->pool_);
  return support;
}

void MysqlJobSupport::Configure(JobRunner::Deps& deps, Logger& logger, Metrics& metrics,
                                BreakerRegistry& breakers) {
  deps.history = history_.get();
  deps.sql = [this](const RunRequest& request, int64_t) {
    return RunSqlJob(request, url_, connect_timeout_ms_);
  };
  deps.http_sync = [this, &breakers, &metrics, &logger](const RunRequest& request, int64_t) {
    return HttpSyncJob(request, {pool_.get(), &breakers, &metrics, &logger}).Run();
  };
}

}  // namespace warden
