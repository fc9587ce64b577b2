// Job types come from a registry: a type defined here, outside the scheduler, is read from
// warden.toml and run like a built-in one.
#include "scheduler/job_type.h"

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>

#include "base/errors.h"
#include "jobs/job_runner.h"
#include "jobs/job_services.h"
#include "scheduler/job_config.h"

namespace warden {
namespace {

struct EchoSettings : JobParams {
  int64_t rows = 0;
};

JobType EchoType(int* runs) {
  JobType type;
  type.name = "echo";
  type.parse = [](TomlReader& r, JobSpec* spec) {
    auto settings = std::make_shared<EchoSettings>();
    settings->rows = *r.Integer("rows", 0, 1000);
    spec->params = std::move(settings);
    return std::string("rows");
  };
  type.run = [runs](const RunRequest& request, int64_t, const JobServices&) {
    ++*runs;
    RunOutcome outcome;
    outcome.rows = request.job->Params<EchoSettings>().rows;
    if (outcome.rows == 0) {
      outcome.result = RunResult::kFailed;
      outcome.error = "nothing to echo";
    }
    return outcome;
  };
  return type;
}

const char* kEcho = R"toml(
[[job]]
name = "echo-7"
type = "echo"
schedule = "@every 1s"
rows = 7
)toml";

TEST(JobTypeRegistry, AFakeTypeIsReadAndRunWithoutTouchingTheScheduler) {
  int runs = 0;
  JobTypeRegistry types;
  types.Add(EchoType(&runs));
  SchedulerConfig config = SchedulerConfig::Parse(kEcho, "w.toml", types);
  ASSERT_EQ(config.jobs.size(), 1u);
  const JobSpec& job = config.jobs[0];
  EXPECT_EQ(job.type, "echo");
  EXPECT_EQ(job.Params<EchoSettings>().rows, 7);

  JobRunner::Deps deps;
  deps.types = &types;
  JobRunner runner(std::move(deps));
  RunRequest request;
  request.job = std::make_shared<JobSpec>(job);
  request.cancel = std::make_shared<CancelToken>();
  RunOutcome outcome = runner.Run(request);
  EXPECT_EQ(outcome.result, RunResult::kOk) << outcome.error;
  EXPECT_EQ(outcome.rows, 7);
  EXPECT_EQ(runs, 1);
}

TEST(JobTypeRegistry, TheTypesOwnKeysAreCheckedAndTheUnknownOnesNamed) {
  int runs = 0;
  JobTypeRegistry types;
  types.Add(EchoType(&runs));
  try {
    SchedulerConfig::Parse(std::string(kEcho) + "colour = \"red\"\n", "w.toml", types);
    ADD_FAILURE() << "accepted an unknown key";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("colour: unknown key"), std::string::npos) << e.what();
    EXPECT_NE(
        std::string(e.what()).find("enabled, alert_webhook, alert_after, alert_format, rows)"),
        std::string::npos)
        << e.what();
  }
}

TEST(JobTypeRegistry, AnUnknownTypeListsTheRegisteredOnes) {
  int runs = 0;
  JobTypeRegistry types;
  types.Add(EchoType(&runs));
  try {
    SchedulerConfig::Parse("[[job]]\nname = \"x\"\ntype = \"sql\"\nschedule = \"@every 1s\"\n",
                           "w.toml", types);
    ADD_FAILURE() << "accepted a type that is not registered";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown job type \"sql\" (known: echo)"),
              std::string::npos)
        << e.what();
  }
}

TEST(JobTypeRegistry, ANameIsRegisteredOnce) {
  int runs = 0;
  JobTypeRegistry types;
  types.Add(EchoType(&runs));
  EXPECT_THROW(types.Add(EchoType(&runs)), std::logic_error);
}

TEST(JobTypeRegistry, AFailedRunIsRunAgainWhenTheTypeAsksForIt) {
  int runs = 0;
  JobTypeRegistry types;
  types.Add(EchoType(&runs));
  JobSpec job;
  job.name = "echo-0";
  job.type = "echo";
  job.retries = 1;
  job.params = std::make_shared<EchoSettings>();
  JobRunner::Deps deps;
  deps.types = &types;
  JobRunner runner(std::move(deps));
  RunRequest request;
  request.job = std::make_shared<JobSpec>(job);
  request.cancel = std::make_shared<CancelToken>();
  EXPECT_EQ(runner.Run(request).result, RunResult::kFailed);
  EXPECT_EQ(runs, 2);
}

}  // namespace
}  // namespace warden
