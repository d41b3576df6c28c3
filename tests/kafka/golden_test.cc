// Requests captured from real clients (Debian's kcat 1.7.1 / librdkafka
// 2.0.2 and python3-kafka 2.0.2) pointed at a socket that dumped what they
// sent. The frames below exclude the 4-byte size prefix unless noted.
#include <gtest/gtest.h>

#include <variant>

#include "kafka/codec.h"
#include "kafka/request.h"
#include "test_util.h"

namespace nocopy::kafka {
namespace {

using test::from_hex;
using test::to_hex;

// kcat -L: ApiVersions v3 (header v2, compact body), with size prefix.
constexpr const char* kKcatApiVersions =
    "00000024" "0012000300000001000772646b61666b61000b6c696272646b61666b6106322e302e3200";
// kafka-python: ApiVersions v0 then Metadata v0, pipelined in one write.
constexpr const char* kKafkaPythonProbe =
    "0000001c001200000000000100126b61666b612d707974686f6e2d322e302e32"
    "00000020000300000000000200126b61666b612d707974686f6e2d322e302e3200000000";
// librdkafka: Metadata v4 for topic "t", allow auto-creation.
constexpr const char* kRdkafkaMetadataV4 = "0003000400000002000772646b61666b610000000100017401";
// kcat -P -K: -H h1=x: Produce v7, acks=-1, one RecordBatch v2 "k1"/"v1".
constexpr const char* kRdkafkaProduceV7 = "0000000700000003000772646b61666b61ffffffff000075300000000100017400000001000000000000004d00000000000000000000004100000000022734813e000000000000000001a1fcb9e09b000001a1fcb9e09bffffffffffffffffffffffffffff000000011e000000046b31047631020468310278";
// kcat -C -p 0 -o 0: Fetch v11.
constexpr const char* kRdkafkaFetchV11 = "0001000b00000004000772646b61666b61ffffffff0000006400000001032000000100000000ffffffff000000010001740000000100000000ffffffff0000000000000000ffffffffffffffff00100000000000000000";

TEST(Golden, KcatApiVersionsV3) {
  auto wire = from_hex(kKcatApiVersions);
  Reader size(wire);
  ASSERT_EQ(size.i32(), static_cast<std::int32_t>(wire.size() - 4));
  auto d = decode_request(std::span(wire).subspan(4));
  ASSERT_EQ(d.status, RequestStatus::ok);
  EXPECT_EQ(d.header.api_key, 18);
  EXPECT_EQ(d.header.api_version, 3);
  EXPECT_EQ(d.header.correlation_id, 1);
  EXPECT_EQ(d.header.client_id, std::optional<std::string>("rdkafka"));
  const auto& m = std::get<ApiVersionsRequest>(d.body);
  EXPECT_EQ(m.client_software_name, "librdkafka");
  EXPECT_EQ(m.client_software_version, "2.0.2");
  EXPECT_EQ(to_hex(encode_request(1, 3, m, "rdkafka")), kKcatApiVersions);
}

TEST(Golden, KafkaPythonPipelinedProbe) {
  auto wire = from_hex(kKafkaPythonProbe);
  std::span<const std::byte> rest(wire);
  std::vector<DecodedRequest> got;
  while (!rest.empty()) {
    Reader r(rest);
    auto n = static_cast<std::size_t>(r.i32());
    ASSERT_TRUE(r.ok());
    ASSERT_LE(n + 4, rest.size());
    got.push_back(decode_request(rest.subspan(4, n)));
    rest = rest.subspan(4 + n);
  }
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].status, RequestStatus::ok);
  EXPECT_EQ(got[0].header.api_key, 18);
  EXPECT_EQ(got[0].header.api_version, 0);
  EXPECT_EQ(got[0].header.client_id, std::optional<std::string>("kafka-python-2.0.2"));
  ASSERT_EQ(got[1].status, RequestStatus::ok);
  EXPECT_EQ(got[1].header.api_key, 3);
  EXPECT_EQ(got[1].header.correlation_id, 2);
  const auto& md = std::get<MetadataRequest>(got[1].body);
  EXPECT_TRUE(all_topics(md, 0));  // v0 [] = all topics
}

TEST(Golden, RdkafkaMetadataV4) {
  auto frame = from_hex(kRdkafkaMetadataV4);
  auto d = decode_request(frame);
  ASSERT_EQ(d.status, RequestStatus::ok);
  const auto& m = std::get<MetadataRequest>(d.body);
  ASSERT_TRUE(m.topics.has_value());
  ASSERT_EQ(m.topics->size(), 1u);
  EXPECT_EQ((*m.topics)[0].name, "t");
  EXPECT_TRUE(m.allow_auto_topic_creation);
  EXPECT_FALSE(all_topics(m, 4));
}

TEST(Golden, RdkafkaProduceV7) {
  auto frame = from_hex(kRdkafkaProduceV7);
  auto d = decode_request(frame);
  ASSERT_EQ(d.status, RequestStatus::ok);
  EXPECT_EQ(d.header.api_version, 7);
  const auto& p = std::get<ProduceRequest>(d.body);
  EXPECT_FALSE(p.transactional_id.has_value());
  EXPECT_EQ(p.acks, -1);
  EXPECT_EQ(p.timeout_ms, 30000);
  ASSERT_EQ(p.topics.size(), 1u);
  EXPECT_EQ(p.topics[0].name, "t");
  ASSERT_EQ(p.topics[0].partitions.size(), 1u);
  EXPECT_EQ(p.topics[0].partitions[0].index, 0);
  auto rec = p.topics[0].partitions[0].records.bytes;
  ASSERT_EQ(rec.size(), 77u);
  // The records field ends the frame and views it in place.
  EXPECT_EQ(rec.data() + rec.size(), frame.data() + frame.size());
  Reader batch(rec);
  EXPECT_EQ(batch.i64(), 0);                      // baseOffset
  EXPECT_EQ(batch.i32(), 77 - 12);                // batchLength
  EXPECT_EQ(batch.i32(), 0);                      // partitionLeaderEpoch
  EXPECT_EQ(batch.i8(), 2);                       // magic
  auto again = encode_request(d.header.correlation_id, 7, p, "rdkafka");
  EXPECT_EQ(to_hex(std::span(again).subspan(4)), to_hex(frame));
}

TEST(Golden, RdkafkaFetchV11) {
  auto frame = from_hex(kRdkafkaFetchV11);
  auto d = decode_request(frame);
  ASSERT_EQ(d.status, RequestStatus::ok);
  const auto& f = std::get<FetchRequest>(d.body);
  EXPECT_EQ(f.replica_id, -1);
  EXPECT_EQ(f.max_wait_ms, 100);
  EXPECT_EQ(f.min_bytes, 1);
  EXPECT_EQ(f.max_bytes, 52428800);
  EXPECT_EQ(f.isolation_level, 1);  // read_committed
  EXPECT_EQ(f.session_id, 0);
  EXPECT_EQ(f.session_epoch, -1);
  ASSERT_EQ(f.topics.size(), 1u);
  ASSERT_EQ(f.topics[0].partitions.size(), 1u);
  const auto& part = f.topics[0].partitions[0];
  EXPECT_EQ(part.current_leader_epoch, -1);
  EXPECT_EQ(part.fetch_offset, 0);
  EXPECT_EQ(part.log_start_offset, -1);
  EXPECT_EQ(part.partition_max_bytes, 1048576);
  EXPECT_TRUE(f.forgotten_topics_data.empty());
  EXPECT_EQ(f.rack_id, "");
  auto again = encode_request(d.header.correlation_id, 11, f, "rdkafka");
  EXPECT_EQ(to_hex(std::span(again).subspan(4)), to_hex(frame));
}

}  // namespace
}  // namespace nocopy::kafka
