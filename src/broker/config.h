// Broker configuration: defaults, a TOML file, then command-line flags (each
// later source overrides the earlier one).
//
// Errors (unreadable file, unknown strategy, bad address) throw
// std::invalid_argument / std::runtime_error with a message naming the key.
#pragma once

#include <cstdint>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "io/strategy.h"
#include "security/listener_spec.h"
#include "security/security_config.h"

namespace nocopy::broker {

// "host:port"; port 0 = any free port (the bound one is logged).
struct HostPort {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;

  static HostPort parse(const std::string& text);  // throws std::invalid_argument
  std::string to_string() const;
};

enum class FlushMode {
  never,     // no application fsync (Kafka's default: the page cache and replication)
  interval,  // a background flusher syncs every flush_interval_ms (group commit)
  every,     // every produce batch is synced before acks=-1 / acks=1 answers
};

struct Config {
  HostPort listen{"127.0.0.1", 9092};
  HostPort advertised{"", 0};       // empty host / port 0: same as listen
  HostPort metrics_listen{"127.0.0.1", 9094};
  bool metrics_enabled = true;
  std::filesystem::path data_dir = "./data";
  unsigned threads = 0;             // 0: one reactor per core
  std::int32_t node_id = 0;

  std::uint64_t segment_bytes = 1ull << 30;
  std::int64_t retention_ms = 7LL * 24 * 3600 * 1000;  // -1: keep forever
  std::int64_t retention_bytes = -1;
  FlushMode flush = FlushMode::never;
  std::uint32_t flush_interval_ms = 5;
  // flush every: the log's commit delay (log::FlushPolicy::group_commit_delay_us); 0 = off.
  std::uint32_t group_commit_delay_us = 500;
  // Bytes reserved past the end of each partition's active segment
  // (log::LogConfig::preallocate_bytes; 0 = off, at most 1 GiB).
  std::uint32_t preallocate_bytes = 1 << 20;
  // Cluster mode: a follower's write-behind and drop-behind chunk
  // (log::LogConfig::replica_drop_behind_bytes; 0 = off, at most 1 GiB).
  std::uint32_t replica_drop_behind_bytes = 8 << 20;
  // Offset lookups (where a fetch starts) read batch headers through a
  // mapping of the segment instead of pread (log::LogConfig::map_for_reads).
  // Off by default: a fault on a mapping of page-cache pages maps the whole
  // large folio around it, so a consumer reading a log through mapped lookups
  // leaves the broker's RSS the size of what it read.
  bool lookup_mmap = false;

  bool auto_create_topics = true;
  std::int32_t default_partitions = 1;
  std::int32_t max_message_bytes = 1048588;  // Kafka's message.max.bytes default
  std::uint32_t max_request_bytes = 100 << 20;
  io::Strategy fetch_strategy = io::Strategy::sendfile;

  std::uint32_t idle_timeout_ms = 600000;       // connections.max.idle.ms
  std::uint32_t group_initial_rebalance_delay_ms = 3000;
  // producer.id.expiration.ms: idempotent-producer state idle this long is
  // forgotten at the next retention pass (-1: never).
  std::int64_t producer_id_expiration_ms = 86400000;
  // log.message.timestamp.before.max.ms / after.max.ms: a produced record
  // whose timestamp lies further than this before / after the broker's
  // clock is INVALID_TIMESTAMP (Kafka 4's defaults: no bound / one hour).
  std::int64_t message_timestamp_before_max_ms = std::numeric_limits<std::int64_t>::max();
  std::int64_t message_timestamp_after_max_ms = 3600000;
  // log.message.timestamp.type: CreateTime (the producer's timestamps, checked
  // against the two bounds above) or LogAppendTime (the log stamps each
  // batch's maxTimestamp with its append time; the bounds do not apply).
  std::string message_timestamp_type = "CreateTime";
  bool log_append_time() const { return message_timestamp_type == "LogAppendTime"; }
  // Why `type` is not a valid message.timestamp.type (Kafka's two names,
  // case-sensitive), or nullopt.
  static std::optional<std::string> check_timestamp_type(std::string_view type);

  // Log compaction (Kafka's names in comments; topics override the first
  // five with cleanup.policy, delete.retention.ms, min.compaction.lag.ms,
  // max.compaction.lag.ms, min.cleanable.dirty.ratio).
  std::string cleanup_policy = "delete";           // log.cleanup.policy: delete | compact | compact,delete
  std::int64_t delete_retention_ms = 86400000;     // log.cleaner.delete.retention.ms: tombstones kept this long
  std::int64_t min_compaction_lag_ms = 0;          // log.cleaner.min.compaction.lag.ms
  std::int64_t max_compaction_lag_ms = std::numeric_limits<std::int64_t>::max();  // log.cleaner.max.compaction.lag.ms
  double min_cleanable_dirty_ratio = 0.5;          // log.cleaner.min.cleanable.ratio
  std::uint32_t cleaner_threads = 1;               // log.cleaner.threads (0: no cleaning)
  // log.cleaner.io.max.bytes.per.second: the cleaners' content reads,
  // shared between the threads (<= 0 or the maximum double: unlimited).
  double cleaner_io_max_bytes_per_second = std::numeric_limits<double>::max();
  std::int64_t cleaner_backoff_ms = 15000;         // log.cleaner.backoff.ms: idle cleaner's sleep
  // log.cleaner.dedupe.buffer.size: the cleaners' offset maps, all threads
  // together (each key accounted as its bytes + 64).
  std::uint64_t cleaner_dedupe_buffer_size = 128ull << 20;
  // offsets.topic.segment.bytes: segment.bytes of __consumer_offsets when it is created.
  std::uint64_t offsets_segment_bytes = 100ull << 20;

  // cleanup.policy lists compact / delete.
  static bool policy_compacts(std::string_view policy);
  static bool policy_deletes(std::string_view policy);
  // Why `policy` is not a valid cleanup.policy, or nullopt.
  static std::optional<std::string> check_policy(std::string_view policy);
  bool compacts() const { return policy_compacts(cleanup_policy); }
  bool deletes() const { return policy_deletes(cleanup_policy); }
  // Throws std::invalid_argument naming the first out-of-range cleaner setting.
  void check_cleaner() const;
  // Cluster mode (empty `cluster`: single node, no etcd). "etcd://HOST:PORT[,HOST:PORT...]".
  std::string cluster;
  std::string rack;                                  // advertised in Metadata; empty: none
  std::int32_t default_replication_factor = 1;       // topics created without one
  bool unclean_leader_election = false;              // elect a replica outside the ISR when none is live
  // etcd lease of the broker's registration: a crashed broker's partitions
  // move 2/3 to 1 lease after the crash (docs/architecture-cluster.md).
  std::uint32_t session_timeout_ms = 3000;
  // acks=all needs an ISR of at least this many replicas (min.insync.replicas;
  // a topic may override it), and a follower that has not caught up for
  // replica_lag_time_max_ms leaves the ISR (replica.lag.time.max.ms).
  std::int32_t min_insync_replicas = 1;
  std::int64_t replica_lag_time_max_ms = 30000;
  // Cluster mode: __consumer_offsets, created through etcd when a client
  // first looks a group up (offsets.topic.num.partitions, 1..1000;
  // offsets.topic.replication.factor, 0: min(3, live brokers) at creation).
  // 16 partitions spread the groups over up to 16 coordinators while each
  // broker holds only 16 more logs and fetch entries (Kafka's 50 is sized
  // for larger clusters); the count is fixed once the topic exists.
  std::int32_t offsets_topic_num_partitions = 16;
  std::int32_t offsets_topic_replication_factor = 0;
  // Cluster mode: __transaction_state, created through etcd when a client
  // first looks a transactional id up (transaction.state.log.num.partitions,
  // 1..1000; transaction.state.log.replication.factor, 0: min(3, live
  // brokers) at creation). Its min.insync.replicas is Kafka's
  // transaction.state.log.min.isr default, 2, capped by the replication
  // factor. 16 partitions, as for __consumer_offsets: up to 16 coordinators
  // while each broker holds only 16 more logs (Kafka's 50 suits larger
  // clusters); fixed once the topic exists.
  std::int32_t txn_state_num_partitions = 16;
  std::int32_t txn_state_replication_factor = 0;
  // The `transaction.version` feature level this broker finalizes in
  // ApiVersions (0..2; Kafka 4.x's default 2). At 2, Java 4.x producers use
  // transaction version 2 (EndTxn v5 bumping the epoch, partitions added by
  // Produce v12+ and TxnOffsetCommit v5); 0 and 1 advertise EndTxn and
  // TxnOffsetCommit only to v4, so clients add partitions themselves.
  std::int16_t transaction_version = 2;
  bool cluster_mode() const { return !cluster.empty(); }

  // Listeners, TLS, SASL, connection limits (security/security_config.h).
  // No `listeners`: one PLAINTEXT listener on `listen`, as without security.
  security::SecurityConfig security;

  // Applies a TOML file's keys (same names as the fields, e.g.
  // `listen = "127.0.0.1:9092"`, `fetch_strategy = "splice"`).
  void load_toml(const std::filesystem::path& file);

  HostPort advertised_address() const;
  // The listeners to bind: security.listeners, or one PLAINTEXT listener on
  // `listen` when none are configured.
  std::vector<security::ListenerSpec> effective_listeners() const;
  // What Metadata / FindCoordinator tell a client connected through
  // listener `index` of effective_listeners(): its advertised_listeners
  // entry, else its own address; without `listeners`, advertised_address().
  HostPort advertised_for_listener(std::size_t index) const;
  static const char* to_string(FlushMode m);
  static FlushMode parse_flush(const std::string& s);  // throws std::invalid_argument
};

}  // namespace nocopy::broker
