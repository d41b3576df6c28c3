// Round trips of every request and response type at every advertised
// version, plus truncation at every byte.
#include <gtest/gtest.h>

#include <variant>

#include "kafka/codec.h"
#include "kafka/error_code.h"
#include "kafka/request.h"
#include "samples.h"
#include "test_util.h"

namespace nocopy::kafka {
namespace {

using test::sample;
using test::to_hex;

template <class Req, class Resp>
struct Pair {
  using Request = Req;
  using Response = Resp;
};

using AllApis = ::testing::Types<
    Pair<ApiVersionsRequest, ApiVersionsResponse>, Pair<MetadataRequest, MetadataResponse>,
    Pair<ProduceRequest, ProduceResponse>, Pair<FetchRequest, FetchResponse>,
    Pair<ListOffsetsRequest, ListOffsetsResponse>, Pair<FindCoordinatorRequest, FindCoordinatorResponse>,
    Pair<JoinGroupRequest, JoinGroupResponse>, Pair<HeartbeatRequest, HeartbeatResponse>,
    Pair<LeaveGroupRequest, LeaveGroupResponse>, Pair<SyncGroupRequest, SyncGroupResponse>,
    Pair<OffsetCommitRequest, OffsetCommitResponse>, Pair<OffsetFetchRequest, OffsetFetchResponse>,
    Pair<CreateTopicsRequest, CreateTopicsResponse>, Pair<DeleteTopicsRequest, DeleteTopicsResponse>,
    Pair<DescribeGroupsRequest, DescribeGroupsResponse>, Pair<ListGroupsRequest, ListGroupsResponse>,
    Pair<InitProducerIdRequest, InitProducerIdResponse>, Pair<DescribeConfigsRequest, DescribeConfigsResponse>,
    Pair<CreatePartitionsRequest, CreatePartitionsResponse>, Pair<DeleteGroupsRequest, DeleteGroupsResponse>,
    Pair<OffsetDeleteRequest, OffsetDeleteResponse>, Pair<AlterConfigsRequest, AlterConfigsResponse>,
    Pair<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse>>;

template <class P>
class ApiRoundTrip : public ::testing::Test {};
TYPED_TEST_SUITE(ApiRoundTrip, AllApis);

template <class Msg>
const ApiInfo& info() {
  const ApiInfo* a = find_api(static_cast<std::int16_t>(Msg::kApiKey));
  EXPECT_NE(a, nullptr);
  return *a;
}

TYPED_TEST(ApiRoundTrip, RequestEveryVersion) {
  using Req = typename TypeParam::Request;
  const ApiInfo& api = info<Req>();
  for (std::int16_t v = api.min_version; v <= api.max_version; ++v) {
    SCOPED_TRACE(testing::Message() << api.name << " v" << v);
    Req m = sample<Req>();
    auto frame = encode_request(1234, v, m);
    ASSERT_GE(frame.size(), 4u);
    std::span<const std::byte> body(frame.data() + 4, frame.size() - 4);
    Reader size_reader(frame);
    EXPECT_EQ(static_cast<std::size_t>(size_reader.i32()), body.size());

    DecodedRequest d = decode_request(body);
    ASSERT_EQ(d.status, RequestStatus::ok) << decode_error_name(d.error);
    EXPECT_EQ(d.header.api_key, static_cast<std::int16_t>(Req::kApiKey));
    EXPECT_EQ(d.header.api_version, v);
    EXPECT_EQ(d.header.correlation_id, 1234);
    EXPECT_EQ(d.header.client_id, std::optional<std::string>("nocopy"));
    ASSERT_TRUE(std::holds_alternative<Req>(d.body));
    // Re-encoding what was decoded reproduces the bytes exactly.
    auto again = encode_request(1234, v, std::get<Req>(d.body));
    EXPECT_EQ(to_hex(again), to_hex(frame));

    // Every strict prefix is rejected, never decoded as something else.
    for (std::size_t cut = 0; cut < body.size(); ++cut) {
      DecodedRequest t = decode_request(body.first(cut));
      ASSERT_NE(t.status, RequestStatus::ok) << "cut at " << cut;
    }
  }
}

TYPED_TEST(ApiRoundTrip, ResponseEveryVersion) {
  using Resp = typename TypeParam::Response;
  const ApiInfo& api = info<Resp>();
  for (std::int16_t v = api.min_version; v <= api.max_version; ++v) {
    SCOPED_TRACE(testing::Message() << api.name << " response v" << v);
    Resp m = sample<Resp>();
    EncodedResponse e = encode_response(99, v, m);
    EXPECT_TRUE(e.splices.empty());
    EXPECT_EQ(e.total_size(), e.bytes.size());
    Reader size_reader(e.bytes);
    ASSERT_EQ(static_cast<std::size_t>(size_reader.i32()), e.bytes.size() - 4);
    std::span<const std::byte> frame(e.bytes.data() + 4, e.bytes.size() - 4);
    Resp back;
    std::int32_t corr = 0;
    ASSERT_EQ(decode_response(frame, v, corr, back), DecodeError::none);
    EXPECT_EQ(corr, 99);
    EncodedResponse again = encode_response(99, v, back);
    EXPECT_EQ(to_hex(again.bytes), to_hex(e.bytes));
    for (std::size_t cut = 0; cut < frame.size(); ++cut) {
      Resp t;
      ASSERT_NE(decode_response(frame.first(cut), v, corr, t), DecodeError::none) << "cut at " << cut;
    }
  }
}

TEST(Messages, VersionedFieldsAppearOnlyInTheirVersions) {
  // Produce v2 has no transactional_id; v3 adds a nullable string (2 bytes
  // for a null). Everything else is identical.
  ProduceRequest p = sample<ProduceRequest>();
  p.transactional_id.reset();
  auto v2 = encode_request(1, 2, p);
  auto v3 = encode_request(1, 3, p);
  EXPECT_EQ(v3.size(), v2.size() + 2);
  // Fetch v11 vs v10: rack_id (string) and preferred_read_replica.
  FetchRequest f = sample<FetchRequest>();
  EXPECT_EQ(encode_request(1, 11, f).size(), encode_request(1, 10, f).size() + 2 + f.rack_id.size());
}

TEST(Messages, MetadataTopicListSemantics) {
  MetadataRequest all_v0;
  all_v0.topics = std::vector<MetadataRequest::Topic>{};
  EXPECT_TRUE(all_topics(all_v0, 0));
  EXPECT_FALSE(all_topics(all_v0, 1));  // v1+: [] = none
  MetadataRequest null_list;
  null_list.topics.reset();
  EXPECT_TRUE(all_topics(null_list, 1));
  // v1 null round-trips as null, v0 encodes null as [].
  auto f1 = encode_request(1, 1, null_list);
  auto d1 = decode_request(std::span(f1).subspan(4));
  ASSERT_EQ(d1.status, RequestStatus::ok);
  EXPECT_FALSE(std::get<MetadataRequest>(d1.body).topics.has_value());
  auto f0 = encode_request(1, 0, null_list);
  auto d0 = decode_request(std::span(f0).subspan(4));
  ASSERT_EQ(d0.status, RequestStatus::ok);
  ASSERT_TRUE(std::get<MetadataRequest>(d0.body).topics.has_value());
  EXPECT_TRUE(all_topics(std::get<MetadataRequest>(d0.body), 0));
}

TEST(Messages, LeaveGroupOldVersionsMirrorMemberIntoBatch) {
  LeaveGroupRequest m;
  m.group_id = "g";
  m.member_id = "solo";
  auto f = encode_request(1, 1, m);
  auto d = decode_request(std::span(f).subspan(4));
  ASSERT_EQ(d.status, RequestStatus::ok);
  const auto& got = std::get<LeaveGroupRequest>(d.body);
  ASSERT_EQ(got.members.size(), 1u);
  EXPECT_EQ(got.members[0].member_id, "solo");
}

TEST(Messages, ProduceRecordsViewTheRequestBuffer) {
  ProduceRequest m = sample<ProduceRequest>();
  auto f = encode_request(1, 7, m);
  std::span<const std::byte> body(f.data() + 4, f.size() - 4);
  auto d = decode_request(body);
  ASSERT_EQ(d.status, RequestStatus::ok);
  const auto& p = std::get<ProduceRequest>(d.body);
  const RecordsRef& r = p.topics[0].partitions[0].records;
  ASSERT_EQ(r.bytes.size(), test::sample_records().size());
  EXPECT_GE(r.bytes.data(), body.data());
  EXPECT_LE(r.bytes.data() + r.bytes.size(), body.data() + body.size());
  EXPECT_TRUE(std::equal(r.bytes.begin(), r.bytes.end(), test::sample_records().begin()));
  EXPECT_TRUE(p.topics[0].partitions[1].records.is_null);
}

TEST(Messages, FetchResponseSplicePoints) {
  FetchResponse m = sample<FetchResponse>();
  m.responses[0].partitions[0].records = RecordsRef{};
  m.responses[0].partitions[0].records.splice_index = 0;
  m.responses[0].partitions[0].records.splice_length = 5000;
  FetchResponse::PartitionData extra = m.responses[0].partitions[0];
  extra.partition_index = 9;
  extra.records.splice_index = 1;
  extra.records.splice_length = 7;
  m.responses[0].partitions.push_back(extra);

  EncodedResponse e = encode_response(5, 11, m);
  ASSERT_EQ(e.splices.size(), 2u);
  EXPECT_EQ(e.splices[0].index, 0u);
  EXPECT_EQ(e.splices[0].length, 5000u);
  EXPECT_EQ(e.splices[1].index, 1u);
  EXPECT_EQ(e.total_size(), e.bytes.size() + 5007);
  Reader size_reader(e.bytes);
  EXPECT_EQ(static_cast<std::uint64_t>(size_reader.i32()), e.total_size() - 4);

  // Inserting the regions at the splice points gives a well-formed response
  // whose records are exactly those regions.
  std::vector<std::byte> r0(5000, std::byte{0xab}), r1(7, std::byte{0xcd});
  std::vector<std::byte> wire;
  std::size_t from = 0;
  const std::vector<std::byte>* regions[] = {&r0, &r1};
  for (const SplicePoint& s : e.splices) {
    wire.insert(wire.end(), e.bytes.begin() + static_cast<std::ptrdiff_t>(from),
                e.bytes.begin() + static_cast<std::ptrdiff_t>(s.offset));
    wire.insert(wire.end(), regions[s.index]->begin(), regions[s.index]->end());
    from = s.offset;
  }
  wire.insert(wire.end(), e.bytes.begin() + static_cast<std::ptrdiff_t>(from), e.bytes.end());
  ASSERT_EQ(wire.size(), e.total_size());
  FetchResponse back;
  std::int32_t corr = 0;
  ASSERT_EQ(decode_response(std::span(wire).subspan(4), 11, corr, back), DecodeError::none);
  ASSERT_EQ(back.responses[0].partitions.size(), 4u);
  EXPECT_EQ(back.responses[0].partitions[0].records.bytes.size(), 5000u);
  EXPECT_EQ(back.responses[0].partitions[0].records.bytes[0], std::byte{0xab});
  EXPECT_EQ(back.responses[0].partitions[3].records.bytes.size(), 7u);
  EXPECT_EQ(back.responses[0].partitions[3].preferred_read_replica, -1);
}

TEST(Requests, UnknownApiAndUnsupportedVersion) {
  // api_key 4 (LeaderAndIsr) v0, correlation 7, client null.
  auto unknown = test::from_hex("0004 0000 00000007 ffff");
  auto d = decode_request(unknown);
  EXPECT_EQ(d.status, RequestStatus::unknown_api);
  EXPECT_TRUE(d.header_ok);
  EXPECT_EQ(d.header.correlation_id, 7);
  // Fetch v3 is below the advertised range; Metadata v14 above it.
  auto fetch3 = test::from_hex("0001 0003 00000008 0001 63");
  EXPECT_EQ(decode_request(fetch3).status, RequestStatus::unsupported_version);
  auto meta14 = test::from_hex("0003 000e 00000009 ffff");
  EXPECT_EQ(decode_request(meta14).status, RequestStatus::unsupported_version);
  // ApiVersions v99 sent with a v1 header and no body (a version probe):
  // the header is still usable, so the broker can answer UNSUPPORTED_VERSION.
  auto probe = test::from_hex("0012 0063 0000000a 0001 78");
  auto pd = decode_request(probe);
  EXPECT_EQ(pd.status, RequestStatus::unsupported_version);
  EXPECT_TRUE(pd.header_ok);
  EXPECT_EQ(pd.header.correlation_id, 10);
  // A truncated header is malformed and has no usable correlation id.
  auto shorty = test::from_hex("0003 00");
  EXPECT_EQ(decode_request(shorty).status, RequestStatus::malformed);
  EXPECT_FALSE(decode_request(shorty).header_ok);
}

TEST(Requests, HugeCountsDoNotAllocate) {
  // Produce v7 claiming 2^31-1 topics with 4 bytes present.
  auto f = test::from_hex("0000 0007 00000001 ffff ffff ffff 00007530 7fffffff 00000000");
  auto d = decode_request(f);
  EXPECT_EQ(d.status, RequestStatus::malformed);
  EXPECT_EQ(d.error, DecodeError::bad_length);
  // Negative array count other than -1.
  auto g = test::from_hex("0003 0001 00000001 ffff fffffffe");
  EXPECT_EQ(decode_request(g).status, RequestStatus::malformed);
  EXPECT_EQ(decode_request(g).error, DecodeError::negative_length);
  // Null where an array is not nullable (Produce topics).
  auto h = test::from_hex("0000 0007 00000001 ffff ffff ffff 00007530 ffffffff");
  EXPECT_EQ(decode_request(h).error, DecodeError::negative_length);
}

TEST(ApiVersions, AdvertisedTableMatchesNotes) {
  ApiVersionsResponse r = make_api_versions_response(3);
  EXPECT_EQ(r.error_code, 0);
  auto range = [&](ApiKey k) {
    for (auto& a : r.api_keys) {
      if (a.api_key == static_cast<std::int16_t>(k)) return std::pair<int, int>(a.min_version, a.max_version);
    }
    return std::pair<int, int>(-1, -1);
  };
  EXPECT_EQ(range(ApiKey::produce), std::make_pair(0, 13));
  EXPECT_EQ(range(ApiKey::fetch), std::make_pair(4, 18));
  EXPECT_EQ(range(ApiKey::metadata), std::make_pair(0, 13));
  EXPECT_EQ(range(ApiKey::create_topics), std::make_pair(0, 7));
  EXPECT_EQ(range(ApiKey::api_versions), std::make_pair(0, 5));
  EXPECT_EQ(range(ApiKey::list_offsets), std::make_pair(1, 11));
  EXPECT_EQ(range(ApiKey::offset_commit), std::make_pair(2, 10));
  EXPECT_EQ(range(ApiKey::offset_fetch), std::make_pair(1, 10));
  EXPECT_EQ(range(ApiKey::init_producer_id), std::make_pair(0, 5));
  EXPECT_EQ(range(ApiKey::find_coordinator), std::make_pair(0, 6));
  EXPECT_EQ(range(ApiKey::join_group), std::make_pair(0, 9));
  EXPECT_EQ(range(ApiKey::heartbeat), std::make_pair(0, 4));
  EXPECT_EQ(range(ApiKey::leave_group), std::make_pair(0, 5));
  EXPECT_EQ(range(ApiKey::sync_group), std::make_pair(0, 5));
  EXPECT_EQ(range(ApiKey::describe_groups), std::make_pair(0, 6));
  EXPECT_EQ(range(ApiKey::list_groups), std::make_pair(0, 5));
  EXPECT_EQ(range(ApiKey::delete_topics), std::make_pair(0, 6));
  EXPECT_EQ(range(ApiKey::add_partitions_to_txn), std::make_pair(0, 5));
  EXPECT_EQ(range(ApiKey::add_offsets_to_txn), std::make_pair(0, 4));
  EXPECT_EQ(range(ApiKey::end_txn), std::make_pair(0, 5));  // v5: transaction version 2, finalized by default
  EXPECT_EQ(range(ApiKey::txn_offset_commit), std::make_pair(0, 6));
  EXPECT_EQ(range(ApiKey::describe_transactions), std::make_pair(0, 0));
  EXPECT_EQ(range(ApiKey::list_transactions), std::make_pair(0, 2));
  EXPECT_EQ(range(ApiKey::describe_configs), std::make_pair(0, 4));
  EXPECT_EQ(range(ApiKey::create_partitions), std::make_pair(0, 3));
  EXPECT_EQ(range(ApiKey::delete_groups), std::make_pair(0, 3));
  EXPECT_EQ(range(ApiKey::offset_delete), std::make_pair(0, 0));
  EXPECT_EQ(range(ApiKey::alter_configs), std::make_pair(0, 2));
  EXPECT_EQ(range(ApiKey::incremental_alter_configs), std::make_pair(0, 1));
  EXPECT_EQ(range(ApiKey::describe_cluster), std::make_pair(0, 2));
  EXPECT_EQ(range(ApiKey::offset_for_leader_epoch), std::make_pair(0, 4));
  EXPECT_EQ(range(ApiKey::elect_leaders), std::make_pair(0, 2));
  EXPECT_EQ(range(ApiKey::sasl_handshake), std::make_pair(0, 1));
  EXPECT_EQ(range(ApiKey::sasl_authenticate), std::make_pair(0, 2));
  EXPECT_EQ(range(ApiKey::describe_user_scram_credentials), std::make_pair(0, 0));
  EXPECT_EQ(range(ApiKey::alter_user_scram_credentials), std::make_pair(0, 0));
  EXPECT_EQ(range(ApiKey::write_txn_markers), std::make_pair(1, 2));
  EXPECT_EQ(range(ApiKey::describe_acls), std::make_pair(0, 3));
  EXPECT_EQ(range(ApiKey::create_acls), std::make_pair(0, 3));
  EXPECT_EQ(range(ApiKey::delete_acls), std::make_pair(0, 3));
  EXPECT_EQ(r.api_keys.size(), 40u);
}

TEST(ApiVersions, UnsupportedVersionAnsweredInV0Layout) {
  ApiVersionsResponse r = make_api_versions_response(9);
  EncodedResponse e = encode_response(7, 9, r);
  EXPECT_EQ(to_hex(e.bytes), "00000010" "00000007" "0023" "00000001" "0012" "0000" "0005");
}

TEST(ApiVersions, V3ResponseHeaderHasNoTaggedFields) {
  ApiVersionsResponse r;
  r.api_keys = {{18, 0, 3}};
  EncodedResponse e = encode_response(1, 3, r);
  // size, corr (header v0: no tag byte), error, compact array (1+1),
  // entry + its tags, throttle, body tags.
  EXPECT_EQ(to_hex(e.bytes), "00000013" "00000001" "0000" "02" "001200000003" "00" "00000000" "00");
}

}  // namespace
}  // namespace nocopy::kafka

namespace nocopy::kafka {
namespace {

TEST(ApiKeys, LabelsAreSnakeCaseAndUnknownIsLabelled) {
  EXPECT_EQ(api_label(0), "produce");
  EXPECT_EQ(api_label(2), "list_offsets");
  EXPECT_EQ(api_label(22), "init_producer_id");
  EXPECT_EQ(api_label(4), "unknown");
  EXPECT_EQ(api_label(-1), "unknown");
  for (const ApiInfo& a : supported_apis()) {
    EXPECT_FALSE(a.label.empty());
    EXPECT_EQ(a.label.find_first_not_of("abcdefghijklmnopqrstuvwxyz_"), std::string_view::npos) << a.label;
  }
  EXPECT_EQ(error_name(ErrorCode::kafka_storage_error), "KAFKA_STORAGE_ERROR");
  EXPECT_EQ(to_wire(ErrorCode::kafka_storage_error), 56);
  EXPECT_EQ(to_wire(ErrorCode::request_timed_out), 7);
}

}  // namespace
}  // namespace nocopy::kafka
