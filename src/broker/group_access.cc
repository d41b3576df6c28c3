#include "broker/group_access.h"

#include <algorithm>

namespace nocopy::broker::group_access {

namespace {

using security::AclOperation;
constexpr std::int16_t kGroupDenied = kafka::to_wire(kafka::ErrorCode::group_authorization_failed);
constexpr std::int16_t kTopicDenied = kafka::to_wire(kafka::ErrorCode::topic_authorization_failed);

// Moves the topics `a` does not allow `op` out of `topics`.
template <class Topic>
std::vector<Topic> take_denied(std::vector<Topic>& topics, const Access& a, AclOperation op) {
  std::vector<Topic> denied;
  std::erase_if(topics, [&](Topic& t) {
    if (a.topic(op, t.name)) return false;
    denied.push_back(std::move(t));
    return true;
  });
  return denied;
}

// One group's OffsetFetch topics: a denied group answers with no topics;
// a topic without DESCRIBE is left out of an all-topics fetch, else its
// partitions answer TOPIC_AUTHORIZATION_FAILED.
template <class Topic>
void filter_topics(std::vector<Topic>& topics, bool named, const Access& a) {
  if (!named) {
    std::erase_if(topics, [&](const Topic& t) { return !a.topic(AclOperation::describe, t.name); });
    return;
  }
  for (auto& t : topics) {
    if (a.topic(AclOperation::describe, t.name)) continue;
    for (auto& p : t.partitions) {
      p.committed_offset = -1;
      p.metadata.reset();
      p.error_code = kTopicDenied;
    }
  }
}

}  // namespace

std::optional<kafka::OffsetCommitResponse> deny(const kafka::OffsetCommitRequest& req, const Access& a) {
  if (a.group(AclOperation::read, req.group_id)) return std::nullopt;
  kafka::OffsetCommitResponse res;
  for (const auto& t : req.topics) {
    auto& rt = res.topics.emplace_back();
    rt.name = t.name;
    for (const auto& p : t.partitions) rt.partitions.push_back({p.partition_index, kGroupDenied});
  }
  return res;
}

std::vector<kafka::OffsetCommitRequest::Topic> strip(kafka::OffsetCommitRequest& req, const Access& a) {
  return take_denied(req.topics, a, AclOperation::read);
}

void add_denied(kafka::OffsetCommitResponse& res, const std::vector<kafka::OffsetCommitRequest::Topic>& denied) {
  for (const auto& t : denied) {
    auto& rt = res.topics.emplace_back();
    rt.name = t.name;
    for (const auto& p : t.partitions) rt.partitions.push_back({p.partition_index, kTopicDenied});
  }
}

void filter(const kafka::OffsetFetchRequest& req, std::int16_t version, kafka::OffsetFetchResponse& res,
            const Access& a) {
  if (version >= 8) {
    for (auto& g : res.groups) {
      if (!a.group(AclOperation::describe, g.group_id)) {
        g.topics.clear();
        g.error_code = kGroupDenied;
        continue;
      }
      auto it = std::find_if(req.groups.begin(), req.groups.end(),
                             [&](const auto& rg) { return rg.group_id == g.group_id; });
      filter_topics(g.topics, it != req.groups.end() && it->topics.has_value(), a);
    }
    return;
  }
  if (!a.group(AclOperation::describe, req.group_id)) {
    // v0-1 have no top-level error: every partition carries it.
    for (auto& t : res.topics)
      for (auto& p : t.partitions) {
        p.committed_offset = -1;
        p.metadata.reset();
        p.error_code = kGroupDenied;
      }
    if (version >= 2) res.topics.clear();
    res.error_code = kGroupDenied;
    return;
  }
  filter_topics(res.topics, req.topics.has_value(), a);
}

void filter(kafka::DescribeGroupsResponse& res, const Access& a) {
  for (auto& g : res.groups) {
    if (a.group(AclOperation::describe, g.group_id)) continue;
    kafka::DescribeGroupsResponse::Group denied;
    denied.group_id = g.group_id;
    denied.error_code = kGroupDenied;
    g = std::move(denied);
  }
}

void filter(kafka::ListGroupsResponse& res, const Access& a) {
  if (a.cluster(AclOperation::describe)) return;
  std::erase_if(res.groups, [&](const auto& g) { return !a.group(AclOperation::describe, g.group_id); });
}

std::vector<std::string> strip(kafka::DeleteGroupsRequest& req, const Access& a) {
  std::vector<std::string> denied;
  std::erase_if(req.groups_names, [&](std::string& g) {
    if (a.group(AclOperation::remove, g)) return false;
    denied.push_back(std::move(g));
    return true;
  });
  return denied;
}

void add_denied(kafka::DeleteGroupsResponse& res, const std::vector<std::string>& denied) {
  for (const auto& g : denied) res.results.push_back({g, kGroupDenied, "Not authorized to delete group " + g + "."});
}

std::optional<kafka::OffsetDeleteResponse> deny(const kafka::OffsetDeleteRequest& req, const Access& a) {
  if (a.group(AclOperation::remove, req.group_id)) return std::nullopt;
  kafka::OffsetDeleteResponse res;
  res.error_code = kGroupDenied;
  return res;
}

std::vector<kafka::OffsetDeleteRequest::Topic> strip(kafka::OffsetDeleteRequest& req, const Access& a) {
  return take_denied(req.topics, a, AclOperation::read);
}

void add_denied(kafka::OffsetDeleteResponse& res, const std::vector<kafka::OffsetDeleteRequest::Topic>& denied) {
  for (const auto& t : denied) {
    auto& rt = res.topics.emplace_back();
    rt.name = t.name;
    for (auto p : t.partitions) rt.partitions.push_back({p, kTopicDenied});
  }
}

}  // namespace nocopy::broker::group_access
