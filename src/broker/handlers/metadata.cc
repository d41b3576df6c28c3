// Metadata and DescribeCluster. Topics a client asks for that do not exist are created
// when auto-creation is on and the request allows it -- on the admin thread
// (file-system work), the answer posted back to the request's loop.
#include <algorithm>
#include <string>
#include <vector>

#include "broker/cluster_member.h"
#include "broker/groups_service.h"
#include "cluster/cluster_node.h"
#include "broker/handlers/reply.h"
#include "broker/request_handler.h"
#include "kafka/topic_name.h"

namespace nocopy::broker {

using namespace handlers;

// Authorization: only topics the principal may DESCRIBE are listed (a named
// one it may not is answered TOPIC_AUTHORIZATION_FAILED); auto-creation
// needs CREATE on the cluster or the topic.
void RequestHandler::metadata(const Header& h, kafka::MetadataRequest& req, net::EventLoop& loop, Done& done,
                              const ClientContext& client, const Access& access) {
  const bool all = kafka::all_topics(req, h.api_version);
  std::vector<std::string> names;
  if (req.topics)
    for (auto& t : *req.topics) names.push_back(std::move(t.name));
  const bool allow_auto = req.allow_auto_topic_creation;
  // A leader fenced by a lost etcd session (cut off from etcd and its
  // followers) may have been replaced, and its own view of the cluster is
  // stale: it closes the connection rather than naming itself, so the
  // client asks another broker.
  if (cluster_ && leads_fenced(all, names))
    return done(close_reply("Metadata on a broker fenced from the cluster (etcd session lost)"));

  // Runs on the loop's thread (perhaps after the admin thread created
  // topics): the Access is rebuilt from a copy of the client.
  auto encode_md = [this, h, all, names, adv = advertised_to(client), client](net::EventLoop&) {
    auto res = cluster_ ? cluster_metadata_response(all, names) : metadata_response(all, names, adv);
    const Access a = access_of(client);
    std::erase_if(res.topics, [&](auto& t) {
      if (a.topic(security::AclOperation::describe, t.name)) return false;
      if (all) return true;
      t.error_code = code(ErrorCode::topic_authorization_failed);
      t.partitions.clear();
      t.is_internal = false;
      return false;
    });
    return respond(encode(h, res));
  };

  std::vector<std::string> to_create;
  // __consumer_offsets is never auto-created with the defaults: in cluster
  // mode it is asked for with its own partitions, replication factor and
  // configs (GroupsService::ensure_offsets_topic), as Kafka creates it.
  if (!all && allow_auto && cfg_.auto_create_topics && cluster_ && groups_ &&
      std::find(names.begin(), names.end(), kOffsetsTopic) != names.end() &&
      !cluster_->snapshot()->topics.contains(kOffsetsTopic))
    groups_->ensure_offsets_topic();
  if (!all && allow_auto && cfg_.auto_create_topics)
    for (auto& name : names)
      if (kafka::is_valid_topic_name(name) && name != kOffsetsTopic &&
          (access.cluster(security::AclOperation::create) || access.topic(security::AclOperation::create, name)) &&
          !(cluster_ ? cluster_->snapshot()->topics.contains(name) : static_cast<bool>(topics_.find(name))))
        to_create.push_back(name);
  if (to_create.empty()) return done(encode_md(loop));

  // Cluster mode: the topic is written to etcd (a blocking call) and every
  // broker creates it from there.
  admin_.submit([this, to_create, encode_md, &loop, d = std::move(done)]() mutable {
    for (auto& name : to_create) {
      if (cluster_)
        cluster_->create_topic(name, cfg_.default_partitions, -1, {}, {}, false);
      else
        topics_.create(name, cfg_.default_partitions);
    }
    loop.post([encode_md, &loop, d = std::move(d)]() mutable { d(encode_md(loop)); });
  });
}

namespace {

// The topics of a Metadata response, shared by both modes: `names` in
// order, each with its error -- an invalid name (only possible when the
// client named it, `listed` false) INVALID_TOPIC_EXCEPTION, one `fill` does
// not find UNKNOWN_TOPIC_OR_PARTITION. `fill(name, topic)` adds the
// partitions of a topic it knows and returns whether it knows it.
template <class Response, class Fill>
void put_topics(Response& res, const std::vector<std::string>& names, bool listed, Fill fill) {
  res.topics.reserve(res.topics.size() + names.size());
  for (const std::string& name : names) {
    auto& rt = res.topics.emplace_back();
    rt.name = name;
    rt.is_internal = name == kOffsetsTopic;
    if (!listed && !kafka::is_valid_topic_name(name)) {
      rt.error_code = code(ErrorCode::invalid_topic_exception);
      continue;
    }
    rt.error_code = code(fill(name, rt) ? ErrorCode::none : ErrorCode::unknown_topic_or_partition);
  }
}

}  // namespace

// This broker leads every partition, with itself as the only replica,
// reachable at the address advertised to the client's listener; no leader
// ever changes, so no leader epoch is reported (-1, unknown).
kafka::MetadataResponse RequestHandler::metadata_response(bool all, const std::vector<std::string>& names,
                                                         const HostPort& adv) const {
  kafka::MetadataResponse res;
  res.brokers.push_back({cfg_.node_id, adv.host, adv.port, std::nullopt});
  res.cluster_id = "nocopy";
  res.controller_id = cfg_.node_id;
  std::vector<std::string> listed;
  if (all)
    for (auto& t : topics_.list())
      if (t->name != kOffsetsTopic) listed.push_back(t->name);
  // A topic deleted since the listing is answered as unknown, as it is now.
  put_topics(res, all ? listed : names, all, [&](const std::string& name, auto& rt) {
    auto t = topics_.find(name);
    if (!t) return false;
    rt.partitions.reserve(t->partitions.size());
    for (std::size_t i = 0; i < t->partitions.size(); ++i) {
      auto& rp = rt.partitions.emplace_back();
      rp.partition_index = static_cast<std::int32_t>(i);
      rp.leader_id = cfg_.node_id;
      rp.replica_nodes = {cfg_.node_id};
      rp.isr_nodes = {cfg_.node_id};
    }
    return true;
  });
  return res;
}

bool RequestHandler::leads_fenced(bool all, const std::vector<std::string>& names) const {
  if (replicas_ == nullptr) return false;
  auto snap = cluster_->snapshot();
  for (auto& [name, t] : snap->topics) {
    if (!all && std::find(names.begin(), names.end(), name) == names.end()) continue;
    for (std::size_t i = 0; i < t.partitions.size(); ++i) {
      if (t.partitions[i].state.leader != cfg_.node_id) continue;
      auto v = replicas_->view(name, static_cast<std::int32_t>(i));
      if (v && v->fenced) return true;
    }
  }
  return false;
}

// Cluster mode: brokers, controller and partitions as etcd lists them.
kafka::MetadataResponse RequestHandler::cluster_metadata_response(bool all, const std::vector<std::string>& names) const {
  auto snap = cluster_->snapshot();
  kafka::MetadataResponse res;
  for (auto& [id, b] : snap->brokers)
    res.brokers.push_back({id, b.host, b.port, b.rack.empty() ? std::nullopt : std::optional<std::string>(b.rack)});
  res.cluster_id = "nocopy";
  res.controller_id = snap->controller_id;
  std::vector<std::string> listed;
  if (all)
    for (auto& [name, t] : snap->topics)
      if (name != kOffsetsTopic) listed.push_back(name);
  put_topics(res, all ? listed : names, all, [&](const std::string& name, auto& rt) {
    auto it = snap->topics.find(name);
    if (it == snap->topics.end()) return false;
    const cluster::TopicEntry& t = it->second;
    rt.partitions.reserve(t.partitions.size());
    for (std::size_t i = 0; i < t.partitions.size(); ++i) {
      const auto& e = t.partitions[i];
      auto& rp = rt.partitions.emplace_back();
      rp.partition_index = static_cast<std::int32_t>(i);
      rp.leader_id = e.state.leader;
      rp.leader_epoch = e.state.leader_epoch;
      rp.replica_nodes = e.state.replicas;
      rp.isr_nodes = e.state.isr;
      for (auto r : e.state.replicas)
        if (!snap->is_live(r)) rp.offline_replicas.push_back(r);
      if (!e.mod_revision || e.state.leader < 0 || !snap->is_live(e.state.leader))
        rp.error_code = code(ErrorCode::leader_not_available);
    }
    return true;
  });
  return res;
}

// DescribeCluster: single node, this broker is the cluster and its
// controller; cluster mode, the live brokers and the controller in etcd.
void RequestHandler::describe_cluster(const Header& h, const kafka::DescribeClusterRequest& req, Done& done,
                                      const ClientContext& client) {
  kafka::DescribeClusterResponse res;
  res.endpoint_type = req.endpoint_type;
  res.cluster_id = "nocopy";
  if (req.endpoint_type != 1) {
    res.error_code = code(ErrorCode::invalid_request);
    res.error_message = "only broker endpoints (endpoint type 1) exist";
  } else if (cluster_) {
    auto snap = cluster_->snapshot();
    res.controller_id = snap->controller_id;
    for (auto& [id, b] : snap->brokers) {
      auto& rb = res.brokers.emplace_back();
      rb.broker_id = id;
      rb.host = b.host;
      rb.port = b.port;
      if (!b.rack.empty()) rb.rack = b.rack;
    }
  } else {
    auto adv = advertised_to(client);
    res.controller_id = cfg_.node_id;
    auto& rb = res.brokers.emplace_back();
    rb.broker_id = cfg_.node_id;
    rb.host = adv.host;
    rb.port = adv.port;
  }
  done(respond(encode(h, res)));
}

std::shared_ptr<Partition> RequestHandler::served(const std::string& topic, std::int32_t partition,
                                                  std::int16_t* error) const {
  if (member_ && !member_->leads(topic, partition)) {
    // Known to the cluster but led elsewhere (or offline): clients refresh
    // their metadata and go to the leader.
    const bool known = cluster_ && cluster_->snapshot()->partition(topic, partition);
    *error = code(known ? ErrorCode::not_leader_or_follower : ErrorCode::unknown_topic_or_partition);
    return nullptr;
  }
  auto p = topics_.find(topic, partition);
  if (!p) *error = code(ErrorCode::unknown_topic_or_partition);
  return p;
}

}  // namespace nocopy::broker
