// Group family. Served here: FindCoordinator (this single broker
// coordinates every group; in cluster mode the same live broker for a key).
// Forwarded undecoded to GroupsService, which decodes and serves OffsetCommit,
// OffsetFetch, JoinGroup, Heartbeat, LeaveGroup, SyncGroup, DescribeGroups,
// ListGroups, DeleteGroups and OffsetDelete. The versions served are the
// API table's (generated from src/kafka/schema/*_request.msg).
#include <iterator>
#include <optional>

#include "broker/groups_service.h"
#include "broker/handlers/reply.h"
#include "broker/request_handler.h"
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
// Cluster mode: groups are not replicated, so every broker must name the
// same coordinator for a key: the live broker at (Java String.hashCode of
// the key) modulo the number of live brokers, in id order. It changes when
// the live brokers change (the group then rebalances on its new
// coordinator, without the offsets committed to the old one).
kafka::FindCoordinatorResponse::Coordinator RequestHandler::coordinator_for(const std::string& key,
                                                                            const ClientContext& client) const {
  kafka::FindCoordinatorResponse::Coordinator c;
  c.key = key;
  auto adv = advertised_to(client);
  c.node_id = cfg_.node_id;
  c.host = adv.host;
  c.port = adv.port;
  if (!cluster_) return c;
  auto snap = cluster_->snapshot();
  if (snap->brokers.empty()) {
    c.error_code = code(ErrorCode::coordinator_not_available);
    c.error_message = "no live broker";
    c.node_id = -1;
    c.host.clear();
    c.port = -1;
    return c;
  }
  std::uint32_t hash = 0;
  for (unsigned char ch : key) hash = hash * 31u + ch;
  auto it = snap->brokers.begin();
  std::advance(it, static_cast<long>(hash % snap->brokers.size()));
  c.node_id = it->second.node_id;
  c.host = it->second.host;
  c.port = it->second.port;
  return c;
}

// v4+ answers every key of `coordinator_keys`; earlier versions the one key.
void RequestHandler::find_coordinator(const Header& h, const kafka::FindCoordinatorRequest& req, Done& done,
                                      const ClientContext& client) {
  kafka::FindCoordinatorResponse res;
  // Authorization: DESCRIBE on the group (key_type 0) or transactional id (1).
  const Access access = access_of(client);
  const bool txn_key = req.key_type == 1;
  auto lookup = [&](const std::string& key) {
    using security::AclOperation;
    if (txn_key ? access.transactional_id(AclOperation::describe, key) : access.group(AclOperation::describe, key))
      return coordinator_for(key, client);
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
