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
// one it may not is answered TOPIC_AUTHORIZATION_FAILED: asked by name, with
// the zero id; asked by id, with a null name, as Kafka); auto-creation needs
// CREATE on the cluster or the topic, and only topics asked for by name are
// created.
void RequestHandler::metadata(const Header& h, kafka::MetadataRequest& req, net::EventLoop& loop, Done& done,
                              const ClientContext& client, const Access& access) {
  const bool all = kafka::all_topics(req, h.api_version);
  std::vector<WantedTopic> wanted;
  if (req.topics && !all) {
    for (auto& t : *req.topics) {
      WantedTopic w;
      w.id = t.topic_id;
      w.by_id = !kafka::is_zero(t.topic_id);
      w.name = t.name ? std::move(*t.name) : std::string();
      // Before v12 a topic is named: an id or a null name is refused.
      w.invalid = h.api_version < 12 && (w.by_id || !t.name);
      if (!w.by_id && !t.name) w.invalid = true;  // neither a name nor an id
      wanted.push_back(std::move(w));
    }
  }
  const bool allow_auto = req.allow_auto_topic_creation;
  // A leader fenced by a lost etcd session (cut off from etcd and its
  // followers) may have been replaced, and its own view of the cluster is
  // stale: it closes the connection rather than naming itself, so the
  // client asks another broker.
  if (cluster_ && leads_fenced(all, wanted))
    return done(close_reply("Metadata on a broker fenced from the cluster (etcd session lost)"));

  // Runs on the loop's thread (perhaps after the admin thread created
  // topics): the Access is rebuilt from a copy of the client.
  auto encode_md = [this, h, all, wanted, adv = advertised_to(client), client](net::EventLoop&) {
    auto res = cluster_ ? cluster_metadata_response(all, wanted, client) : metadata_response(all, wanted, adv);
    const Access a = access_of(client);
    std::size_t i = 0;
    std::erase_if(res.topics, [&](auto& t) {
      const bool by_id = !all && wanted[i++].by_id;
      if (!t.name || t.error_code == code(ErrorCode::invalid_request)) return false;  // nothing named
      if (a.topic(security::AclOperation::describe, *t.name)) return false;
      if (all) return true;
      t.error_code = code(ErrorCode::topic_authorization_failed);
      t.partitions.clear();
      t.is_internal = false;
      if (by_id)
        t.name.reset();
      else
        t.topic_id = kafka::kZeroUuid;
      return false;
    });
    return respond(encode(h, res));
  };

  std::vector<std::string> to_create;
  // __consumer_offsets is never auto-created with the defaults: in cluster
  // mode it is asked for with its own partitions, replication factor and
  // configs (GroupsService::ensure_offsets_topic), as Kafka creates it.
  if (!all && allow_auto && cfg_.auto_create_topics && cluster_ && groups_ &&
      std::ranges::any_of(wanted, [](const WantedTopic& w) { return !w.by_id && w.name == kOffsetsTopic; }) &&
      !cluster_->snapshot()->topics.contains(kOffsetsTopic))
    groups_->ensure_offsets_topic();
  if (!all && allow_auto && cfg_.auto_create_topics)
    for (auto& w : wanted)
      if (const std::string& name = w.name; !w.by_id && !w.invalid && kafka::is_valid_topic_name(name) &&
          name != kOffsetsTopic &&
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

// The topics of a Metadata response, shared by both modes: `wanted` in
// order (every topic when `all`: `listed`), each with its error -- an id or
// null name before v12 INVALID_REQUEST, an unknown id UNKNOWN_TOPIC_ID (null
// name), an invalid name INVALID_TOPIC_EXCEPTION, one `fill` does not find
// UNKNOWN_TOPIC_OR_PARTITION (zero id). `name_of(id)` is the name of the
// topic with that id, or nullopt; `fill(name, topic)` adds the id and
// partitions of a topic it knows and returns whether it knows it.
template <class Response, class NameOf, class Fill>
void put_topics(Response& res, bool all, const std::vector<std::string>& listed,
                const std::vector<WantedTopic>& wanted, NameOf name_of, Fill fill) {
  auto one = [&](const std::string& name) -> auto& {
    auto& rt = res.topics.emplace_back();
    rt.name = name;
    rt.is_internal = name == kOffsetsTopic;
    return rt;
  };
  if (all) {
    for (const std::string& name : listed) {
      auto& rt = one(name);
      rt.error_code = code(fill(name, rt) ? ErrorCode::none : ErrorCode::unknown_topic_or_partition);
    }
    return;
  }
  res.topics.reserve(wanted.size());
  for (const auto& w : wanted) {
    if (w.invalid) {
      auto& rt = one(w.name);
      rt.topic_id = w.id;
      rt.error_code = code(ErrorCode::invalid_request);
      continue;
    }
    if (w.by_id) {
      auto name = name_of(w.id);
      auto& rt = one(name.value_or(""));
      if (!name || !fill(*name, rt)) {
        rt.name.reset();
        rt.is_internal = false;
        rt.topic_id = w.id;
        rt.error_code = code(ErrorCode::unknown_topic_id);
      }
      continue;
    }
    auto& rt = one(w.name);
    if (!kafka::is_valid_topic_name(w.name)) {
      rt.error_code = code(ErrorCode::invalid_topic_exception);
      continue;
    }
    rt.error_code = code(fill(w.name, rt) ? ErrorCode::none : ErrorCode::unknown_topic_or_partition);
  }
}

}  // namespace

// This broker leads every partition, with itself as the only replica,
// reachable at the address advertised to the client's listener; no leader
// ever changes, so no leader epoch is reported (-1, unknown).
kafka::MetadataResponse RequestHandler::metadata_response(bool all, const std::vector<WantedTopic>& wanted,
                                                         const HostPort& adv) const {
  kafka::MetadataResponse res;
  res.brokers.push_back({cfg_.node_id, adv.host, adv.port, std::nullopt});
  res.cluster_id = kClusterId;
  res.controller_id = cfg_.node_id;
  std::vector<std::string> listed;
  if (all)
    for (auto& t : topics_.list())
      if (t->name != kOffsetsTopic) listed.push_back(t->name);
  auto name_of = [&](const kafka::Uuid& id) -> std::optional<std::string> {
    auto t = topics_.find_id(id);
    return t ? std::optional<std::string>(t->name) : std::nullopt;
  };
  // A topic deleted since the listing is answered as unknown, as it is now.
  put_topics(res, all, listed, wanted, name_of, [&](const std::string& name, auto& rt) {
    auto t = topics_.find(name);
    if (!t) return false;
    rt.topic_id = t->topic_id;
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

bool RequestHandler::leads_fenced(bool all, const std::vector<WantedTopic>& wanted) const {
  if (replicas_ == nullptr) return false;
  auto snap = cluster_->snapshot();
  for (auto& [name, t] : snap->topics) {
    if (!all && std::ranges::none_of(wanted, [&](const WantedTopic& w) {
          return w.by_id ? w.id == t.topic_id : w.name == name;
        }))
      continue;
    for (std::size_t i = 0; i < t.partitions.size(); ++i) {
      if (t.partitions[i].state.leader != cfg_.node_id) continue;
      auto v = replicas_->view(name, static_cast<std::int32_t>(i));
      if (v && v->fenced) return true;
    }
  }
  return false;
}

// Cluster mode: brokers, controller and partitions as etcd lists them.
// Each broker's address is that of the listener the request came on.
kafka::MetadataResponse RequestHandler::cluster_metadata_response(bool all, const std::vector<WantedTopic>& wanted,
                                                                  const ClientContext& client) const {
  auto snap = cluster_->snapshot();
  kafka::MetadataResponse res;
  const std::string listener = security::to_string(client.protocol);
  for (auto& [id, b] : snap->brokers) {
    auto a = b.address_for(listener);
    res.brokers.push_back({id, a.host, a.port, b.rack.empty() ? std::nullopt : std::optional<std::string>(b.rack)});
  }
  res.cluster_id = kClusterId;
  res.controller_id = snap->controller_id;
  std::vector<std::string> listed;
  if (all)
    for (auto& [name, t] : snap->topics)
      if (name != kOffsetsTopic) listed.push_back(name);
  auto name_of = [&](const kafka::Uuid& id) -> std::optional<std::string> {
    if (kafka::is_zero(id)) return std::nullopt;
    for (auto& [name, t] : snap->topics)
      if (t.topic_id == id) return name;
    return std::nullopt;
  };
  put_topics(res, all, listed, wanted, name_of, [&](const std::string& name, auto& rt) {
    auto it = snap->topics.find(name);
    if (it == snap->topics.end()) return false;
    const cluster::TopicEntry& t = it->second;
    rt.topic_id = t.topic_id;
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
  res.cluster_id = kClusterId;
  if (req.endpoint_type != 1) {
    res.error_code = code(ErrorCode::invalid_request);
    res.error_message = "only broker endpoints (endpoint type 1) exist";
  } else if (cluster_) {
    auto snap = cluster_->snapshot();
    res.controller_id = snap->controller_id;
    for (auto& [id, b] : snap->brokers) {
      auto& rb = res.brokers.emplace_back();
      auto a = b.address_for(security::to_string(client.protocol));
      rb.broker_id = id;
      rb.host = a.host;
      rb.port = a.port;
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
