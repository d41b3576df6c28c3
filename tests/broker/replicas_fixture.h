// A ReplicaManager for the tests of cluster-mode paths (coordinators,
// leader epochs, ListOffsets on a new leader): it serves a Node's partitions, runs no fetchers (the tests report followers' progress
// by hand) and drops every ISR change it proposes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "replication/replica_manager.h"
#include "test_node.h"

namespace nocopy::broker::testing {

struct NoSink : replication::IsrChangeSink {
  void propose_isr(const std::string&, std::int32_t, const replication::PartitionState&) override {}
};

// Broker 1's replica manager over `node`'s partitions; `node` and `sink` must
// outlive it.
inline std::unique_ptr<replication::ReplicaManager> replicas_over(Node& node, replication::IsrChangeSink& sink) {
  replication::ReplicaOptions o;
  o.node_id = 1;
  o.isr_check_interval_ms = 0;
  o.run_fetchers = false;
  return std::make_unique<replication::ReplicaManager>(o, sink, [&node](const std::string& t, std::int32_t p) {
    auto part = node.topics.find(t, p);
    if (!part) return replication::LogHandle{};
    log::PartitionLog* l = &part->log();
    return replication::LogHandle{std::move(part), l};
  });
}

}  // namespace nocopy::broker::testing
