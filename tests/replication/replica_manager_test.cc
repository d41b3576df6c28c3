// ReplicaManager's decisions over real logs: high watermark = min log end
// over the ISR, acks=all waiters, ISR shrink after replica.lag.time.max.ms,
// ISR expansion when a follower catches up, a follower's high watermark, and
// a log that appears after its state.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "kafka/error_code.h"
#include "log/partition_log.h"
#include "log/record_batch.h"
#include "replication/replica_manager.h"

namespace nocopy::replication {
namespace {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "nocopy-replica-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

struct Sink : IsrChangeSink {
  std::mutex mu;
  std::vector<PartitionState> proposals;
  void propose_isr(const std::string&, std::int32_t, const PartitionState& s) override {
    std::lock_guard lk(mu);
    proposals.push_back(s);
  }
  std::size_t count() {
    std::lock_guard lk(mu);
    return proposals.size();
  }
};

PartitionState state(std::int32_t leader, std::vector<std::int32_t> isr, std::int32_t epoch = 1,
                     std::int32_t partition_epoch = 1) {
  return PartitionState{leader, epoch, partition_epoch, {1, 2, 3}, std::move(isr)};
}

class ReplicaManagerTest : public ::testing::Test {
 protected:
  ReplicaManagerTest() {
    log = std::shared_ptr<log::PartitionLog>(log::PartitionLog::open(dir.path() / "t-0", log::LogConfig{}));
    ReplicaOptions o;
    o.node_id = 1;
    o.replica_lag_time_max_ms = 10000;
    o.isr_check_interval_ms = 0;
    o.isr_proposal_retry_ms = 5000;
    o.run_fetchers = false;
    o.clock_ms = [this] { return now.load(); };
    o.session_current = [this] { return session.load(); };
    o.fence_after_ms = 3000;
    ReplicaHooks hooks;
    hooks.high_watermark_moved = [this](const std::string&, std::int32_t) { ++hw_moves; };
    hooks.became_leader = [this](const std::string&, std::int32_t) { ++leaderships; };
    mgr = std::make_unique<ReplicaManager>(o, sink, [this](const std::string&, std::int32_t) {
      return log_available ? LogHandle{log, log.get()} : LogHandle{};
    }, hooks);
  }
  // Appends `n` records as the leader of `epoch` does.
  void append(int n, std::int32_t epoch = 1) {
    log::BatchBuilder b;
    for (int i = 0; i < n; ++i) b.add(std::string("k"), std::string("v"));
    auto batch = b.build();
    ASSERT_TRUE(log->append(batch, log::PartitionLog::SyncBy::log, epoch).has_value());
    mgr->on_leader_append("t", 0);
  }

  TempDir dir;
  std::shared_ptr<log::PartitionLog> log;
  Sink sink;
  std::atomic<std::int64_t> now{1000};
  std::atomic<int> hw_moves{0};
  std::atomic<int> leaderships{0};
  std::atomic<bool> session{true};
  bool log_available = true;
  std::unique_ptr<ReplicaManager> mgr;
};

TEST_F(ReplicaManagerTest, HighWatermarkIsTheMinimumLogEndOverTheIsr) {
  mgr->apply("t", 0, state(1, {1, 2, 3}));
  EXPECT_EQ(leaderships.load(), 1);
  append(10);
  EXPECT_EQ(log->log_end_offset(), 10);
  EXPECT_EQ(log->high_watermark(), 0) << "no follower has fetched yet";
  mgr->on_follower_fetch("t", 0, 2, 10);
  EXPECT_EQ(log->high_watermark(), 0) << "replica 3 is in the ISR and has not fetched";
  mgr->on_follower_fetch("t", 0, 3, 4);
  EXPECT_EQ(log->high_watermark(), 4);
  mgr->on_follower_fetch("t", 0, 3, 10);
  EXPECT_EQ(log->high_watermark(), 10);
  EXPECT_EQ(hw_moves.load(), 2);
  // A fetch offset past the leader's log (a divergent follower) moves nothing.
  mgr->on_follower_fetch("t", 0, 2, 50);
  EXPECT_EQ(log->high_watermark(), 10);
  // Never backwards.
  mgr->on_follower_fetch("t", 0, 2, 3);
  EXPECT_EQ(log->high_watermark(), 10);
}

TEST_F(ReplicaManagerTest, AnIsrOfOneFollowsTheLogEnd) {
  mgr->apply("t", 0, state(1, {1}));
  append(3);
  EXPECT_EQ(log->high_watermark(), 3);
  auto v = mgr->view("t", 0);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->role, Role::leader);
  EXPECT_EQ(v->isr_size, 1u);
  EXPECT_FALSE(mgr->view("t", 1).has_value()) << "a partition never mentioned is not replicated";
}

TEST_F(ReplicaManagerTest, AcksAllWaitsForTheHighWatermarkAndFailsWhenLeadershipMoves) {
  mgr->apply("t", 0, state(1, {1, 2}));
  append(5);  // offsets 0-4
  std::vector<std::int16_t> done;
  mgr->wait_for_high_watermark("t", 0, 4, [&](std::int16_t e) { done.push_back(e); });
  EXPECT_TRUE(done.empty());
  mgr->on_follower_fetch("t", 0, 2, 4);
  EXPECT_TRUE(done.empty()) << "offset 4 is not below the high watermark 4";
  mgr->on_follower_fetch("t", 0, 2, 5);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0], 0);
  // Already replicated: answered at once.
  mgr->wait_for_high_watermark("t", 0, 2, [&](std::int16_t e) { done.push_back(e); });
  ASSERT_EQ(done.size(), 2u);
  EXPECT_EQ(done[1], 0);
  append(1);  // offset 5
  mgr->wait_for_high_watermark("t", 0, 5, [&](std::int16_t e) { done.push_back(e); });
  EXPECT_EQ(done.size(), 2u);
  mgr->apply("t", 0, state(2, {2}, 2, 2));  // another broker leads now
  ASSERT_EQ(done.size(), 3u);
  EXPECT_EQ(done[2], kafka::to_wire(kafka::ErrorCode::not_leader_or_follower));
  mgr->wait_for_high_watermark("t", 0, 5, [&](std::int16_t e) { done.push_back(e); });
  ASSERT_EQ(done.size(), 4u);
  EXPECT_EQ(done[3], kafka::to_wire(kafka::ErrorCode::not_leader_or_follower));
}

TEST_F(ReplicaManagerTest, ALaggingFollowerIsProposedOutOfTheIsrOnce) {
  mgr->apply("t", 0, state(1, {1, 2, 3}, 1, 7));
  append(4);
  mgr->on_follower_fetch("t", 0, 2, 4);  // caught up
  now += 5000;
  mgr->check_isr();
  EXPECT_EQ(sink.count(), 0u) << "within replica.lag.time.max.ms";
  now += 5001;
  mgr->check_isr();
  ASSERT_EQ(sink.count(), 1u);
  EXPECT_EQ(sink.proposals[0].isr, (std::vector<std::int32_t>{1, 2})) << "3 never fetched; 2 is at the log end";
  EXPECT_EQ(sink.proposals[0].partition_epoch, 7) << "proposed against the epoch it read";
  mgr->check_isr();
  EXPECT_EQ(sink.count(), 1u) << "one proposal in flight at a time";
  now += 5000;
  mgr->check_isr();
  EXPECT_EQ(sink.count(), 2u) << "a proposal that never came back is made again";
  // The committed change comes back: with replica 3 out, the ISR {1,2} is at 4.
  mgr->apply("t", 0, state(1, {1, 2}, 1, 8));
  EXPECT_EQ(log->high_watermark(), 4);
  mgr->check_isr();
  EXPECT_EQ(sink.count(), 2u);
}

TEST_F(ReplicaManagerTest, AFollowerThatCatchesUpIsProposedBackIntoTheIsr) {
  mgr->apply("t", 0, state(1, {1, 2}, 1, 3));
  append(6);
  mgr->on_follower_fetch("t", 0, 2, 6);
  EXPECT_EQ(log->high_watermark(), 6);
  mgr->on_follower_fetch("t", 0, 3, 2);
  EXPECT_EQ(sink.count(), 0u) << "below the high watermark";
  mgr->on_follower_fetch("t", 0, 3, 6);
  ASSERT_EQ(sink.count(), 1u);
  EXPECT_EQ(sink.proposals[0].isr, (std::vector<std::int32_t>{1, 2, 3}));
  EXPECT_EQ(sink.proposals[0].partition_epoch, 3);
}

TEST_F(ReplicaManagerTest, AFollowerTakesTheLeadersHighWatermarkUpToItsLogEnd) {
  mgr->apply("t", 0, state(2, {1, 2}));
  EXPECT_EQ(leaderships.load(), 0);
  append(5, 1);
  mgr->follower_high_watermark("t", 0, 9);
  EXPECT_EQ(log->high_watermark(), 5);
  mgr->follower_high_watermark("t", 0, 3);
  EXPECT_EQ(log->high_watermark(), 5) << "never backwards";
  auto v = mgr->view("t", 0);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->role, Role::follower);
  EXPECT_EQ(v->leader, 2);
}

TEST_F(ReplicaManagerTest, AStateThatArrivesBeforeItsLogTakesEffectWhenTheLogExists) {
  log_available = false;
  mgr->apply("t", 0, state(1, {1}));
  auto v = mgr->view("t", 0);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->role, Role::follower) << "cannot lead without a log";
  EXPECT_EQ(leaderships.load(), 0);
  log_available = true;
  mgr->attach_logs();
  EXPECT_EQ(mgr->view("t", 0)->role, Role::leader);
  EXPECT_EQ(leaderships.load(), 1);
  // The same term again (an ISR change): no new leadership.
  mgr->apply("t", 0, PartitionState{1, 1, 2, {1, 2, 3}, {1}});
  EXPECT_EQ(leaderships.load(), 1);
  mgr->apply("t", 0, PartitionState{1, 2, 3, {1, 2, 3}, {1}});
  EXPECT_EQ(leaderships.load(), 2);
}

TEST_F(ReplicaManagerTest, ALeaderWithoutSessionOrFollowersIsFenced) {
  mgr->apply("t", 0, state(1, {1, 2, 3}));
  append(2);
  mgr->on_follower_fetch("t", 0, 2, 2);
  EXPECT_FALSE(mgr->view("t", 0)->fenced);
  // etcd unreachable, but a follower still fetches: etcd is down, nobody else was elected.
  session = false;
  now += 2000;
  EXPECT_FALSE(mgr->view("t", 0)->fenced);
  // No replica fetched for longer than fence_after_ms: cut off, maybe replaced.
  std::vector<std::int16_t> done;
  mgr->wait_for_high_watermark("t", 0, 1, [&](std::int16_t e) { done.push_back(e); });
  mgr->check_isr();
  EXPECT_TRUE(done.empty());
  now += 1500;
  EXPECT_TRUE(mgr->view("t", 0)->fenced);
  mgr->check_isr();
  EXPECT_EQ(done, std::vector<std::int16_t>{6}) << "a parked acks=all is answered NOT_LEADER_OR_FOLLOWER";
  mgr->on_follower_fetch("t", 0, 3, 2);
  EXPECT_FALSE(mgr->view("t", 0)->fenced) << "a follower fetches from it again";
  now += 5000;
  EXPECT_TRUE(mgr->view("t", 0)->fenced);
  session = true;
  EXPECT_FALSE(mgr->view("t", 0)->fenced) << "the session is back";
}

TEST_F(ReplicaManagerTest, ASingleReplicaPartitionIsNeverFenced) {
  mgr->apply("t", 0, PartitionState{1, 1, 1, {1}, {1}});
  session = false;
  now += 100000;
  EXPECT_FALSE(mgr->view("t", 0)->fenced) << "no other broker can take it over";
}

}  // namespace
}  // namespace nocopy::replication
