// `nocopy broker`: the Kafka-wire-compatible broker (src/broker).
#include <spdlog/spdlog.h>

#include <limits>
#include <memory>
#include <stdexcept>

#include "app/broker_security_flags.h"
#include "app/commands.h"
#include "broker/broker.h"
#include "broker/config.h"

namespace nocopy::app {

namespace {
struct BrokerFlags {
  std::string config_file;
  std::string listen, advertised, metrics_listen, data_dir, flush, strategy;
  unsigned threads = 0;
  bool threads_set = false;
  std::int64_t segment_bytes = -1, retention_ms = -2, retention_bytes = -2;
  std::int64_t flush_interval_ms = -1;
  std::int64_t group_commit_delay_us = -1;
  std::int64_t preallocate_bytes = -1;
  std::int64_t replica_drop_behind_bytes = -1;
  std::string auto_create;
  bool lookup_mmap = false;
  std::int32_t default_partitions = -1, max_message_bytes = -1, node_id = -1;
  std::int64_t rebalance_delay_ms = -1;
  std::int64_t producer_id_expiration_ms = -2;
  std::string cleanup_policy;
  std::int64_t delete_retention_ms = -1, min_compaction_lag_ms = -1, max_compaction_lag_ms = -1;
  std::int64_t cleaner_threads = -1, cleaner_backoff_ms = -1, offsets_segment_bytes = -1, cleaner_dedupe_bytes = -1;
  double min_cleanable_dirty_ratio = -1, cleaner_io_max_bytes_per_second = -1;
  bool no_metrics = false;
  std::string cluster, rack, unclean;
  std::int32_t default_replication_factor = -1;
  std::int64_t session_timeout_ms = -1;
  std::int32_t min_insync_replicas = -1;
  std::int64_t replica_lag_time_max_ms = -1;
  std::int32_t offsets_topic_num_partitions = -1, offsets_topic_replication_factor = -1;
  std::int32_t txn_state_num_partitions = -1, txn_state_replication_factor = -1;
  std::int32_t transaction_version = -1;
  std::string log_level = "info";
  SecurityFlags security;
};

// true|1 (and on when `on_off`) or false|0 (off); anything else is an error
// naming the flag.
bool parse_bool(const char* flag, const std::string& v, bool on_off) {
  if (v == "true" || v == "1" || (on_off && v == "on")) return true;
  if (v == "false" || v == "0" || (on_off && v == "off")) return false;
  throw std::invalid_argument(std::string(flag) + ": expected true or false");
}

// Where the broker listens, stores and identifies itself.
void add_server_options(CLI::App* cmd, const std::shared_ptr<BrokerFlags>& f) {
  cmd->add_option("-c,--config", f->config_file, "TOML config file (keys as the long flags, with _)");
  cmd->add_option("--listen", f->listen, "host:port to listen on [127.0.0.1:9092]");
  cmd->add_option("--advertised", f->advertised, "host:port clients are told to connect to [= listen]");
  cmd->add_option("--metrics-listen", f->metrics_listen, "host:port of GET /metrics [127.0.0.1:9094]; port 0 = free");
  cmd->add_flag("--no-metrics", f->no_metrics, "do not serve /metrics");
  cmd->add_option("--data-dir", f->data_dir, "data directory [./data]");
  cmd->add_option("--threads", f->threads, "reactor threads [one per core]")->each([f](const std::string&) {
    f->threads_set = true;
  });
  cmd->add_option("--node-id", f->node_id, "broker id [0]");
}

// Segments, retention, flushing and preallocation of every partition's log.
void add_log_options(CLI::App* cmd, const std::shared_ptr<BrokerFlags>& f) {
  cmd->add_option("--segment-bytes", f->segment_bytes, "segment size [1 GiB]");
  cmd->add_option("--retention-ms", f->retention_ms, "retention by age, -1 = forever [7 days]");
  cmd->add_option("--retention-bytes", f->retention_bytes, "retention by size per partition, -1 = unlimited");
  cmd->add_option("--flush", f->flush, "flush policy: never | interval | every [never]");
  cmd->add_option("--flush-interval-ms", f->flush_interval_ms, "interval policy: ms between group commits [5]");
  cmd->add_option("--group-commit-delay-us", f->group_commit_delay_us,
                  "every policy: how long a sync may wait for the producers the last one released; "
                  "never longer than four times that sync took; 0 = off [500]")
      ->check(CLI::Range(0, 1'000'000));
  cmd->add_option("--preallocate-bytes", f->preallocate_bytes,
                  "bytes reserved (fallocate) past the end of each partition's active segment, so appends "
                  "do not allocate page by page; 0 = off [1048576]")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{1} << 30));
  cmd->add_option("--replica-drop-behind-bytes", f->replica_drop_behind_bytes,
                  "cluster mode: a follower's log writes back and drops from the page cache what it "
                  "appended, in chunks of this many bytes; 0 = off [8388608]")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{1} << 30));
  cmd->add_flag("--lookup-mmap", f->lookup_mmap,
               "offset lookups read batch headers through a mapping of the segment instead of pread "
               "(faster lookups; the mapped pages count in the broker's RSS)");
}

// Topic and group defaults and the fetch transfer.
void add_default_options(CLI::App* cmd, const std::shared_ptr<BrokerFlags>& f) {
  cmd->add_option("--auto-create-topics", f->auto_create, "true|false [true]");
  cmd->add_option("--default-partitions", f->default_partitions, "partitions of auto-created topics [1]");
  cmd->add_option("--max-message-bytes", f->max_message_bytes, "largest record batch accepted [1048588]");
  cmd->add_option("--fetch-strategy", f->strategy,
                  "fetch transfer: sendfile | splice | mmap_write | read_write | uring_splice | uring_send_zc | "
                  "msg_zerocopy [sendfile]");
  cmd->add_option("--group-initial-rebalance-delay-ms", f->rebalance_delay_ms,
                  "wait for more members before the first rebalance of a group [3000]");
  cmd->add_option("--producer-id-expiration-ms", f->producer_id_expiration_ms,
                  "forget idempotent-producer state idle this long, -1 = never [86400000]")
      ->check(CLI::Range(std::int64_t{-1}, std::numeric_limits<std::int64_t>::max()));
}

// Compacted topics and the log cleaner.
void add_compaction_options(CLI::App* cmd, const std::shared_ptr<BrokerFlags>& f) {
  cmd->add_option("--cleanup-policy", f->cleanup_policy,
                  "default cleanup.policy of topics: delete | compact | compact,delete [delete]");
  cmd->add_option("--delete-retention-ms", f->delete_retention_ms,
                  "compacted topics keep tombstones this long [86400000]")
      ->check(CLI::Range(std::int64_t{0}, std::numeric_limits<std::int64_t>::max()));
  cmd->add_option("--min-compaction-lag-ms", f->min_compaction_lag_ms,
                  "records younger than this are not compacted [0]")
      ->check(CLI::Range(std::int64_t{0}, std::numeric_limits<std::int64_t>::max()));
  cmd->add_option("--max-compaction-lag-ms", f->max_compaction_lag_ms,
                  "a dirty segment older than this is compacted whatever the dirty ratio [forever]")
      ->check(CLI::Range(std::int64_t{1}, std::numeric_limits<std::int64_t>::max()));
  cmd->add_option("--min-cleanable-dirty-ratio", f->min_cleanable_dirty_ratio,
                  "dirty share of a log's cleanable bytes at which it is compacted [0.5]")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--log-cleaner-threads", f->cleaner_threads, "log cleaner threads, 0 = no compaction [1]")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{64}));
  cmd->add_option("--log-cleaner-io-max-bytes-per-second", f->cleaner_io_max_bytes_per_second,
                  "cap on the cleaners' reads, all threads together [unlimited]");
  cmd->add_option("--log-cleaner-dedupe-buffer-size", f->cleaner_dedupe_bytes,
                  "memory for the cleaners' key -> offset maps, all threads together; a dirty section with more "
                  "keys is cleaned over several passes [134217728]")
      ->check(CLI::Range(std::int64_t{4096}, std::numeric_limits<std::int64_t>::max()));
  cmd->add_option("--log-cleaner-backoff-ms", f->cleaner_backoff_ms,
                  "how long an idle cleaner sleeps before looking for dirty logs again [15000]")
      ->check(CLI::Range(std::int64_t{1}, std::numeric_limits<std::int64_t>::max()));
}

// Cluster mode (etcd).
void add_cluster_options(CLI::App* cmd, const std::shared_ptr<BrokerFlags>& f) {
  cmd->add_option("--cluster", f->cluster,
                  "cluster mode: etcd://HOST:PORT[,HOST:PORT...] (membership, controller and partition state in "
                  "etcd); unset: single node");
  cmd->add_option("--rack", f->rack, "rack id advertised in Metadata [none]");
  cmd->add_option("--default-replication-factor", f->default_replication_factor,
                  "replication factor of topics created without one (cluster mode) [1]")
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--unclean-leader-election", f->unclean,
                  "true|false: elect a replica outside the ISR when no ISR member is live [false]");
  cmd->add_option("--session-timeout-ms", f->session_timeout_ms,
                  "cluster mode: a broker silent this long leaves the cluster (etcd lease) [3000]")
      ->check(CLI::Range(std::int64_t{2000}, std::int64_t{600000}));
  cmd->add_option("--min-insync-replicas", f->min_insync_replicas,
                  "cluster mode: in-sync replicas an acks=all produce needs (a topic may override it) [1]")
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--replica-lag-time-max-ms", f->replica_lag_time_max_ms,
                  "cluster mode: a follower not caught up for this long leaves the ISR [30000]")
      ->check(CLI::Range(std::int64_t{100}, std::int64_t{3600000}));
  cmd->add_option("--offsets-topic-num-partitions", f->offsets_topic_num_partitions,
                  "cluster mode: partitions of __consumer_offsets when it is created; a group is coordinated by "
                  "the leader of partition abs(hash(group id)) % N. 16 spreads groups over up to 16 "
                  "coordinators while each broker holds only 16 more logs (Kafka's 50 suits larger clusters); "
                  "fixed once created [16]")
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--offsets-topic-replication-factor", f->offsets_topic_replication_factor,
                  "cluster mode: replication factor of __consumer_offsets when it is created; 0: min(3, live "
                  "brokers) [0]")
      ->check(CLI::Range(0, 32767));
  cmd->add_option("--transaction-state-log-num-partitions", f->txn_state_num_partitions,
                  "cluster mode: partitions of __transaction_state when it is created; a transactional id is "
                  "coordinated by the leader of partition abs(hash(id)) % N; fixed once created [16]")
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--transaction-state-log-replication-factor", f->txn_state_replication_factor,
                  "cluster mode: replication factor of __transaction_state when it is created; 0: min(3, live "
                  "brokers); its min.insync.replicas is min(2, this) [0]")
      ->check(CLI::Range(0, 32767));
  cmd->add_option("--transaction-version", f->transaction_version,
                  "the transaction.version feature level finalized in ApiVersions: 2 lets Java 4.x producers "
                  "use transaction version 2 (an epoch bump per transaction, partitions added by the broker); "
                  "0 and 1 keep clients adding partitions themselves [2]")
      ->check(CLI::Range(0, 2));
}

// The flags given, over the config file's values (loaded here first).
void apply_server_flags(const BrokerFlags& f, broker::Config& cfg) {
  if (!f.config_file.empty()) cfg.load_toml(f.config_file);
  if (!f.listen.empty()) cfg.listen = broker::HostPort::parse(f.listen);
  if (!f.advertised.empty()) cfg.advertised = broker::HostPort::parse(f.advertised);
  if (!f.metrics_listen.empty()) cfg.metrics_listen = broker::HostPort::parse(f.metrics_listen);
  if (f.no_metrics) cfg.metrics_enabled = false;
  if (!f.data_dir.empty()) cfg.data_dir = f.data_dir;
  if (f.threads_set) cfg.threads = f.threads;
  if (f.node_id >= 0) cfg.node_id = f.node_id;
}

void apply_log_flags(const BrokerFlags& f, broker::Config& cfg) {
  if (f.segment_bytes > 0) cfg.segment_bytes = static_cast<std::uint64_t>(f.segment_bytes);
  if (f.retention_ms >= -1) cfg.retention_ms = f.retention_ms;
  if (f.retention_bytes >= -1) cfg.retention_bytes = f.retention_bytes;
  if (!f.flush.empty()) cfg.flush = broker::Config::parse_flush(f.flush);
  if (f.flush_interval_ms > 0) cfg.flush_interval_ms = static_cast<std::uint32_t>(f.flush_interval_ms);
  if (f.group_commit_delay_us >= 0) cfg.group_commit_delay_us = static_cast<std::uint32_t>(f.group_commit_delay_us);
  if (f.preallocate_bytes >= 0) cfg.preallocate_bytes = static_cast<std::uint32_t>(f.preallocate_bytes);
  if (f.replica_drop_behind_bytes >= 0)
    cfg.replica_drop_behind_bytes = static_cast<std::uint32_t>(f.replica_drop_behind_bytes);
  if (f.lookup_mmap) cfg.lookup_mmap = true;
}

void apply_default_flags(const BrokerFlags& f, broker::Config& cfg) {
  if (!f.auto_create.empty())
    cfg.auto_create_topics = parse_bool("--auto-create-topics", f.auto_create, /*on_off=*/true);
  if (f.rebalance_delay_ms >= 0)
    cfg.group_initial_rebalance_delay_ms = static_cast<std::uint32_t>(f.rebalance_delay_ms);
  if (f.producer_id_expiration_ms >= -1) cfg.producer_id_expiration_ms = f.producer_id_expiration_ms;
  if (f.default_partitions > 0) cfg.default_partitions = f.default_partitions;
  if (f.max_message_bytes > 0) cfg.max_message_bytes = f.max_message_bytes;
  if (!f.strategy.empty()) {
    auto s = io::parse_strategy(f.strategy);
    if (!s) throw std::invalid_argument("--fetch-strategy: unknown strategy '" + f.strategy + "'");
    cfg.fetch_strategy = *s;
  }
}

void apply_compaction_flags(const BrokerFlags& f, broker::Config& cfg) {
  if (!f.cleanup_policy.empty()) cfg.cleanup_policy = f.cleanup_policy;
  if (f.delete_retention_ms >= 0) cfg.delete_retention_ms = f.delete_retention_ms;
  if (f.min_compaction_lag_ms >= 0) cfg.min_compaction_lag_ms = f.min_compaction_lag_ms;
  if (f.max_compaction_lag_ms >= 1) cfg.max_compaction_lag_ms = f.max_compaction_lag_ms;
  if (f.min_cleanable_dirty_ratio >= 0) cfg.min_cleanable_dirty_ratio = f.min_cleanable_dirty_ratio;
  if (f.cleaner_threads >= 0) cfg.cleaner_threads = static_cast<std::uint32_t>(f.cleaner_threads);
  if (f.cleaner_backoff_ms >= 1) cfg.cleaner_backoff_ms = f.cleaner_backoff_ms;
  if (f.cleaner_dedupe_bytes > 0) cfg.cleaner_dedupe_buffer_size = static_cast<std::uint64_t>(f.cleaner_dedupe_bytes);
  if (f.cleaner_io_max_bytes_per_second >= 0) cfg.cleaner_io_max_bytes_per_second = f.cleaner_io_max_bytes_per_second;
  if (f.offsets_segment_bytes > 0) cfg.offsets_segment_bytes = static_cast<std::uint64_t>(f.offsets_segment_bytes);
  cfg.check_cleaner();
}

void apply_cluster_flags(const BrokerFlags& f, broker::Config& cfg) {
  if (!f.cluster.empty()) cfg.cluster = f.cluster;
  if (!f.rack.empty()) cfg.rack = f.rack;
  if (f.default_replication_factor > 0) cfg.default_replication_factor = f.default_replication_factor;
  if (f.session_timeout_ms > 0) cfg.session_timeout_ms = static_cast<std::uint32_t>(f.session_timeout_ms);
  if (f.min_insync_replicas > 0) cfg.min_insync_replicas = f.min_insync_replicas;
  if (f.replica_lag_time_max_ms > 0) cfg.replica_lag_time_max_ms = f.replica_lag_time_max_ms;
  if (f.offsets_topic_num_partitions > 0) cfg.offsets_topic_num_partitions = f.offsets_topic_num_partitions;
  if (f.offsets_topic_replication_factor >= 0)
    cfg.offsets_topic_replication_factor = f.offsets_topic_replication_factor;
  if (f.txn_state_num_partitions > 0) cfg.txn_state_num_partitions = f.txn_state_num_partitions;
  if (f.txn_state_replication_factor >= 0) cfg.txn_state_replication_factor = f.txn_state_replication_factor;
  if (f.transaction_version >= 0) cfg.transaction_version = static_cast<std::int16_t>(f.transaction_version);
  if (!f.unclean.empty())
    cfg.unclean_leader_election = parse_bool("--unclean-leader-election", f.unclean, /*on_off=*/false);
}

}  // namespace

void add_broker_command(CLI::App& app) {
  auto f = std::make_shared<BrokerFlags>();
  auto* cmd = app.add_subcommand("broker", "Kafka-wire-compatible broker (zero-copy fetch path)");
  add_server_options(cmd, f);
  add_log_options(cmd, f);
  add_default_options(cmd, f);
  add_compaction_options(cmd, f);
  add_cluster_options(cmd, f);
  cmd->add_option("--offsets-topic-segment-bytes", f->offsets_segment_bytes,
                  "segment.bytes of __consumer_offsets when it is created [104857600]")
      ->check(CLI::Range(std::int64_t{1024}, std::int64_t{2147483647}));
  f->security.add_to(*cmd);
  cmd->add_option("--log-level", f->log_level, "trace|debug|info|warn|error [info]");

  cmd->callback([f] {
    spdlog::set_level(spdlog::level::from_str(f->log_level));
    broker::Config cfg;
    try {
      apply_server_flags(*f, cfg);
      apply_log_flags(*f, cfg);
      apply_default_flags(*f, cfg);
      apply_compaction_flags(*f, cfg);
      apply_cluster_flags(*f, cfg);
      f->security.apply(cfg);
    } catch (const std::exception& e) {
      spdlog::error("nocopy broker: {}", e.what());
      throw CLI::RuntimeError(2);
    }
    broker::Broker::block_signals();
    try {
      broker::Broker b(std::move(cfg));
      b.start();
      b.run_until_signal();
    } catch (const std::exception& e) {
      spdlog::error("nocopy broker: {}", e.what());
      throw CLI::RuntimeError(1);
    }
  });
}

}  // namespace nocopy::app
