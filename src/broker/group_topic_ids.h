// OffsetCommit and OffsetFetch v10+ and TxnOffsetCommit v6+ name topics by
// id (KIP-848, KIP-1319): before the
// coordinator sees a request, each id is replaced by its topic's name; the
// topics whose id no broker topic has are taken out and answered
// UNKNOWN_TOPIC_ID (every partition), as Kafka does. Once answered, every
// topic gets its id back from its name. A topic committed under a name that
// no longer has a topic has no id: a v10 fetch of all the group's offsets
// leaves it out.
#pragma once

#include <vector>

#include "broker/topic_registry.h"
#include "kafka/messages.h"

namespace nocopy::broker::group_topic_ids {

// OffsetCommit: names the topics of `req`; returns the unknown ones (removed).
std::vector<kafka::OffsetCommitRequest::Topic> resolve(kafka::OffsetCommitRequest& req, const TopicRegistry& topics);
// Adds the unknown topics to `res` and sets every topic's id.
void finish(kafka::OffsetCommitResponse& res, const std::vector<kafka::OffsetCommitRequest::Topic>& unknown,
            const TopicRegistry& topics);

// TxnOffsetCommit: the same two steps.
std::vector<kafka::TxnOffsetCommitRequest::Topic> resolve(kafka::TxnOffsetCommitRequest& req,
                                                          const TopicRegistry& topics);
void finish(kafka::TxnOffsetCommitResponse& res, const std::vector<kafka::TxnOffsetCommitRequest::Topic>& unknown,
            const TopicRegistry& topics);

// OffsetFetch (groups form): the unknown topics of each group, in the
// order of req.groups.
using FetchUnknown = std::vector<std::vector<kafka::OffsetFetchRequest::Topic>>;
FetchUnknown resolve(kafka::OffsetFetchRequest& req, const TopicRegistry& topics);
void finish(kafka::OffsetFetchResponse& res, const kafka::OffsetFetchRequest& req, const FetchUnknown& unknown,
            const TopicRegistry& topics);

}  // namespace nocopy::broker::group_topic_ids
