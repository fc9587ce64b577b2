#include "jobs/mysql_job_support.h"


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
  deps.services.pool = pool_.get();
  deps.services.mysql_url = &url_;
  deps.services.mysql_connect_timeout_ms = connect_timeout_ms_;
  deps.services.breakers = &breakers;
  deps.services.metrics = &metrics;
  deps.services.logger = &logger;
}

}  // namespace warden
