#include "broker/cluster_member.h"

#include <spdlog/spdlog.h>

#include <mutex>

namespace nocopy::broker {

bool ClusterMember::leads(std::string_view topic, std::int32_t partition) const {
  std::shared_lock lk(mu_);
  return leading_.contains(std::make_pair(std::string(topic), partition));
}

void ClusterMember::apply(const std::string& topic, std::int32_t partition, const replication::PartitionState& state) {
  if (replicas_) replicas_->apply(topic, partition, state);
  {
    std::unique_lock lk(mu_);
    const auto key = std::make_pair(topic, partition);
    const bool was = leading_.contains(key);
    if (state.leader == node_id_) {
      leading_.insert(key);
      if (!was) spdlog::info("cluster: leading {}-{} (leader epoch {})", topic, partition, state.leader_epoch);
    } else {
      leading_.erase(key);
      if (was) spdlog::info("cluster: no longer leading {}-{} (leader {}, epoch {})", topic, partition, state.leader,
                            state.leader_epoch);
    }
  }
  if (leadership_) leadership_(topic, partition, state.leader == node_id_, state.leader_epoch);
}

void ClusterMember::removed(const std::string& topic, std::int32_t partition) {
  if (replicas_) replicas_->removed(topic, partition);
  {
    std::unique_lock lk(mu_);
    leading_.erase(std::make_pair(topic, partition));
  }
  if (leadership_) leadership_(topic, partition, false, -1);
}

void ClusterMember::brokers(const std::vector<replication::BrokerEndpoint>& live) {
  spdlog::info("cluster: {} live broker{}", live.size(), live.size() == 1 ? "" : "s");
  if (replicas_) replicas_->brokers(live);
}

void ClusterMember::topic_changed(const std::string& name, std::int32_t partitions,
                                  const std::map<std::string, std::string>& configs, const kafka::Uuid& topic_id) {
  TopicConfig::Overrides overrides(configs.begin(), configs.end());
  admin_.submit([this, name, partitions, overrides, topic_id] {
    std::string msg;
    auto existing = topics_.find(name);
    std::int16_t ec = 0;
    if (!existing) {
      // A zero id (an old etcd record, before the controller adds one)
      // gives the local topic a random id until etcd's arrives.
      ec = topics_.create(name, partitions, overrides, false, &msg, topic_id);
    } else {
      if (static_cast<std::int32_t>(existing->partitions.size()) < partitions)
        ec = topics_.add_partitions(name, partitions, false, &msg);
      if (!ec && !kafka::is_zero(topic_id) && existing->topic_id != topic_id)
        ec = topics_.set_topic_id(name, topic_id, &msg);
    }
    if (ec) spdlog::error("cluster: creating topic {} locally failed (error {}): {}", name, ec, msg);
    if (replicas_) replicas_->attach_logs();
  });
}

void ClusterMember::topic_deleted(const std::string& name) {
  admin_.submit([this, name] {
    if (auto ec = topics_.remove(name)) spdlog::warn("cluster: removing topic {} locally: error {}", name, ec);
  });
}

}  // namespace nocopy::broker
