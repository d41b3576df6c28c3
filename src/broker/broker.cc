#include "broker/broker.h"

#include <signal.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <thread>
#include <vector>

#include "broker/kafka_session.h"
#include "kafka/error_code.h"

namespace nocopy::broker {

Broker::Broker(Config cfg)
    : cfg_(std::move(cfg)),
      metrics_(cfg_.fetch_strategy),
      topics_(cfg_, &metrics_),
      handler_(cfg_, topics_, metrics_, admin_) {
  if (cfg_.threads == 0) cfg_.threads = std::max(1u, std::thread::hardware_concurrency());
}

Broker::~Broker() { shutdown(); }

void Broker::block_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

void Broker::start() {
  auto avail = io::probe(cfg_.fetch_strategy);
  if (!avail.available)
    spdlog::warn("fetch strategy {} unavailable here ({}); the sender falls back", io::to_string(cfg_.fetch_strategy),
                 avail.reason);
  auto t0 = std::chrono::steady_clock::now();
  auto n = topics_.recover();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  spdlog::info("data dir {}: {} topic{} recovered in {} ms", std::filesystem::absolute(cfg_.data_dir).string(), n,
               n == 1 ? "" : "s", ms);

  groups_ = std::make_unique<GroupsService>(cfg_, topics_);
  handler_.set_groups(groups_.get());
  txn_ = std::make_unique<TxnService>(cfg_, topics_, groups_.get(), [this] { return handler_.allocate_producer_id(); });
  handler_.set_txn(txn_.get());

  for (unsigned i = 0; i < cfg_.threads; ++i)
    senders_.push_back(std::make_unique<buf::ChainSender>(buf::ChainSenderOptions{cfg_.fetch_strategy}));
  if (const char* why = senders_.front()->file_sender().fallback_reason(); why && *why)
    spdlog::warn("fetch strategy {}: {}", io::to_string(cfg_.fetch_strategy), why);

  start_security();
  listeners_ = cfg_.effective_listeners();
  net::ReactorPool::Options po;
  po.listen = cfg_.listen.to_string();
  for (const auto& l : listeners_) po.listens.push_back(l.address());
  po.threads = cfg_.threads;
  po.max_connections = 20000;
  po.max_connections_per_address = cfg_.security.max_connections_per_ip;
  po.connection.max_read_buffer = cfg_.max_request_bytes + 4;
  po.connection.max_queued_bytes = 8 << 20;
  po.connection.max_queued_items = 512;
  po.connection.idle_timeout = std::chrono::milliseconds(cfg_.idle_timeout_ms);
  pool_ = std::make_unique<net::ReactorPool>(po, [this](net::Connection& conn) { return make_session(conn); });
  if (cfg_.cluster_mode()) {
    member_ = std::make_unique<ClusterMember>(cfg_.node_id, topics_, admin_);
    handler_.set_cluster(nullptr, member_.get());  // nothing is led until etcd says so
  }
  pool_->start();
  for (std::size_t i = 0; i < listeners_.size(); ++i) {
    listeners_[i].port = pool_->port(i);
    if (!cfg_.security.listeners.empty()) cfg_.security.listeners[i].port = pool_->port(i);
  }
  if (cfg_.listen.port == 0 || !cfg_.security.listeners.empty()) cfg_.listen.port = pool_->port();
  if (!cfg_.security.listeners.empty()) cfg_.listen.host = listeners_.front().host;
  if (cfg_.cluster_mode()) join_cluster();

  if (cfg_.metrics_enabled) {
    metrics_server_ = std::make_unique<MetricsServer>(cfg_.metrics_listen, [this] { return metrics_.render(); });
  }
  schedule_retention();
  cleaner_ = std::make_unique<LogCleanerPool>(cfg_, topics_, &metrics_);
  cleaner_->start();

  auto adv = cfg_.advertised_address();
  spdlog::info("nocopy broker listening on {} (advertised {}), {} reactor thread{}, node id {}",
               cfg_.listen.host + ":" + std::to_string(pool_->port()), adv.to_string(), cfg_.threads,
               cfg_.threads == 1 ? "" : "s", cfg_.node_id);
  spdlog::info("fetch strategy {}, flush {}{}, segment {} bytes, retention {} ms, auto-create {} ({} partition{})",
               io::to_string(cfg_.fetch_strategy), Config::to_string(cfg_.flush),
               cfg_.flush == FlushMode::interval ? " every " + std::to_string(cfg_.flush_interval_ms) + " ms" : "",
               cfg_.segment_bytes, cfg_.retention_ms, cfg_.auto_create_topics ? "on" : "off", cfg_.default_partitions,
               cfg_.default_partitions == 1 ? "" : "s");
  log_listeners();
  if (metrics_server_)
    spdlog::info("metrics on http://{}:{}/metrics", cfg_.metrics_listen.host, metrics_server_->port());
}

void Broker::join_cluster() {
  cluster::ClusterOptions o;
  o.endpoints = cluster::EtcdClient::parse_endpoints(cfg_.cluster);
  auto adv = cfg_.advertised_address();
  o.self = {cfg_.node_id, adv.host, adv.port, cfg_.rack, {}};
  for (std::size_t i = 0; i < cfg_.security.listeners.size(); ++i) {
    const auto a = cfg_.advertised_for_listener(i);
    o.self.listeners[security::to_string(cfg_.security.listeners[i].protocol)] = {a.host, a.port};
  }
  o.session_timeout = std::chrono::milliseconds(cfg_.session_timeout_ms);
  o.default_replication_factor = cfg_.default_replication_factor;
  o.unclean_leader_election = cfg_.unclean_leader_election;
  cluster_ = std::make_unique<cluster::ClusterNode>(o, member_.get(), member_.get());
  start_replication();
  start_cluster_groups();
  cluster_->start();
  handler_.set_cluster(cluster_.get(), member_.get());
  spdlog::info("cluster mode: etcd {}, node id {}, advertised {}", cfg_.cluster, cfg_.node_id, adv.to_string());
}

// The replication layer, fed by ClusterMember, proposing ISR changes to the
// cluster node. Hooks: a moved high watermark wakes the partition's long
// polls; a new leader relearns its idempotent producers from the log.
void Broker::start_replication() {
  replication::ReplicaOptions ro;
  ro.node_id = cfg_.node_id;
  if (const auto& sec = cfg_.security; !sec.inter_broker_listener_name.empty()) {
    ro.inter_broker.listener = sec.inter_broker_listener_name;
    if (sec.inter_broker_listener_name == "SASL_PLAINTEXT")
      ro.inter_broker = {sec.inter_broker_listener_name, sec.inter_broker_sasl_mechanism,
                         sec.inter_broker_sasl_username, sec.inter_broker_sasl_password};
  }
  ro.replica_lag_time_max_ms = cfg_.replica_lag_time_max_ms;
  ro.session_current = [node = cluster_.get()] { return node->session_current(); };
  ro.fence_after_ms = cfg_.session_timeout_ms;
  replication::ReplicaHooks hooks;
  hooks.high_watermark_moved = [this](const std::string& t, std::int32_t p) {
    if (auto part = topics_.find(t, p)) part->notify_high_watermark();
  };
  hooks.became_leader = [this](const std::string& t, std::int32_t p) {
    if (auto part = topics_.find(t, p)) part->relearn_producers();
  };
  hooks.replicated_appender = [this](const std::string& t, std::int32_t p) -> replication::ReplicaHooks::AppendReplicated {
    auto part = topics_.find(t, p);
    if (!part) return nullptr;
    return [part](std::span<std::byte> batches) { return part->append_replicated(batches); };
  };
  hooks.truncated = [this](const std::string& t, std::int32_t p) {
    if (auto part = topics_.find(t, p)) part->on_truncated();
  };
  hooks.topic_id = [this](const std::string& t) {
    auto topic = topics_.find(t);
    return topic ? topic->topic_id : kafka::Uuid{};
  };
  auto logs = [this](const std::string& t, std::int32_t p) {
    auto part = topics_.find(t, p);
    if (!part) return replication::LogHandle{};
    log::PartitionLog* log = &part->log();
    return replication::LogHandle{std::move(part), log};
  };
  replicas_ = std::make_unique<replication::ReplicaManager>(ro, *cluster_, logs, hooks);
  member_->set_replicas(replicas_.get());
  handler_.set_replicas(replicas_.get());
}

// Cluster mode: the group coordinator serves the __consumer_offsets
// partitions this broker leads (GroupsService), told by ClusterMember after
// the replication layer; the topic is created through etcd on first use.
void Broker::start_cluster_groups() {
  GroupsService::ClusterHooks gh;
  gh.replicas = replicas_.get();
  gh.offsets_partitions = [this]() -> std::int32_t {
    auto snap = cluster_->snapshot();
    if (!snap) return 0;
    auto it = snap->topics.find(kOffsetsTopic);
    return it == snap->topics.end() ? 0 : it->second.partition_count;
  };
  gh.create_offsets_topic = [this] {
    auto snap = cluster_->snapshot();
    if (snap && snap->topics.contains(kOffsetsTopic)) return true;
    const auto live = static_cast<std::int32_t>(snap ? snap->brokers.size() : 0);
    const std::int32_t rf =
        cfg_.offsets_topic_replication_factor > 0 ? cfg_.offsets_topic_replication_factor : std::min(3, live);
    if (rf <= 0) return false;
    const std::map<std::string, std::string> configs{{"cleanup.policy", "compact"},
                                                     {"segment.bytes", std::to_string(cfg_.offsets_segment_bytes)}};
    auto r = cluster_->create_topic(kOffsetsTopic, cfg_.offsets_topic_num_partitions, rf, {}, configs, false);
    if (r.error_code == 0) {
      spdlog::info("groups: created {} ({} partitions, replication factor {})", kOffsetsTopic,
                   cfg_.offsets_topic_num_partitions, rf);
      return true;
    }
    if (r.error_code == kafka::to_wire(kafka::ErrorCode::topic_already_exists)) return true;
    spdlog::warn("groups: creating {} with replication factor {}: error {} {}", kOffsetsTopic, rf, r.error_code,
                 r.message);
    return false;
  };
  groups_->set_cluster(std::move(gh));
  start_cluster_txn();
  member_->set_leadership_listener([this](const std::string& topic, std::int32_t p, bool leads, std::int32_t epoch) {
    if (topic == kOffsetsTopic) groups_->leadership(p, leads, epoch);
    if (topic == kTxnStateTopic) txn_->leadership(p, leads, epoch);
  });
}

// Cluster mode: the transaction coordinator serves the __transaction_state
// partitions this broker leads (TxnService); the topic is created through
// etcd on first use, with Kafka's transaction.state.log.min.isr (2) capped
// by its replication factor; markers go to the partitions' leaders.
void Broker::start_cluster_txn() {
  TxnService::ClusterHooks th;
  th.replicas = replicas_.get();
  th.state_partitions = [this]() -> std::int32_t {
    auto snap = cluster_->snapshot();
    if (!snap) return 0;
    auto it = snap->topics.find(kTxnStateTopic);
    return it == snap->topics.end() ? 0 : it->second.partition_count;
  };
  th.create_state_topic = [this] {
    auto snap = cluster_->snapshot();
    if (snap && snap->topics.contains(kTxnStateTopic)) return true;
    const auto live = static_cast<std::int32_t>(snap ? snap->brokers.size() : 0);
    const std::int32_t rf =
        cfg_.txn_state_replication_factor > 0 ? cfg_.txn_state_replication_factor : std::min(3, live);
    if (rf <= 0) return false;
    const std::map<std::string, std::string> configs{{"cleanup.policy", "compact"},
                                                     {"segment.bytes", "104857600"},
                                                     {"min.insync.replicas", std::to_string(std::min(2, rf))}};
    auto r = cluster_->create_topic(kTxnStateTopic, cfg_.txn_state_num_partitions, rf, {}, configs, false);
    if (r.error_code == 0) {
      spdlog::info("transactions: created {} ({} partitions, replication factor {})", kTxnStateTopic,
                   cfg_.txn_state_num_partitions, rf);
      return true;
    }
    if (r.error_code == kafka::to_wire(kafka::ErrorCode::topic_already_exists)) return true;
    spdlog::warn("transactions: creating {} with replication factor {}: error {} {}", kTxnStateTopic, rf,
                 r.error_code, r.message);
    return false;
  };
  th.leader_of = [this](const std::string& topic,
                        std::int32_t p) -> std::optional<replication::BrokerEndpoint> {
    auto snap = cluster_->snapshot();
    const auto* pe = snap ? snap->partition(topic, p) : nullptr;
    if (pe == nullptr) return std::nullopt;
    if (pe->state.leader < 0 || !snap->is_live(pe->state.leader)) return replication::BrokerEndpoint{};
    return snap->brokers.at(pe->state.leader);
  };
  txn_->set_cluster(std::move(th));
}

void Broker::schedule_retention() {
  retention_thread_ = std::thread([this] {
    while (!retention_stop_.load()) {
      for (int i = 0; i < 300 && !retention_stop_.load(); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (retention_stop_.load()) break;
      for (auto& p : topics_.all_partitions()) {
        try {
          p->enforce_retention(topics_.config_of(p->topic())->deletes());
        } catch (const std::exception& e) {
          spdlog::warn("retention {}-{}: {}", p->topic(), p->index(), e.what());
        }
      }
    }
  });
}

void Broker::run_until_signal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  int sig = 0;
  for (;;) {
    if (sigwait(&set, &sig) != 0) continue;
    if (sig != SIGHUP) break;
    try {
      reload_tls();
    } catch (const std::exception& e) {
      spdlog::error("SIGHUP: TLS reload failed, keeping the old certificate: {}", e.what());
    }
  }
  spdlog::info("received {}, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  shutdown();
}

namespace {
constexpr std::size_t kShutdownCloseThreads = 16;
}  // namespace

void Broker::shutdown() {
  if (shut_.exchange(true)) return;
  auto t0 = std::chrono::steady_clock::now();
  handler_.set_draining();
  // Leave the cluster first so that the controller moves leadership away
  // while this broker finishes what is in flight.
  if (cluster_) cluster_->stop();
  // Then the fetchers stop and parked acks=all answers are released.
  if (replicas_) replicas_->stop();
  if (pool_) pool_->stop(std::chrono::milliseconds(5000));
  retention_stop_ = true;
  if (retention_thread_.joinable()) retention_thread_.join();
  if (cleaner_) cleaner_->stop();
  admin_.stop();
  if (txn_) txn_->stop();
  if (groups_) groups_->stop();
  // Each close syncs its files (data, indexes, recovery point, clean
  // marker): several fsyncs per partition. Closing partitions one after the
  // other made a 1,000-partition broker take about a minute to stop; a few
  // threads let the filesystem overlap those syncs.
  const auto parts = topics_.all_partitions();
  std::atomic<std::size_t> next{0};
  std::atomic<std::size_t> n{0};
  auto closer = [&] {
    for (std::size_t i = next++; i < parts.size(); i = next++) {
      const auto& p = parts[i];
      try {
        p->flush();
        p->close();
        ++n;
      } catch (const std::exception& e) {
        spdlog::error("closing {}-{}: {}", p->topic(), p->index(), e.what());
      }
    }
  };
  {
    std::vector<std::jthread> closers;
    const std::size_t k = std::min<std::size_t>(kShutdownCloseThreads, parts.size());
    for (std::size_t t = 1; t < k; ++t) closers.emplace_back(closer);
    closer();
  }
  if (metrics_server_) metrics_server_->stop();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  spdlog::info("shutdown complete: {} partition{} flushed and closed in {} ms", n.load(), n == 1 ? "" : "s", ms);
}

}  // namespace nocopy::broker
