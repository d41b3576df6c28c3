// RequestHandler: decodes one Kafka request frame with kafka::decode_request()
// (the decoder the libFuzzer target fuzzes; one decode per frame), runs it
// against the TopicRegistry, and encodes the response with the kafka::
// message codecs into a buf::Chain -- memory Buffers for the encoded fields,
// FileRegions of the log spliced in for Fetch record bytes (never read into
// user space here). Produce record batches stay views into the frame.
// Group APIs are handed to GroupsService undecoded (it decodes them).
//
// Asynchrony: handle() calls `done` exactly once, on the calling loop's
// thread, either before returning or later:
//  * Fetch with fewer than min_bytes available waits ("fetch purgatory")
//    without a thread: it registers with each partition's on_next_append and
//    a max_wait_ms timer on the loop, whichever comes first answers.
//  * Produce acks=-1 with a syncing flush policy waits for the partitions'
//    flushed offsets (the log's flusher notifies; we never sync here).
//  * CreateTopics, DeleteTopics, CreatePartitions and Metadata
//    auto-creation run on the AdminThread (file-system work) and post the
//    answer back. DescribeConfigs is answered at once (ConfigDescriber).
// Reply::kind says whether to send a response, send nothing (acks=0), or
// close the connection (undecodable request, unknown API).
//
// Thread-safety: one RequestHandler is shared by all reactor threads; it
// keeps no per-request state outside the closures it creates.
//
// request_handler.cc dispatches; each API family's handler is in
// src/broker/handlers/ (one file per family, the versions it serves at its
// top).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <unordered_map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "broker/access.h"
#include "broker/admin_thread.h"
#include "broker/client_context.h"
#include "broker/config.h"
#include "broker/metrics.h"
#include "broker/producer_state.h"
#include "broker/topic_registry.h"
#include "buf/chain.h"
#include "kafka/messages.h"
#include "kafka/request.h"
#include "kafka/request_header.h"

namespace nocopy::net {
class EventLoop;
}
namespace nocopy::cluster {
class ClusterNode;
}
namespace nocopy::replication {
class ReplicaManager;
}
namespace nocopy::security {
class Authorizer;
class ScramStore;
}

namespace nocopy::broker {

class GroupsService;
class ClusterMember;
class TxnService;

struct Reply {
  enum class Kind { respond, none, close };
  Kind kind = Kind::respond;
  buf::Chain chain;      // the whole response frame incl. its size prefix
  std::string reason;    // for close: why (logged)
};

// A topic a Metadata request names: by id (v12+, a non-zero id; the name
// is ignored, as Kafka does) or by name. `invalid`: an id or a null name
// before v12, or neither a name nor an id (INVALID_REQUEST for that topic).
struct WantedTopic {
  std::string name;
  kafka::Uuid id{};
  bool by_id = false;
  bool invalid = false;
};

class RequestHandler {
 public:
  using Done = std::function<void(Reply)>;
  // Other brokers' transaction coordinators' verdicts on the transactional
  // batches of a produce, by partition (RequestHandler::verify_then_produce).
  using Verdicts = std::map<std::pair<std::string, std::int32_t>, kafka::ErrorCode>;

  RequestHandler(const Config& cfg, TopicRegistry& topics, Metrics& metrics, AdminThread& admin);

  // `frame`: one request without its 4-byte size prefix. Produce patches
  // record batches inside it (baseOffset), so it must be writable; it is not
  // referenced after handle() returns. `client`: the connection's listener
  // and principal (Metadata, FindCoordinator and DescribeCluster answer with
  // the address advertised to that listener).
  void handle(std::span<std::byte> frame, net::EventLoop& loop, Done done, const ClientContext& client = {});

  // Wires in the group APIs; null: not advertised. Before serving.
  void set_groups(GroupsService* g) { groups_ = g; }
  // Wires in the transaction coordinator; null: transactional requests are
  // answered COORDINATOR_NOT_AVAILABLE. Before serving.
  void set_txn(TxnService* t) { txn_ = t; }
  // A fresh producer id from the same allocator as InitProducerId (the
  // transaction coordinator's source). Throws when the id block cannot be
  // persisted.
  std::int64_t allocate_producer_id() { return producer_ids().allocate(); }

  // Cluster mode: Metadata, CreateTopics and DeleteTopics go through etcd,
  // and only partitions this broker leads are served. Before serving.
  void set_cluster(cluster::ClusterNode* node, const ClusterMember* member) {
    cluster_ = node;
    member_ = member;
  }

  // Cluster mode: the replication layer (leader epochs, high watermarks,
  // follower progress, acks=all waits). Null: every partition served here
  // has its log end as high watermark. Before serving.
  void set_replicas(replication::ReplicaManager* r) { replicas_ = r; }

  // The local partition when this broker serves it (single node: whenever it
  // exists; cluster mode: when it also leads it); else null with *error set
  // (unknown_topic_or_partition or not_leader_or_follower).
  std::shared_ptr<Partition> served(const std::string& topic, std::int32_t partition, std::int16_t* error) const;

  // Who leads a partition as etcd last said, for the current_leader and
  // node_endpoints of a NOT_LEADER_OR_FOLLOWER or FENCED_LEADER_EPOCH answer
  // (KIP-951: the client need not ask Metadata). leader -1: unknown (single
  // node, no leader); port 0: the leader is not live (no endpoint to send).
  struct LeaderHint {
    std::int32_t leader = -1;
    std::int32_t epoch = -1;
    std::string host;
    std::int32_t port = 0;
    std::optional<std::string> rack;
  };
  LeaderHint leader_hint(const std::string& topic, std::int32_t partition) const;

  // The SCRAM store managed by Describe/AlterUserScramCredentials (null:
  // answered SECURITY_DISABLED). Before serving.
  void set_scram_store(security::ScramStore* s) { scram_ = s; }

  // The ACL authorizer (null or disabled: every request is allowed, and the
  // ACL APIs answer SECURITY_DISABLED). Before serving.
  void set_authorizer(security::Authorizer* a) { authz_ = a; }

  // Stops answering new long polls with waits (shutdown: answer at once).
  void set_draining() { draining_ = true; }

 private:
  using Header = kafka::RequestHeader;
  void api_versions(const kafka::DecodedRequest& req, Done& done);
  void group_api(std::int16_t key, std::span<std::byte> frame, net::EventLoop& loop, Done& done,
                 const Access& access);
  void metadata(const Header& h, kafka::MetadataRequest& req, net::EventLoop& loop, Done& done,
                const ClientContext& client, const Access& access);
  void describe_created(kafka::CreateTopicsResponse::Result& r, const TopicConfig::Overrides& overrides,
                        std::int32_t partitions, std::int16_t rf,
                        const std::vector<std::vector<std::int32_t>>& assignment) const;
  kafka::MetadataResponse metadata_response(bool all, const std::vector<WantedTopic>& wanted,
                                            const HostPort& advertised) const;
  // The authorization questions of a request from `client`.
  Access access_of(const ClientContext& client) const;
  // The address a client on `client`'s listener is told to use.
  HostPort advertised_to(const ClientContext& client) const;
  // `verified`: the coordinator's verdicts on partitions whose
  // transactional batches another broker's coordinator has checked
  // (verify_then_produce); null on the first pass.
  void produce(const Header& h, kafka::ProduceRequest& req, std::span<std::byte> frame, net::EventLoop& loop,
               Done& done, const Access& access, const Verdicts* verified = nullptr);
  // Cluster mode: the partitions of `req` whose first transactional batch
  // of a producer coordinated on another broker needs that coordinator's
  // verdict; if any, asks for it and produces once it is in (true).
  bool verify_then_produce(const Header& h, kafka::ProduceRequest& req, std::span<std::byte> frame,
                           net::EventLoop& loop, Done& done, const Access& access);
  void fetch(const Header& h, kafka::FetchRequest& req, net::EventLoop& loop, Done& done,
             const Access& access);
  // Fetch's current_leader for `partition` (v12+; default when unknown),
  // adding its endpoint to `endpoints` (v16+) once.
  kafka::FetchResponse::LeaderIdAndEpoch fetch_leader_hint(
      const std::string& topic, std::int32_t partition, std::int16_t version,
      std::vector<kafka::FetchResponse::NodeEndpoint>& endpoints) const;
  void replica_fetch_checks(const std::string& topic, const kafka::FetchRequest::Partition& p, std::int32_t replica_id,
                            std::shared_ptr<Partition>& part, std::int16_t& error) const;
  void list_offsets(const Header& h, const kafka::ListOffsetsRequest& req, Done& done,
                    const Access& access);
  void offset_for_leader_epoch(const Header& h, const kafka::OffsetForLeaderEpochRequest& req, Done& done,
                               const Access& access);
  // Cluster mode: the partition's current leader epoch as etcd last said; -1
  // when unknown (single node, or not in the cluster's state).
  std::int32_t leader_epoch_of(const std::string& topic, std::int32_t partition) const;
  void find_coordinator(const Header& h, const kafka::FindCoordinatorRequest& req, Done& done,
                        const ClientContext& client);
  kafka::FindCoordinatorResponse::Coordinator coordinator_for(const std::string& key, bool txn_key,
                                                              const ClientContext& client) const;
  void create_topics(const Header& h, kafka::CreateTopicsRequest& req, net::EventLoop& loop, Done& done,
                     const Access& access);
  void delete_topics(const Header& h, kafka::DeleteTopicsRequest& req, net::EventLoop& loop, Done& done,
                     const Access& access);
  void init_producer_id(const Header& h, const kafka::InitProducerIdRequest& req, net::EventLoop& loop, Done& done,
                        const Access& access);
  void describe_configs(const Header& h, const kafka::DescribeConfigsRequest& req, Done& done,
                        const Access& access);
  // Transactions (handlers/txn.cc).
  void add_partitions_to_txn(const Header& h, const kafka::AddPartitionsToTxnRequest& req, net::EventLoop& loop,
                             Done& done, const Access& access);
  kafka::AddPartitionsToTxnResponse add_partitions_batch(const kafka::AddPartitionsToTxnRequest& req, std::int16_t version);
  void add_offsets_to_txn(const Header& h, const kafka::AddOffsetsToTxnRequest& req, net::EventLoop& loop, Done& done,
                          const Access& access);
  void end_txn(const Header& h, const kafka::EndTxnRequest& req, net::EventLoop& loop, Done& done,
               const Access& access);
  void txn_offset_commit(const Header& h, const kafka::TxnOffsetCommitRequest& req, net::EventLoop& loop, Done& done,
                         const Access& access);
  void describe_transactions(const Header& h, const kafka::DescribeTransactionsRequest& req, net::EventLoop& loop,
                             Done& done,
                             const Access& access);
  void list_transactions(const Header& h, const kafka::ListTransactionsRequest& req, net::EventLoop& loop, Done& done,
                         const Access& access);
  void write_txn_markers(const Header& h, const kafka::WriteTxnMarkersRequest& req, net::EventLoop& loop, Done& done,
                         const Access& access);
  void create_partitions(const Header& h, kafka::CreatePartitionsRequest& req, net::EventLoop& loop, Done& done,
                         const Access& access);
  void alter_configs(const Header& h, kafka::AlterConfigsRequest& req, net::EventLoop& loop, Done& done,
                     const Access& access);
  void incremental_alter_configs(const Header& h, kafka::IncrementalAlterConfigsRequest& req, net::EventLoop& loop,
                                 Done& done,
                                 const Access& access);
  // Both alter APIs: one TopicRegistry::alter_config per resource on the
  // admin thread (BROKER and other resource types: INVALID_REQUEST).
  struct AlterItem {
    std::int8_t type = 0;
    std::string name;
    TopicRegistry::ConfigEdit edit;
    std::int16_t denied = 0;  // the authorization error, 0: allowed
  };
  template <class Resp>
  void alter(const Header& h, std::vector<AlterItem> items, bool validate_only, net::EventLoop& loop, Done& done,
             const Access& access);
  ProducerIdAllocator& producer_ids();
  void describe_cluster(const Header& h, const kafka::DescribeClusterRequest& req, Done& done,
                        const ClientContext& client);
  // Security (handlers/security.cc).
  void sasl_not_expected(const Header& h, Done& done);
  void describe_user_scram_credentials(const Header& h, const kafka::DescribeUserScramCredentialsRequest& req,
                                       Done& done,
                                       const Access& access);
  void alter_user_scram_credentials(const Header& h, kafka::AlterUserScramCredentialsRequest& req,
                                    net::EventLoop& loop, Done& done,
                                    const Access& access);
  // ACLs (handlers/acls.cc).
  void describe_acls(const Header& h, const kafka::DescribeAclsRequest& req, Done& done, const Access& access);
  void create_acls(const Header& h, kafka::CreateAclsRequest& req, net::EventLoop& loop, Done& done,
                   const Access& access);
  void delete_acls(const Header& h, kafka::DeleteAclsRequest& req, net::EventLoop& loop, Done& done,
                   const Access& access);
  void elect_leaders(const Header& h, kafka::ElectLeadersRequest& req, net::EventLoop& loop, Done& done,
                     const Access& access);
  // Cluster mode: whether this broker leads one of the partitions asked about and is fenced.
  bool leads_fenced(bool all, const std::vector<WantedTopic>& wanted) const;
  kafka::MetadataResponse cluster_metadata_response(bool all, const std::vector<WantedTopic>& wanted,
                                                    const ClientContext& client) const;

  const Config& cfg_;
  TopicRegistry& topics_;
  Metrics& metrics_;
  AdminThread& admin_;
  std::atomic<bool> draining_{false};
  GroupsService* groups_ = nullptr;
  cluster::ClusterNode* cluster_ = nullptr;
  const ClusterMember* member_ = nullptr;
  replication::ReplicaManager* replicas_ = nullptr;
  TxnService* txn_ = nullptr;
  // Producers with a Produce waiting for a remote coordinator's verdict, and
  // how many: their later Produce requests wait behind it, so that no batch
  // of theirs is appended ahead of an earlier one (verify_then_produce).
  std::mutex verifying_mu_;
  std::unordered_map<std::int64_t, int> verifying_;  // guarded by verifying_mu_
  security::ScramStore* scram_ = nullptr;
  security::Authorizer* authz_ = nullptr;
  // Created on first use from <data_dir>/producer_ids (the reserved-id high
  // mark, rewritten and fsync'd once per 1000 ids).
  // Fault injection for the idempotence e2e test: when the environment sets
  // NOCOPY_FAULT_DROP_PRODUCE_RESPONSE_EVERY=N, every Nth Produce is appended
  // but answered by closing the connection (a lost response), so the client
  // retries it. 0 (default): off.
  std::uint64_t drop_produce_every_ = 0;
  std::atomic<std::uint64_t> produce_count_{0};
  std::once_flag pids_once_;
  std::unique_ptr<ProducerIdAllocator> pids_;
};

// Turns a finished byte vector into a Buffer without copying it.
buf::Buffer to_buffer(std::vector<std::byte>&& bytes);

}  // namespace nocopy::broker
