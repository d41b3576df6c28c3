// LogCleanerPool (which partitions it cleans, when, and its checkpoint
// across a restart) and CleanerCheckpoint (Kafka's cleaner-offset-checkpoint
// format).
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "broker/cleaner_checkpoint.h"
#include "broker/log_cleaner_pool.h"
#include "broker/metrics.h"
#include "broker/partition.h"
#include "broker/topic_registry.h"
#include "broker_test_util.h"
#include "log/log_cleaner.h"
#include "log/partition_log.h"
#include "log/record_batch.h"

namespace nocopy::broker {
namespace {

using testing::TempDir;

constexpr std::int64_t kNow = 1'700'000'000'000;

std::vector<std::byte> record(const std::string& key, std::optional<std::string> value, std::int64_t ts = kNow) {
  return log::BatchBuilder().timestamp(ts).add(key, std::move(value)).build();
}

// Every record of a partition, in offset order: (offset, key, value).
struct Rec {
  std::int64_t offset;
  std::string key;
  std::optional<std::string> value;
};
std::vector<Rec> read_all(Partition& p) {
  std::vector<Rec> out;
  std::int64_t next = p.log_start_offset();
  while (next < p.high_watermark()) {
    auto r = p.read(next, 1 << 20);
    if (r.error || r.regions.empty()) break;
    std::vector<std::byte> bytes;
    for (const auto& reg : r.regions) {
      std::size_t at = bytes.size();
      bytes.resize(at + reg.length);
      EXPECT_EQ(::pread(reg.file->fd(), bytes.data() + at, reg.length, static_cast<off_t>(reg.offset)),
                static_cast<ssize_t>(reg.length));
    }
    std::size_t pos = 0;
    while (pos + log::kBatchHeaderSize <= bytes.size()) {
      auto h = log::parse_batch_header(std::span<const std::byte>(bytes).subspan(pos));
      if (pos + h.total_size() > bytes.size()) break;
      auto recs = log::parse_records(std::span<const std::byte>(bytes).subspan(pos, h.total_size()));
      EXPECT_TRUE(recs.has_value());
      for (auto& rec : *recs) out.push_back({h.base_offset + rec.offset_delta, *rec.key, rec.value});
      next = h.last_offset() + 1;
      pos += h.total_size();
    }
  }
  return out;
}

class LogCleanerPoolTest : public ::testing::Test {
 protected:
  LogCleanerPoolTest() {
    cfg.data_dir = dir.path() / "data";
    cfg.segment_bytes = 4096;
    cfg.cleaner_threads = 0;  // the test calls clean_once()
    cfg.delete_retention_ms = 1000;
    cfg.retention_ms = -1;
  }
  // `n` updates round-robin over `keys` keys to partition 0 of `topic`.
  void produce(const std::string& topic, int n, int keys, int from = 0) {
    auto p = topics->find(topic, 0);
    ASSERT_TRUE(p);
    for (int i = from; i < from + n; ++i) {
      auto b = record("k" + std::to_string(i % keys), "v" + std::to_string(i) + std::string(80, 'x'));
      ASSERT_EQ(p->append(b).error, 0);
    }
  }
  void open() {
    topics = std::make_unique<TopicRegistry>(cfg, &metrics);
    topics->recover();
  }
  void close() {
    for (auto& p : topics->all_partitions()) p->close();
    topics.reset();
  }

  TempDir dir;
  Config cfg;
  Metrics metrics{io::Strategy::sendfile};
  std::unique_ptr<TopicRegistry> topics;
};

TEST_F(LogCleanerPoolTest, CleansCompactedTopicsOnlyAndCheckpointsAcrossRestart) {
  open();
  ASSERT_EQ(topics->create("compacted", 1, {{"cleanup.policy", "compact"}}, false), 0);
  ASSERT_EQ(topics->create("plain", 1, {}, false), 0);
  produce("compacted", 300, 10);
  produce("plain", 300, 10);
  auto c = topics->find("compacted", 0);
  ASSERT_GT(c->log().sealed_segments().size(), 3u);
  {
    LogCleanerPool pool(cfg, *topics, &metrics);
    pool.start();
    EXPECT_EQ(pool.checkpoint("compacted", 0), 0);
    ASSERT_TRUE(pool.clean_once(kNow));
    EXPECT_FALSE(pool.clean_once(kNow)) << "nothing dirty is left, and 'plain' is not compacted";
    const std::int64_t active_base = c->log().segment_base_offsets().back();
    EXPECT_EQ(pool.checkpoint("compacted", 0), active_base);
  }
  // Each key's latest value survives; older ones are gone from the cleaned section.
  auto recs = read_all(*c);
  std::map<std::string, std::string> last;
  for (const auto& r : recs) last[r.key] = *r.value;
  ASSERT_EQ(last.size(), 10u);
  for (int k = 0; k < 10; ++k) EXPECT_EQ(last["k" + std::to_string(k)].substr(0, 4), "v" + std::to_string(290 + k));
  EXPECT_LT(recs.size(), 300u);
  for (std::size_t i = 1; i < recs.size(); ++i) EXPECT_LT(recs[i - 1].offset, recs[i].offset);
  EXPECT_EQ(read_all(*topics->find("plain", 0)).size(), 300u);
  EXPECT_GT(log::LogCleaner::mapped_bytes_read(), 0u);
  EXPECT_NE(metrics.render().find("nocopy_log_cleaner_runs_total 1"), std::string::npos);

  // Kafka's file format.
  std::ifstream in(cfg.data_dir / CleanerCheckpoint::kFileName);
  std::stringstream text;
  text << in.rdbuf();
  const std::int64_t cp = CleanerCheckpoint::load(cfg.data_dir).at({"compacted", 0});
  EXPECT_EQ(text.str(), "0\n1\ncompacted 0 " + std::to_string(cp) + "\n");

  // Restart: the checkpoint is read back, nothing is cleaned again.
  close();
  open();
  {
    LogCleanerPool pool(cfg, *topics, &metrics);
    pool.start();
    EXPECT_EQ(pool.checkpoint("compacted", 0), cp);
    EXPECT_FALSE(pool.clean_once(kNow));
    // New updates make the log dirty again.
    produce("compacted", 300, 10, 300);
    EXPECT_TRUE(pool.clean_once(kNow));
    EXPECT_GT(pool.checkpoint("compacted", 0), cp);
  }
  std::map<std::string, std::string> after;
  for (const auto& r : read_all(*topics->find("compacted", 0))) after[r.key] = *r.value;
  for (int k = 0; k < 10; ++k) EXPECT_EQ(after["k" + std::to_string(k)].substr(0, 4), "v" + std::to_string(590 + k));
  close();
}

TEST_F(LogCleanerPoolTest, DirtyRatioAndCompactionLagsDecideEligibility) {
  open();
  ASSERT_EQ(topics->create("t", 1, {{"cleanup.policy", "compact,delete"}, {"min.cleanable.dirty.ratio", "0.9"}}, false),
            0);
  produce("t", 200, 5);
  auto p = topics->find("t", 0);
  auto tc = topics->config_of("t");
  EXPECT_TRUE(tc->compacts());
  EXPECT_TRUE(tc->deletes());
  auto e = LogCleanerPool::assess(p->log(), *tc, 0, kNow);
  EXPECT_EQ(e.clean_bytes, 0u);
  EXPECT_GT(e.dirty_bytes, 0u);
  EXPECT_DOUBLE_EQ(e.ratio, 1.0);
  EXPECT_TRUE(e.eligible);
  // Half of the sealed segments clean: below 0.9, not eligible ...
  auto sealed = p->log().sealed_segments();
  const std::int64_t half = sealed[sealed.size() / 2]->base_offset();
  e = LogCleanerPool::assess(p->log(), *tc, half, kNow);
  EXPECT_GT(e.clean_bytes, 0u);
  EXPECT_LT(e.ratio, 0.9);
  EXPECT_FALSE(e.eligible);
  // ... unless max.compaction.lag.ms has passed for the oldest dirty segment.
  Config lag = *tc;
  lag.max_compaction_lag_ms = 60'000;
  EXPECT_FALSE(LogCleanerPool::assess(p->log(), lag, half, kNow + 1000).eligible);
  e = LogCleanerPool::assess(p->log(), lag, half, kNow + 61'000);
  EXPECT_TRUE(e.forced);
  EXPECT_TRUE(e.eligible);
  // min.compaction.lag.ms: records this young are not cleanable yet.
  Config young = *tc;
  young.min_compaction_lag_ms = 60'000;
  EXPECT_EQ(LogCleanerPool::assess(p->log(), young, 0, kNow + 1000).dirty_bytes, 0u);
  EXPECT_GT(LogCleanerPool::assess(p->log(), young, 0, kNow + 61'000).dirty_bytes, 0u);
  // A checkpoint past the end of the log (the topic was recreated) counts as 0.
  EXPECT_DOUBLE_EQ(LogCleanerPool::assess(p->log(), *tc, 1'000'000, kNow).ratio, 1.0);
  close();
}

TEST_F(LogCleanerPoolTest, TombstonesLeaveAfterDeleteRetention) {
  open();
  ASSERT_EQ(topics->create("t", 1, {{"cleanup.policy", "compact"}, {"delete.retention.ms", "5000"}}, false), 0);
  auto p = topics->find("t", 0);
  produce("t", 100, 4);                 // k0..k3
  auto t = record("k1", std::nullopt);  // deletes k1 (stamped kNow)
  ASSERT_EQ(p->append(t).error, 0);
  auto k1 = [&] {
    std::vector<std::optional<std::string>> out;
    for (const auto& r : read_all(*p))
      if (r.key == "k1") out.push_back(r.value);
    return out;
  };
  auto fill = [&](int from) {  // other keys, so the tombstone's segment is sealed
    for (int i = from; i < from + 100; ++i) {
      auto b = record("z" + std::to_string(i), std::string(100, 'z'));
      ASSERT_EQ(p->append(b).error, 0);
    }
  };
  fill(0);
  LogCleanerPool pool(cfg, *topics, &metrics);
  pool.start();
  ASSERT_TRUE(pool.clean_once(kNow + 1000));
  // Within delete.retention.ms: only the tombstone is left of k1.
  auto v = k1();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_FALSE(v[0].has_value());
  // Past it (the next clean, once the log is dirty again): gone.
  fill(100);
  fill(200);
  ASSERT_TRUE(pool.clean_once(kNow + 10'000));
  EXPECT_TRUE(k1().empty());
  close();
}

TEST_F(LogCleanerPoolTest, MaxCompactionLagRollsTheActiveSegmentAndCleansIt) {
  open();
  ASSERT_EQ(topics->create("t", 1, {{"cleanup.policy", "compact"}, {"max.compaction.lag.ms", "60000"},
                                    {"min.cleanable.dirty.ratio", "1.0"}},
                           false),
            0);
  auto p = topics->find("t", 0);
  // 20 updates of 2 keys: all in the active segment.
  for (int i = 0; i < 20; ++i) {
    auto b = record("k" + std::to_string(i % 2), "v" + std::to_string(i));
    ASSERT_EQ(p->append(b).error, 0);
  }
  ASSERT_EQ(p->log().segment_count(), 1u);
  LogCleanerPool pool(cfg, *topics, &metrics);
  pool.start();
  EXPECT_FALSE(pool.clean_once(kNow + 1000)) << "younger than max.compaction.lag.ms";
  EXPECT_EQ(p->log().segment_count(), 1u);
  ASSERT_TRUE(pool.clean_once(kNow + 61'000));
  EXPECT_EQ(p->log().sealed_segments().size(), 1u);
  auto recs = read_all(*p);
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(*recs[0].value, "v18");
  EXPECT_EQ(*recs[1].value, "v19");
  EXPECT_FALSE(pool.clean_once(kNow + 62'000)) << "the new active segment is empty";
  close();
}

TEST(CleanerCheckpointTest, RoundTripAndMalformedFiles) {
  TempDir dir;
  EXPECT_TRUE(CleanerCheckpoint::load(dir.path()).empty());
  CleanerCheckpoint::Offsets o{{{"a", 0}, 10}, {{"b.c_d-e", 3}, 12345678901}};
  CleanerCheckpoint::save(dir.path(), o);
  EXPECT_EQ(CleanerCheckpoint::load(dir.path()), o);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "cleaner-offset-checkpoint.tmp"));
  for (const char* bad : {"", "1\n0\n", "0\n2\na 0 1\n", "0\n1\na x 1\n", "0\n1\na 0\n", "0\n1\na 0 -4\n"}) {
    std::ofstream(dir.path() / CleanerCheckpoint::kFileName) << bad;
    EXPECT_THROW(CleanerCheckpoint::load(dir.path()), std::runtime_error) << bad;
  }
}

}  // namespace
}  // namespace nocopy::broker
