// Whole-request error answers of the group APIs, for requests a broker
// does not serve itself (cluster mode: NOT_COORDINATOR on a broker that does
// not lead the group's __consumer_offsets partition,
// COORDINATOR_LOAD_IN_PROGRESS while it loads it, COORDINATOR_NOT_AVAILABLE
// while the partition has no leader) and for answers whose writes were not
// replicated to the ISR (overwritten with NOT_COORDINATOR, which every
// client answers by looking the coordinator up again and retrying).
//
// error_answer(req, e): the answer to `req` carrying `e` wherever the
// version has an error (top level, and per partition where a client reads
// it there). set_error(res, e): the same error written over a computed
// answer. Pure functions.
#pragma once

#include "kafka/error_code.h"
#include "kafka/messages.h"

namespace nocopy::broker::group_errors {

kafka::JoinGroupResponse error_answer(const kafka::JoinGroupRequest& req, kafka::ErrorCode e);
kafka::SyncGroupResponse error_answer(const kafka::SyncGroupRequest& req, kafka::ErrorCode e);
kafka::HeartbeatResponse error_answer(const kafka::HeartbeatRequest& req, kafka::ErrorCode e);
kafka::LeaveGroupResponse error_answer(const kafka::LeaveGroupRequest& req, kafka::ErrorCode e);
kafka::OffsetCommitResponse error_answer(const kafka::OffsetCommitRequest& req, kafka::ErrorCode e);
kafka::OffsetDeleteResponse error_answer(const kafka::OffsetDeleteRequest& req, kafka::ErrorCode e);
// OffsetFetch v0-7 (one group): the top-level error and every asked
// partition's.
kafka::OffsetFetchResponse error_answer(const kafka::OffsetFetchRequest& req, kafka::ErrorCode e);
// OffsetFetch v8+: one group's entry.
kafka::OffsetFetchResponse::Group error_group(const std::string& group_id, kafka::ErrorCode e);

void set_error(kafka::JoinGroupResponse& r, kafka::ErrorCode e);
void set_error(kafka::SyncGroupResponse& r, kafka::ErrorCode e);
void set_error(kafka::HeartbeatResponse& r, kafka::ErrorCode e);
void set_error(kafka::LeaveGroupResponse& r, kafka::ErrorCode e);
void set_error(kafka::OffsetCommitResponse& r, kafka::ErrorCode e);
void set_error(kafka::OffsetFetchResponse& r, kafka::ErrorCode e);
void set_error(kafka::DescribeGroupsResponse& r, kafka::ErrorCode e);
void set_error(kafka::ListGroupsResponse& r, kafka::ErrorCode e);
void set_error(kafka::DeleteGroupsResponse& r, kafka::ErrorCode e);
void set_error(kafka::OffsetDeleteResponse& r, kafka::ErrorCode e);

}  // namespace nocopy::broker::group_errors
