// Group family. Served here: FindCoordinator (this single broker
// coordinates every group; in cluster mode the leader of the group's
// __consumer_offsets partition).
// Forwarded undecoded to GroupsService, which decodes and serves OffsetCommit,
// OffsetFetch, JoinGroup, Heartbeat, LeaveGroup, SyncGroup, DescribeGroups,
// ListGroups, DeleteGroups and OffsetDelete. The versions served are the
// API table's (generated from src/kafka/schema/*_request.msg).
#include <iterator>
#include <optional>

#include "broker/coordinator_partition.h"
#include "broker/groups_service.h"
#include "broker/handlers/reply.h"
#include "broker/request_handler.h"
#include "broker/txn_service.h"
#include "cluster/cluster_node.h"

namespace nocopy::broker {

using namespace handlers;

void RequestHandler::group_api(std::int16_t key, std::span<std::byte> frame, net::EventLoop& loop, Done& done,
                               const Access& access) {
  kafka::Reader peek(frame.subspan(2));
  const std::int16_t version = peek.i16();
  metrics_.on_request(key, peek.ok() ? version : std::int16_t{-1}, frame.size() + 4);
  groups_->handle(frame, "", access, loop, [this, key, d = std::move(done)](std::optional<buf::Chain> c) {
    if (!c) return d(close_reply("malformed group request"));
    metrics_.on_response(key, c->length());
    d(respond(std::move(*c)));
  });
}

// (librdkafka also needs FindCoordinator v0 advertised before it sends
// LZ4-compressed batches.)
//
// Cluster mode, groups (key type 0): the leader of the group's partition of
// __consumer_offsets (coordinator_partition(), Kafka's mapping), which
// loads the group from that replicated partition; COORDINATOR_NOT_AVAILABLE
// while the topic does not exist (its creation is asked for) or the
// partition has no live leader. Transactional ids (key type 1) the same
// way: the leader of the id's partition of __transaction_state.
kafka::FindCoordinatorResponse::Coordinator RequestHandler::coordinator_for(const std::string& key, bool txn_key,
                                                                            const ClientContext& client) const {
  kafka::FindCoordinatorResponse::Coordinator c;
  c.key = key;
  auto adv = advertised_to(client);
  c.node_id = cfg_.node_id;
  c.host = adv.host;
  c.port = adv.port;
  if (!cluster_) return c;
  auto unavailable = [&c](const char* why) {
    c.error_code = code(ErrorCode::coordinator_not_available);
    c.error_message = why;
    c.node_id = -1;
    c.host.clear();
    c.port = -1;
    return c;
  };
  auto snap = cluster_->snapshot();
  if (snap->brokers.empty()) return unavailable("no live broker");
  // A group's partition of __consumer_offsets, a transactional id's of
  // __transaction_state: its leader coordinates the key.
  const char* topic = txn_key ? kTxnStateTopic : kOffsetsTopic;
  auto t = snap->topics.find(topic);
  if (t == snap->topics.end() || t->second.partition_count <= 0) {
    if (txn_key && txn_) txn_->ensure_state_topic();
    if (!txn_key && groups_) groups_->ensure_offsets_topic();
    return unavailable(txn_key ? "__transaction_state is being created" : "__consumer_offsets is being created");
  }
  const std::int32_t p = coordinator_partition(key, t->second.partition_count);
  const auto* pe = snap->partition(topic, p);
  if (pe == nullptr || pe->state.leader < 0 || !snap->is_live(pe->state.leader))
    return unavailable(txn_key ? "the transactional id's __transaction_state partition has no leader"
                               : "the group's __consumer_offsets partition has no leader");
  const auto& b = snap->brokers.at(pe->state.leader);
  const auto a = b.address_for(security::to_string(client.protocol));
  c.node_id = b.node_id;
  c.host = a.host;
  c.port = a.port;
  return c;
}

// v4+ answers every key of `coordinator_keys`; earlier versions the one key.
// Only groups (key_type 0) and transactional ids (1) have coordinators.
void RequestHandler::find_coordinator(const Header& h, const kafka::FindCoordinatorRequest& req, Done& done,
                                      const ClientContext& client) {
  kafka::FindCoordinatorResponse res;
  // Authorization: DESCRIBE on the group (key_type 0) or transactional id (1).
  const Access access = access_of(client);
  const bool txn_key = req.key_type == 1;
  auto lookup = [&](const std::string& key) {
    using security::AclOperation;
    if (req.key_type != 0 && req.key_type != 1) {  // share groups (2) and unknown types
      kafka::FindCoordinatorResponse::Coordinator c;
      c.key = key;
      c.error_code = code(ErrorCode::invalid_request);
      c.error_message = "unsupported coordinator key type " + std::to_string(req.key_type);
      c.node_id = -1;
      c.port = -1;
      return c;
    }
    if (txn_key ? access.transactional_id(AclOperation::describe, key) : access.group(AclOperation::describe, key))
      return coordinator_for(key, txn_key, client);
    kafka::FindCoordinatorResponse::Coordinator c;
    c.key = key;
    c.error_code =
        code(txn_key ? ErrorCode::transactional_id_authorization_failed : ErrorCode::group_authorization_failed);
    c.node_id = -1;
    c.port = -1;
    return c;
  };
  if (h.api_version >= 4) {
    for (const auto& key : req.coordinator_keys) res.coordinators.push_back(lookup(key));
  } else {
    auto c = lookup(req.key);
    res.error_code = c.error_code;
    res.error_message = std::move(c.error_message);
    res.node_id = c.node_id;
    res.host = std::move(c.host);
    res.port = c.port;
  }
  done(respond(encode(h, res)));
}

}  // namespace nocopy::broker
