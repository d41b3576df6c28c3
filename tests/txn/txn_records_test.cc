// The records of __transaction_state, generated from
// src/kafka/schema/transaction_log_*.msg:
// bytes worked out by hand from Kafka's TransactionLogKey.json (v0) and
// TransactionLogValue.json (v0, and v1 -- flexible, tagged fields -- which
// Kafka 4.x coordinators write), and the round trip of the broker's own
// records, byte for byte as the hand-written codec wrote them.
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "kafka/transaction_log_records.h"
#include "kafka/versioned_record.h"
#include "txn/txn_metadata.h"
#include "../kafka/test_util.h"

namespace nocopy::txn {
namespace {

using kafka::test::to_hex;

// The bytes a hex string spells.
std::vector<std::byte> hex(std::string_view h) { return kafka::test::from_hex(h); }

TxnMetadata sample() {
  TxnMetadata m;
  m.transactional_id = "txd";
  m.producer_id = 1000;
  m.producer_epoch = 2;
  m.timeout_ms = 60000;
  m.state = TxnState::ongoing;
  m.partitions = {{"t", 0}, {"t", 1}, {"u", 7}};
  m.last_update_ms = 5;
  m.start_ms = 4;
  return m;
}

// Key: int16 version 0 | string (int16 length) transactional id.
// Value v0: int16 version 0 | int64 producer id | int16 epoch | int32
// timeout | int8 status | int32 count of [string topic | int32 count of
// int32 partition] | int64 last update | int64 start.
constexpr std::string_view kKeyV0 = "0000" "0003" "747864";
constexpr std::string_view kValueV0 =
    "0000" "00000000000003e8" "0002" "0000ea60" "01"
    "00000002" "0001" "74" "00000002" "00000000" "00000001" "0001" "75" "00000001" "00000007"
    "0000000000000005" "0000000000000004";

TEST(TxnRecords, KafkaBytesV0) {
  EXPECT_EQ(to_hex(encode_txn_key("txd")), kKeyV0);
  EXPECT_EQ(to_hex(encode_txn_value(sample())), kValueV0);
  EXPECT_EQ(decode_txn_key(hex(kKeyV0)), "txd");
  auto back = decode_txn_value(hex(kValueV0));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->producer_id, 1000);
  EXPECT_EQ(back->producer_epoch, 2);
  EXPECT_EQ(back->timeout_ms, 60000);
  EXPECT_EQ(back->state, TxnState::ongoing);
  EXPECT_EQ(back->partitions, sample().partitions);
  EXPECT_EQ(back->last_update_ms, 5);
  EXPECT_EQ(back->start_ms, 4);
  EXPECT_EQ(to_hex(encode_txn_value(*back)), kValueV0);
}

// v1, as a Kafka 4.x coordinator writes it: compact arrays and strings
// (length + 1 as an unsigned varint), an empty tag section after each
// partitions entry, and the body's tag section: previous producer id (tag
// 0) = 7, next producer id (tag 1) = 9, client transaction version (tag 2)
// = 2, each as varint tag | varint size | value.
TEST(TxnRecords, KafkaBytesV1Flexible) {
  const std::string v1 =
      "0001" "00000000000003e8" "0002" "0000ea60" "04"
      "02" "0274" "03" "00000000" "00000001" "00"
      "0000000000000005" "0000000000000004"
      "03" "00" "08" "0000000000000007" "01" "08" "0000000000000009" "02" "02" "0002";
  auto raw = hex(v1);
  std::int16_t version = -1;
  auto v = kafka::decode_versioned<kafka::TransactionLogValue>(raw, kafka::TransactionLogValue::kMaxVersion, false,
                                                                &version);
  ASSERT_TRUE(v);
  EXPECT_EQ(version, 1);
  EXPECT_EQ(v->previous_producer_id, 7);
  EXPECT_EQ(v->next_producer_id, 9);
  EXPECT_EQ(v->client_transaction_version, 2);
  EXPECT_EQ(to_hex(kafka::encode_versioned(1, *v)), v1);
  auto m = decode_txn_value(raw);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->state, TxnState::complete_commit);
  EXPECT_EQ(m->partitions, (std::set<TopicPartition>{{"t", 0}, {"t", 1}}));
  // The transaction version 2 fields are kept, and written back the same.
  EXPECT_EQ(m->prev_producer_id, 7);
  EXPECT_EQ(m->next_producer_id, 9);
  EXPECT_EQ(m->client_version, 2);
  EXPECT_EQ(to_hex(encode_txn_value(*m, 1)), v1);
  // As v0 they have no place: the rest of the record is the same.
  EXPECT_EQ(decode_txn_value(encode_txn_value(*m, 0))->client_version, 0);
  EXPECT_EQ(decode_txn_value(encode_txn_value(*m, 0))->partitions, m->partitions);
  // A v1 value without tagged fields ends with an empty tag section.
  kafka::TransactionLogValue plain;
  plain.transaction_partitions.reset();  // null: no partitions
  EXPECT_EQ(to_hex(kafka::encode_versioned(1, plain)),
            "0001" "0000000000000000" "0000" "00000000" "00" "00" "0000000000000000" "0000000000000000" "00");
  EXPECT_TRUE(decode_txn_value(kafka::encode_versioned(1, plain))->partitions.empty());
}

// Key version 1 (an earlier version's pending offsets, nocopy's own) is
// told apart from Kafka's key v0, so a replay can skip it.
TEST(TxnRecords, KeyVersionOneIsToldApart) {
  auto k = decode_any_key(hex("0001" "0003" "747864"));
  ASSERT_TRUE(k);
  EXPECT_EQ(k->first, 1);
  EXPECT_EQ(k->second, "txd");
  EXPECT_EQ(decode_any_key(hex(kKeyV0))->first, 0);
  // Only Kafka's key version is a transactional id's state.
  EXPECT_FALSE(decode_txn_key(hex("0001" "0003" "747864")));
  EXPECT_FALSE(decode_txn_key(hex("0009" "0003" "747864")));
  EXPECT_FALSE(decode_any_key(hex("0002" "0003" "747864")));
  // Truncated values are refused, by a byte or more.
  EXPECT_FALSE(decode_txn_value(hex(std::string(kValueV0).substr(0, 20))));
  auto short_by_one = hex(kValueV0);
  short_by_one.pop_back();
  EXPECT_FALSE(decode_txn_value(short_by_one));
}

}  // namespace
}  // namespace nocopy::txn
