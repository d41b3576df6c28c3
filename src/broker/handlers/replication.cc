// OffsetForLeaderEpoch v0-v4: where a leader epoch ends in this broker's log
// (PartitionLog::end_offset_for_epoch, from the leader-epoch cache). A
// follower asks its leader before fetching and truncates a divergent tail to
// the answer. In cluster mode only the partition's leader answers
// (NOT_LEADER_OR_FOLLOWER otherwise), and a request naming another current
// leader epoch is fenced (FENCED_LEADER_EPOCH when older, UNKNOWN_LEADER_EPOCH
// when newer). A log that was never replicated has an empty cache: the answer
// is (-1, -1), Kafka's UNDEFINED_EPOCH_OFFSET.
// Authorization: a broker (replica_id >= 0) needs CLUSTER_ACTION on the
// cluster (else CLUSTER_AUTHORIZATION_FAILED), a client DESCRIBE on each
// topic (else TOPIC_AUTHORIZATION_FAILED).
#include "broker/handlers/reply.h"
#include "broker/request_handler.h"
#include "cluster/cluster_node.h"
#include "log/partition_log.h"
#include "replication/replica_manager.h"

namespace nocopy::broker {

using namespace handlers;

std::int32_t RequestHandler::leader_epoch_of(const std::string& topic, std::int32_t partition) const {
  if (!cluster_) return -1;
  const auto snap = cluster_->snapshot();
  const cluster::PartitionEntry* e = snap ? snap->partition(topic, partition) : nullptr;
  return e ? e->state.leader_epoch : -1;
}

// From etcd's latest snapshot; without one (or for a partition it does not
// list yet), from the replication layer's state of a partition this broker
// holds a replica of.
RequestHandler::LeaderHint RequestHandler::leader_hint(const std::string& topic, std::int32_t partition) const {
  LeaderHint out;
  const auto snap = cluster_ ? cluster_->snapshot() : nullptr;
  const cluster::PartitionEntry* e = snap ? snap->partition(topic, partition) : nullptr;
  if (e) {
    out.leader = e->state.leader;
    out.epoch = e->state.leader_epoch;
  } else if (replicas_) {
    if (auto st = replicas_->state_of(topic, partition)) {
      out.leader = st->leader;
      out.epoch = st->leader_epoch;
    }
  }
  if (out.leader < 0) return LeaderHint{};
  if (snap) {
    if (auto b = snap->brokers.find(out.leader); b != snap->brokers.end()) {
      out.host = b->second.host;
      out.port = b->second.port;
      if (!b->second.rack.empty()) out.rack = b->second.rack;
    }
  } else if (replicas_) {
    if (auto b = replicas_->endpoint_of(out.leader)) {
      out.host = b->host;
      out.port = b->port;
      if (!b->rack.empty()) out.rack = b->rack;
    }
  }
  return out;
}

void RequestHandler::offset_for_leader_epoch(const Header& h, const kafka::OffsetForLeaderEpochRequest& req,
                                             Done& done, const Access& access) {
  using security::AclOperation;
  kafka::OffsetForLeaderEpochResponse res;
  const bool broker_ok = req.replica_id < 0 || access.cluster(AclOperation::cluster_action);
  res.topics.reserve(req.topics.size());
  for (const auto& t : req.topics) {
    auto& rt = res.topics.emplace_back();
    rt.topic = t.topic;
    rt.partitions.reserve(t.partitions.size());
    const std::int16_t denied = !broker_ok ? code(ErrorCode::cluster_authorization_failed)
                                : req.replica_id < 0 && !access.topic(AclOperation::describe, t.topic)
                                    ? code(ErrorCode::topic_authorization_failed)
                                    : std::int16_t{0};
    for (const auto& p : t.partitions) {
      auto& rp = rt.partitions.emplace_back();
      rp.partition = p.partition;
      if (denied) {
        rp.error_code = denied;
        continue;
      }
      auto part = served(t.topic, p.partition, &rp.error_code);
      if (!part) continue;
      const std::int32_t current = leader_epoch_of(t.topic, p.partition);
      if (p.current_leader_epoch >= 0 && current >= 0 && p.current_leader_epoch != current) {
        rp.error_code = code(p.current_leader_epoch < current ? ErrorCode::fenced_leader_epoch
                                                              : ErrorCode::unknown_leader_epoch);
        continue;
      }
      const log::EpochEndOffset e = part->log().end_offset_for_epoch(p.leader_epoch);
      rp.leader_epoch = e.epoch;
      rp.end_offset = e.end_offset;
    }
  }
  done(respond(encode(h, res)));
}

}  // namespace nocopy::broker
