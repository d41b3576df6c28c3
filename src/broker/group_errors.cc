#include "broker/group_errors.h"

namespace nocopy::broker::group_errors {

using kafka::ErrorCode;
using kafka::to_wire;

kafka::JoinGroupResponse error_answer(const kafka::JoinGroupRequest& req, ErrorCode e) {
  kafka::JoinGroupResponse r;
  r.error_code = to_wire(e);
  r.member_id = req.member_id;
  return r;
}

kafka::SyncGroupResponse error_answer(const kafka::SyncGroupRequest&, ErrorCode e) {
  kafka::SyncGroupResponse r;
  r.error_code = to_wire(e);
  return r;
}

kafka::HeartbeatResponse error_answer(const kafka::HeartbeatRequest&, ErrorCode e) {
  kafka::HeartbeatResponse r;
  r.error_code = to_wire(e);
  return r;
}

kafka::LeaveGroupResponse error_answer(const kafka::LeaveGroupRequest&, ErrorCode e) {
  kafka::LeaveGroupResponse r;
  r.error_code = to_wire(e);
  return r;
}

kafka::OffsetCommitResponse error_answer(const kafka::OffsetCommitRequest& req, ErrorCode e) {
  kafka::OffsetCommitResponse r;
  for (const auto& t : req.topics) {
    auto& rt = r.topics.emplace_back();
    rt.name = t.name;
    for (const auto& p : t.partitions) rt.partitions.push_back({p.partition_index, to_wire(e)});
  }
  return r;
}

kafka::OffsetDeleteResponse error_answer(const kafka::OffsetDeleteRequest&, ErrorCode e) {
  kafka::OffsetDeleteResponse r;
  r.error_code = to_wire(e);
  return r;
}

namespace {
std::vector<kafka::OffsetFetchResponse::Topic> error_topics(
    const std::optional<std::vector<kafka::OffsetFetchRequest::Topic>>& topics, ErrorCode e) {
  std::vector<kafka::OffsetFetchResponse::Topic> out;
  if (!topics) return out;
  for (const auto& t : *topics) {
    auto& rt = out.emplace_back();
    rt.name = t.name;
    for (std::int32_t p : t.partition_indexes) {
      kafka::OffsetFetchResponse::Partition rp;
      rp.partition_index = p;
      rp.metadata = "";
      rp.error_code = to_wire(e);
      rt.partitions.push_back(std::move(rp));
    }
  }
  return out;
}
}  // namespace

kafka::OffsetFetchResponse error_answer(const kafka::OffsetFetchRequest& req, ErrorCode e) {
  kafka::OffsetFetchResponse r;
  r.error_code = to_wire(e);
  r.topics = error_topics(req.topics, e);
  return r;
}

kafka::OffsetFetchResponse::Group error_group(const std::string& group_id, ErrorCode e) {
  kafka::OffsetFetchResponse::Group g;
  g.group_id = group_id;
  g.error_code = to_wire(e);
  return g;
}

void set_error(kafka::JoinGroupResponse& r, ErrorCode e) {
  r.error_code = to_wire(e);
  r.members.clear();
}
void set_error(kafka::SyncGroupResponse& r, ErrorCode e) {
  r.error_code = to_wire(e);
  r.assignment.clear();
}
void set_error(kafka::HeartbeatResponse& r, ErrorCode e) { r.error_code = to_wire(e); }
void set_error(kafka::LeaveGroupResponse& r, ErrorCode e) { r.error_code = to_wire(e); }

void set_error(kafka::OffsetCommitResponse& r, ErrorCode e) {
  for (auto& t : r.topics)
    for (auto& p : t.partitions) p.error_code = to_wire(e);
}

void set_error(kafka::OffsetFetchResponse& r, ErrorCode e) {
  r.error_code = to_wire(e);
  for (auto& t : r.topics)
    for (auto& p : t.partitions) p.error_code = to_wire(e), p.committed_offset = -1;
  for (auto& g : r.groups) {
    g.error_code = to_wire(e);
    g.topics.clear();
  }
}

void set_error(kafka::DescribeGroupsResponse& r, ErrorCode e) {
  for (auto& g : r.groups) {
    g.error_code = to_wire(e);
    g.members.clear();
  }
}

void set_error(kafka::ListGroupsResponse& r, ErrorCode e) {
  r.error_code = to_wire(e);
  r.groups.clear();
}

void set_error(kafka::DeleteGroupsResponse& r, ErrorCode e) {
  for (auto& g : r.results) g.error_code = to_wire(e);
}

void set_error(kafka::OffsetDeleteResponse& r, ErrorCode e) {
  r.error_code = to_wire(e);
  r.topics.clear();
}

}  // namespace nocopy::broker::group_errors
