#include "broker/group_topic_ids.h"

#include <algorithm>
#include <utility>

#include "kafka/error_code.h"
#include "kafka/uuid.h"

namespace nocopy::broker::group_topic_ids {

namespace {

// Moves the topics of `list` whose id is unknown into the result, naming
// the others.
template <class Topic>
std::vector<Topic> name_topics(std::vector<Topic>& list, const TopicRegistry& topics) {
  std::vector<Topic> unknown;
  std::erase_if(list, [&](Topic& t) {
    if (auto found = topics.find_id(t.topic_id)) {
      t.name = found->name;
      return false;
    }
    unknown.push_back(std::move(t));
    return true;
  });
  return unknown;
}

kafka::Uuid id_of(const std::string& name, const TopicRegistry& topics) {
  auto t = topics.find(name);
  return t ? t->topic_id : kafka::Uuid{};
}

// Sets every answered topic's id and answers the unknown ones.
template <class Response, class Topic>
void finish_commit(Response& res, const std::vector<Topic>& unknown, const TopicRegistry& topics) {
  for (auto& t : res.topics) t.topic_id = id_of(t.name, topics);
  for (const auto& t : unknown) {
    auto& rt = res.topics.emplace_back();
    rt.topic_id = t.topic_id;
    for (const auto& p : t.partitions)
      rt.partitions.push_back({p.partition_index, kafka::to_wire(kafka::ErrorCode::unknown_topic_id)});
  }
}

}  // namespace

std::vector<kafka::OffsetCommitRequest::Topic> resolve(kafka::OffsetCommitRequest& req, const TopicRegistry& topics) {
  return name_topics(req.topics, topics);
}

void finish(kafka::OffsetCommitResponse& res, const std::vector<kafka::OffsetCommitRequest::Topic>& unknown,
            const TopicRegistry& topics) {
  finish_commit(res, unknown, topics);
}

std::vector<kafka::TxnOffsetCommitRequest::Topic> resolve(kafka::TxnOffsetCommitRequest& req,
                                                          const TopicRegistry& topics) {
  return name_topics(req.topics, topics);
}

void finish(kafka::TxnOffsetCommitResponse& res, const std::vector<kafka::TxnOffsetCommitRequest::Topic>& unknown,
            const TopicRegistry& topics) {
  finish_commit(res, unknown, topics);
}

FetchUnknown resolve(kafka::OffsetFetchRequest& req, const TopicRegistry& topics) {
  FetchUnknown unknown(req.groups.size());
  for (std::size_t i = 0; i < req.groups.size(); ++i) {
    if (req.groups[i].topics) unknown[i] = name_topics(*req.groups[i].topics, topics);
  }
  return unknown;
}

void finish(kafka::OffsetFetchResponse& res, const kafka::OffsetFetchRequest& req, const FetchUnknown& unknown,
            const TopicRegistry& topics) {
  for (auto& g : res.groups) {
    for (auto& t : g.topics) t.topic_id = id_of(t.name, topics);
    std::erase_if(g.topics, [](const auto& t) { return kafka::is_zero(t.topic_id); });
    auto it = std::find_if(req.groups.begin(), req.groups.end(), [&](const auto& rg) { return rg.group_id == g.group_id; });
    if (it == req.groups.end() || g.error_code != 0) continue;
    for (const auto& t : unknown[static_cast<std::size_t>(it - req.groups.begin())]) {
      auto& rt = g.topics.emplace_back();
      rt.topic_id = t.topic_id;
      for (std::int32_t p : t.partition_indexes) {
        kafka::OffsetFetchResponse::Partition rp;
        rp.partition_index = p;
        rp.error_code = kafka::to_wire(kafka::ErrorCode::unknown_topic_id);
        rt.partitions.push_back(std::move(rp));
      }
    }
  }
}

}  // namespace nocopy::broker::group_topic_ids
