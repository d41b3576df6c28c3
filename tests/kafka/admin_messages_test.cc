// The admin APIs' exact wire layouts, flexible and not (DescribeConfigs,
// CreatePartitions, DeleteGroups, OffsetDelete, AlterConfigs,
// IncrementalAlterConfigs), hand-assembled from
// Kafka's JSON schemata, plus malformed input. Round trips at every version
// and truncation at every byte are in messages_test.cc.
#include <gtest/gtest.h>

#include <variant>

#include "kafka/codec.h"
#include "kafka/request.h"
#include "test_util.h"

namespace nocopy::kafka {
namespace {

using test::from_hex;
using test::to_hex;

DescribeConfigsResponse one_config() {
  DescribeConfigsResponse m;
  DescribeConfigsResponse::Config c;
  c.name = "a";
  c.value = "1";
  c.is_default = true;
  c.config_source = 5;
  c.config_type = 5;
  m.results = {{0, std::nullopt, 2, "t", {c}}};
  return m;
}

TEST(AdminMessages, DescribeConfigsV4ResponseIsCompactWithTaggedFields) {
  // size | corr, header tags | throttle | results (compact 1) | error, null
  // message, type 2, "t" | configs (compact 1) | "a", "1", read_only,
  // source 5, sensitive, synonyms (compact 0), type 5, null doc, tags |
  // result tags | body tags
  EXPECT_EQ(to_hex(encode_response(9, 4, one_config()).bytes),
            "0000001e" "00000009" "00" "00000000" "02" "0000" "00" "02" "0274" "02" "0261" "0231" "00" "05" "00" "01"
            "05" "00" "00" "00" "00");
}

TEST(AdminMessages, DescribeConfigsV0ResponseHasIsDefaultAndNoSource) {
  EXPECT_EQ(to_hex(encode_response(9, 0, one_config()).bytes),
            "00000021" "00000009" "00000000" "00000001" "0000" "ffff" "02" "000174" "00000001" "000161" "000131" "00"
            "01" "00");
}

TEST(AdminMessages, DescribeConfigsV4RequestSkipsUnknownTaggedFields) {
  // Header v2 (client id "c", one unknown header tag), resources: [{type 2,
  // "t", keys null, tags: one unknown tag}], include_synonyms, include_docs,
  // body tags: one unknown tag.
  auto frame = from_hex("0020" "0004" "00000001" "000163" "01" "07" "01" "ff"
                        "02" "02" "0274" "00" "01" "09" "02" "aabb"
                        "01" "00" "01" "00" "01" "cc");
  auto d = decode_request(frame);
  ASSERT_EQ(d.status, RequestStatus::ok) << decode_error_name(d.error);
  const auto& m = std::get<DescribeConfigsRequest>(d.body);
  ASSERT_EQ(m.resources.size(), 1u);
  EXPECT_EQ(m.resources[0].resource_type, 2);
  EXPECT_EQ(m.resources[0].resource_name, "t");
  EXPECT_FALSE(m.resources[0].configuration_keys.has_value());
  EXPECT_TRUE(m.include_synonyms);
  EXPECT_FALSE(m.include_documentation);
}

TEST(AdminMessages, IncrementalAlterConfigsV1RequestIsFlexible) {
  // Header v2 (api 44 v1, corr 1, client "c", no tags), resources compact 1:
  // {type 2, "t", configs compact 1: {"a", op 1 (DELETE), value null, tags},
  // tags}, validate_only true, body tags.
  auto frame = from_hex("002c" "0001" "00000001" "000163" "00"
                        "02" "02" "0274" "02" "0261" "01" "00" "00" "00"
                        "01" "00");
  auto d = decode_request(frame);
  ASSERT_EQ(d.status, RequestStatus::ok) << decode_error_name(d.error);
  const auto& m = std::get<IncrementalAlterConfigsRequest>(d.body);
  ASSERT_EQ(m.resources.size(), 1u);
  EXPECT_EQ(m.resources[0].resource_type, 2);
  EXPECT_EQ(m.resources[0].resource_name, "t");
  ASSERT_EQ(m.resources[0].configs.size(), 1u);
  EXPECT_EQ(m.resources[0].configs[0].name, "a");
  EXPECT_EQ(m.resources[0].configs[0].config_operation, 1);
  EXPECT_FALSE(m.resources[0].configs[0].value.has_value());
  EXPECT_TRUE(m.validate_only);
}

TEST(AdminMessages, AlterConfigsV0RequestAndResponseLayout) {
  // Header v1 (api 33 v0, corr 1, client "c"), resources [1]: {type 2, "t",
  // configs [1]: {"a", "1"}}, validate_only false.
  auto frame = from_hex("0021" "0000" "00000001" "000163"
                        "00000001" "02" "00017" "4"
                        "00000001" "000161" "000131" "00");
  auto d = decode_request(frame);
  ASSERT_EQ(d.status, RequestStatus::ok) << decode_error_name(d.error);
  const auto& m = std::get<AlterConfigsRequest>(d.body);
  ASSERT_EQ(m.resources.size(), 1u);
  EXPECT_EQ(m.resources[0].resource_name, "t");
  ASSERT_EQ(m.resources[0].configs.size(), 1u);
  EXPECT_EQ(m.resources[0].configs[0].value, "1");
  EXPECT_FALSE(m.validate_only);

  AlterConfigsResponse r{5, {{40, "bad", 2, "t"}}};
  auto e = encode_response(9, 0, r);
  // size | corr 9 | throttle 5 | [1] | error 40, "bad", type 2, "t"
  EXPECT_EQ(to_hex(e.bytes), "00000017" "00000009" "00000005" "00000001" "0028" "0003626164" "02" "000174");
  auto e2 = encode_response(9, 2, r);  // v2: header v1 (tags), compact
  EXPECT_EQ(to_hex(e2.bytes), "00000015" "00000009" "00" "00000005" "02" "0028" "04626164" "02" "0274" "00" "00");
}

TEST(AdminMessages, CreatePartitionsV2NullAssignments) {
  CreatePartitionsRequest m;
  m.topics = {{"t", 4, std::nullopt}};
  m.timeout_ms = 1000;
  auto frame = encode_request(5, 2, m, "c");
  // header v2 | topics compact 1 | "t", count 4, assignments null (0), tags |
  // timeout, validate_only, tags
  EXPECT_EQ(to_hex(frame), "0000001b" "0025" "0002" "00000005" "000163" "00" "02" "0274" "00000004" "00" "00"
                           "000003e8" "00" "00");
  auto d = decode_request(std::span(frame).subspan(4));
  ASSERT_EQ(d.status, RequestStatus::ok);
  EXPECT_FALSE(std::get<CreatePartitionsRequest>(d.body).topics[0].assignments.has_value());
  // v0/v1: int32 lengths, -1 for the null array, no tags.
  EXPECT_EQ(to_hex(encode_request(5, 1, m, "c")), "0000001f" "0025" "0001" "00000005" "000163" "00000001" "000174"
                                                  "00000004" "ffffffff" "000003e8" "00");
}

TEST(AdminMessages, DeleteGroupsV2AndV0) {
  DeleteGroupsRequest m{{"g1"}};
  EXPECT_EQ(to_hex(encode_request(7, 2, m, "c")), "00000011" "002a" "0002" "00000007" "000163" "00" "02" "036731" "00");
  EXPECT_EQ(to_hex(encode_request(7, 0, m, "c")), "00000013" "002a" "0000" "00000007" "000163" "00000001" "00026731");
  DeleteGroupsResponse r{0, {{"g1", 68}}};
  EXPECT_EQ(to_hex(encode_response(7, 2, r).bytes), "00000011" "00000007" "00" "00000000" "02" "036731" "0044" "00" "00");
}

TEST(AdminMessages, OffsetDeleteV0) {
  OffsetDeleteRequest m{"g", {{"t", {0, 3}}}};
  EXPECT_EQ(to_hex(encode_request(1, 0, m, "c")),
            "00000021" "002f" "0000" "00000001" "000163" "000167" "00000001" "000174" "00000002" "00000000" "00000003");
}

// Malformed bodies are rejected as malformed (the broker closes), never
// half-decoded.
TEST(AdminMessages, MalformedBodiesAreRejected) {
  const char* cases[] = {
      // DeleteGroups v2: compact array "null" (0) where null is not allowed.
      "002a" "0002" "00000001" "000163" "00" "00" "00",
      // DeleteGroups v2: an array length larger than the input.
      "002a" "0002" "00000001" "000163" "00" "ffffffff0f" "00",
      // DeleteGroups v2: a tagged field whose size runs past the end.
      "002a" "0002" "00000001" "000163" "00" "02" "036731" "01" "00" "7f" "00",
      // DeleteGroups v0: negative array length.
      "002a" "0000" "00000001" "000163" "fffffffe",
      // DescribeConfigs v4: a varint longer than 5 bytes.
      "0020" "0004" "00000001" "000163" "00" "ffffffffffff01",
      // DescribeConfigs v1: resource name length -1 (null, not nullable).
      "0020" "0001" "00000001" "000163" "00000001" "02" "ffff" "ffffffff" "00",
      // CreatePartitions v0: broker ids array longer than the input.
      "0025" "0000" "00000001" "000163" "00000001" "000174" "00000002" "00000001" "7fffffff",
      // AlterConfigs v2: compact null (0) resource name, not nullable.
      "0021" "0002" "00000001" "000163" "00" "02" "02" "00",
      // IncrementalAlterConfigs v0: config count past the end.
      "002c" "0000" "00000001" "000163" "00000001" "02" "000174" "7fffffff",
      // OffsetFetch v8: a null group list.
      "0009" "0008" "00000001" "000163" "00" "00" "00" "00",
      // OffsetDelete v0: topic count past the end.
      "002f" "0000" "00000001" "000163" "000167" "00000009" "000174",
  };
  for (const char* hex : cases) {
    SCOPED_TRACE(hex);
    auto d = decode_request(from_hex(hex));
    EXPECT_EQ(d.status, RequestStatus::malformed);
    EXPECT_TRUE(d.header_ok);
    EXPECT_TRUE(std::holds_alternative<std::monostate>(d.body));
  }
  // Versions beyond the advertised ranges are unsupported, not decoded.
  for (const char* hex : {"0020" "0005" "00000001" "000163" "00", "0025" "0004" "00000001" "000163" "00",
                          "002a" "0004" "00000001" "000163" "00", "002f" "0001" "00000001" "000163"}) {
    EXPECT_EQ(decode_request(from_hex(hex)).status, RequestStatus::unsupported_version) << hex;
  }
}

}  // namespace
}  // namespace nocopy::kafka
