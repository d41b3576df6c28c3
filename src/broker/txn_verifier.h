// TxnVerifier: KIP-890's produce verification across brokers (cluster mode).
// A partition's leader that receives the first transactional batch of a
// producer whose transactional id another broker coordinates asks that
// coordinator -- the leader of the id's __transaction_state partition -- with
// AddPartitionsToTxn v5 `verify_only` whether the producer's transaction is
// Ongoing with the partitions added, before it appends, as Kafka 3.6+
// brokers do; for a transaction version 2 producer it asks the coordinator
// to add them instead (verify_only false), as Kafka 4.x brokers do. The answer per partition: NONE, INVALID_PRODUCER_EPOCH or
// TRANSACTION_ABORTABLE as the coordinator says (the Produce handler turns
// the last into what the client's version knows); anything that kept the
// coordinator from answering (no leader, NOT_COORDINATOR, a load in
// progress, a broken connection) NOT_ENOUGH_REPLICAS, which producers retry
// (Kafka's mapping, for clients that predate the coordinator errors).
//
// Requests run on the verifier's own thread over one blocking connection per
// broker (replication::LeaderClient, to its inter-broker listener, logged in
// as this broker); `done` is called on that thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "broker/txn_marker_sender.h"
#include "kafka/error_code.h"
#include "replication/leader_client.h"
#include "txn/txn_metadata.h"

namespace nocopy::broker {

class TxnVerifier {
 public:
  using Done = std::function<void(std::vector<kafka::ErrorCode>)>;  // one per partition, in order
  // `auth`: the coordinators' inter-broker listener and this broker's login there.
  TxnVerifier(TxnMarkerSender::LeaderOf leader_of, std::function<std::int32_t()> state_partitions,
              replication::InterBrokerAuth auth = {});
  ~TxnVerifier();
  void stop();  // pending checks are answered NOT_ENOUGH_REPLICAS

  // `add` (transaction version 2): the partitions are added to the
  // transaction (verify_only false) rather than checked; the answers as
  // txn::add_verdict() maps them.
  void verify(std::string transactional_id, std::int64_t producer_id, std::int16_t epoch,
              std::vector<txn::TopicPartition> partitions, Done done, bool add = false);

 private:
  struct Job {
    std::string transactional_id;
    std::int64_t producer_id = -1;
    std::int16_t epoch = -1;
    std::vector<txn::TopicPartition> partitions;
    Done done;
    bool add = false;
  };
  std::vector<kafka::ErrorCode> check(const Job& job);
  void loop();

  TxnMarkerSender::LeaderOf leader_of_;
  std::function<std::int32_t()> state_partitions_;
  const replication::InterBrokerAuth auth_;
  std::map<std::int32_t, replication::LeaderClient> clients_;  // by broker id; the verifier's thread only
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;  // guarded by mu_
  bool stop_ = false;     // guarded by mu_
  std::thread thread_;
};

}  // namespace nocopy::broker
