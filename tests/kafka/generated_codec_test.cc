// Codecs generated from src/kafka/schema/*.msg: for every message and every
// version it describes, encode -> decode -> encode is byte-identical, every
// strict prefix of an encoding fails to decode (no crash, no success on
// truncated input), and hand-checked byte vectors pin the wire layout of one
// non-flexible and one flexible version per API.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "kafka/generated_registry.h"
#include "kafka/reader.h"
#include "kafka/serde.h"
#include "kafka/writer.h"
#include "test_util.h"
#include "wire_test_util.h"

namespace nocopy::kafka {
namespace {

using test::decode;
using test::encode;
using test::expect_wire;
using test::from_hex;
using test::to_hex;

struct RoundTrip {
  int checked = 0;
  template <class Msg>
  void operator()(const char* name, int /*fuzz_id*/) {
    for (std::int16_t v = Msg::kMinVersion; v <= Msg::kMaxVersion; ++v) {
      for (int seed = 0; seed < 2; ++seed) {
        SCOPED_TRACE(std::string(name) + " v" + std::to_string(v) + " seed " + std::to_string(seed));
        Msg m;
        sample(m, v, seed);
        auto first = encode(m, v);
        Msg back;
        ASSERT_EQ(decode(first, v, back), DecodeError::none);
        EXPECT_EQ(to_hex(encode(back, v)), to_hex(first));
        for (std::size_t n = 0; n < first.size(); ++n) {
          Msg cut;
          EXPECT_NE(decode(std::span(first).first(n), v, cut), DecodeError::none) << "prefix " << n;
        }
        ++checked;
      }
    }
  }
};

TEST(GeneratedCodec, EveryMessageEveryVersionRoundTrips) {
  RoundTrip rt;
  for_each_generated_message(rt);
  EXPECT_GE(rt.checked, 2 * kGeneratedMessageCount);
}

// Seeds for fuzz_generated_decoders: bytes 0-1 = the message's stable fuzz
// id, bytes 2-3 = version offset from its minimum, then the body. Written when
// NOCOPY_WRITE_FUZZ_CORPUS names a directory, e.g.
//   NOCOPY_WRITE_FUZZ_CORPUS=fuzz/corpus/generated_decoders
//   build/tests/kafka/test_kafka --gtest_filter='GeneratedCodec.FuzzSeeds'
// otherwise every checked-in seed must decode.
struct Seeds {
  const char* dir;
  int checked = 0;
  template <class Msg>
  void operator()(const char* name, int id) {
    for (std::int16_t v = Msg::kMinVersion; v <= Msg::kMaxVersion; ++v) {
      const std::string file = std::string(name) + "_v" + std::to_string(v);
      const std::filesystem::path path = std::filesystem::path(dir) / file;
      if (std::getenv("NOCOPY_WRITE_FUZZ_CORPUS") != nullptr) {
        Msg m;
        sample(m, v, 0);
        auto body = encode(m, v);
        const int off = v - Msg::kMinVersion;
        std::vector<char> out{static_cast<char>(id >> 8), static_cast<char>(id & 0xff), static_cast<char>(off >> 8),
                              static_cast<char>(off & 0xff)};
        for (std::byte b : body) out.push_back(static_cast<char>(b));
        std::ofstream(path, std::ios::binary).write(out.data(), static_cast<std::streamsize>(out.size()));
      }
      std::ifstream in(path, std::ios::binary);
      ASSERT_TRUE(in.good()) << path;
      std::vector<char> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      ASSERT_GE(raw.size(), 4u) << path;
      EXPECT_EQ(static_cast<std::uint8_t>(raw[0]) << 8 | static_cast<std::uint8_t>(raw[1]), id) << path;
      auto body = std::as_bytes(std::span(raw)).subspan(4);
      Msg m;
      EXPECT_EQ(decode(body, v, m), DecodeError::none) << path;
      ++checked;
    }
  }
};

TEST(GeneratedCodec, FuzzSeeds) {
  const char* env = std::getenv("NOCOPY_WRITE_FUZZ_CORPUS");
  std::string dir = env != nullptr ? env : NOCOPY_SOURCE_DIR "/fuzz/corpus/generated_decoders";
  std::filesystem::create_directories(dir);
  Seeds s{dir.c_str()};
  for_each_generated_message(s);
  EXPECT_GT(s.checked, 0);
}

TEST(GeneratedCodec, ProduceBytes) {
  static const std::byte kBatch[] = {std::byte{1}, std::byte{2}, std::byte{3}};
  ProduceRequest m;
  m.acks = -1;
  m.timeout_ms = 1000;
  m.topics.push_back({.name = "t", .partitions = {{0, {}}}});
  m.topics[0].partitions[0].records.bytes = kBatch;
  // v0: no transactional_id; records are int32-length bytes.
  expect_wire(m, 0, "ffff" "000003e8" "00000001" "000174" "00000001" "00000000" "00000003" "010203");
  // v7: a null transactional_id (int16 -1) first.
  expect_wire(m, 7, "ffff" "ffff" "000003e8" "00000001" "000174" "00000001" "00000000" "00000003" "010203");
  ProduceResponse r;
  r.responses.push_back({.name = "t", .partitions = {{.index = 0, .base_offset = 42, .log_start_offset = 0}}});
  expect_wire(r, 0, "00000001" "000174" "00000001" "00000000" "0000" "000000000000002a");
  expect_wire(r, 7,
              "00000001" "000174" "00000001" "00000000" "0000" "000000000000002a" "ffffffffffffffff"
              "0000000000000000" "00000000");
}

TEST(GeneratedCodec, FetchBytes) {
  FetchRequest q;
  q.max_wait_ms = 500;
  q.min_bytes = 1;
  q.topics.push_back({"t", {}});
  q.topics[0].partitions.push_back({});
  q.topics[0].partitions[0].fetch_offset = 5;
  q.topics[0].partitions[0].partition_max_bytes = 1 << 20;
  // Defaults: replica_id -1, max_bytes INT32_MAX, session epoch -1,
  // current leader epoch -1, log start offset -1, empty rack id.
  expect_wire(q, 4,
              "ffffffff" "000001f4" "00000001" "7fffffff" "00" "00000001" "000174" "00000001" "00000000"
              "0000000000000005" "00100000");
  expect_wire(q, 11,
              "ffffffff" "000001f4" "00000001" "7fffffff" "00" "00000000" "ffffffff" "00000001" "000174" "00000001"
              "00000000" "ffffffff" "0000000000000005" "ffffffffffffffff" "00100000" "00000000" "0000");
  static const std::byte kBatch[] = {std::byte{1}, std::byte{2}, std::byte{3}};
  FetchResponse r;
  r.responses.push_back({"t", {}});
  r.responses[0].partitions.push_back({});
  auto& p = r.responses[0].partitions[0];
  p.high_watermark = 10;
  p.last_stable_offset = 10;
  p.log_start_offset = 0;
  p.records.bytes = kBatch;
  // aborted_transactions defaults to an empty list (int32 0), not null (-1);
  // preferred_read_replica to -1.
  expect_wire(r, 4,
              "00000000" "00000001" "000174" "00000001" "00000000" "0000" "000000000000000a" "000000000000000a"
              "00000000" "00000003" "010203");
  expect_wire(r, 11,
              "00000000" "0000" "00000000" "00000001" "000174" "00000001" "00000000" "0000" "000000000000000a"
              "000000000000000a" "0000000000000000" "00000000" "ffffffff" "00000003" "010203");
}

// The Fetch response's records are a splice point: the encoding holds the
// length prefix only and the size counts the region's bytes.
TEST(GeneratedCodec, FetchResponseRecordsSpliced) {
  FetchResponse r;
  r.responses.push_back({"t", {}});
  r.responses[0].partitions.push_back({});
  r.responses[0].partitions[0].records.splice_index = 0;
  r.responses[0].partitions[0].records.splice_length = 4096;
  Writer w(false);
  Encoder e(w, 11);
  serde(e, r);
  ASSERT_EQ(w.splices().size(), 1u);
  EXPECT_EQ(w.splices()[0].offset, w.buffer().size());
  EXPECT_EQ(w.size(), w.buffer().size() + 4096);
  EXPECT_EQ(to_hex(w.buffer().last(4)), "00001000");
}

// The flexible versions Kafka 4 added, byte by byte from Kafka's JSON
// schemata (FetchRequest/FetchResponse/ProduceRequest/ProduceResponse.json).
Uuid test_topic_id() {
  Uuid id{};
  for (std::size_t i = 0; i < id.size(); ++i) id[i] = static_cast<std::byte>(i + 1);
  return id;
}
constexpr const char* kTopicIdHex = "0102030405060708090a0b0c0d0e0f10";

TEST(GeneratedCodec, FetchFlexibleBytes) {
  FetchRequest q;
  q.replica_id = 2;  // v4-14 only: from v15 the id travels in replica_state
  q.replica_state = {2, -1};
  q.max_wait_ms = 500;
  q.min_bytes = 1;
  q.topics.push_back({.topic = "t", .topic_id = test_topic_id()});
  q.topics[0].partitions.push_back(
      {.partition = 0, .current_leader_epoch = 7, .fetch_offset = 5, .last_fetched_epoch = 3,
       .partition_max_bytes = 1 << 20});
  const std::string part = std::string("00000000" "00000007" "0000000000000005" "00000003" "ffffffffffffffff"
                                       "00100000");
  // v12: flexible, the topic by name, replica_id in the body, last_fetched_epoch.
  expect_wire(q, 12,
              ("00000002" "000001f4" "00000001" "7fffffff" "00" "00000000" "ffffffff" "02" "0274" "02" + part +
               "00" "00" "01" "01" "00")
                  .c_str());
  // v15: the topic by id, replica_state as tag 1 (id 2, epoch -1, no tags:
  // 13 bytes); the cluster id (tag 0, null) is not sent.
  expect_wire(q, 15,
              ("000001f4" "00000001" "7fffffff" "00" "00000000" "ffffffff" "02" + std::string(kTopicIdHex) + "02" +
               part + "00" "00" "01" "01" "01" "01" "0d" "00000002" "ffffffffffffffff" "00")
                  .c_str());

  FetchResponse r;
  r.responses.push_back({.topic = "t", .topic_id = test_topic_id()});
  auto& p = r.responses[0].partitions.emplace_back();
  p.error_code = 6;  // NOT_LEADER_OR_FOLLOWER
  p.current_leader = {2, 7};
  r.node_endpoints.push_back({2, "b2", 9093, std::nullopt});
  const std::string rpart = std::string("00000000" "0006" "ffffffffffffffff" "ffffffffffffffff" "ffffffffffffffff"
                                        "01" "ffffffff" "01") +
                            "01" "01" "09" "00000002" "00000007" "00";  // tag 1: current_leader
  // v12: current_leader; node_endpoints does not exist yet.
  expect_wire(r, 12, ("00000000" "0000" "00000000" "02" "0274" "02" + rpart + "00" "00").c_str());
  // v16: the topic by id, node_endpoints as the body's tag 0 (14 bytes).
  expect_wire(r, 16,
              ("00000000" "0000" "00000000" "02" + std::string(kTopicIdHex) + "02" + rpart + "00" "01" "00" "0e"
               "02" "00000002" "036232" "00002385" "00" "00")
                  .c_str());
  // diverging_epoch is tag 0 of the partition (epoch 3 ends at 120).
  FetchResponse d;
  d.responses.push_back({.topic = "t"});
  auto& dp = d.responses[0].partitions.emplace_back();
  dp.diverging_epoch = {3, 120};
  expect_wire(d, 12,
              "00000000" "0000" "00000000" "02" "0274" "02" "00000000" "0000" "ffffffffffffffff" "ffffffffffffffff"
              "ffffffffffffffff" "01" "ffffffff" "01" "01" "00" "0d" "00000003" "0000000000000078" "00" "00" "00");
}

TEST(GeneratedCodec, ProduceFlexibleBytes) {
  static const std::byte kBatch[] = {std::byte{1}, std::byte{2}, std::byte{3}};
  ProduceRequest m;
  m.acks = -1;
  m.timeout_ms = 1000;
  m.topics.push_back({.name = "t", .topic_id = test_topic_id(), .partitions = {{0, {}}}});
  m.topics[0].partitions[0].records.bytes = kBatch;
  // v9: compact strings and bytes, a null transactional id (0).
  expect_wire(m, 9, "00" "ffff" "000003e8" "02" "0274" "02" "00000000" "04010203" "00" "00" "00");
  // v13: the topic by id.
  expect_wire(m, 13,
              ("00" "ffff" "000003e8" "02" + std::string(kTopicIdHex) + "02" "00000000" "04010203" "00" "00" "00")
                  .c_str());

  ProduceResponse r;
  r.responses.push_back({.name = "t", .topic_id = test_topic_id()});
  auto& p = r.responses[0].partitions.emplace_back();
  p.error_code = 6;
  p.current_leader = {2, 7};
  r.node_endpoints.push_back({2, "b2", 9093, std::nullopt});
  const std::string part = "00000000" "0006" "ffffffffffffffff" "ffffffffffffffff" "ffffffffffffffff"
                           "01" "00"                                 // no record errors, null message
                           "01" "00" "09" "00000002" "00000007" "00";  // tag 0: current_leader
  // v10: current_leader and node_endpoints (the body's tag 0, 14 bytes).
  const std::string tail = "00" "00000000" "01" "00" "0e" "02" "00000002" "036232" "00002385" "00" "00";
  expect_wire(r, 10, ("02" "0274" "02" + part + tail).c_str());
  expect_wire(r, 13, ("02" + std::string(kTopicIdHex) + "02" + part + tail).c_str());
  // v8 (not flexible): record errors and the message.
  ProduceResponse e;
  e.responses.push_back({.name = "t"});
  auto& ep = e.responses[0].partitions.emplace_back();
  ep.error_code = 87;  // INVALID_RECORD
  ep.record_errors = {{3, "k"}};
  ep.error_message = "m";
  expect_wire(e, 8,
              "00000001" "000174" "00000001" "00000000" "0057" "ffffffffffffffff" "ffffffffffffffff"
              "ffffffffffffffff" "00000001" "00000003" "00016b" "00016d" "00000000");
}

TEST(GeneratedCodec, HeartbeatBytes) {
  HeartbeatRequest m;
  m.group_id = "g";
  m.generation_id = 5;
  m.member_id = "m";
  // v0: int16-length strings.
  expect_wire(m, 0, "000167" "00000005" "00016d");
  // v4: compact strings, null group_instance_id (0), no tagged fields (0).
  expect_wire(m, 4, "0267" "00000005" "026d" "00" "00");
  HeartbeatResponse r;
  r.throttle_time_ms = 7;
  r.error_code = 27;
  expect_wire(r, 0, "001b");
  expect_wire(r, 4, "00000007" "001b" "00");
}

TEST(GeneratedCodec, ListGroupsBytes) {
  ListGroupsResponse m;
  m.groups.push_back({"g", "consumer", "Stable", "classic"});
  expect_wire(m, 0, "0000" "00000001" "000167" "0008636f6e73756d6572");
  expect_wire(m, 5,
              "00000000" "0000" "02" "0267" "09636f6e73756d6572" "07537461626c65" "08636c6173736963" "00"
              "00");
  ListGroupsRequest q;
  expect_wire(q, 0, "");
  q.states_filter = {"Empty"};
  expect_wire(q, 4, "02" "06456d707479" "00");
}

TEST(GeneratedCodec, InitProducerIdBytes) {
  InitProducerIdRequest m;
  m.transaction_timeout_ms = 60000;
  expect_wire(m, 0, "ffff" "0000ea60");
  // v4: null compact string (0), producer id/epoch -1 by default.
  expect_wire(m, 4, "00" "0000ea60" "ffffffffffffffff" "ffff" "00");
  InitProducerIdResponse r;
  r.producer_id = 1;
  r.producer_epoch = 0;
  expect_wire(r, 1, "00000000" "0000" "0000000000000001" "0000");
  expect_wire(r, 2, "00000000" "0000" "0000000000000001" "0000" "00");
}

TEST(GeneratedCodec, FindCoordinatorBytes) {
  FindCoordinatorResponse m;
  m.node_id = 1;
  m.host = "h";
  m.port = 9092;
  expect_wire(m, 0, "0000" "00000001" "000168" "00002384");
  expect_wire(m, 3, "00000000" "0000" "00" "00000001" "0268" "00002384" "00");
  FindCoordinatorRequest q;
  q.key = "g";
  q.key_type = 1;
  expect_wire(q, 1, "000167" "01");
  expect_wire(q, 3, "0267" "01" "00");
  // v4: a batch of keys replaces key; one coordinator entry per key.
  q.coordinator_keys = {"g"};
  expect_wire(q, 4, "01" "02" "0267" "00");
  m.coordinators = {{"g", 1, "h", 9092, 0, std::nullopt}};
  expect_wire(m, 4, "00000000" "02" "0267" "00000001" "0268" "00002384" "0000" "00" "00" "00");
}

TEST(GeneratedCodec, DeleteGroupsAndTopicsBytes) {
  DeleteGroupsRequest g;
  g.groups_names = {"g"};
  expect_wire(g, 1, "00000001" "000167");
  expect_wire(g, 2, "02" "0267" "00");
  DeleteTopicsResponse t;
  t.responses.push_back({.name = std::string("t"), .error_code = 3});
  expect_wire(t, 0, "00000001" "000174" "0003");
  expect_wire(t, 5, "00000000" "02" "0274" "0003" "00" "00" "00");
  // v6: each result carries the topic's id after its (nullable) name.
  const std::string zero_id(32, '0');
  expect_wire(t, 6, ("00000000" "02" "0274" + zero_id + "0003" "00" "00" "00").c_str());
  // v6 request: topics by name or id (null name, id 0x11...), topic_names gone.
  DeleteTopicsRequest r;
  Uuid id{};
  id.fill(std::byte{0x11});
  r.topics.push_back({std::nullopt, id});
  r.topic_names = {"ignored at v6"};
  r.timeout_ms = 1000;
  expect_wire(r, 6, ("02" "00" + std::string(32, '1') + "00" "000003e8" "00").c_str());
  r.topics.clear();
  r.topic_names = {"t"};
  expect_wire(r, 5, "02" "0274" "000003e8" "00");
}

// Kafka 4.4's DeleteGroupsResponse.json v3: each result's nullable
// error_message after its error code; the request keeps the v2 layout.
TEST(GeneratedCodec, DeleteGroupsV3Bytes) {
  DeleteGroupsRequest g;
  g.groups_names = {"g"};
  expect_wire(g, 3, "02" "0267" "00");
  DeleteGroupsResponse r;
  r.results.push_back({.group_id = "g", .error_code = 68, .error_message = std::string("The group is not empty.")});
  r.results.push_back({.group_id = "h", .error_code = 0, .error_message = std::nullopt});
  const std::string msg = test::to_hex(std::as_bytes(std::span(std::string_view("The group is not empty."))));
  expect_wire(r, 3, ("00000000" "03" "0267" "0044" "18" + msg + "00" "0268" "0000" "00" "00" "00").c_str());
  // v2 has no message.
  expect_wire(r, 2, "00000000" "03" "0267" "0044" "00" "0268" "0000" "00" "00");
}

// Kafka 4.4's ApiVersionsRequest.json v5 (KIP-1242): a nullable cluster id
// and a node id (default -1) after the software names; the response keeps
// the v3 layout.
TEST(GeneratedCodec, ApiVersionsV5Bytes) {
  ApiVersionsRequest q;
  q.client_software_name = "n";
  q.client_software_version = "1";
  expect_wire(q, 5, "026e" "0231" "00" "ffffffff" "00");
  q.cluster_id = "c";
  q.node_id = 7;
  expect_wire(q, 5, "026e" "0231" "0263" "00000007" "00");
  expect_wire(q, 4, "026e" "0231" "00");
  ApiVersionsResponse m;
  m.error_code = 129;
  expect_wire(m, 5, "0081" "01" "00000000" "00");
}

TEST(GeneratedCodec, SyncGroupAndOffsetDeleteBytes) {
  SyncGroupResponse s;
  s.assignment = {std::byte{0xab}};
  expect_wire(s, 0, "0000" "00000001ab");
  // v5: null protocol type and name, compact bytes (len+1 = 2).
  expect_wire(s, 5, "00000000" "0000" "00" "00" "02ab" "00");
  OffsetDeleteRequest o;
  o.group_id = "g";
  o.topics.push_back({"t", {0, 1}});
  expect_wire(o, 0, "000167" "00000001" "000174" "00000002" "00000000" "00000001");
}

TEST(GeneratedCodec, ApiVersionsTaggedFieldsBytes) {
  ApiVersionsResponse m;
  m.api_keys.push_back({18, 0, 3});
  expect_wire(m, 0, "0000" "00000001" "0012" "0000" "0003");
  // v3 with defaults: no tagged fields (count 0).
  expect_wire(m, 3, "0000" "02" "0012" "0000" "0003" "00" "00000000" "00");
  // finalized_features_epoch (tag 1, int64) is sent once it is not -1.
  m.finalized_features_epoch = 5;
  const char* tagged = "0000" "02" "0012" "0000" "0003" "00" "00000000" "01" "01" "08" "0000000000000005";
  expect_wire(m, 3, tagged);
  // An unknown tag (7) is skipped; a known tag whose size disagrees with its
  // value, or tags out of order, fail.
  ApiVersionsResponse back;
  auto with_unknown = from_hex("0000" "02" "0012" "0000" "0003" "00" "00000000" "02" "01" "08" "0000000000000005"
                               "07" "01" "ff");
  ASSERT_EQ(decode(with_unknown, 3, back), DecodeError::none);
  EXPECT_EQ(back.finalized_features_epoch, 5);
  EXPECT_EQ(to_hex(encode(back, 3)), tagged);
  auto bad_size = from_hex("0000" "02" "0012" "0000" "0003" "00" "00000000" "01" "01" "09" "0000000000000005" "00");
  EXPECT_NE(decode(bad_size, 3, back), DecodeError::none);
  auto out_of_order = from_hex("0000" "02" "0012" "0000" "0003" "00" "00000000" "02" "03" "01" "01" "01" "08"
                               "0000000000000005");
  EXPECT_NE(decode(out_of_order, 3, back), DecodeError::none);
  ApiVersionsRequest q;
  q.client_software_name = "n";
  q.client_software_version = "1";
  expect_wire(q, 0, "");
  expect_wire(q, 3, "026e" "0231" "00");
}

TEST(GeneratedCodec, DescribeGroupsAndCreatePartitionsBytes) {
  DescribeGroupsResponse d;
  DescribeGroupsResponse::Group g;
  g.group_id = "g";
  g.group_state = "Dead";
  d.groups.push_back(g);
  expect_wire(d, 0, "00000001" "0000" "000167" "000444656164" "0000" "0000" "00000000");
  expect_wire(d, 5, "00000000" "02" "0000" "0267" "0544656164" "01" "01" "01" "80000000" "00" "00");
  CreatePartitionsRequest c;
  c.topics.push_back({"t", 3, std::nullopt});
  c.timeout_ms = 1;
  expect_wire(c, 0, "00000001" "000174" "00000003" "ffffffff" "00000001" "00");
  expect_wire(c, 2, "02" "0274" "00000003" "00" "00" "00000001" "00" "00");
}

TEST(GeneratedCodec, JoinAndLeaveGroupBytes) {
  JoinGroupRequest j;
  j.group_id = "g";
  j.session_timeout_ms = 10000;
  j.rebalance_timeout_ms = 10000;
  j.protocol_type = "consumer";
  j.protocols.push_back({"range", {}});
  expect_wire(j, 0, "000167" "00002710" "0000" "0008636f6e73756d6572" "00000001" "000572616e6765" "00000000");
  expect_wire(j, 6, "0267" "00002710" "00002710" "01" "00" "09636f6e73756d6572" "02" "0672616e6765" "01" "00" "00");
  // v0 carries no rebalance timeout: decoding takes the session timeout.
  JoinGroupRequest j0;
  auto v0 = from_hex("000167" "00000bb8" "0000" "0000" "00000000");
  ASSERT_EQ(decode(v0, 0, j0), DecodeError::none);
  EXPECT_EQ(j0.rebalance_timeout_ms, 3000);

  LeaveGroupRequest l;
  l.group_id = "g";
  l.member_id = "m";
  expect_wire(l, 0, "000167" "00016d");
  LeaveGroupRequest l0;
  auto bytes = from_hex("000167" "00016d");
  ASSERT_EQ(decode(bytes, 0, l0), DecodeError::none);
  ASSERT_EQ(l0.members.size(), 1u);  // v0-2 mirror member_id into members
  EXPECT_EQ(l0.members[0].member_id, "m");
  l.members.push_back({"m", std::nullopt, std::nullopt});
  expect_wire(l, 4, "0267" "02" "026d" "00" "00" "00");
}

TEST(GeneratedCodec, ListOffsetsBytes) {
  ListOffsetsRequest q;
  q.topics.push_back({"t", {{.partition_index = 0, .timestamp = -1}}});
  // v1: no isolation level, no leader epoch, no max_num_offsets.
  expect_wire(q, 1, "ffffffff" "00000001" "000174" "00000001" "00000000" "ffffffffffffffff");
  // v0 adds max_num_offsets (1); v6: isolation level, current leader epoch
  // (-1), compact arrays and strings, tag sections.
  expect_wire(q, 0, "ffffffff" "00000001" "000174" "00000001" "00000000" "ffffffffffffffff" "00000001");
  expect_wire(q, 6, "ffffffff" "00" "02" "0274" "02" "00000000" "ffffffff" "ffffffffffffffff" "00" "00" "00");
  ListOffsetsResponse r;
  r.topics.push_back({"t", {{.partition_index = 0, .error_code = 0, .timestamp = -1, .offset = 42}}});
  expect_wire(r, 1, "00000001" "000174" "00000001" "00000000" "0000" "ffffffffffffffff" "000000000000002a");
  expect_wire(r, 6, "00000000" "02" "0274" "02" "00000000" "0000" "ffffffffffffffff" "000000000000002a" "ffffffff"
                    "00" "00" "00");
}

TEST(GeneratedCodec, OffsetCommitBytes) {
  OffsetCommitRequest q;
  q.group_id = "g";
  q.generation_id = 1;
  q.member_id = "m";
  q.topics.push_back({.name = "t", .partitions = {{.partition_index = 0, .committed_offset = 5}}});
  // v2: retention time (-1), null metadata (int16 -1).
  expect_wire(q, 2, "000167" "00000001" "00016d" "ffffffffffffffff" "00000001" "000174" "00000001" "00000000"
                    "0000000000000005" "ffff");
  // v8: null group instance id, leader epoch -1, compact null metadata (0).
  expect_wire(q, 8, "0267" "00000001" "026d" "00" "02" "0274" "02" "00000000" "0000000000000005" "ffffffff" "00"
                    "00" "00" "00");
  OffsetCommitResponse r;
  r.topics.push_back({.name = "t", .partitions = {{0, 27}}});
  expect_wire(r, 2, "00000001" "000174" "00000001" "00000000" "001b");
  expect_wire(r, 8, "00000000" "02" "0274" "02" "00000000" "001b" "00" "00" "00");
}

// The versions Kafka 4.x added (ListOffsetsRequest/Response.json v10-11):
// v10 appends timeout_ms after the topics; v11 (-6, earliest pending
// upload) has v10's layout.
TEST(GeneratedCodec, ListOffsetsNewestVersionsBytes) {
  ListOffsetsRequest q;
  q.topics.push_back({"t", {{.partition_index = 0, .timestamp = -3}}});
  q.timeout_ms = 1000;
  for (std::int16_t v : {10, 11})
    expect_wire(q, v, "ffffffff" "00" "02" "0274" "02" "00000000" "ffffffff" "fffffffffffffffd" "00" "00" "000003e8" "00");
  // v9 has no timeout.
  expect_wire(q, 9, "ffffffff" "00" "02" "0274" "02" "00000000" "ffffffff" "fffffffffffffffd" "00" "00" "00");
  ListOffsetsResponse r;
  r.topics.push_back({"t", {{.partition_index = 0, .error_code = 0, .timestamp = 3000, .offset = 1, .leader_epoch = 5}}});
  expect_wire(r, 11, "00000000" "02" "0274" "02" "00000000" "0000" "0000000000000bb8" "0000000000000001" "00000005"
                     "00" "00" "00");
}

// OffsetCommit v9 is v8's layout; v10 (OffsetCommitRequest/Response.json)
// replaces each topic's name with its 16-byte id.
TEST(GeneratedCodec, OffsetCommitTopicIdBytes) {
  Uuid id{};
  for (std::size_t i = 0; i < id.size(); ++i) id[i] = static_cast<std::byte>(0xa0 + i);
  OffsetCommitRequest q;
  q.group_id = "g";
  q.generation_id = 1;
  q.member_id = "m";
  q.topics.push_back({.name = "t", .topic_id = id, .partitions = {{.partition_index = 0, .committed_offset = 5}}});
  expect_wire(q, 9, "0267" "00000001" "026d" "00" "02" "0274" "02" "00000000" "0000000000000005" "ffffffff" "00"
                    "00" "00" "00");
  expect_wire(q, 10, "0267" "00000001" "026d" "00" "02" "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf" "02" "00000000"
                     "0000000000000005" "ffffffff" "00" "00" "00" "00");
  OffsetCommitResponse r;
  r.topics.push_back({.name = "t", .topic_id = id, .partitions = {{0, 100}}});
  expect_wire(r, 10, "00000000" "02" "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf" "02" "00000000" "0064" "00" "00" "00");
}

// OffsetFetch v9 adds each group's member id and epoch (after the group
// id); v10 names topics by id, in the request and in the answer.
TEST(GeneratedCodec, OffsetFetchMemberAndTopicIdBytes) {
  Uuid id{};
  for (std::size_t i = 0; i < id.size(); ++i) id[i] = static_cast<std::byte>(0xa0 + i);
  OffsetFetchRequest q;
  q.groups = {{.group_id = "g",
               .member_id = std::string("m"),
               .member_epoch = 3,
               .topics = std::vector<OffsetFetchRequest::Topic>{{.name = "t", .topic_id = id, .partition_indexes = {0}}}}};
  expect_wire(q, 9, "02" "0267" "026d" "00000003" "02" "0274" "02" "00000000" "00" "00" "00" "00");
  expect_wire(q, 10, "02" "0267" "026d" "00000003" "02" "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf" "02" "00000000" "00" "00"
                     "00" "00");
  // A classic consumer: null member id, epoch -1.
  q.groups[0].member_id.reset();
  q.groups[0].member_epoch = -1;
  expect_wire(q, 9, "02" "0267" "00" "ffffffff" "02" "0274" "02" "00000000" "00" "00" "00" "00");
  OffsetFetchResponse r;
  r.groups = {{"g", {{.name = "t", .topic_id = id, .partitions = {{0, 5, 2, std::string("m"), 0}}}}, 0}};
  expect_wire(r, 10, "00000000" "02" "0267" "02" "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf" "02" "00000000"
                     "0000000000000005" "00000002" "026d" "0000" "00" "00" "0000" "00" "00");
}

TEST(GeneratedCodec, CreateTopicsBytes) {
  CreateTopicsRequest q;
  CreateTopicsRequest::Topic t;
  t.name = "t";
  t.num_partitions = 3;
  t.configs.push_back({"retention.ms", std::nullopt});
  q.topics.push_back(t);
  q.timeout_ms = 1000;
  // v0: no validate_only; replication factor -1, no assignments, null value.
  expect_wire(q, 0, "00000001" "000174" "00000003" "ffff" "00000000" "00000001" "000c726574656e74696f6e2e6d73"
                    "ffff" "000003e8");
  // v5: compact arrays/strings, tag sections, validate_only.
  expect_wire(q, 5, "02" "0274" "00000003" "ffff" "01" "02" "0d726574656e74696f6e2e6d73" "00" "00" "00" "000003e8"
                    "00" "00");
  CreateTopicsResponse r;
  r.topics.push_back({.name = "t", .error_code = 36, .error_message = std::string("exists")});
  expect_wire(r, 1, "00000001" "000174" "0024" "0006657869737473");
  // v5: null configs (0), partitions/replication factor -1, no tagged fields.
  expect_wire(r, 5, "00000000" "02" "0274" "0024" "07657869737473" "ffffffff" "ffff" "00" "00" "00");
  // topic_config_error_code is tag 0 of the topic, sent when non-zero.
  r.topics[0].topic_config_error_code = 29;
  expect_wire(r, 5, "00000000" "02" "0274" "0024" "07657869737473" "ffffffff" "ffff" "00" "01" "00" "02" "001d" "00");
  // v7 (CreateTopicsResponse.json): the TopicId (uuid, 16 raw bytes) right
  // after the name.
  for (std::size_t i = 0; i < r.topics[0].topic_id.size(); ++i) r.topics[0].topic_id[i] = static_cast<std::byte>(0xa0 + i);
  expect_wire(r, 7, "00000000" "02" "0274" "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf" "0024" "07657869737473" "ffffffff" "ffff"
                    "00" "01" "00" "02" "001d" "00");
}


TEST(GeneratedCodec, OffsetFetchBytes) {
  OffsetFetchRequest q;
  q.group_id = "g";
  q.topics = std::vector<OffsetFetchRequest::Topic>{{.name = "t", .partition_indexes = {0}}};
  // v1: one group, a non-null topic list.
  expect_wire(q, 1, "000167" "00000001" "000174" "00000001" "00000000");
  // v8: groups replace group_id/topics; "h" asks for every partition (null).
  q.groups = {{.group_id = "g", .topics = std::vector<OffsetFetchRequest::Topic>{{.name = "t", .partition_indexes = {0}}}}, {"h", std::nullopt}};
  expect_wire(q, 8, "03" "0267" "02" "0274" "02" "00000000" "00" "00" "0268" "00" "00" "00" "00");
  OffsetFetchResponse r;
  r.topics = {{.name = "t", .partitions = {{0, 5, 2, std::string("m"), 0}}}};
  expect_wire(r, 1, "00000001" "000174" "00000001" "00000000" "0000000000000005" "00016d" "0000");
  r.groups = {{"g", r.topics, 16}};
  expect_wire(r, 8, "00000000" "02" "0267" "02" "0274" "02" "00000000" "0000000000000005" "00000002" "026d" "0000"
                    "00" "00" "0010" "00" "00");
}

TEST(GeneratedCodec, OffsetFetchRejectsNullWhereNotNullable) {
  OffsetFetchRequest q;
  // v1: topics cannot be null (v2+ only).
  EXPECT_EQ(decode(from_hex("000167" "ffffffff"), 1, q), DecodeError::negative_length);
  // v2: a null topic list decodes as "every partition".
  ASSERT_EQ(decode(from_hex("000167" "ffffffff"), 2, q), DecodeError::none);
  EXPECT_FALSE(q.topics.has_value());
  // v8: the group list itself is never null.
  EXPECT_EQ(decode(from_hex("00" "00" "00"), 8, q), DecodeError::negative_length);
}


TEST(GeneratedCodec, MetadataBytes) {
  MetadataRequest q;
  q.topics = std::vector<MetadataRequest::Topic>{{Uuid{}, "t"}};
  expect_wire(q, 4, "00000001" "000174" "01");
  // v9: compact array and string, tag sections, the v8 flags.
  expect_wire(q, 9, "02" "0274" "00" "01" "00" "00" "00");
  MetadataResponse r;
  r.brokers = {{1, "h", 9092, std::nullopt}};
  r.cluster_id = "c";
  r.controller_id = 1;
  r.topics = {{0, "t", Uuid{}, false, {{0, 0, 1, 5, {1}, {1}, {}}}}};
  // v7: the partition's leader epoch follows its leader.
  expect_wire(r, 7, "00000000" "00000001" "00000001" "000168" "00002384" "ffff" "000163" "00000001"
                    "00000001" "0000" "000174" "00" "00000001" "0000" "00000000" "00000001" "00000005"
                    "00000001" "00000001" "00000001" "00000001" "00000000");
  // v9: authorized operations not provided (INT32_MIN) for the topic and the cluster.
  expect_wire(r, 9, "00000000" "02" "00000001" "0268" "00002384" "00" "00" "0263" "00000001"
                    "02" "0000" "0274" "00" "02" "0000" "00000000" "00000001" "00000005" "02" "00000001"
                    "02" "00000001" "01" "00" "80000000" "00" "80000000" "00");
}

// Metadata v10-13 from Kafka's MetadataRequest.json / MetadataResponse.json:
// v10 puts TopicId (uuid, 16 raw bytes) before the name in the request and
// after it in the response; v11 drops IncludeClusterAuthorizedOperations and
// ClusterAuthorizedOperations; v12 makes the names nullable (compact
// nullable string: 00 is null); v13 appends the response's ErrorCode.
TEST(GeneratedCodec, MetadataTopicIdBytes) {
  Uuid id{};
  for (std::size_t i = 0; i < id.size(); ++i) id[i] = static_cast<std::byte>(i + 1);
  const char* id_hex = "0102030405060708090a0b0c0d0e0f10";
  MetadataRequest q;
  q.topics = std::vector<MetadataRequest::Topic>{{id, std::nullopt}};
  q.include_cluster_authorized_operations = true;
  // v12: one topic by id alone, auto-creation allowed, no topic operations.
  expect_wire(q, 12, (std::string("02") + id_hex + "00" "00" "01" "00" "00").c_str());
  // v10: the cluster flag is still there (01); a null name is sent as "".
  q.topics->front().name = "t";
  expect_wire(q, 10, (std::string("02") + id_hex + "0274" "00" "01" "01" "00" "00").c_str());

  MetadataResponse r;
  r.brokers = {{1, "h", 9092, std::nullopt}};
  r.cluster_id = "c";
  r.controller_id = 1;
  r.topics = {{0, "t", id, false, {{0, 0, 1, 5, {1}, {1}, {}}}},
              {100, std::nullopt, id, false, {}}};  // UNKNOWN_TOPIC_ID: asked by id, name null
  const std::string head = "00000000" "02" "00000001" "0268" "00002384" "00" "00" "0263" "00000001" "03";
  const std::string known = std::string("0000" "0274") + id_hex + "00" "02" "0000" "00000000" "00000001" "00000005"
                            "02" "00000001" "02" "00000001" "01" "00" "80000000" "00";
  const std::string unknown = std::string("0064" "00") + id_hex + "00" "01" "80000000" "00";
  expect_wire(r, 12, (head + known + unknown + "00").c_str());
  r.error_code = 0;
  expect_wire(r, 13, (head + known + unknown + "0000" "00").c_str());
  // v11: the cluster's operations are gone; v10 still has them.
  r.topics.pop_back();
  const std::string head1 = head.substr(0, head.size() - 2) + "02";
  expect_wire(r, 11, (head1 + known + "00").c_str());
  expect_wire(r, 10, (head1 + known + "80000000" "00").c_str());
}

}  // namespace
}  // namespace nocopy::kafka
