// Filled-in example messages for round-trip tests: every field gets a
// non-default value so a field written at the wrong version shows up.
#pragma once

#include <string>
#include <vector>

#include "kafka/messages.h"

namespace nocopy::kafka::test {

inline ByteVec blob(std::string_view s) {
  auto b = std::as_bytes(std::span(s.data(), s.size()));
  return {b.begin(), b.end()};
}

// Backing storage for RecordsRef samples (views must outlive the message).
inline const ByteVec& sample_records() {
  static const ByteVec r = blob("0123456789abcdefghijklmnopqrstuvwxyz-records");
  return r;
}

// A topic id for samples (a nonzero id, so a field sent by mistake shows).
inline const Uuid kSampleTopicId = [] {
  Uuid id{};
  for (std::size_t i = 0; i < id.size(); ++i) id[i] = static_cast<std::byte>(0xa0 + i);
  return id;
}();

template <class T>
T sample();

template <>
inline ApiVersionsRequest sample() {
  return {"librdkafka", "2.0.2", "nocopy", 0};
}
template <>
inline ApiVersionsResponse sample() {
  return {0, {{0, 0, 7}, {1, 4, 11}, {18, 0, 3}}, 17};
}
template <>
inline MetadataRequest sample() {
  MetadataRequest m;
  Uuid id{};
  for (std::size_t i = 0; i < id.size(); ++i) id[i] = static_cast<std::byte>(i + 1);
  m.topics = std::vector<MetadataRequest::Topic>{{Uuid{}, "alpha"}, {id, "beta"}};
  m.allow_auto_topic_creation = false;
  m.include_cluster_authorized_operations = true;
  m.include_topic_authorized_operations = true;
  return m;
}
template <>
inline MetadataResponse sample() {
  MetadataResponse m;
  m.throttle_time_ms = 5;
  m.brokers = {{1, "127.0.0.1", 9092, "rack-a"}, {2, "localhost", 9093, std::nullopt}};
  m.cluster_id = "nocopy-cluster";
  m.controller_id = 1;
  Uuid id{};
  for (std::size_t i = 0; i < id.size(); ++i) id[i] = static_cast<std::byte>(0xf0 - i);
  m.topics = {{0, "alpha", id, true, {{0, 0, 1, 7, {1}, {1}, {2}}, {3, 1, 1, -1, {1, 2}, {1}, {}}}, 0x0ff8},
              {3, "gone", Uuid{}, false, {}}};
  m.cluster_authorized_operations = 0x1ff0;
  m.error_code = 7;
  return m;
}
template <>
inline ProduceRequest sample() {
  ProduceRequest m;
  m.transactional_id = "txn";
  m.acks = -1;
  m.timeout_ms = 30000;
  RecordsRef r;
  r.bytes = sample_records();
  RecordsRef null_records;
  null_records.is_null = true;
  m.topics = {{"alpha", kSampleTopicId, {{0, r}, {2, null_records}}}, {"beta", Uuid{}, {{1, r}}}};
  return m;
}
template <>
inline ProduceResponse sample() {
  ProduceResponse m;
  ProduceResponse::PartitionResponse ok{.index = 0, .error_code = 0, .base_offset = 100,
                                        .log_append_time_ms = 12345, .log_start_offset = 7};
  ProduceResponse::PartitionResponse bad{.index = 2, .error_code = 87};
  bad.record_errors = {{3, "record 3 has no key"}, {5, std::nullopt}};
  bad.error_message = "compacted topic";
  ProduceResponse::PartitionResponse moved{.index = 4, .error_code = 6};
  moved.current_leader = {2, 9};
  m.responses = {{"alpha", kSampleTopicId, {ok, bad, moved}}};
  m.throttle_time_ms = 9;
  m.node_endpoints = {{2, "b2.example", 9093, "rack-b"}, {3, "b3", 9094, std::nullopt}};
  return m;
}
template <>
inline FetchRequest sample() {
  FetchRequest m;
  m.replica_id = -1;
  m.max_wait_ms = 500;
  m.min_bytes = 1;
  m.max_bytes = 52428800;
  m.isolation_level = 1;
  m.session_id = 3;
  m.session_epoch = 4;
  m.cluster_id = "cluster-1";
  m.replica_state = {3, 17};
  FetchRequest::Partition p0{.partition = 0, .current_leader_epoch = 5, .fetch_offset = 1000,
                             .last_fetched_epoch = 4, .log_start_offset = 10, .partition_max_bytes = 1048576};
  p0.replica_directory_id = kSampleTopicId;
  p0.high_watermark = 990;
  FetchRequest::Partition p1{.partition = 1, .current_leader_epoch = -1, .fetch_offset = 0,
                             .last_fetched_epoch = -1, .log_start_offset = -1, .partition_max_bytes = 65536};
  m.topics = {{"alpha", kSampleTopicId, {p0, p1}}};
  m.forgotten_topics_data = {{"beta", Uuid{}, {4, 5}}};
  m.rack_id = "rack-b";
  return m;
}
template <>
inline FetchResponse sample() {
  FetchResponse m;
  m.throttle_time_ms = 1;
  m.error_code = 0;
  m.session_id = 77;
  FetchResponse::PartitionData p;
  p.partition_index = 2;
  p.high_watermark = 500;
  p.last_stable_offset = 500;
  p.log_start_offset = 10;
  p.aborted_transactions = std::vector<FetchResponse::AbortedTransaction>{{9, 8}};
  p.preferred_read_replica = -1;
  p.records.bytes = sample_records();
  FetchResponse::PartitionData q;
  q.partition_index = 3;
  q.error_code = 1;
  q.aborted_transactions.reset();
  q.records.is_null = true;
  q.current_leader = {2, 9};
  FetchResponse::PartitionData d;
  d.partition_index = 4;
  d.diverging_epoch = {3, 120};
  d.snapshot_id = {200, 5};
  d.records.is_null = true;
  m.responses = {{"alpha", kSampleTopicId, {p, q, d}}};
  m.node_endpoints = {{2, "b2.example", 9093, std::nullopt}};
  return m;
}
template <>
inline ListOffsetsRequest sample() {
  return {-1, 1, {{"alpha", {{.partition_index = 0, .timestamp = kEarliestTimestamp},
                             {.partition_index = 1, .timestamp = 1700000000000}}}}};
}
template <>
inline ListOffsetsResponse sample() {
  return {3, {{"alpha", {{0, 0, {}, -1, 42}, {1, 3, {}, 1700000000000, 7}}}}};
}
template <>
inline FindCoordinatorRequest sample() {
  return {"my-group", 0, {"my-group", "other"}};
}
template <>
inline FindCoordinatorResponse sample() {
  return {2, 0, std::string("ok"), 1, "127.0.0.1", 9092,
          {{"my-group", 1, "127.0.0.1", 9092, 0, std::nullopt}, {"other", -1, "", -1, 15, std::string("no live broker")}}};
}
template <>
inline JoinGroupRequest sample() {
  return {"g", 10000, 60000, "m-1", std::string("inst-1"), "consumer", {{"range", blob("meta-r")}, {"roundrobin", blob("x")}}};
}
template <>
inline JoinGroupResponse sample() {
  JoinGroupResponse m;
  m.throttle_time_ms = 4;
  m.generation_id = 3;
  m.protocol_type = "consumer";
  m.protocol_name = "range";
  m.leader = "m-1";
  m.member_id = "m-2";
  m.members = {{"m-1", std::string("inst-1"), blob("md1")}, {"m-2", std::nullopt, blob("")}};
  return m;
}
template <>
inline HeartbeatRequest sample() {
  return {"g", 3, "m-1", std::string("inst")};
}
template <>
inline HeartbeatResponse sample() {
  return {1, 27};
}
template <>
inline LeaveGroupRequest sample() {
  LeaveGroupRequest m;
  m.group_id = "g";
  m.member_id = "m-1";
  m.members = {{"m-1", std::nullopt}};  // what a v0-2 decode produces
  return m;
}
template <>
inline LeaveGroupResponse sample() {
  return {1, 0, {{"m-1", std::nullopt, 0}, {"m-9", std::string("i"), 25}}};
}
template <>
inline SyncGroupRequest sample() {
  return {.group_id = "g",
          .generation_id = 3,
          .member_id = "m-1",
          .group_instance_id = std::string("inst"),
          .assignments = {{"m-1", blob("a1")}, {"m-2", blob("")}}};
}
template <>
inline SyncGroupResponse sample() {
  return {.throttle_time_ms = 2, .error_code = 0, .assignment = blob("assignment")};
}
template <>
inline OffsetCommitRequest sample() {
  OffsetCommitRequest m;
  m.group_id = "g";
  m.generation_id = 3;
  m.member_id = "m-1";
  m.group_instance_id = "inst";
  m.retention_time_ms = 86400000;
  m.topics = {{.name = "alpha", .partitions = {{0, 100, 2, -1, std::string("meta")}, {1, 5, -1, -1, std::nullopt}}}};
  return m;
}
template <>
inline OffsetCommitResponse sample() {
  return {6, {{.name = "alpha", .partitions = {{0, 0}, {1, 22}}}}};
}
template <>
inline OffsetFetchRequest sample() {
  OffsetFetchRequest m;
  m.group_id = "g";
  m.topics = std::vector<OffsetFetchRequest::Topic>{{.name = "alpha", .partition_indexes = {0, 1, 2}}};
  m.groups = {{.group_id = "g", .topics = std::vector<OffsetFetchRequest::Topic>{{.name = "alpha", .partition_indexes = {0, 1}}}}, {"h", std::nullopt}};
  m.require_stable = true;
  return m;
}
template <>
inline OffsetFetchResponse sample() {
  std::vector<OffsetFetchResponse::Topic> topics = {
      {.name = "alpha", .partitions = {{0, 100, 5, std::string("m"), 0}, {1, -1, -1, std::nullopt, 0}}}};
  return {3, topics, 0, {{"g", topics, 0}, {"h", {}, 69}}};
}
template <>
inline CreateTopicsRequest sample() {
  return {{{"alpha", 3, 1, {{0, {1}}}, {{"retention.ms", std::string("1000")}, {"x", std::nullopt}}}}, 5000, true};
}
template <>
inline CreateTopicsResponse sample() {
  return {7, {{.name = "alpha", .error_code = 0}, {.name = "../x", .error_code = 17, .error_message = std::string("bad name")}}};
}
template <>
inline DeleteTopicsRequest sample() {
  return {{{std::string("alpha"), Uuid{}}, {std::nullopt, kSampleTopicId}}, {"alpha", "beta"}, 3000};
}
template <>
inline DeleteTopicsResponse sample() {
  return {2, {{.name = std::string("alpha"), .error_code = 0}, {.name = std::string("beta"), .topic_id = kSampleTopicId, .error_code = 3}}};
}
template <>
inline DescribeGroupsRequest sample() {
  return {{"g1", "g2"}};
}
template <>
inline DescribeGroupsResponse sample() {
  DescribeGroupsResponse::Member mm;
  mm.member_id = "m-1";
  mm.client_id = "rdkafka";
  mm.client_host = "/127.0.0.1";
  mm.member_metadata = blob("md");
  mm.member_assignment = blob("as");
  DescribeGroupsResponse::Group g;
  g.group_id = "g1";
  g.group_state = "Stable";
  g.protocol_type = "consumer";
  g.protocol_data = "range";
  g.members = {mm};
  DescribeGroupsResponse m;
  m.throttle_time_ms = 1;
  m.groups = {g};
  return m;
}
template <>
inline ListGroupsRequest sample() {
  return {};
}
template <>
inline ListGroupsResponse sample() {
  return {1, 0, {{"g1", "consumer"}, {"g2", ""}}};
}
template <>
inline InitProducerIdRequest sample() {
  return {std::nullopt, 60000};
}
template <>
inline InitProducerIdResponse sample() {
  return {0, 0, 4000, 0};
}

template <>
inline DescribeConfigsRequest sample() {
  DescribeConfigsRequest m;
  m.resources = {{2, "alpha", std::vector<std::string>{"retention.ms", "segment.bytes"}}, {4, "0", std::nullopt}};
  m.include_synonyms = true;
  m.include_documentation = true;
  return m;
}
template <>
inline DescribeConfigsResponse sample() {
  DescribeConfigsResponse m;
  m.throttle_time_ms = 3;
  DescribeConfigsResponse::Config c;
  c.name = "retention.ms";
  c.value = "604800000";
  c.read_only = false;
  c.is_default = true;
  c.config_source = 5;
  c.is_sensitive = false;
  c.synonyms = {{"log.retention.ms", std::string("604800000"), 5}, {"x", std::nullopt, 4}};
  c.config_type = 5;
  c.documentation = "how long";
  DescribeConfigsResponse::Config d;
  d.name = "secret";
  d.value.reset();
  d.read_only = true;
  d.is_sensitive = true;
  m.results = {{0, std::nullopt, 2, "alpha", {c, d}}, {3, std::string("unknown topic"), 2, "gone", {}}};
  return m;
}
template <>
inline CreatePartitionsRequest sample() {
  CreatePartitionsRequest m;
  m.topics = {{"alpha", 6, std::vector<CreatePartitionsRequest::Assignment>{{{0}}, {{0, 1}}}}, {"beta", 2, std::nullopt}};
  m.timeout_ms = 5000;
  m.validate_only = true;
  return m;
}
template <>
inline CreatePartitionsResponse sample() {
  return {4, {{"alpha", 0, std::nullopt}, {"beta", 37, std::string("must grow")}}};
}
template <>
inline DeleteGroupsRequest sample() {
  return {{"g1", "g2", ""}};
}
template <>
inline DeleteGroupsResponse sample() {
  return {2, {{"g1", 0, std::nullopt}, {"g2", 68, "Group g2 is not empty: it has 1 member."}, {"", 24, "The group id is empty."}}};
}
template <>
inline OffsetDeleteRequest sample() {
  return {"g", {{"alpha", {0, 2}}, {"beta", {}}}};
}
template <>
inline OffsetDeleteResponse sample() {
  return {0, 1, {{"alpha", {{0, 0}, {2, 86}}}}};
}

template <>
inline AlterConfigsRequest sample() {
  AlterConfigsRequest m;
  m.resources = {{2, "t", {{"retention.ms", "1000"}, {"cleanup.policy", std::nullopt}}}, {4, "0", {}}};
  m.validate_only = true;
  return m;
}
template <>
inline AlterConfigsResponse sample() {
  return {3, {{0, std::nullopt, 2, "t"}, {42, "read-only", 4, "0"}}};
}
template <>
inline IncrementalAlterConfigsRequest sample() {
  IncrementalAlterConfigsRequest m;
  m.resources = {{2, "t", {{"retention.ms", 0, "1000"}, {"segment.bytes", 1, std::nullopt}}}, {2, "u", {}}};
  m.validate_only = false;
  return m;
}
template <>
inline IncrementalAlterConfigsResponse sample() {
  return {0, {{40, "bad value", 2, "t"}, {0, std::nullopt, 2, "u"}}};
}

}  // namespace nocopy::kafka::test
