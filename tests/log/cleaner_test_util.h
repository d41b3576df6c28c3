// Helpers of the log cleaner tests: a small-segment log config, a reader of
// every record of a log, random puts and deletes with their model, the
// check of a cleaned log against that model, and a reopen as after a crash.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "log/partition_log.h"
#include "log/record_batch.h"
#include "log_test_util.h"

namespace nocopy::log::cleaner_test {


struct Rec {
  std::int64_t offset;
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::int64_t timestamp;
  bool operator==(const Rec&) const = default;
};

inline LogConfig small_config(std::int64_t* now) {
  LogConfig c;
  c.segment_bytes = 64 * 1024;
  c.index_interval_bytes = 512;
  c.retention_ms = -1;
  c.sync_zero_fill_bytes = 0;
  c.clock = [now] { return *now; };
  return c;
}

// Every record of the log, in order, through read(); checks each batch's CRC.
inline std::vector<Rec> read_all(const PartitionLog& log) {
  std::vector<Rec> out;
  std::int64_t at = log.log_start_offset();
  while (at < log.log_end_offset()) {
    auto r = log.read(at, 1 << 20);
    EXPECT_TRUE(r.has_value());
    if (!r) break;
    std::vector<std::byte> bytes = test::read_regions(r->regions);
    std::size_t pos = 0;
    std::int64_t next = at;
    while (bytes.size() - pos >= kBatchHeaderSize) {
      auto h = validate_batch(std::span<const std::byte>(bytes).subspan(pos), true, {}, UINT64_MAX, false);
      if (!h) break;  // a partial batch at the end of a read
      auto recs = parse_records(std::span<const std::byte>(bytes).subspan(pos, h->total_size()));
      EXPECT_TRUE(recs.has_value());
      for (const Record& rec : *recs) {
        const std::int64_t off = h->base_offset + rec.offset_delta;
        if (off >= at) out.push_back({off, rec.key, rec.value, h->base_timestamp + rec.timestamp_delta});
      }
      next = h->last_offset() + 1;
      pos += h->total_size();
    }
    if (r->regions.empty()) {
      // Compaction may leave a gap at the end of the sealed segments with an
      // empty active segment after it: nothing more to read.
      EXPECT_EQ(log.segment_base_offsets().back(), log.log_end_offset()) << "nothing to read at " << at;
      break;
    }
    if (next == at) {
      ADD_FAILURE() << "no progress reading at " << at;
      break;
    }
    at = next;
  }
  return out;
}

inline std::vector<std::byte> batch_of(const std::vector<std::pair<std::string, std::optional<std::string>>>& ops,
                                std::int64_t ts) {
  BatchBuilder b;
  b.timestamp(ts);
  for (const auto& [k, v] : ops) b.add(k, v);
  return b.build();
}

// Fills `log` with random puts and deletes over `keys` keys; returns the
// model: key -> (offset, value or tombstone, timestamp) of its last write.
struct Last {
  std::int64_t offset;
  std::optional<std::string> value;
  std::int64_t ts;
};
inline std::map<std::string, Last> fill(PartitionLog& log, std::int64_t* now, int keys, int batches, std::uint64_t seed) {
  std::map<std::string, Last> model;
  std::mt19937_64 rng(seed);
  for (int i = 0; i < batches; ++i) {
    *now += 1;
    std::vector<std::pair<std::string, std::optional<std::string>>> ops;
    const int n = 1 + static_cast<int>(rng() % 12);
    for (int j = 0; j < n; ++j) {
      std::string k = "key-" + std::to_string(rng() % static_cast<std::uint64_t>(keys));
      std::optional<std::string> v;
      if (rng() % 8 != 0) v = "value-" + std::to_string(i) + "-" + std::to_string(j);
      ops.emplace_back(std::move(k), std::move(v));
    }
    auto batch = batch_of(ops, *now);
    auto info = log.append(batch);
    EXPECT_TRUE(info.has_value());
    for (int j = 0; j < n; ++j) model[ops[j].first] = {info->base_offset + j, ops[j].second, *now};
  }
  return model;
}

// The log holds exactly the model's last write per key, tombstones only when
// younger than `retention` at `now`; offsets strictly increase.
inline void expect_compacted(const PartitionLog& log, const std::map<std::string, Last>& model, std::int64_t now,
                      std::int64_t retention) {
  std::vector<Rec> recs = read_all(log);
  std::map<std::string, Rec> seen;
  std::int64_t prev = -1;
  for (const Rec& r : recs) {
    ASSERT_GT(r.offset, prev);
    prev = r.offset;
    ASSERT_TRUE(r.key.has_value());
    ASSERT_TRUE(seen.emplace(*r.key, r).second) << "key " << *r.key << " appears twice";
  }
  for (const auto& [k, last] : model) {
    auto it = seen.find(k);
    const bool expired_tombstone = !last.value && last.ts < now - retention;
    if (expired_tombstone) {
      EXPECT_EQ(it, seen.end()) << k << ": a tombstone older than delete.retention.ms survived";
      continue;
    }
    ASSERT_NE(it, seen.end()) << k << " lost: offset " << last.offset << " tombstone " << !last.value << " ts " << last.ts << " now " << now << " records " << recs.size() << " last rec " << (recs.empty() ? -1 : recs.back().offset);
    EXPECT_EQ(it->second.offset, last.offset) << k;
    EXPECT_EQ(it->second.value, last.value) << k;
  }
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(std::count_if(model.begin(), model.end(), [&](const auto& e) {
              return e.second.value || e.second.ts >= now - retention;
            })));
  // Index lookups: every retained offset is found in the batch holding it.
  for (std::size_t i = 0; i < recs.size(); i += 7) {
    auto r = log.read(recs[i].offset, 1);
    ASSERT_TRUE(r.has_value());
    auto bytes = test::read_regions(r->regions);
    ASSERT_GE(bytes.size(), kBatchHeaderSize);
    BatchHeader h = parse_batch_header(bytes);
    EXPECT_LE(h.base_offset, recs[i].offset);
    EXPECT_GE(h.last_offset(), recs[i].offset);
  }
}

// Closes `log` and opens `dir` again as after a crash -- no clean-shutdown
// marker, no recovery point, so every segment is scanned -- and expects
// recovery to cut nothing.
inline void reopen_after_crash(std::unique_ptr<PartitionLog>& log, const test::TempDir& dir, std::int64_t* now) {
  log->close();
  log.reset();
  std::filesystem::remove(dir / ".clean_shutdown");
  std::filesystem::remove(dir / "recovery-point-offset-checkpoint");
  log = PartitionLog::open(dir.path(), small_config(now));
  ASSERT_TRUE(log);
  EXPECT_FALSE(log->recovery_report().mid_log_corruption);
  EXPECT_EQ(log->recovery_report().bytes_truncated, 0u);
}

}  // namespace nocopy::log::cleaner_test
