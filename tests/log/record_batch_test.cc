#include "log/record_batch.h"

#include <gtest/gtest.h>

#include "log/crc32c.h"

namespace nocopy::log {
namespace {

TEST(RecordBatch, BuilderMakesValidBatchWithAllFields) {
  auto b = BatchBuilder()
               .timestamp(5000)
               .producer(77, 3, 10)
               .add("k1", "v1", {{"hk", "hv"}, {"hnull", std::nullopt}})
               .add(std::nullopt, "v2", {}, 7)
               .add("k3", std::nullopt, {}, 3)
               .build();
  auto h = validate_batch(b);
  ASSERT_TRUE(h) << h.error().to_string();
  EXPECT_EQ(h->base_offset, 0);
  EXPECT_EQ(h->total_size(), b.size());
  EXPECT_EQ(h->magic, 2);
  EXPECT_EQ(h->last_offset_delta, 2);
  EXPECT_EQ(h->records_count, 3);
  EXPECT_EQ(h->base_timestamp, 5000);
  EXPECT_EQ(h->max_timestamp, 5007);
  EXPECT_EQ(h->producer_id, 77);
  EXPECT_EQ(h->producer_epoch, 3);
  EXPECT_EQ(h->base_sequence, 10);
  EXPECT_EQ(h->partition_leader_epoch, -1);
  EXPECT_EQ(h->crc, crc32c(std::span<const std::byte>(b).subspan(21)));

  auto recs = parse_records(b);
  ASSERT_TRUE(recs);
  ASSERT_EQ(recs->size(), 3u);
  EXPECT_EQ((*recs)[0].key, "k1");
  EXPECT_EQ((*recs)[0].value, "v1");
  ASSERT_EQ((*recs)[0].headers.size(), 2u);
  EXPECT_EQ((*recs)[0].headers[0].key, "hk");
  EXPECT_EQ((*recs)[0].headers[0].value, "hv");
  EXPECT_FALSE((*recs)[0].headers[1].value.has_value());
  EXPECT_FALSE((*recs)[1].key.has_value());
  EXPECT_EQ((*recs)[1].timestamp_delta, 7);
  EXPECT_EQ((*recs)[2].offset_delta, 2);
  EXPECT_FALSE((*recs)[2].value.has_value());
}

TEST(RecordBatch, VarintsRoundTrip) {
  for (std::int64_t v : std::initializer_list<std::int64_t>{0, 1, -1, 63, -64, 64, 300, -300, 1LL << 40, -(1LL << 62),
                         INT64_MAX, INT64_MIN}) {
    std::vector<std::byte> out;
    append_varlong(out, v);
    std::size_t pos = 0;
    auto r = read_varlong(out, pos);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, v);
    EXPECT_EQ(pos, out.size());
  }
  std::vector<std::byte> out;
  append_varint(out, -1);
  EXPECT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], std::byte{1});  // zig-zag(-1) == 1
  std::vector<std::byte> truncated{std::byte{0x80}};
  std::size_t pos = 0;
  EXPECT_FALSE(read_varlong(truncated, pos));
}

TEST(RecordBatch, ValidationRejectsWithPreciseKinds) {
  auto good = BatchBuilder().add("k", "v").add("k", "w").build();
  {
    auto b = good;
    b[16] = std::byte{1};
    auto r = validate_batch(b);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, LogErrc::invalid_record);
    EXPECT_EQ(r.error().kafka_error_code(), 87);
  }
  {
    auto b = good;
    b[b.size() - 1] ^= std::byte{0x40};
    auto r = validate_batch(b);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, LogErrc::corrupt_message);
    EXPECT_EQ(r.error().kafka_error_code(), 2);
    EXPECT_NE(r.error().message.find("CRC"), std::string::npos);
    EXPECT_TRUE(validate_batch(b, /*check_crc=*/false));
  }
  {
    auto b = good;
    store_be32(b.data() + 23, 5);  // lastOffsetDelta 5 with 2 records
    update_batch_crc(b);
    auto r = validate_batch(b);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, LogErrc::invalid_record);
    EXPECT_NE(r.error().message.find("lastOffsetDelta"), std::string::npos);
  }
  {
    auto r = validate_batch(std::span<const std::byte>(good).first(good.size() - 1));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, LogErrc::corrupt_message);
  }
  {
    auto r = validate_batch(std::span<const std::byte>(good).first(30));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, LogErrc::corrupt_message);
  }
  {
    auto b = good;
    store_be32(b.data() + 8, 10);
    auto r = validate_batch(b);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, LogErrc::corrupt_message);
  }
}

TEST(RecordBatch, BaseOffsetIsOutsideTheCrc) {
  auto b = BatchBuilder().add("k", "v").build();
  store_be64(b.data(), 123456789);
  auto h = validate_batch(b);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->base_offset, 123456789);
  EXPECT_EQ(h->last_offset(), 123456789);
}

}  // namespace
}  // namespace nocopy::log
