#include "log/partition_log.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <expected>
#include <fstream>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <thread>

#include "log/record_batch.h"
#include "partition_log_fixture.h"

namespace nocopy::log {
namespace {

using test::make_batch;
using test::read_regions;
using test::TempDir;

using test::PartitionLogTest;
using test::patched;


TEST_P(PartitionLogTest, AppendAssignsDenseOffsetsAndReadReturnsTheBytes) {
  auto log = PartitionLog::open(dir_.path(), config());
  EXPECT_EQ(log->log_end_offset(), 0);
  std::vector<std::vector<std::byte>> written;
  std::int64_t expect = 0;
  for (int i = 0; i < 50; ++i) {
    auto b = make_batch(i, 1 + i % 4);
    auto info = log->append(b);
    ASSERT_TRUE(info) << info.error().to_string();
    EXPECT_EQ(info->base_offset, expect);
    EXPECT_EQ(info->last_offset, expect + i % 4);
    EXPECT_EQ(load_be64(b.data()), expect) << "baseOffset patched in the caller's buffer";
    expect = info->last_offset + 1;
    written.push_back(b);
  }
  EXPECT_EQ(log->log_end_offset(), expect);
  // Every offset reads back starting at the batch that contains it.
  std::int64_t off = 0;
  for (const auto& b : written) {
    auto h = parse_batch_header(b);
    for (std::int64_t o = h.base_offset; o <= h.last_offset(); ++o) {
      auto r = log->read(o, 1);  // smaller than a batch: the first batch comes whole
      ASSERT_TRUE(r) << r.error().to_string();
      EXPECT_EQ(read_regions(r->regions), b);
      EXPECT_EQ(r->high_watermark, expect);
    }
    off = h.last_offset() + 1;
  }
  EXPECT_EQ(off, expect);
  auto at_end = log->read(expect, 1000);
  ASSERT_TRUE(at_end);
  EXPECT_TRUE(at_end->regions.empty());
  auto beyond = log->read(expect + 1, 1000);
  ASSERT_FALSE(beyond);
  EXPECT_EQ(beyond.error().kind, LogErrc::offset_out_of_range);
  EXPECT_EQ(beyond.error().kafka_error_code(), 1);
}

TEST_P(PartitionLogTest, ReadSpansSegmentsAndStopsAtMaxBytes) {
  auto log = PartitionLog::open(dir_.path(), config());
  std::vector<std::byte> all;
  for (int i = 0; i < 200; ++i) {
    auto b = make_batch(i, 2, 900);
    ASSERT_TRUE(log->append(b));
    all.insert(all.end(), b.begin(), b.end());
  }
  ASSERT_GT(log->segment_count(), 3u);
  auto r = log->read(0, all.size() + 100);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->bytes, all.size());
  EXPECT_EQ(read_regions(r->regions), all);
  EXPECT_EQ(r->regions.size(), log->segment_count());
  // A limit inside a batch: exactly max_bytes come back (a partial tail, as Kafka).
  auto part = log->read(0, 5000);
  ASSERT_TRUE(part);
  EXPECT_EQ(part->bytes, 5000u);
  auto bytes = read_regions(part->regions);
  EXPECT_TRUE(std::equal(bytes.begin(), bytes.end(), all.begin()));
}

TEST_P(PartitionLogTest, RejectedRequestAppendsNothing) {
  auto log = PartitionLog::open(dir_.path(), config());
  auto first = make_batch(1);
  ASSERT_TRUE(log->append(first));
  const auto end = log->log_end_offset();
  const auto size = log->size_bytes();
  auto good = make_batch(2);
  auto bad = make_batch(3);
  bad[bad.size() - 3] ^= std::byte{1};
  std::vector<std::byte> req = good;
  req.insert(req.end(), bad.begin(), bad.end());
  auto r = log->append(req);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, LogErrc::corrupt_message);
  EXPECT_NE(r.error().message.find("batch 1"), std::string::npos) << r.error().message;
  EXPECT_EQ(log->log_end_offset(), end);
  EXPECT_EQ(log->size_bytes(), size);
  EXPECT_EQ(load_be64(req.data()), 0) << "buffer untouched on rejection";

  auto nonzero = patched(make_batch(4), 17);
  auto r2 = log->append(nonzero);
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.error().kind, LogErrc::invalid_record);

  LogConfig small = config();
  small.max_message_bytes = 500;
  log.reset();
  log = PartitionLog::open(dir_.path(), small);
  auto big = make_batch(5, 1, 1000);
  auto r3 = log->append(big);
  ASSERT_FALSE(r3);
  EXPECT_EQ(r3.error().kind, LogErrc::message_too_large);
  EXPECT_EQ(r3.error().kafka_error_code(), 10);

  auto ctrl = BatchBuilder().attributes(0x20).add("k", "v").build();
  auto r4 = log->append(ctrl);
  ASSERT_FALSE(r4);
  EXPECT_EQ(r4.error().kind, LogErrc::invalid_record);
  EXPECT_EQ(log->log_end_offset(), end);
}

TEST_P(PartitionLogTest, ReopenAfterCleanCloseKeepsEverything) {
  std::vector<std::byte> all;
  {
    auto log = PartitionLog::open(dir_.path(), config());
    for (int i = 0; i < 120; ++i) {
      auto b = make_batch(i, 3, 700, 1000 + i);
      ASSERT_TRUE(log->append(b));
      all.insert(all.end(), b.begin(), b.end());
    }
    log->close();
    EXPECT_TRUE(std::filesystem::exists(dir_ / ".clean_shutdown"));
  }
  // Sealed segments hold exactly their bytes (mmap mode truncates the preallocation).
  std::uint64_t on_disk = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir_.path())) {
    if (e.path().extension() == ".log") on_disk += std::filesystem::file_size(e.path());
  }
  EXPECT_EQ(on_disk, all.size());
  auto log = PartitionLog::open(dir_.path(), config());
  EXPECT_TRUE(log->recovery_report().clean_shutdown);
  EXPECT_EQ(log->recovery_report().segments_scanned, 0u);
  EXPECT_EQ(log->log_end_offset(), 360);
  auto r = log->read(0, 1 << 30);
  ASSERT_TRUE(r);
  EXPECT_EQ(read_regions(r->regions), all);
  // Appends continue after the last offset.
  auto b = make_batch(999);
  auto info = log->append(b);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->base_offset, 360);
}

TEST_P(PartitionLogTest, OffsetForTimestamp) {
  auto log = PartitionLog::open(dir_.path(), config());
  for (int i = 0; i < 300; ++i) {
    auto b = make_batch(i, 1, 300, 10'000 + 10 * i);
    ASSERT_TRUE(log->append(b));
  }
  {
    // Inside a batch: records at 20'000, 20'005, 20'010.
    auto b = BatchBuilder().timestamp(20'000).add("a", "1", {}, 0).add("b", "2", {}, 5).add("c", "3", {}, 10).build();
    ASSERT_TRUE(log->append(b));
  }
  EXPECT_EQ(log->offset_for_timestamp(20'001), 301);
  EXPECT_EQ(log->offset_for_timestamp(20'006), 302);
  EXPECT_EQ(log->offset_for_timestamp(20'011), std::nullopt);
  EXPECT_EQ(log->offset_for_timestamp(0), 0);
  EXPECT_EQ(log->offset_for_timestamp(10'000), 0);
  EXPECT_EQ(log->offset_for_timestamp(10'001), 1);
  EXPECT_EQ(log->offset_for_timestamp(10'000 + 10 * 157), 157);
  EXPECT_EQ(log->offset_for_timestamp(10'000 + 10 * 157 - 3), 157);
  EXPECT_EQ(log->offset_for_timestamp(10'000 + 10 * 299), 299);
  EXPECT_EQ(log->offset_for_timestamp(10'000 + 10 * 299 + 1), 300);
}

// Lookups without a mapping (map_for_reads off: every hop preads the headers)
// answer what the mapped ones answer. No index entries (the interval is
// larger than the log), so a lookup hops from the segment's start through up
// to ~300 KiB: many refills of the 16 KiB pread window. Checked in the active
// segment and, after a reopen, in a sealed one.
TEST_P(PartitionLogTest, PreadLookupsMatchMappedLookups) {
  LogConfig mapped_config = config();
  mapped_config.segment_bytes = 1 << 20;
  mapped_config.index_interval_bytes = 1 << 20;
  LogConfig pread_config = mapped_config;
  pread_config.map_for_reads = false;
  TempDir pread_dir;
  auto mapped = PartitionLog::open(dir_.path(), mapped_config);
  auto preads = PartitionLog::open(pread_dir.path(), pread_config);
  std::mt19937_64 rng(7);
  for (int i = 0; i < 1500; ++i) {
    auto b = make_batch(static_cast<std::uint64_t>(i), 1 + i % 3, 20 + rng() % 200, 10'000 + 10 * i);
    auto copy = b;  // append() patches baseOffset in place
    ASSERT_TRUE(mapped->append(b));
    ASSERT_TRUE(preads->append(copy));
  }
  const std::int64_t end = mapped->log_end_offset();
  ASSERT_EQ(preads->log_end_offset(), end);
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(round == 0 ? "active segment" : "sealed segment, reopened");
    for (std::int64_t o = 0; o < end; o += 1 + static_cast<std::int64_t>(rng() % 3)) {
      auto a = mapped->read(o, 1);
      auto b = preads->read(o, 1);
      ASSERT_TRUE(a && b);
      ASSERT_FALSE(a->regions.empty()) << o;
      ASSERT_EQ(read_regions(a->regions), read_regions(b->regions)) << "offset " << o;
    }
    for (std::int64_t ts = 9'990; ts < 10'000 + 10 * 1500 + 5; ts += 7) {
      ASSERT_EQ(mapped->offset_for_timestamp(ts), preads->offset_for_timestamp(ts)) << "timestamp " << ts;
    }
    mapped.reset();
    preads.reset();
    mapped = PartitionLog::open(dir_.path(), mapped_config);
    preads = PartitionLog::open(pread_dir.path(), pread_config);
  }
}

// This process's mappings of .log files under `dir` (/proc/self/maps).
std::size_t log_mappings(const std::filesystem::path& dir) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  std::size_t n = 0;
  while (std::getline(maps, line)) {
    if (line.find(dir.string()) != std::string::npos && line.ends_with(".log")) ++n;
  }
  return n;
}
bool log_file_mapped(const std::filesystem::path& dir) { return log_mappings(dir) > 0; }

// Bytes of this process's mappings of `file` (/proc/self/maps).
std::uint64_t log_mapping_bytes(const std::filesystem::path& file) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  std::uint64_t total = 0;
  while (std::getline(maps, line)) {
    if (!line.ends_with(file.string())) continue;
    std::uint64_t from = 0, to = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx", &from, &to) == 2) total += to - from;
  }
  return total;
}

// A segment is mapped for reads only once something is looked up in it (a
// segment nobody reads holds no mapping); an mmap-mode active one is
// written through its mapping. map_for_reads off: lookups
// never map a segment.
TEST_P(PartitionLogTest, SegmentsAreMappedForReadsOnTheFirstLookup) {
  for (const bool map_for_reads : {true, false}) {
    SCOPED_TRACE(map_for_reads ? "map_for_reads" : "pread lookups");
    TempDir dir;
    LogConfig c = config();
    c.map_for_reads = map_for_reads;
    auto log = PartitionLog::open(dir.path(), c);
    for (int i = 0; i < 20; ++i) {
      auto b = make_batch(static_cast<std::uint64_t>(i));
      ASSERT_TRUE(log->append(b));
    }
    const bool written_through_a_mapping = GetParam() == WriteMode::mmap;
    EXPECT_EQ(log_file_mapped(dir.path()), written_through_a_mapping);
    auto r = log->read(7, 1);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->regions.size(), 1u);
    EXPECT_EQ(log_file_mapped(dir.path()), written_through_a_mapping || map_for_reads);
    log.reset();
    EXPECT_FALSE(log_file_mapped(dir.path()));
    if (GetParam() == WriteMode::pwrite && map_for_reads) {
      // A segment before the active one, as a reopened log finds it, is
      // mapped as long as it is, not for all it could have grown to (as
      // the active one is).
      log = PartitionLog::open(dir.path(), c);
      ASSERT_TRUE(log->roll());
      auto b = make_batch(99);
      ASSERT_TRUE(log->append(b));
      log.reset();
      log = PartitionLog::open(dir.path(), c);
      EXPECT_FALSE(log_file_mapped(dir.path()));
      ASSERT_TRUE(log->read(7, 1));
      const auto file = dir.path() / "00000000000000000000.log";
      const std::uint64_t page = 4096;
      EXPECT_EQ(log_mapping_bytes(file), (std::filesystem::file_size(file) + page - 1) / page * page);
    }
  }
}

// Roll by age on the real clock: the first append arms a deadline the
// flusher watches; the first append after it passes goes to a new segment,
// and no append before it does.
TEST_P(PartitionLogTest, RollsByAgeOnTheFirstAppendAfterSegmentMs) {
  using namespace std::chrono;
  LogConfig c = config();
  c.segment_bytes = 1 << 20;  // 10 s of appends do not fill it: any roll is by age
  c.segment_ms = 200;
  auto log = PartitionLog::open(dir_.path(), c);
  auto b0 = make_batch(0);
  ASSERT_TRUE(log->append(b0));
  const auto t0 = steady_clock::now();
  auto b1 = make_batch(1);
  ASSERT_TRUE(log->append(b1));
  if (steady_clock::now() - t0 < milliseconds(150)) {
    EXPECT_EQ(log->segment_count(), 1u);
  }
  // Append every 10 ms until a segment rolls (10 s at most on a loaded machine).
  int appended = 2;
  while (log->segment_count() == 1 && steady_clock::now() - t0 < seconds(10)) {
    std::this_thread::sleep_for(milliseconds(10));
    const auto before = steady_clock::now();
    auto b = make_batch(appended);
    ASSERT_TRUE(log->append(b));
    ++appended;
    if (log->segment_count() == 2) {
      // Never early: the rolling append started after the deadline (armed
      // inside the first append, a few microseconds before t0).
      EXPECT_GE(before - t0, milliseconds(190));
    }
  }
  ASSERT_EQ(log->segment_count(), 2u) << "no roll 10 s after a 200 ms segment_ms";
  // The new segment starts with the rolling append and holds only it.
  EXPECT_EQ(log->segment_base_offsets().back(), appended - 1);
  EXPECT_EQ(log->log_end_offset(), appended);
  for (int i = 0; i < appended; ++i) ASSERT_TRUE(log->read(i, 1)) << i;
  // The new segment's clock starts at its own first append: the next append
  // right after does not roll again.
  const auto t1 = steady_clock::now();
  auto b = make_batch(appended);
  ASSERT_TRUE(log->append(b));
  if (steady_clock::now() - t1 < milliseconds(150)) {
    EXPECT_EQ(log->segment_count(), 2u);
  }
}

// reconfigure(segment_ms) moves the active segment's deadline both ways.
TEST_P(PartitionLogTest, ReconfiguredSegmentMsAppliesToTheActiveSegment) {
  using namespace std::chrono;
  LogConfig c = config();
  c.segment_bytes = 1 << 20;  // any roll is by age
  c.segment_ms = 3'600'000;
  auto log = PartitionLog::open(dir_.path(), c);
  auto b0 = make_batch(0);
  ASSERT_TRUE(log->append(b0));
  // Shorter: due 50 ms after the first append.
  LogConfig shorter = c;
  shorter.segment_ms = 50;
  log->reconfigure(shorter);
  const auto t0 = steady_clock::now();
  int appended = 1;
  while (log->segment_count() == 1 && steady_clock::now() - t0 < seconds(10)) {
    std::this_thread::sleep_for(milliseconds(10));
    auto b = make_batch(appended++);
    ASSERT_TRUE(log->append(b));
  }
  ASSERT_EQ(log->segment_count(), 2u);
  // Longer again while the new segment is past 50 ms (and perhaps already
  // marked due): the mark is taken back, nothing rolls.
  std::this_thread::sleep_for(milliseconds(150));
  log->reconfigure(c);
  auto b = make_batch(appended);
  ASSERT_TRUE(log->append(b));
  EXPECT_EQ(log->segment_count(), 2u);
}

// With an injected clock (tests, tools) the age is compared on each append.
TEST_P(PartitionLogTest, RollsByAgeOnAnInjectedClock) {
  LogConfig c = config();
  std::int64_t now = 1'000'000;
  c.clock = [&] { return now; };
  c.segment_ms = 1000;
  auto log = PartitionLog::open(dir_.path(), c);
  auto append = [&](int seed) {
    auto b = make_batch(seed);
    ASSERT_TRUE(log->append(b));
  };
  append(0);
  now += 999;
  append(1);
  EXPECT_EQ(log->segment_count(), 1u);
  now += 1;
  append(2);
  EXPECT_EQ(log->segment_count(), 2u);
  EXPECT_EQ(log->segment_base_offsets().back(), 2);
  now += 999;
  append(3);
  EXPECT_EQ(log->segment_count(), 2u) << "the new segment's age starts at its first append";
  now += 1;
  append(4);
  EXPECT_EQ(log->segment_count(), 3u);
}

TEST_P(PartitionLogTest, RetentionBySizeAndTime) {
  LogConfig c = config();
  c.retention_bytes = 3 * 64 * 1024;
  std::int64_t now = 1'000'000;
  c.clock = [&] { return now; };
  c.retention_ms = 60'000;
  auto log = PartitionLog::open(dir_.path(), c);
  for (int i = 0; i < 400; ++i) {
    auto b = make_batch(i, 1, 1000, 1'000'000 + i);
    ASSERT_TRUE(log->append(b));
  }
  const auto before = log->segment_count();
  ASSERT_GT(before, 4u);
  auto r = log->enforce_retention();
  ASSERT_TRUE(r);
  EXPECT_GT(r->segments_deleted, 0u);
  // Kafka's rule: delete the oldest segment while the rest still holds >= retention_bytes.
  EXPECT_GE(log->size_bytes(), static_cast<std::uint64_t>(c.retention_bytes));
  EXPECT_LT(log->size_bytes(), static_cast<std::uint64_t>(c.retention_bytes) + 64 * 1024);
  EXPECT_EQ(log->log_start_offset(), log->segment_base_offsets().front());
  auto gone = log->read(0, 100);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().kind, LogErrc::offset_out_of_range);
  EXPECT_TRUE(log->read(log->log_start_offset(), 100));
  // By time: everything older than a minute goes, except the active segment
  // (retention_rolls_expired_active is off by default).
  now += 120'000;
  const std::int64_t end = log->log_end_offset();
  auto r2 = log->enforce_retention();
  ASSERT_TRUE(r2);
  EXPECT_EQ(log->segment_count(), 1u);
  EXPECT_LT(log->log_start_offset(), end);
  EXPECT_EQ(log->log_end_offset(), end);
  EXPECT_GT(log->size_bytes(), 0u);
  for (const auto& e : std::filesystem::directory_iterator(dir_.path())) {
    if (e.path().extension() == ".log") {
      EXPECT_EQ(e.path().filename().string(),
                LogSegment::file_name(log->log_start_offset(), ".log"));
    }
  }
}

TEST_P(PartitionLogTest, RetentionByTimeRollsAndDeletesAnExpiredActiveSegment) {
  LogConfig c = config();
  std::int64_t now = 5'000'000;
  c.clock = [&] { return now; };
  c.retention_ms = 60'000;
  c.retention_rolls_expired_active = true;
  auto log = PartitionLog::open(dir_.path(), c);
  for (int i = 0; i < 10; ++i) {
    auto b = make_batch(i, 2, 100, now - 1000 + i);
    ASSERT_TRUE(log->append(b));
  }
  ASSERT_EQ(log->segment_count(), 1u);
  // Young enough: nothing happens, not even a roll.
  auto kept = log->enforce_retention();
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->segments_deleted, 0u);
  EXPECT_EQ(log->segment_count(), 1u);
  EXPECT_EQ(log->log_start_offset(), 0);
  // A reader holds the active segment's bytes across the deletion.
  auto held = log->read(0, 1 << 20);
  ASSERT_TRUE(held);
  const auto held_bytes = read_regions(held->regions);

  now += 60'000;  // newest record (now - 991) is now older than retention_ms
  auto r = log->enforce_retention();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->segments_deleted, 1u);
  EXPECT_EQ(r->log_start_offset, 20);
  EXPECT_EQ(log->log_start_offset(), 20);
  EXPECT_EQ(log->log_end_offset(), 20);
  EXPECT_EQ(log->segment_base_offsets(), std::vector<std::int64_t>{20});
  EXPECT_FALSE(std::filesystem::exists(dir_ / LogSegment::file_name(0, ".log")));
  EXPECT_EQ(read_regions(held->regions), held_bytes);
  auto gone = log->read(0, 100);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().kind, LogErrc::offset_out_of_range);
  auto empty = log->read(20, 100);
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->regions.empty());
  // Appends continue at the same offsets, and the start survives a reopen.
  auto b = make_batch(99, 1, 100, now);
  auto info = log->append(b);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->base_offset, 20);
  log.reset();
  log = PartitionLog::open(dir_.path(), c);
  EXPECT_EQ(log->log_start_offset(), 20);
  EXPECT_EQ(log->log_end_offset(), 21);
  auto again = log->read(20, 1);
  ASSERT_TRUE(again);
  EXPECT_EQ(read_regions(again->regions), b);
}

TEST_P(PartitionLogTest, LogAppendTimeStampsEveryBatchAndKeepsItsCrcValid) {
  LogConfig c = config();
  std::int64_t now = 777'000;
  c.clock = [&] { return now; };
  c.timestamp_type = TimestampType::log_append_time;
  auto log = PartitionLog::open(dir_.path(), c);
  // One request of two batches with the producer's (create) timestamps.
  auto b1 = make_batch(1, 3, 100, 1000);
  auto b2 = make_batch(2, 2, 100, 2000);
  std::vector<std::byte> req(b1);
  req.insert(req.end(), b2.begin(), b2.end());
  auto info = log->append(req);
  ASSERT_TRUE(info) << info.error().to_string();
  EXPECT_EQ(info->log_append_time, 777'000);
  EXPECT_EQ(info->max_timestamp, 777'000);
  auto r = log->read(0, 1 << 20);
  ASSERT_TRUE(r);
  auto bytes = read_regions(r->regions);
  ASSERT_EQ(bytes.size(), req.size());
  EXPECT_EQ(bytes, req) << "the caller's buffer holds what was written";
  std::size_t pos = 0;
  std::int64_t base_ts[] = {1000, 2000};
  for (int i = 0; i < 2; ++i) {
    auto v = validate_batch(std::span<const std::byte>(bytes).subspan(pos), true);
    ASSERT_TRUE(v) << v.error().to_string();  // CRC recomputed over the new fields
    EXPECT_TRUE(v->log_append_time());
    EXPECT_EQ(v->max_timestamp, 777'000);
    EXPECT_EQ(v->base_timestamp, base_ts[i]) << "records keep their create-time deltas";
    EXPECT_EQ(v->base_offset, i == 0 ? 0 : 3);
    pos += v->total_size();
  }
  // The time index and ListOffsets-by-time see the append time.
  EXPECT_EQ(log->offset_for_timestamp(1500), 0);
  EXPECT_EQ(log->offset_for_timestamp(777'000), 0);
  EXPECT_EQ(log->offset_for_timestamp(777'001), std::nullopt);
  now = 888'000;
  auto b3 = make_batch(3, 1, 100, 3000);
  ASSERT_TRUE(log->append(b3));
  EXPECT_EQ(log->offset_for_timestamp(777'001), 5);

  // CreateTime (the default) stores the producer's timestamps untouched.
  TempDir other;
  LogConfig cc = config();
  cc.clock = c.clock;
  auto create = PartitionLog::open(other.path(), cc);
  auto b4 = make_batch(4, 2, 100, 1234);
  const auto sent = b4;
  auto ci = create->append(b4);
  ASSERT_TRUE(ci);
  EXPECT_EQ(ci->log_append_time, -1);
  EXPECT_TRUE(std::equal(b4.begin() + 8, b4.end(), sent.begin() + 8)) << "only baseOffset is patched";
}

TEST_P(PartitionLogTest, RegionOfADeletedSegmentStaysReadable) {
  LogConfig c = config();
  c.retention_bytes = 0;
  auto log = PartitionLog::open(dir_.path(), c);
  std::vector<std::byte> first;
  for (int i = 0; i < 40; ++i) {
    auto b = make_batch(i, 1, 1000);
    ASSERT_TRUE(log->append(b));
    first.insert(first.end(), b.begin(), b.end());
  }
  auto held = log->read(0, 1 << 20);
  ASSERT_TRUE(held);
  ASSERT_TRUE(log->roll());
  for (int i = 0; i < 5; ++i) {
    auto b = make_batch(100 + i);
    ASSERT_TRUE(log->append(b));
  }
  auto r = log->enforce_retention();
  ASSERT_TRUE(r);
  EXPECT_GE(r->segments_deleted, 1u);
  EXPECT_FALSE(std::filesystem::exists(dir_ / LogSegment::file_name(0, ".log")));
  // Retired (renamed to .deleted) under the append lock, unlinked after it.
  for (const auto& e : std::filesystem::directory_iterator(dir_.path())) {
    EXPECT_FALSE(e.path().string().ends_with(LogSegment::kDeletedSuffix)) << e.path();
  }
  // The unlinked file is still open through the regions.
  auto bytes = read_regions(held->regions);
  std::vector<std::byte> expect(first.begin(), first.begin() + static_cast<std::ptrdiff_t>(bytes.size()));
  EXPECT_EQ(bytes, expect);
  EXPECT_EQ(bytes.size(), held->bytes);
}

// A crash between retention's rename and its unlink leaves <segment>.deleted
// files (Kafka's suffix): open removes them and never takes them for segments.
TEST_P(PartitionLogTest, RetiredFilesLeftByACrashAreRemovedOnOpen) {
  LogConfig c = config();
  std::vector<std::byte> model;
  {
    auto log = PartitionLog::open(dir_.path(), c);
    for (int i = 0; i < 10; ++i) {
      auto b = make_batch(i, 1, 500);
      ASSERT_TRUE(log->append(b));
      model.insert(model.end(), b.begin(), b.end());
    }
    log->close();
  }
  // Retired files with the live segment's base offset and with another one.
  for (const char* suffix : {".log", ".index", ".timeindex"}) {
    for (const std::string& stem : {LogSegment::file_name(0, suffix), LogSegment::file_name(7, suffix)}) {
      std::ofstream(dir_ / (stem + LogSegment::kDeletedSuffix)) << "garbage that is not a segment";
    }
  }
  auto log = PartitionLog::open(dir_.path(), c);
  for (const auto& e : std::filesystem::directory_iterator(dir_.path())) {
    EXPECT_FALSE(e.path().string().ends_with(LogSegment::kDeletedSuffix)) << e.path();
  }
  EXPECT_EQ(log->segment_count(), 1u);
  EXPECT_FALSE(log->recovery_report().mid_log_corruption);
  auto r = log->read(0, 1 << 20);
  ASSERT_TRUE(r);
  EXPECT_EQ(read_regions(r->regions), model);
}

// Appends `n` batches (2 records each) while a reader thread calls `check`
// over and over (once more after the last append), waiting (bounded) every
// `every` appends until the reader has run twice. `check` returns why the
// log looked wrong, or nothing. Returns the first such reason ("" if none)
// and how many checks ran.
struct ReaderRun {
  std::string first_bad;
  long checks = 0;
};
ReaderRun append_while_reading(PartitionLog& log, int n, int every,
                               const std::function<std::optional<std::string>()>& check) {
  std::atomic<bool> stop{false};
  std::atomic<long> checks{0};
  ReaderRun out;  // first_bad: the reader's, read after join
  std::thread reader([&] {
    for (bool last = false; !last;) {
      last = stop.load();
      if (auto why = check(); why && out.first_bad.empty()) out.first_bad = *why;
      checks++;
    }
  });
  for (int i = 0; i < n; ++i) {
    auto b = make_batch(i, 2, 150);
    EXPECT_TRUE(log.append(b));
    if (i % every == every - 1) {
      // Make sure the reader really runs between appends (bounded wait).
      const long seen = checks.load();
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      while (checks.load() < seen + 2 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
    }
  }
  stop = true;
  reader.join();
  out.checks = checks.load();
  return out;
}

// Reads from `from` and walks the batches: each must validate and follow the
// one before (the first must start at `first`, unless it is -1). Returns the
// offset after the last batch, or why the bytes are wrong.
std::expected<std::int64_t, std::string> walk_read(const PartitionLog& log, std::int64_t from,
                                                   std::int64_t first) {
  auto r = log.read(from, 1 << 30);
  if (!r) return std::unexpected("read: " + r.error().to_string());
  auto bytes = read_regions(r->regions);
  std::size_t pos = 0;
  std::int64_t next = first;
  while (pos < bytes.size()) {
    auto h = validate_batch(std::span<const std::byte>(bytes).subspan(pos));
    if (!h || (next >= 0 && h->base_offset != next)) {
      return std::unexpected(fmt::format("read from {}: at byte {} of {} offset {} expected, got {}", from, pos,
                                         bytes.size(), next,
                                         h ? fmt::format("base offset {}", h->base_offset) : h.error().to_string()));
    }
    next = h->last_offset() + 1;
    pos += h->total_size();
  }
  return next;
}

TEST_P(PartitionLogTest, ConcurrentReadersSeeOnlyWholeCommittedBatches) {
  auto log = PartitionLog::open(dir_.path(), config());
  // Every batch validates (no partial batch visible) and nothing below the
  // log end seen before the read is missing.
  auto run = append_while_reading(*log, 400, 50, [&]() -> std::optional<std::string> {
    const std::int64_t end = log->log_end_offset();
    auto next = walk_read(*log, 0, 0);
    if (!next) return next.error();
    if (*next < end) return fmt::format("read up to offset {} of a log end of {}", *next, end);
    return std::nullopt;
  });
  EXPECT_EQ(run.first_bad, "");
  EXPECT_GT(run.checks, 8);
}

// A read that crosses into the next segment while the one before it grows
// and rolls must not skip the offsets appended in between: a region of the
// old segment ends at the committed end it saw, so the next segment is only
// joined when the old one ended there. Small segments make rolls frequent.
TEST_P(PartitionLogTest, ReadsAcrossRollsNeverSkipOffsets) {
  LogConfig c = config();
  c.segment_bytes = 4096;  // ~10 batches per segment
  auto log = PartitionLog::open(dir_.path(), c);
  auto run = append_while_reading(*log, 3000, 100, [&]() -> std::optional<std::string> {
    // From a recent offset, so the read starts near the growing end.
    const std::int64_t end = log->log_end_offset();
    auto next = walk_read(*log, end > 40 ? end - 40 : 0, -1);
    if (!next) return next.error();
    return std::nullopt;
  });
  EXPECT_EQ(run.first_bad, "");
  EXPECT_GT(run.checks, 30);
  EXPECT_GT(log->segment_count(), 100u);
}

// Readers racing to the first lookup in the same segments map each segment
// once (no mapping leaked by the losers) and all read the right bytes.
TEST_P(PartitionLogTest, ConcurrentFirstLookupsMapEachSegmentOnce) {
  LogConfig c = config();
  c.segment_bytes = 4096;  // ~20 batches per segment
  auto log = PartitionLog::open(dir_.path(), c);
  for (int i = 0; i < 300; ++i) {
    auto b = make_batch(static_cast<std::uint64_t>(i));
    ASSERT_TRUE(log->append(b));
  }
  const std::size_t segments = log->segment_count();
  ASSERT_GT(segments, 10u);
  std::atomic<bool> go{false};
  std::vector<std::string> errors(4);
  std::vector<std::thread> readers;
  for (std::size_t t = 0; t < errors.size(); ++t) {
    readers.emplace_back([&, t] {
      while (!go.load(std::memory_order_acquire)) {
      }
      for (const std::int64_t from : {std::int64_t{0}, std::int64_t{150}, std::int64_t{299}}) {
        auto next = walk_read(*log, from, from);
        if (!next) errors[t] = next.error();
        else if (*next != 300) errors[t] = fmt::format("read from {} ended at {}", from, *next);
      }
    });
  }
  go.store(true, std::memory_order_release);
  for (auto& r : readers) r.join();
  for (const auto& e : errors) EXPECT_EQ(e, "");
  EXPECT_EQ(log_mappings(dir_.path()), segments);
}

INSTANTIATE_TEST_SUITE_P(Modes, PartitionLogTest, ::testing::Values(WriteMode::pwrite, WriteMode::mmap),
                         [](const auto& info) { return info.param == WriteMode::pwrite ? "pwrite" : "mmap"; });

}  // namespace
}  // namespace nocopy::log
