#include "broker/config_describer.h"

#include <algorithm>
#include <charconv>
#include <limits>
#include <thread>

#include "kafka/error_code.h"
#include "kafka/topic_name.h"

namespace nocopy::broker {

namespace {

using kafka::ConfigSource;
using kafka::ConfigType;
using kafka::ErrorCode;

constexpr auto kLongMax = std::numeric_limits<std::int64_t>::max();

std::string num(std::int64_t v) { return std::to_string(v); }
// Shortest round-trip form ("0.5", "1.7976931348623157e+308").
std::string real(double v) {
  char buf[64];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, p) : std::to_string(v);
}

std::int8_t source_of(const ConfigDescriber::Entry& e) {
  if (e.overridden) return static_cast<std::int8_t>(ConfigSource::dynamic_topic_config);
  return static_cast<std::int8_t>(e.is_default() ? ConfigSource::default_config : ConfigSource::static_broker_config);
}

// Kafka's own defaults where nocopy's Config differs in kind (flush policy).
std::string flush_messages(const Config& c) { return c.flush == FlushMode::every ? "1" : num(kLongMax); }
std::string flush_ms(const Config& c) {
  return c.flush == FlushMode::interval ? num(c.flush_interval_ms) : num(kLongMax);
}

bool wanted(const std::optional<std::vector<std::string>>& keys, const std::string& name) {
  return !keys || std::find(keys->begin(), keys->end(), name) != keys->end();
}

}  // namespace

std::vector<ConfigDescriber::Entry> ConfigDescriber::topic_entries(const Topic& t) const {
  auto out = topic_entries();
  for (auto& e : out) {
    auto it = t.overrides.find(e.name);
    if (it == t.overrides.end()) continue;
    e.value = it->second;
    e.overridden = true;
  }
  return out;
}

std::vector<ConfigDescriber::Entry> ConfigDescriber::topic_entries() const {
  auto out = broker_topic_entries();
  for (auto& e : out) e.broker_value = e.value;
  return out;
}

std::vector<ConfigDescriber::Entry> ConfigDescriber::broker_topic_entries() const {
  const Config d;  // Kafka's defaults are nocopy's defaults
  // Values the log layer runs with that Config does not set (log::LogConfig
  // defaults): segment age 7 days, an index entry every 4 KiB, 10 MiB
  // index files, batches stored as the producer compressed them.
  return {
      {"cleanup.policy", cfg_.cleanup_policy, d.cleanup_policy, "log.cleanup.policy", ConfigType::list,
       "delete: old segments are removed by retention.ms / retention.bytes; compact: the log cleaner keeps "
       "each key's latest record; compact,delete: both"},
      {"delete.retention.ms", num(cfg_.delete_retention_ms), num(d.delete_retention_ms),
       "log.cleaner.delete.retention.ms", ConfigType::long_,
       "compacted topics: how long a tombstone (null value) stays readable"},
      {"max.compaction.lag.ms", num(cfg_.max_compaction_lag_ms), num(d.max_compaction_lag_ms),
       "log.cleaner.max.compaction.lag.ms", ConfigType::long_,
       "a sealed dirty segment whose newest record is older than this is compacted whatever the dirty ratio"},
      {"min.cleanable.dirty.ratio", real(cfg_.min_cleanable_dirty_ratio), real(d.min_cleanable_dirty_ratio),
       "log.cleaner.min.cleanable.ratio", ConfigType::double_,
       "dirty share of the cleanable bytes at which a compacted log is cleaned"},
      {"min.compaction.lag.ms", num(cfg_.min_compaction_lag_ms), num(d.min_compaction_lag_ms),
       "log.cleaner.min.compaction.lag.ms", ConfigType::long_,
       "segments with a record younger than this are not compacted"},
      {"compression.type", "producer", "producer", "compression.type", ConfigType::string,
       "batches are stored as the producer compressed them"},
      {"flush.messages", flush_messages(cfg_), flush_messages(d), "log.flush.interval.messages", ConfigType::long_,
       "records between forced fsyncs (1: every produce batch is synced)"},
      {"flush.ms", flush_ms(cfg_), flush_ms(d), "log.flush.interval.ms", ConfigType::long_,
       "milliseconds between group-commit fsyncs"},
      {"index.interval.bytes", "4096", "4096", "log.index.interval.bytes", ConfigType::int_,
       "log bytes between offset index entries"},
      {"max.message.bytes", num(cfg_.max_message_bytes), num(d.max_message_bytes), "message.max.bytes",
       ConfigType::int_, "largest record batch accepted"},
      {"message.timestamp.after.max.ms", num(cfg_.message_timestamp_after_max_ms),
       num(d.message_timestamp_after_max_ms), "log.message.timestamp.after.max.ms", ConfigType::long_,
       "CreateTime: a record stamped further than this after the broker's clock is INVALID_TIMESTAMP"},
      {"message.timestamp.before.max.ms", num(cfg_.message_timestamp_before_max_ms),
       num(d.message_timestamp_before_max_ms), "log.message.timestamp.before.max.ms", ConfigType::long_,
       "CreateTime: a record stamped further than this before the broker's clock is INVALID_TIMESTAMP"},
      {"message.timestamp.type", cfg_.message_timestamp_type, d.message_timestamp_type, "log.message.timestamp.type",
       ConfigType::string,
       "CreateTime: the producer's timestamps; LogAppendTime: each batch is stamped with the time the log "
       "appended it"},
      {"min.insync.replicas", num(cfg_.min_insync_replicas), num(d.min_insync_replicas), "min.insync.replicas",
       ConfigType::int_, "in-sync replicas an acks=all produce needs (cluster mode)"},
      {"retention.bytes", num(cfg_.retention_bytes), num(d.retention_bytes), "log.retention.bytes", ConfigType::long_,
       "partition size above which the oldest segments are deleted (-1: unlimited)"},
      {"retention.ms", num(cfg_.retention_ms), num(d.retention_ms), "log.retention.ms", ConfigType::long_,
       "age after which segments are deleted (-1: forever)"},
      {"segment.bytes", num(static_cast<std::int64_t>(cfg_.segment_bytes)), num(static_cast<std::int64_t>(d.segment_bytes)),
       "log.segment.bytes", ConfigType::int_, "segment file size at which the log rolls"},
      {"segment.index.bytes", "10485760", "10485760", "log.index.size.max.bytes", ConfigType::int_,
       "offset index capacity (sized sparsely; disk blocks reserved as entries are added)"},
      {"segment.ms", "604800000", "604800000", "log.roll.ms", ConfigType::long_,
       "segment age at which the log rolls"},
  };
}

std::vector<ConfigDescriber::Entry> ConfigDescriber::broker_entries() const {
  const Config d;
  auto listener = [](const HostPort& hp) { return "PLAINTEXT://" + hp.to_string(); };
  auto flag = [](bool b) { return std::string(b ? "true" : "false"); };
  const unsigned per_core = std::max(1u, std::thread::hardware_concurrency());
  const unsigned threads = cfg_.threads != 0 ? cfg_.threads : per_core;
  std::vector<Entry> out = {
      {"advertised.listeners", listener(cfg_.advertised_address()), listener(cfg_.advertised_address()), "",
       ConfigType::list, "address clients are told to connect to"},
      {"auto.create.topics.enable", flag(cfg_.auto_create_topics), flag(d.auto_create_topics), "", ConfigType::boolean,
       "create unknown topics on Metadata requests"},
      {"broker.id", num(cfg_.node_id), num(d.node_id), "", ConfigType::int_, "this broker's node id"},
      {"connections.max.idle.ms", num(cfg_.idle_timeout_ms), num(d.idle_timeout_ms), "", ConfigType::long_,
       "idle connections are closed after this long"},
      {"default.replication.factor", "1", "1", "", ConfigType::int_, "single broker: every partition has one replica"},
      {"group.initial.rebalance.delay.ms", num(cfg_.group_initial_rebalance_delay_ms),
       num(d.group_initial_rebalance_delay_ms), "", ConfigType::int_, "first rebalance of an empty group waits this long"},
      {"group.max.session.timeout.ms", "1800000", "1800000", "", ConfigType::int_, "largest session timeout accepted"},
      {"group.min.session.timeout.ms", "6000", "6000", "", ConfigType::int_, "smallest session timeout accepted"},
      {"log.cleaner.backoff.ms", num(cfg_.cleaner_backoff_ms), num(d.cleaner_backoff_ms), "", ConfigType::long_,
       "how long an idle cleaner sleeps before looking for dirty logs again"},
      {"log.cleaner.dedupe.buffer.size", num(static_cast<std::int64_t>(cfg_.cleaner_dedupe_buffer_size)),
       num(static_cast<std::int64_t>(d.cleaner_dedupe_buffer_size)), "",
       ConfigType::long_, "memory for the cleaners' key -> offset maps, all threads together"},
      {"log.cleaner.enable", flag(cfg_.cleaner_threads > 0), flag(d.cleaner_threads > 0), "", ConfigType::boolean,
       "whether compacted topics are cleaned (log.cleaner.threads > 0)"},
      {"log.cleaner.io.max.bytes.per.second", real(cfg_.cleaner_io_max_bytes_per_second),
       real(d.cleaner_io_max_bytes_per_second), "", ConfigType::double_,
       "cap on the cleaners' log reads, all threads together"},
      {"log.cleaner.threads", num(cfg_.cleaner_threads), num(d.cleaner_threads), "", ConfigType::int_,
       "log cleaner threads (never reactor threads)"},
      {"listeners", listener(cfg_.listen), listener(d.listen), "", ConfigType::list, "address the broker listens on"},
      {"log.dirs", cfg_.data_dir.string(), d.data_dir.string(), "", ConfigType::string, "data directory"},
      {"nocopy.fetch.strategy", std::string(io::to_string(cfg_.fetch_strategy)), std::string(io::to_string(d.fetch_strategy)),
       "", ConfigType::string, "how fetch responses move log bytes to the socket"},
      {"num.network.threads", num(threads), num(per_core), "", ConfigType::int_, "reactor threads"},
      {"num.partitions", num(cfg_.default_partitions), num(d.default_partitions), "", ConfigType::int_,
       "partitions of auto-created topics"},
      {"socket.request.max.bytes", num(cfg_.max_request_bytes), num(d.max_request_bytes), "", ConfigType::int_,
       "largest request accepted"},
  };
  // The broker-level names of the topic configs.
  for (auto& e : topic_entries()) out.push_back({e.synonym, e.value, e.default_value, "", e.type, e.doc});
  std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) { return a.name < b.name; });
  return out;
}

kafka::DescribeConfigsResponse ConfigDescriber::describe(const kafka::DescribeConfigsRequest& req,
                                                         std::int16_t version) const {
  kafka::DescribeConfigsResponse res;
  const bool synonyms = version >= 1 && req.include_synonyms;
  const bool docs = version >= 3 && req.include_documentation;
  for (const auto& r : req.resources) {
    auto& out = res.results.emplace_back();
    out.resource_type = r.resource_type;
    out.resource_name = r.resource_name;
    auto fail = [&](ErrorCode e, std::string msg) {
      out.error_code = kafka::to_wire(e);
      out.error_message = std::move(msg);
    };
    auto put = [&](const Entry& e, bool read_only, bool topic) {
      if (!wanted(r.configuration_keys, e.name)) return;
      auto& c = out.configs.emplace_back();
      c.name = e.name;
      c.value = e.value;
      c.read_only = read_only;
      c.config_source = source_of(e);
      c.is_default = c.config_source == static_cast<std::int8_t>(ConfigSource::default_config);
      c.is_sensitive = false;
      c.config_type = static_cast<std::int8_t>(e.type);
      if (docs) c.documentation = std::string(e.doc);
      if (synonyms) {
        // Most specific first: the topic's override, the broker's static
        // setting, then Kafka's default.
        if (e.overridden)
          c.synonyms.push_back({e.name, e.value, static_cast<std::int8_t>(ConfigSource::dynamic_topic_config)});
        const std::string& name = topic ? e.synonym : e.name;
        const std::string& broker = topic ? e.broker_value : e.value;
        if (broker != e.default_value)
          c.synonyms.push_back({name, broker, static_cast<std::int8_t>(ConfigSource::static_broker_config)});
        c.synonyms.push_back({name, e.default_value, static_cast<std::int8_t>(ConfigSource::default_config)});
      }
    };
    switch (static_cast<kafka::ConfigResourceType>(r.resource_type)) {
      case kafka::ConfigResourceType::topic: {
        if (!kafka::is_valid_topic_name(r.resource_name)) {
          fail(ErrorCode::invalid_topic_exception, "'" + r.resource_name + "' is not a legal topic name");
          break;
        }
        auto t = topics_.find(r.resource_name);
        if (!t) {
          fail(ErrorCode::unknown_topic_or_partition, "topic '" + r.resource_name + "' does not exist");
          break;
        }
        for (const auto& e : topic_entries(*t)) put(e, false, true);
        break;
      }
      case kafka::ConfigResourceType::broker: {
        if (r.resource_name.empty()) break;  // cluster-wide dynamic defaults: none
        std::int32_t id = -1;
        const auto& n = r.resource_name;
        auto [p, ec] = std::from_chars(n.data(), n.data() + n.size(), id);
        if (ec != std::errc() || p != n.data() + n.size() || id != cfg_.node_id) {
          fail(ErrorCode::invalid_request,
               "unexpected broker id, expected " + std::to_string(cfg_.node_id) + " or empty string, but received " + n);
          break;
        }
        for (const auto& e : broker_entries()) put(e, true, false);
        break;
      }
      default:
        fail(ErrorCode::invalid_request, "unsupported resource type " + std::to_string(r.resource_type));
        break;
    }
  }
  return res;
}

}  // namespace nocopy::broker
