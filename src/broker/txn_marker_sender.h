// TxnMarkerSender: a transaction coordinator's COMMIT/ABORT markers sent to
// the partitions' leaders as WriteTxnMarkers (v1), as Kafka's coordinators
// send them (cluster mode). The leader appends the marker stamped with its
// leader epoch and answers once its ISR holds it (handlers/txn.cc), so an
// answer of NONE means the marker is acknowledged as acks=all would be.
//
// write() finds the leader in the cluster's state, sends, and on
// NOT_LEADER_OR_FOLLOWER, a partition without a live leader or a broken
// connection, looks the leader up again (the state follows etcd's watch)
// and retries until its deadline; then it returns the last error and the
// coordinator keeps the transaction Prepare* for its ticker to retry.
//
// One blocking connection per leader broker (replication::LeaderClient),
// opened on first use, to its inter-broker listener and logged in as this
// broker (ReplicaOptions::inter_broker). Thread-safety: write() from any thread; calls are
// serialized (the coordinator's worker, loader and ticker share it).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "replication/leader_client.h"
#include "replication/partition_state.h"

namespace nocopy::broker {

class TxnMarkerSender {
 public:
  // `leader_of(topic, p)`: nullopt when the partition does not exist; an
  // endpoint with node_id -1 when it has no live leader.
  using LeaderOf = std::function<std::optional<replication::BrokerEndpoint>(const std::string&, std::int32_t)>;
  // `auth`: the leaders' inter-broker listener and this broker's login there.
  TxnMarkerSender(LeaderOf leader_of, int deadline_ms, replication::InterBrokerAuth auth = {})
      : leader_of_(std::move(leader_of)), deadline_ms_(deadline_ms), auth_(std::move(auth)) {}

  // Kafka error code: NONE once the leader has the marker in its ISR;
  // UNKNOWN_TOPIC_OR_PARTITION when the partition no longer exists.
  std::int16_t write(const std::string& topic, std::int32_t partition, std::int64_t producer_id, std::int16_t epoch,
                     bool commit, std::int32_t coordinator_epoch);

 private:
  LeaderOf leader_of_;
  const int deadline_ms_;
  const replication::InterBrokerAuth auth_;
  std::mutex mu_;
  std::map<std::int32_t, replication::LeaderClient> clients_;  // by broker id, guarded by mu_
};

}  // namespace nocopy::broker
