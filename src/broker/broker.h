// Broker: the whole `nocopy broker` process wired together.
//
//   ReactorPool (N epoll threads, SO_REUSEPORT listeners)
//     -> KafkaSession per connection (framing, in-order slots)
//       -> RequestHandler (decode, dispatch, encode; purgatories)
//         -> TopicRegistry -> Partition -> log::PartitionLog
//   AdminThread: topic create/delete, retention (file-system work)
//   LogCleanerPool: log.cleaner.threads threads compacting topics whose
//     cleanup.policy holds compact
//   MetricsServer: GET /metrics on a loopback port
//   Cluster mode (--cluster): cluster::ClusterNode (membership, controller,
//     etcd watch) feeding ClusterMember (local topics, partitions led)
//
// Lifecycle: start() recovers the data dir, binds, and starts the threads;
// run_until_signal() blocks until SIGTERM/SIGINT, then shutdown(): stop
// accepting, answer parked fetches at once, let in-flight responses finish
// (bounded grace), flush every partition, close logs (clean-shutdown marker).
#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "broker/admin_thread.h"
#include "broker/cluster_member.h"
#include "replication/replica_manager.h"
#include "broker/config.h"
#include "broker/groups_service.h"
#include "broker/log_cleaner_pool.h"
#include "broker/txn_service.h"
#include "broker/metrics.h"
#include "broker/metrics_server.h"
#include "broker/request_handler.h"
#include "broker/topic_registry.h"
#include "buf/chain_sender.h"
#include "cluster/cluster_node.h"
#include "cluster/etcd_document.h"
#include "net/reactor_pool.h"
#include "net/tls_context.h"
#include "security/listener_spec.h"
#include "security/sasl_server.h"
#include "security/authorizer.h"
#include "security/scram_store.h"

namespace nocopy::broker {

class Broker {
 public:
  explicit Broker(Config cfg);
  ~Broker();

  void start();
  // Re-reads the TLS certificate, key and CA files (SIGHUP). Throws, keeping
  // the old ones, if they do not load.
  void reload_tls();
  // Blocks SIGTERM/SIGINT/SIGHUP in the calling thread (call before other threads
  // exist, i.e. before start(), to have them inherit the mask), waits for
  // SIGTERM/SIGINT (SIGHUP: reload_tls()), then shuts down.
  static void block_signals();
  void run_until_signal();
  void shutdown();

  std::uint16_t port() const { return pool_ ? pool_->port() : 0; }
  // Bound port of listener `i` of Config::effective_listeners().
  std::uint16_t port(std::size_t i) const { return pool_ ? pool_->port(i) : 0; }
  std::uint16_t metrics_port() const { return metrics_server_ ? metrics_server_->port() : 0; }

 private:
  void schedule_retention();
  void join_cluster();  // cluster mode: registers in etcd and follows its state
  void start_replication();  // cluster mode: the ReplicaManager, before the cluster node starts
  void start_cluster_groups();  // cluster mode: the group coordinator follows __consumer_offsets' leaders
  void start_cluster_txn();  // cluster mode: the transaction coordinator follows __transaction_state's leaders
  // TLS context, SCRAM store (with `scram_users` created) and Cyrus SASL,
  // as the listeners need them.
  void start_security();
  void start_authorizer();
  void start_scram_store();
  // Cluster mode: a started etcd document under the cluster's prefix (ACLs, SCRAM credentials).
  std::unique_ptr<cluster::EtcdDocument> shared_document(const std::string& key) const;
  std::unique_ptr<net::ConnectionHandler> make_session(net::Connection& conn);
  // Once per TLS listener: which send path it uses (kTLS or user space) and why.
  void log_listeners() const;

  Config cfg_;
  Metrics metrics_;
  TopicRegistry topics_;
  AdminThread admin_;
  RequestHandler handler_;
  std::vector<std::unique_ptr<buf::ChainSender>> senders_;  // one per reactor thread
  std::unique_ptr<net::ReactorPool> pool_;
  std::unique_ptr<MetricsServer> metrics_server_;
  std::unique_ptr<GroupsService> groups_;
  std::unique_ptr<LogCleanerPool> cleaner_;
  std::unique_ptr<ClusterMember> member_;
  std::unique_ptr<cluster::ClusterNode> cluster_;
  std::unique_ptr<replication::ReplicaManager> replicas_;  // cluster mode
  std::unique_ptr<TxnService> txn_;
  std::vector<security::ListenerSpec> listeners_;  // bound ports filled in at start
  std::unique_ptr<net::TlsContext> tls_;            // SSL / SASL_SSL listeners; reloaded on SIGHUP
  std::unique_ptr<security::ScramStore> scram_;
  std::unique_ptr<security::Authorizer> authz_;  // ACLs in <data_dir>/acls, or in etcd (cluster mode)
  // Cluster mode: the ACLs and the SCRAM credentials in etcd. Declared after
  // the authorizer and the store, so their watches stop before those go.
  std::unique_ptr<cluster::EtcdDocument> acl_doc_, scram_doc_;
  std::unique_ptr<security::SaslAuthenticator> sasl_;
  std::atomic<bool> shut_{false};
  std::thread retention_thread_;
  std::atomic<bool> retention_stop_{false};
};

}  // namespace nocopy::broker
