// Log compaction and transactions: aborted transactions' records leave at
// the first clean, their markers once nothing of the transaction is left and
// delete.retention.ms has passed (unless a marker is its producer's last
// batch), committed records are compacted like any others, and an ongoing
// transaction (at or after the upper offset) is not touched.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cleaner_test_util.h"
#include "log/control_batch.h"
#include "log/log_cleaner.h"
#include "log/partition_log.h"
#include "log/txn_index.h"
#include "log_test_util.h"

namespace nocopy::log {
namespace {

using test::TempDir;
using namespace cleaner_test;

struct Txns {
  std::unique_ptr<PartitionLog> log;
  std::vector<AbortedTxn> aborted;
  std::int64_t now = 1'000'000;

  std::int64_t data(std::int64_t pid, const std::string& key, const std::string& value) {
    auto b = BatchBuilder().timestamp(now).producer(pid, 0, seq[pid]++).attributes(kAttrTransactional).add(key, value).build();
    auto r = log->append(b);
    EXPECT_TRUE(r.has_value());
    return r ? r->base_offset : -1;
  }
  std::int64_t plain(const std::string& key, const std::string& value) {
    auto b = BatchBuilder().timestamp(now).add(key, value).build();
    auto r = log->append(b);
    EXPECT_TRUE(r.has_value());
    return r ? r->base_offset : -1;
  }
  std::int64_t marker(std::int64_t pid, ControlType type, std::int64_t first) {
    auto b = build_control_batch(pid, 0, {type, 0}, now);
    auto r = log->append(b);
    EXPECT_TRUE(r.has_value());
    if (type == ControlType::abort) aborted.push_back({pid, first, r->base_offset, r->base_offset});
    return r ? r->base_offset : -1;
  }
  std::map<std::int64_t, std::int32_t> seq;
};

// Base offsets of the log's control batches, and its data records.
struct Content {
  std::vector<std::int64_t> markers;
  std::vector<Rec> recs;
};
Content content(const PartitionLog& log) {
  Content c;
  auto r = log.read(log.log_start_offset(), 1 << 22);
  EXPECT_TRUE(r.has_value());
  const auto bytes = test::read_regions(r->regions);
  std::size_t pos = 0;
  while (bytes.size() - pos >= kBatchHeaderSize) {
    auto h = validate_batch(std::span<const std::byte>(bytes).subspan(pos), true, {}, UINT64_MAX, false);
    EXPECT_TRUE(h.has_value());
    if (!h) break;
    if (h->is_control()) {
      c.markers.push_back(h->base_offset);
    } else {
      auto recs = parse_records(std::span<const std::byte>(bytes).subspan(pos, h->total_size()));
      EXPECT_TRUE(recs.has_value());
      for (const Record& rec : *recs) c.recs.push_back({h->base_offset + rec.offset_delta, rec.key, rec.value, 0});
    }
    pos += h->total_size();
  }
  return c;
}

std::vector<std::string> values(const Content& c) {
  std::vector<std::string> out;
  for (const Rec& r : c.recs) out.push_back(*r.key + "=" + *r.value);
  return out;
}

TEST(LogCleanerTxn, AbortedRecordsGoAndMarkersFollowOnceTheirTransactionIsGone) {
  TempDir dir(test::memory_dir());
  Txns t;
  LogConfig lc = small_config(&t.now);
  lc.allow_control_batches = true;
  t.log = PartitionLog::open(dir.path(), lc);
  // Producer 1 commits a=1, b=1; producer 2 aborts a=X, c=X; producer 1
  // then commits b=2 (so its first marker is not its last batch); plain
  // writes supersede a; producer 2 commits c=2.
  const std::int64_t p1 = t.data(1, "a", "1");
  t.data(1, "b", "1");
  const std::int64_t m1 = t.marker(1, ControlType::commit, p1);
  const std::int64_t p2 = t.data(2, "a", "X");
  t.data(2, "c", "X");
  const std::int64_t m2 = t.marker(2, ControlType::abort, p2);
  const std::int64_t p1b = t.data(1, "b", "2");
  const std::int64_t m3 = t.marker(1, ControlType::commit, p1b);
  t.plain("a", "3");
  const std::int64_t p2b = t.data(2, "c", "2");
  const std::int64_t m4 = t.marker(2, ControlType::commit, p2b);
  // An ongoing transaction of producer 3 in a later segment.
  ASSERT_TRUE(t.log->roll().has_value());
  const std::int64_t open_first = t.data(3, "a", "ongoing");
  ASSERT_TRUE(t.log->roll().has_value());

  CleanerConfig cfg;
  cfg.clock = [&] { return t.now; };
  cfg.delete_retention_ms = 1'000;
  cfg.aborted = t.aborted;
  cfg.upper_offset = open_first;
  // Within delete.retention.ms: aborted records and superseded ones go,
  // every marker stays.
  auto st = LogCleaner::clean(*t.log, cfg);
  ASSERT_TRUE(st.has_value()) << st.error().message;
  EXPECT_EQ(st->aborted_records_dropped, 2u);
  EXPECT_EQ(st->markers_dropped, 0u);
  EXPECT_EQ(st->cleaned_end, open_first);
  Content c = content(*t.log);
  EXPECT_EQ(c.markers, (std::vector<std::int64_t>{m1, m2, m3, m4}));
  EXPECT_EQ(values(c), (std::vector<std::string>{"b=2", "a=3", "c=2", "a=ongoing"}));

  // Past delete.retention.ms: m1 (its records all superseded, not producer
  // 1's last batch) and m2 (aborted, nothing left) go; m3 and m4 are their
  // producers' last batches and stay.
  t.now += 10'000;
  cfg.first_dirty_offset = 0;
  st = LogCleaner::clean(*t.log, cfg);
  ASSERT_TRUE(st.has_value()) << st.error().message;
  EXPECT_EQ(st->markers_dropped, 2u);
  c = content(*t.log);
  EXPECT_EQ(c.markers, (std::vector<std::int64_t>{m3, m4}));
  EXPECT_EQ(values(c), (std::vector<std::string>{"b=2", "a=3", "c=2", "a=ongoing"}));
  EXPECT_EQ(c.recs.back().offset, open_first);
}

}  // namespace
}  // namespace nocopy::log
