// http_sync against a real MariaDB and fault-injecting services A and B on loopback: exactly
// once through faults, resume from the checkpoint, dead letters and replay, a MariaDB table as
// the sink, fencing, cancellation at a chunk boundary.
#include "jobs/http_sync_job.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <functional>
#include <sstream>
#include <thread>

#include "common/redis_deployment.h"
#include "jobs/job_types.h"
#include "jobs/sync_store.h"
#include "scheduler/job_config.h"
#include "scheduler/redis_coordinator.h"
#include "storage/mysql/mysql_pool.h"
#include "storage/redis/redis_connection.h"
#include "support/fake_sink.h"
#include "support/fake_source.h"
#include "support/mariadb_server.h"
#include "support/redis_server.h"
#include "support/server_suite.h"

namespace warden::test {
namespace {

// (warden::test::RunResult is a process's result.)
using Result = ::warden::RunResult;

class HttpSyncTest : public test::MariaDbSuite {
 protected:
  void SetUp() override {
    MariaDbSuite::SetUp();
    std::string error;
    url_ = *MysqlUrl::Parse(db_->url(), &error);
    pool_ = std::make_unique<MysqlPool>(url_, MysqlConnection::Options());
  }

  // An http_sync job from `extra` TOML lines, with fast retries for tests.
  JobSpec Job(const std::string& source, const std::string& sink_lines,
              const std::string& extra = "") {
    const std::string text =
        "[[job]]\nname = \"sync\"\ntype = \"http_sync\"\n"
        "schedule = \"@every 1h\"\nchunk_size = 100\nretries = 10\n"
        "retry_backoff = \"2ms\"\nretry_backoff_max = \"20ms\"\n"
        "retry_budget = 100000\ntransfer_timeout = \"250ms\"\n"
        "connect_timeout = \"250ms\"\nbreaker_failures = 8\n"
        "breaker_open = \"20ms\"\nmax_record_attempts = 2\n" +
        extra + "[job.source]\nurl = \"" + source + "\"\npage_size = 200\n[job.sink]\n" +
        sink_lines;
    config_ = SchedulerConfig::Parse(text, "test.toml", BuiltinJobTypes());
    return config_.jobs[0];
  }

  RunOutcome RunOnce(const JobSpec& job, int64_t fence,
                     std::shared_ptr<CancelToken> cancel = nullptr,
                     std::function<int64_t(int64_t)> reseed_fence = nullptr) {
    RunRequest request;
    request.job = std::make_shared<const JobSpec>(job);
    request.fence = fence;
    request.cancel = cancel ? cancel : std::make_shared<CancelToken>();
    HttpSyncJob run(request,
                    {pool_.get(), &breakers_, &metrics_, &logger_, std::move(reseed_fence)});
    return run.Run();
  }

  // Runs until a run succeeds (a run may give up on a bad streak; the next one resumes).
  RunOutcome RunUntilOk(const JobSpec& job, int max_runs = 20) {
    RunOutcome outcome;
    for (int i = 0; i < max_runs; ++i) {
      outcome = RunOnce(job, ++fence_);
      if (outcome.result == Result::kOk) return outcome;
    }
    return outcome;
  }

  SyncCheckpoint Checkpoint() {
    MysqlPool::Lease conn = pool_->Acquire();
    return *SyncStore::Load(*conn, "sync");
  }
  MysqlUrl url_;
  std::unique_ptr<MysqlPool> pool_;
  BreakerRegistry breakers_;
  Metrics metrics_;
  std::ostringstream log_;
  Logger logger_{Logger::Format::kText, log_};
  SchedulerConfig config_;
  int64_t fence_ = 0;
};

TEST_F(HttpSyncTest, TenThousandRecordsThroughTwentyPercentFaultsArriveExactlyOnce) {
  FakeSource source(10000, 0.2, 11, 400);
  FakeSink sink(0.2, 12, 400);
  JobSpec job = Job(source.url(), "url = \"" + sink.url() + "\"\n");
  RunOutcome outcome = RunUntilOk(job);
  ASSERT_EQ(outcome.result, Result::kOk) << outcome.error << "\n" << log_.str();
  EXPECT_EQ(sink.unique(), 10000u);
  EXPECT_EQ(sink.duplicates(), 0u);
  EXPECT_EQ(sink.keyless(), 0u);
  EXPECT_GT(source.faults() + sink.faults(), 20u);  // the faults did happen (about 1 in 5)
  EXPECT_GT(sink.replays(), 0u);  // chunks applied but unacknowledged were sent again
  SyncCheckpoint cp = Checkpoint();
  EXPECT_EQ(cp.last_id, "10000");
  EXPECT_EQ(cp.records, 10000);
  EXPECT_FALSE(cp.inflight_last_id.has_value());
}

TEST_F(HttpSyncTest, OffsetPaginationThroughFaultsArrivesExactlyOnce) {
  FakeSource source(3000, 0.2, 31, 400);
  FakeSink sink(0.2, 32, 400);
  // Offset pages: a duplicated page (the previous offset again) must not advance the offset.
  std::string sink_lines = "url = \"" + sink.url() + "\"\n";
  JobSpec job = Job(source.url() + "\"\npagination = \"offset", sink_lines);
  ASSERT_EQ(job.Params<HttpSyncSettings>().pagination, HttpSyncSettings::Pagination::kOffset);
  RunOutcome outcome = RunUntilOk(job);
  ASSERT_EQ(outcome.result, Result::kOk) << outcome.error << "\n" << log_.str();
  EXPECT_EQ(sink.unique(), 3000u);
  EXPECT_EQ(sink.duplicates(), 0u);
  EXPECT_EQ(Checkpoint().records, 3000);
}

TEST_F(HttpSyncTest, NextRunResumesFromTheCheckpoint) {
  FakeSource source(5000);
  FakeSink sink;
  JobSpec job = Job(source.url(), "url = \"" + sink.url() + "\"\n");
  RunOutcome first = RunOnce(job, 1);
  ASSERT_EQ(first.result, Result::kOk) << first.error;
  EXPECT_EQ(first.rows, 5000);
  // New records appear; the next run starts at the last page, not at the beginning.
  source.set_records(7500);
  const uint64_t before = source.requests();
  RunOutcome second = RunOnce(job, 2);
  ASSERT_EQ(second.result, Result::kOk) << second.error;
  EXPECT_EQ(second.rows, 2500);
  EXPECT_LE(source.requests() - before, 15u);
  EXPECT_EQ(sink.unique(), 7500u);
  EXPECT_EQ(sink.duplicates(), 0u);
  // Nothing new: nothing sent.
  RunOutcome third = RunOnce(job, 3);
  EXPECT_EQ(third.result, Result::kOk);
  EXPECT_EQ(third.rows, 0);
}

TEST_F(HttpSyncTest, RejectedRecordsGoToDeadLettersAndReplay) {
  FakeSource source(1000);
  FakeSink sink;
  sink.set_poison({"77", "500"});
  JobSpec job = Job(source.url(), "url = \"" + sink.url() + "\"\n");
  RunOutcome outcome = RunOnce(job, 1);
  ASSERT_EQ(outcome.result, Result::kOk) << outcome.error;
  EXPECT_EQ(outcome.rows, 998);
  EXPECT_EQ(sink.unique(), 998u);
  EXPECT_EQ(sink.duplicates(), 0u);
  MysqlPool::Lease conn = pool_->Acquire();
  std::vector<DeadLetter> letters = SyncStore::DeadLetters(*conn, "sync", false, 100);
  ASSERT_EQ(letters.size(), 2u);
  EXPECT_EQ(letters[0].record_id, "77");
  EXPECT_EQ(letters[1].record_id, "500");
  EXPECT_EQ(letters[0].attempts, 2);
  EXPECT_NE(letters[0].error.find("422"), std::string::npos) << letters[0].error;
  EXPECT_NE(letters[0].record.find("\"record-77\""), std::string::npos);
  EXPECT_EQ(Checkpoint().last_id, "1000");

  // Still rejected: the replay fails and says why.
  auto [sent, failed] = HttpSyncJob::Replay(job, *conn, letters, nullptr);
  EXPECT_EQ(sent, 0);
  EXPECT_EQ(failed, 2);
  EXPECT_EQ(SyncStore::DeadLetters(*conn, "sync", false, 100).size(), 2u);
  // Fixed on B's side: the replay delivers them, once.
  sink.set_poison({});
  std::tie(sent, failed) = HttpSyncJob::Replay(job, *conn, letters, nullptr);
  EXPECT_EQ(sent, 2);
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(sink.unique(), 1000u);
  EXPECT_EQ(sink.duplicates(), 0u);
  EXPECT_TRUE(SyncStore::DeadLetters(*conn, "sync", false, 100).empty());
  EXPECT_EQ(SyncStore::DeadLetters(*conn, "sync", true, 100).size(), 2u);
}

TEST_F(HttpSyncTest, MariaDbTableAsTheSink) {
  db_->Query(
      "CREATE TABLE orders_copy (id BIGINT PRIMARY KEY, name VARCHAR(64) NOT NULL, "
      "amount BIGINT NOT NULL, CONSTRAINT no_300 CHECK (amount <> 300))");
  FakeSource source(3000, 0.2, 21, 400);
  JobSpec job =
      Job(source.url(), "table = \"orders_copy\"\ncolumns = [\"id\", \"name\", \"amount\"]\n");
  RunOutcome outcome = RunUntilOk(job);
  ASSERT_EQ(outcome.result, Result::kOk) << outcome.error << "\n" << log_.str();
  // Record 100 (amount 300) breaks the CHECK constraint: dead-lettered, the rest stored once.
  EXPECT_EQ(db_->Query("SELECT COUNT(*), SUM(amount) FROM orders_copy")[0][0], "2999");
  EXPECT_EQ(db_->Query("SELECT COUNT(*) FROM orders_copy WHERE id = 100")[0][0], "0");
  EXPECT_EQ(db_->Query("SELECT record_id FROM warden_dead_letters")[0][0], "100");
  EXPECT_EQ(Checkpoint().records, 2999);
}

TEST_F(HttpSyncTest, AnOlderRunIsFencedOut) {
  FakeSource source(500);
  FakeSink sink;
  JobSpec job = Job(source.url(), "url = \"" + sink.url() + "\"\n");
  ASSERT_EQ(RunOnce(job, 7).result, Result::kOk);
  source.set_records(1000);
  RunOutcome stale = RunOnce(job, 3);  // a run whose lease was taken over long ago
  EXPECT_EQ(stale.result, Result::kFailed);
  EXPECT_NE(stale.error.find("newer run (fence 7)"), std::string::npos) << stale.error;
  EXPECT_EQ(sink.unique(), 500u);
  EXPECT_EQ(RunOnce(job, 8).result, Result::kOk);
  EXPECT_EQ(sink.unique(), 1000u);
}

TEST_F(HttpSyncTest, AFencingCounterRedisLostIsRaisedPastTheCheckpoint) {
  RedisServer redis;
  std::string error;
  const RedisDeployment redis_url = *RedisDeployment::Parse(redis.url(), &error);
  auto reseed = [&](int64_t at_least) {
    RedisConnection conn = RedisConnection::Connect(redis_url, 2000);
    return RedisCoordinator::ReseedFence(conn, "warden:", "sync", at_least);
  };
  FakeSource source(300);
  FakeSink sink;
  JobSpec job = Job(source.url(), "url = \"" + sink.url() + "\"\n");
  ASSERT_EQ(RunOnce(job, 7).result, Result::kOk);  // fence 7 holds the checkpoint
  // Redis came back empty: the scheduler's counter starts again, this run has fence 1.
  source.set_records(600);
  RunOutcome after = RunOnce(job, 1, nullptr, reseed);
  ASSERT_EQ(after.result, Result::kOk) << after.error << "\n" << log_.str();
  EXPECT_EQ(Checkpoint().fence, 8);
  EXPECT_EQ(redis.Command({"GET", "warden:job:sync:fence"}).str, "8");
  EXPECT_EQ(sink.unique(), 600u);
  EXPECT_NE(log_.str().find("the fencing counter in Redis was behind"), std::string::npos);
  // A counter that is not behind: a newer run holds the checkpoint, this one stops as before.
  redis.Command({"SET", "warden:job:sync:fence", "20"});
  RunOutcome stale = RunOnce(job, 3, nullptr, reseed);
  EXPECT_EQ(stale.result, Result::kFailed);
  EXPECT_NE(stale.error.find("newer run"), std::string::npos) << stale.error;
  EXPECT_EQ(Checkpoint().fence, 8);
}

TEST_F(HttpSyncTest, CancelStopsAtAChunkBoundaryAndTheNextRunFinishes) {
  FakeSource source(3000);
  FakeSink sink(0, 2, 400, 5);  // 5 ms per chunk
  JobSpec job = Job(source.url(), "url = \"" + sink.url() + "\"\n");
  auto cancel = std::make_shared<CancelToken>();
  std::thread stopper([cancel] {
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
    cancel->Cancel(CancelToken::Reason::kShutdown);
  });
  RunOutcome first = RunOnce(job, 1, cancel);
  stopper.join();
  ASSERT_EQ(first.result, Result::kCancelled) << first.error;
  EXPECT_NE(first.error.find("chunk boundary"), std::string::npos);
  EXPECT_GT(first.rows, 0);
  EXPECT_LT(first.rows, 3000);
  SyncCheckpoint cp = Checkpoint();
  EXPECT_EQ(cp.records, first.rows);
  EXPECT_EQ(sink.unique(), static_cast<size_t>(first.rows));
  RunOutcome second = RunOnce(job, 2);
  ASSERT_EQ(second.result, Result::kOk) << second.error;
  EXPECT_EQ(first.rows + second.rows, 3000);
  EXPECT_EQ(sink.unique(), 3000u);
  EXPECT_EQ(sink.duplicates(), 0u);
}

TEST_F(HttpSyncTest, InFlightChunkIsResentUnderTheSameKey) {
  FakeSource source(1000);
  FakeSink sink;
  JobSpec job = Job(source.url(), "url = \"" + sink.url() + "\"\n");
  // As if a run had sent the chunk 301..400 and died before B's answer was checkpointed,
  // after B applied it.
  ASSERT_EQ(RunOnce(job, 1).result, Result::kOk);
  db_->Query(
      "UPDATE warden_sync_checkpoints SET last_id = '300', page_cursor = '200', "
      "inflight_last_id = '400', inflight_count = 100");
  source.set_records(1200);
  const uint64_t replays = sink.replays();
  RunOutcome outcome = RunOnce(job, 2);
  ASSERT_EQ(outcome.result, Result::kOk) << outcome.error;
  EXPECT_GE(sink.replays(), replays + 1);  // 301..400 under its old key: not applied again
  EXPECT_EQ(sink.applied("350"), 1u);
  EXPECT_EQ(sink.unique(), 1200u);
}

TEST_F(HttpSyncTest, ErrorsNeverShowAUrlsQueryOrPassword) {
  FakeSink sink;
  // Nothing listens on port 1: every call fails, and the run's error names the source.
  JobSpec job = Job("http://user:pw-topsecret@127.0.0.1:1/records?token=topsecret",
                    "url = \"" + sink.url() + "?key=topsecret\"\n");
  RunOutcome outcome = RunOnce(job, 1);
  EXPECT_EQ(outcome.result, Result::kFailed);
  EXPECT_NE(outcome.error.find("127.0.0.1:1/records"), std::string::npos) << outcome.error;
  EXPECT_EQ(outcome.error.find("topsecret"), std::string::npos) << outcome.error;
  EXPECT_EQ(log_.str().find("topsecret"), std::string::npos) << log_.str();
}

TEST_F(HttpSyncTest, APageNestedTooDeepOrTooLargeFailsTheRunNotTheDaemon) {
  // A source that answers one record nested 100 levels deep, or 2 MiB of page.
  httplib::Server source;
  source.Get("/deep", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("{\"records\": [{\"id\": 1, \"x\": " + std::string(100, '[') +
                        std::string(100, ']') + "}]}",
                    "application/json");
  });
  source.Get("/big", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("{\"records\": [], \"pad\": \"" + std::string(2 << 20, 'x') + "\"}",
                    "application/json");
  });
  const int port = source.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread serving([&] { source.listen_after_bind(); });
  FakeSink sink;
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  RunOutcome deep = RunOnce(Job(base + "/deep", "url = \"" + sink.url() + "\"\n"), 1);
  EXPECT_EQ(deep.result, Result::kFailed);
  EXPECT_NE(deep.error.find("nests JSON deeper than 64 levels"), std::string::npos) << deep.error;
  RunOutcome big =
      RunOnce(Job(base + "/big", "url = \"" + sink.url() + "\"\n", "max_response = 1048576\n"), 2);
  EXPECT_EQ(big.result, Result::kFailed);
  EXPECT_NE(big.error.find("larger than 1048576 bytes (max_response)"), std::string::npos)
      << big.error;
  EXPECT_EQ(sink.unique(), 0u);
  source.stop();
  serving.join();
}

TEST(RecordIds, CompareAsIntegersOrStrings) {
  EXPECT_LT(CompareRecordIds("9", "10"), 0);
  EXPECT_GT(CompareRecordIds("100", "99"), 0);
  EXPECT_EQ(CompareRecordIds("42", "42"), 0);
  EXPECT_LT(CompareRecordIds("-5", "3"), 0);
  EXPECT_LT(CompareRecordIds("a9", "b1"), 0);
  EXPECT_GT(CompareRecordIds("order-10", "order-09"), 0);
}

}  // namespace
}  // namespace warden::test
