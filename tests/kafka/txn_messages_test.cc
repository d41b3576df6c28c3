// The transaction APIs' wire layouts at Kafka 4.x's versions: InitProducerId
// v5, AddOffsetsToTxn v2/v4, EndTxn v4/v5, TxnOffsetCommit v2/v4/v5/v6,
// AddPartitionsToTxn v5 (a broker's add), WriteTxnMarkers v1/v2, and the
// transaction.version feature in ApiVersions v3. Each vector is what Kafka 4.4's generated Java
// message classes (kafka-clients, `Message.write`) write for the same
// values. Round trips at every version and truncation at every byte are in
// generated_codec_test.cc.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kafka/api_versions.h"
#include "kafka/error_code.h"
#include "kafka/messages.h"
#include "wire_test_util.h"

namespace nocopy::kafka {
namespace {

using test::expect_wire;

constexpr std::int16_t kAbortable = 120;  // TRANSACTION_ABORTABLE

TEST(TxnMessages, InitProducerIdV5) {
  InitProducerIdRequest q;
  q.transactional_id = "t";
  q.transaction_timeout_ms = 60000;
  q.producer_id = 5;
  q.producer_epoch = 2;
  // compact "t" | timeout | producer id | epoch | tags
  expect_wire(q, 5, "0274" "0000ea60" "0000000000000005" "0002" "00");
  InitProducerIdResponse r;
  r.producer_id = 5;
  r.producer_epoch = 3;
  expect_wire(r, 5, "00000000" "0000" "0000000000000005" "0003" "00");
}

TEST(TxnMessages, AddOffsetsToTxnV2AndV4) {
  AddOffsetsToTxnRequest q;
  q.transactional_id = "t";
  q.producer_id = 5;
  q.producer_epoch = 2;
  q.group_id = "g";
  expect_wire(q, 2, "000174" "0000000000000005" "0002" "000167");
  expect_wire(q, 4, "0274" "0000000000000005" "0002" "0267" "00");
  AddOffsetsToTxnResponse r;
  r.error_code = kAbortable;
  expect_wire(r, 4, "00000000" "0078" "00");
}

TEST(TxnMessages, EndTxnV4AndV5) {
  EndTxnRequest q;
  q.transactional_id = "t";
  q.producer_id = 5;
  q.producer_epoch = 2;
  q.committed = true;
  expect_wire(q, 4, "0274" "0000000000000005" "0002" "01" "00");
  q.committed = false;  // v5: the same request, from a transaction version 2 producer
  expect_wire(q, 5, "0274" "0000000000000005" "0002" "00" "00");
  EndTxnResponse r;
  expect_wire(r, 4, "00000000" "0000" "00");
  // v5: the producer id and epoch to use next (-1/-1 by default).
  expect_wire(r, 5, "00000000" "0000" "ffffffffffffffff" "ffff" "00");
  r.producer_id = 5;
  r.producer_epoch = 3;
  expect_wire(r, 5, "00000000" "0000" "0000000000000005" "0003" "00");
}

TxnOffsetCommitRequest one_offset() {
  TxnOffsetCommitRequest q;
  q.transactional_id = "t";
  q.group_id = "g";
  q.producer_id = 5;
  q.producer_epoch = 2;
  auto& t = q.topics.emplace_back();
  t.name = "a";
  auto& p = t.partitions.emplace_back();
  p.partition_index = 0;
  p.committed_offset = 10;
  p.committed_leader_epoch = -1;
  p.committed_metadata = std::nullopt;
  return q;
}

TEST(TxnMessages, TxnOffsetCommitV2V4AndV5) {
  TxnOffsetCommitRequest q = one_offset();
  // v2: int16 strings, leader epoch, null metadata (-1).
  expect_wire(q, 2,
              "000174" "000167" "0000000000000005" "0002" "00000001" "000161" "00000001" "00000000"
              "000000000000000a" "ffffffff" "ffff");
  q.generation_id = 1;
  q.member_id = "m";
  // v4: + generation, member id, null instance id; compact arrays, tags.
  // v5 is v4's layout (transaction version 2 changes who adds the group).
  for (std::int16_t v : {4, 5})
    expect_wire(q, v,
                "0274" "0267" "0000000000000005" "0002" "00000001" "026d" "00" "02" "0261" "02" "00000000"
                "000000000000000a" "ffffffff" "00" "00" "00" "00");
  TxnOffsetCommitResponse r;
  auto& t = r.topics.emplace_back();
  t.name = "a";
  t.partitions.push_back({0, kAbortable});
  expect_wire(r, 4, "00000000" "02" "0261" "02" "00000000" "0078" "00" "00" "00");
  t.partitions[0].error_code = 51;  // CONCURRENT_TRANSACTIONS
  expect_wire(r, 5, "00000000" "02" "0261" "02" "00000000" "0033" "00" "00" "00");
}

// v6 names each topic by its id (KIP-1319), in requests and answers alike.
TEST(TxnMessages, TxnOffsetCommitV6TopicIds) {
  Uuid id{};
  for (std::size_t i = 0; i < id.size(); ++i) id[i] = static_cast<std::byte>(i + 1);
  TxnOffsetCommitRequest q = one_offset();
  q.generation_id = 1;
  q.member_id = "m";
  q.topics[0].name.clear();
  q.topics[0].topic_id = id;
  expect_wire(q, 6,
              "0274" "0267" "0000000000000005" "0002" "00000001" "026d" "00" "02"
              "0102030405060708090a0b0c0d0e0f10" "02" "00000000" "000000000000000a" "ffffffff" "00" "00" "00" "00");
  TxnOffsetCommitResponse r;
  auto& t = r.topics.emplace_back();
  t.topic_id = id;
  t.partitions.push_back({0, to_wire(ErrorCode::unknown_topic_id)});
  expect_wire(r, 6, "00000000" "02" "0102030405060708090a0b0c0d0e0f10" "02" "00000000" "0064" "00" "00" "00");
}

TEST(TxnMessages, AddPartitionsToTxnV5BrokerAdd) {
  AddPartitionsToTxnRequest q;
  auto& t = q.transactions.emplace_back();
  t.transactional_id = "t";
  t.producer_id = 5;
  t.producer_epoch = 2;
  t.verify_only = false;  // add, as a transaction version 2 producer's leader asks
  auto& topic = t.topics.emplace_back();
  topic.name = "a";
  topic.partitions = {0, 1};
  expect_wire(q, 5, "02" "0274" "0000000000000005" "0002" "00" "02" "0261" "03" "00000000" "00000001" "00" "00" "00");
}

// What the broker answers at each transaction.version level, byte for byte
// as Kafka writes the same fields (the API list cut to EndTxn here).
TEST(TxnMessages, TransactionVersionFeatureInApiVersions) {
  auto only_end_txn = [](ApiVersionsResponse r) {
    std::erase_if(r.api_keys, [](const auto& a) { return a.api_key != 26; });
    return r;
  };
  const auto at2 = only_end_txn(make_api_versions_response(3, 2));
  expect_wire(at2, 3,
              "0000" "02" "001a" "0000" "0005" "00" "00000000"
              "03" "00" "1a" "02" "147472616e73616374696f6e2e76657273696f6e" "0000" "0002" "00"
              "01" "08" "0000000000000001"
              "02" "1a" "02" "147472616e73616374696f6e2e76657273696f6e" "0002" "0002" "00");
  // Level 0: supported but not finalized; EndTxn v5 not offered.
  const auto at0 = only_end_txn(make_api_versions_response(3, 0));
  expect_wire(at0, 3,
              "0000" "02" "001a" "0000" "0004" "00" "00000000"
              "02" "00" "1a" "02" "147472616e73616374696f6e2e76657273696f6e" "0000" "0002" "00"
              "01" "08" "0000000000000001");
  // Level 1 finalizes 1 and keeps EndTxn and TxnOffsetCommit at v4.
  const auto at1 = make_api_versions_response(3, 1);
  ASSERT_EQ(at1.finalized_features.size(), 1u);
  EXPECT_EQ(at1.finalized_features[0].max_version_level, 1);
  for (const auto& a : at1.api_keys) {
    if (a.api_key == 26 || a.api_key == 28) {
      EXPECT_EQ(a.max_version, 4);
    }
  }
  for (const auto& a : make_api_versions_response(3, 2).api_keys) {
    if (a.api_key == 26) {
      EXPECT_EQ(a.max_version, 5);
    }
    if (a.api_key == 28) {
      EXPECT_EQ(a.max_version, 6);  // v6: topic ids
    }
  }
}

TEST(TxnMessages, WriteTxnMarkersV1AndV2) {
  WriteTxnMarkersRequest q;
  auto& m = q.markers.emplace_back();
  m.producer_id = 5;
  m.producer_epoch = 2;
  m.transaction_result = true;
  m.coordinator_epoch = 7;
  m.transaction_version = 2;
  auto& t = m.topics.emplace_back();
  t.name = "a";
  t.partition_indexes = {0};
  // v2: the transaction version (int8) after the coordinator epoch.
  expect_wire(q, 2,
              "02" "0000000000000005" "0002" "01" "02" "0261" "02" "00000000" "00" "00000007" "02" "00" "00");
  // v1 has no transaction version (Kafka drops it: the field is ignorable).
  m.transaction_version = 0;
  expect_wire(q, 1, "02" "0000000000000005" "0002" "01" "02" "0261" "02" "00000000" "00" "00000007" "00" "00");
  WriteTxnMarkersResponse r;
  auto& mr = r.markers.emplace_back();
  mr.producer_id = 5;
  auto& tr = mr.topics.emplace_back();
  tr.name = "a";
  tr.partitions.push_back({0, 0});
  expect_wire(r, 2, "02" "0000000000000005" "02" "0261" "02" "00000000" "0000" "00" "00" "00" "00");
}

TEST(TxnMessages, AbortableOnlyForVersionsThatKnowIt) {
  EXPECT_EQ(txn_error_for_version(ErrorCode::invalid_txn_state, true), ErrorCode::transaction_abortable);
  EXPECT_EQ(txn_error_for_version(ErrorCode::transaction_abortable, false), ErrorCode::invalid_txn_state);
  EXPECT_EQ(txn_error_for_version(ErrorCode::invalid_producer_epoch, true), ErrorCode::invalid_producer_epoch);
  EXPECT_EQ(txn_error_for_version(ErrorCode::none, false), ErrorCode::none);
  EXPECT_EQ(error_name(ErrorCode::transaction_abortable), "TRANSACTION_ABORTABLE");
}

}  // namespace
}  // namespace nocopy::kafka
