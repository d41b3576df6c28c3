// The group APIs' authorization, Kafka's rules, applied around the
// GroupCoordinator by GroupsService:
//   JoinGroup, SyncGroup, Heartbeat, LeaveGroup   group READ
//   OffsetCommit                                  group READ, each topic READ
//   OffsetFetch                                   group DESCRIBE, each topic DESCRIBE
//   DescribeGroups                                each group DESCRIBE
//   ListGroups                                    cluster DESCRIBE, else the groups with DESCRIBE
//   DeleteGroups                                  each group DELETE
//   OffsetDelete                                  group DELETE, each topic READ
// A denied group is GROUP_AUTHORIZATION_FAILED, a denied topic
// TOPIC_AUTHORIZATION_FAILED, as Kafka answers.
//
// `deny_*` return the whole answer to a request that may not run at all;
// `strip_*` remove the parts a request may not touch (returned, to be
// answered denied by `add_denied()`); `filter_*` remove from an answer
// what the principal may not see.
//
// Thread-safety: pure functions of their arguments.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "broker/access.h"
#include "kafka/messages.h"

namespace nocopy::broker::group_access {

// JoinGroup, SyncGroup, Heartbeat, LeaveGroup: nullopt when allowed.
template <class Response, class Request>
std::optional<Response> deny_member_request(const Request& req, const Access& a) {
  if (a.group(security::AclOperation::read, req.group_id)) return std::nullopt;
  Response r;
  r.error_code = kafka::to_wire(kafka::ErrorCode::group_authorization_failed);
  return r;
}

std::optional<kafka::OffsetCommitResponse> deny(const kafka::OffsetCommitRequest& req, const Access& a);
std::vector<kafka::OffsetCommitRequest::Topic> strip(kafka::OffsetCommitRequest& req, const Access& a);
void add_denied(kafka::OffsetCommitResponse& res, const std::vector<kafka::OffsetCommitRequest::Topic>& denied);

void filter(const kafka::OffsetFetchRequest& req, std::int16_t version, kafka::OffsetFetchResponse& res,
            const Access& a);
void filter(kafka::DescribeGroupsResponse& res, const Access& a);
void filter(kafka::ListGroupsResponse& res, const Access& a);

std::vector<std::string> strip(kafka::DeleteGroupsRequest& req, const Access& a);
void add_denied(kafka::DeleteGroupsResponse& res, const std::vector<std::string>& denied);

std::optional<kafka::OffsetDeleteResponse> deny(const kafka::OffsetDeleteRequest& req, const Access& a);
std::vector<kafka::OffsetDeleteRequest::Topic> strip(kafka::OffsetDeleteRequest& req, const Access& a);
void add_denied(kafka::OffsetDeleteResponse& res, const std::vector<kafka::OffsetDeleteRequest::Topic>& denied);

}  // namespace nocopy::broker::group_access
