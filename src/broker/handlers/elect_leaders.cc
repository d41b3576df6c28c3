// ElectLeaders v0-v2 (kafka-leader-election.sh, AdminClient.electLeaders):
// run on the admin thread (etcd writes in cluster mode), the answer posted
// back to the request's loop. Cluster mode: each partition's election is
// ClusterNode::elect_leader. Single node: every partition's only replica
// already leads (ELECTION_NOT_NEEDED). A request for every partition
// (topic_partitions null) lists only the partitions an election was tried
// on, as Kafka does.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "broker/handlers/reply.h"
#include "broker/request_handler.h"
#include "cluster/cluster_node.h"

namespace nocopy::broker {

using namespace handlers;

namespace {

kafka::ElectLeadersResponse::ReplicaElectionResult& topic_result(kafka::ElectLeadersResponse& res,
                                                                 const std::string& topic) {
  if (res.replica_election_results.empty() || res.replica_election_results.back().topic != topic) {
    res.replica_election_results.emplace_back().topic = topic;
  }
  return res.replica_election_results.back();
}

void add_result(kafka::ElectLeadersResponse& res, const std::string& topic, std::int32_t partition,
                std::int16_t error, std::string message) {
  auto& p = topic_result(res, topic).partition_result.emplace_back();
  p.partition_id = partition;
  p.error_code = error;
  if (error != 0) p.error_message = std::move(message);
}

}  // namespace

// Authorization: ALTER on the cluster (else CLUSTER_AUTHORIZATION_FAILED:
// top-level from v1, per partition in v0).
void RequestHandler::elect_leaders(const Header& h, kafka::ElectLeadersRequest& req, net::EventLoop& loop,
                                   Done& done, const Access& access) {
  kafka::ElectLeadersResponse res;
  if (!access.cluster(security::AclOperation::alter)) {
    res.error_code = code(ErrorCode::cluster_authorization_failed);
    if (req.topic_partitions)
      for (const auto& t : *req.topic_partitions)
        for (auto p : t.partition_id)
          add_result(res, t.topic, p, code(ErrorCode::cluster_authorization_failed), "not authorized");
    return done(respond(encode(h, res)));
  }
  if (h.api_version >= 1 && req.election_type != 0 && req.election_type != 1) {
    res.error_code = code(ErrorCode::invalid_request);
    return done(respond(encode(h, res)));
  }
  const auto type = h.api_version >= 1 && req.election_type == 1 ? cluster::ElectionType::unclean
                                                                  : cluster::ElectionType::preferred;
  auto wanted = std::move(req.topic_partitions);
  admin_.submit([this, h, type, wanted = std::move(wanted), &loop, d = std::move(done)]() mutable {
    kafka::ElectLeadersResponse out;
    auto elect = [&](const std::string& topic, std::int32_t p, bool listed) {
      if (cluster_) {
        auto r = cluster_->elect_leader(topic, p, type);
        if (listed || r.error_code != code(ErrorCode::election_not_needed))
          add_result(out, topic, p, r.error_code, r.message);
        return;
      }
      auto t = topics_.find(topic);
      if (!t || p < 0 || p >= static_cast<std::int32_t>(t->partitions.size()))
        add_result(out, topic, p, code(ErrorCode::unknown_topic_or_partition), "no such partition");
      else if (listed)
        add_result(out, topic, p, code(ErrorCode::election_not_needed), "single node: its only replica leads");
    };
    if (wanted) {
      for (const auto& t : *wanted)
        for (auto p : t.partition_id) elect(t.topic, p, true);
    } else if (cluster_) {
      auto snap = cluster_->snapshot();
      for (const auto& [name, t] : snap->topics)
        for (std::int32_t p = 0; p < t.partition_count; ++p) elect(name, p, false);
    }
    post_reply(loop, std::move(d), respond(encode(h, out)));
  });
}

}  // namespace nocopy::broker
