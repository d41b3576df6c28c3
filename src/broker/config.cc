#include "broker/config.h"

#include <algorithm>
#include <charconv>
#include <stdexcept>
#include <vector>
#include <toml++/toml.h>

namespace nocopy::broker {

HostPort HostPort::parse(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos) throw std::invalid_argument("address '" + text + "': expected host:port");
  HostPort hp;
  hp.host = text.substr(0, colon);
  if (hp.host.size() >= 2 && hp.host.front() == '[' && hp.host.back() == ']') hp.host = hp.host.substr(1, hp.host.size() - 2);
  if (hp.host.empty()) hp.host = "0.0.0.0";
  unsigned port = 0;
  auto ps = std::string_view(text).substr(colon + 1);
  auto [p, ec] = std::from_chars(ps.data(), ps.data() + ps.size(), port);
  if (ec != std::errc() || p != ps.data() + ps.size() || port > 65535)
    throw std::invalid_argument("address '" + text + "': bad port");
  hp.port = static_cast<std::uint16_t>(port);
  return hp;
}

std::string HostPort::to_string() const { return host + ":" + std::to_string(port); }

const char* Config::to_string(FlushMode m) {
  switch (m) {
    case FlushMode::never: return "never";
    case FlushMode::interval: return "interval";
    case FlushMode::every: return "every";
  }
  return "?";
}

FlushMode Config::parse_flush(const std::string& s) {
  if (s == "never") return FlushMode::never;
  if (s == "interval" || s == "group") return FlushMode::interval;
  if (s == "every" || s == "always") return FlushMode::every;
  throw std::invalid_argument("flush policy '" + s + "': expected never, interval or every");
}

namespace {
// The comma-separated items of a cleanup.policy, blanks trimmed.
std::vector<std::string_view> policy_items(std::string_view p) {
  std::vector<std::string_view> out;
  while (true) {
    auto comma = p.find(',');
    std::string_view item = p.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    out.push_back(item);
    if (comma == std::string_view::npos) break;
    p.remove_prefix(comma + 1);
  }
  return out;
}
bool policy_has(std::string_view p, std::string_view what) {
  for (auto i : policy_items(p))
    if (i == what) return true;
  return false;
}
}  // namespace

bool Config::policy_compacts(std::string_view policy) { return policy_has(policy, "compact"); }
bool Config::policy_deletes(std::string_view policy) { return policy_has(policy, "delete"); }

std::optional<std::string> Config::check_policy(std::string_view policy) {
  auto items = policy_items(policy);
  std::vector<std::string_view> seen;
  for (auto i : items) {
    if (i != "delete" && i != "compact")
      return "invalid value '" + std::string(policy) +
             "' for configuration cleanup.policy: expected delete, compact or compact,delete";
    if (std::find(seen.begin(), seen.end(), i) != seen.end())
      return "invalid value '" + std::string(policy) + "' for configuration cleanup.policy: " + std::string(i) +
             " given twice";
    seen.push_back(i);
  }
  return std::nullopt;
}

std::optional<std::string> Config::check_timestamp_type(std::string_view type) {
  if (type == "CreateTime" || type == "LogAppendTime") return std::nullopt;
  return "invalid value '" + std::string(type) + "' for configuration message.timestamp.type: String must be one "
         "of: CreateTime, LogAppendTime";
}

void Config::check_cleaner() const {
  if (auto e = check_policy(cleanup_policy)) throw std::invalid_argument(*e);
  if (delete_retention_ms < 0) throw std::invalid_argument("delete_retention_ms: must be >= 0");
  if (message_timestamp_before_max_ms < 0 || message_timestamp_after_max_ms < 0)
    throw std::invalid_argument("message_timestamp_before_max_ms / _after_max_ms: must be >= 0");
  if (auto e = check_timestamp_type(message_timestamp_type)) throw std::invalid_argument(*e);
  if (min_compaction_lag_ms < 0) throw std::invalid_argument("min_compaction_lag_ms: must be >= 0");
  if (max_compaction_lag_ms < 1) throw std::invalid_argument("max_compaction_lag_ms: must be >= 1");
  if (!(min_cleanable_dirty_ratio >= 0 && min_cleanable_dirty_ratio <= 1))
    throw std::invalid_argument("min_cleanable_dirty_ratio: must be in [0, 1]");
  if (cleaner_threads > 64) throw std::invalid_argument("cleaner_threads: at most 64");
  if (cleaner_backoff_ms < 1) throw std::invalid_argument("cleaner_backoff_ms: must be >= 1");
  if (cleaner_dedupe_buffer_size < 4096) throw std::invalid_argument("cleaner_dedupe_buffer_size: must be >= 4096");
  if (offsets_segment_bytes < 1024 || offsets_segment_bytes > 2147483647)
    throw std::invalid_argument("offsets_segment_bytes: must be 1024..2147483647");
  if (offsets_topic_num_partitions < 1 || offsets_topic_num_partitions > 1000)
    throw std::invalid_argument("offsets_topic_num_partitions: must be 1..1000");
  if (offsets_topic_replication_factor < 0 || offsets_topic_replication_factor > 32767)
    throw std::invalid_argument("offsets_topic_replication_factor: must be 0..32767 (0: min(3, live brokers))");
  if (txn_state_num_partitions < 1 || txn_state_num_partitions > 1000)
    throw std::invalid_argument("transaction_state_log_num_partitions: must be 1..1000");
  if (txn_state_replication_factor < 0 || txn_state_replication_factor > 32767)
    throw std::invalid_argument(
        "transaction_state_log_replication_factor: must be 0..32767 (0: min(3, live brokers))");
  if (transaction_version < 0 || transaction_version > 2)
    throw std::invalid_argument("transaction_version: must be 0..2");
}

HostPort Config::advertised_address() const {
  HostPort a = advertised;
  if (a.host.empty()) a.host = (listen.host == "0.0.0.0" || listen.host.empty()) ? "127.0.0.1" : listen.host;
  if (a.port == 0) a.port = listen.port;
  return a;
}

std::vector<security::ListenerSpec> Config::effective_listeners() const {
  if (!security.listeners.empty()) return security.listeners;
  security::ListenerSpec l;
  l.protocol = security::SecurityProtocol::plaintext;
  l.host = listen.host;
  l.port = listen.port;
  return {l};
}

HostPort Config::advertised_for_listener(std::size_t index) const {
  if (security.listeners.empty() || index >= security.listeners.size()) return advertised_address();
  auto a = security::advertised_for(security.listeners[index], security.advertised_listeners);
  return HostPort{a.host, a.port};
}

// One line per TOML key, (documented in docs/architecture-broker.md): a flat table
// that reads best whole, so it runs past the usual function length.
void Config::load_toml(const std::filesystem::path& file) {
  toml::table t;
  try {
    t = toml::parse_file(file.string());
  } catch (const toml::parse_error& e) {
    throw std::runtime_error("config " + file.string() + ": " + std::string(e.description()));
  }
  auto str = [&](const char* key, auto&& apply) {
    if (auto v = t[key].value<std::string>()) apply(*v);
  };
  auto num = [&](const char* key, auto& field) {
    if (auto* node = t.get(key)) {
      auto v = node->value<std::int64_t>();
      if (!v) throw std::invalid_argument(std::string("config key '") + key + "': expected an integer");
      field = static_cast<std::remove_reference_t<decltype(field)>>(*v);
    }
  };
  auto flag = [&](const char* key, bool& field) {
    if (auto* node = t.get(key)) {
      auto v = node->value<bool>();
      if (!v) throw std::invalid_argument(std::string("config key '") + key + "': expected a boolean");
      field = *v;
    }
  };
  str("listen", [&](const std::string& v) { listen = HostPort::parse(v); });
  str("advertised", [&](const std::string& v) { advertised = HostPort::parse(v); });
  str("metrics_listen", [&](const std::string& v) { metrics_listen = HostPort::parse(v); });
  flag("metrics_enabled", metrics_enabled);
  str("data_dir", [&](const std::string& v) { data_dir = v; });
  num("threads", threads);
  num("node_id", node_id);
  num("segment_bytes", segment_bytes);
  num("retention_ms", retention_ms);
  num("retention_bytes", retention_bytes);
  str("flush", [&](const std::string& v) { flush = parse_flush(v); });
  num("flush_interval_ms", flush_interval_ms);
  num("group_commit_delay_us", group_commit_delay_us);
  if (auto* node = t.get("preallocate_bytes")) {
    auto v = node->value<std::int64_t>();
    if (!v || *v < 0 || *v > (1 << 30)) {
      throw std::invalid_argument("config key 'preallocate_bytes': expected an integer in [0, 1073741824]");
    }
    preallocate_bytes = static_cast<std::uint32_t>(*v);
  }
  if (auto* node = t.get("replica_drop_behind_bytes")) {
    auto v = node->value<std::int64_t>();
    if (!v || *v < 0 || *v > (1 << 30)) {
      throw std::invalid_argument("config key 'replica_drop_behind_bytes': expected an integer in [0, 1073741824]");
    }
    replica_drop_behind_bytes = static_cast<std::uint32_t>(*v);
  }
  flag("auto_create_topics", auto_create_topics);
  flag("lookup_mmap", lookup_mmap);
  num("default_partitions", default_partitions);
  num("max_message_bytes", max_message_bytes);
  num("max_request_bytes", max_request_bytes);
  num("idle_timeout_ms", idle_timeout_ms);
  num("group_initial_rebalance_delay_ms", group_initial_rebalance_delay_ms);
  num("producer_id_expiration_ms", producer_id_expiration_ms);
  num("message_timestamp_before_max_ms", message_timestamp_before_max_ms);
  num("message_timestamp_after_max_ms", message_timestamp_after_max_ms);
  str("message_timestamp_type", [&](const std::string& v) { message_timestamp_type = v; });
  str("cleanup_policy", [&](const std::string& v) { cleanup_policy = v; });
  num("delete_retention_ms", delete_retention_ms);
  num("min_compaction_lag_ms", min_compaction_lag_ms);
  num("max_compaction_lag_ms", max_compaction_lag_ms);
  num("cleaner_threads", cleaner_threads);
  num("cleaner_backoff_ms", cleaner_backoff_ms);
  num("cleaner_dedupe_buffer_size", cleaner_dedupe_buffer_size);
  num("offsets_segment_bytes", offsets_segment_bytes);
  num("offsets_topic_num_partitions", offsets_topic_num_partitions);
  num("offsets_topic_replication_factor", offsets_topic_replication_factor);
  num("transaction_state_log_num_partitions", txn_state_num_partitions);
  num("transaction_state_log_replication_factor", txn_state_replication_factor);
  num("transaction_version", transaction_version);
  auto real = [&](const char* key, double& field) {
    if (auto* node = t.get(key)) {
      auto v = node->value<double>();
      if (!v) throw std::invalid_argument(std::string("config key '") + key + "': expected a number");
      field = *v;
    }
  };
  real("min_cleanable_dirty_ratio", min_cleanable_dirty_ratio);
  real("cleaner_io_max_bytes_per_second", cleaner_io_max_bytes_per_second);
  check_cleaner();
  str("cluster", [&](const std::string& v) { cluster = v; });
  str("rack", [&](const std::string& v) { rack = v; });
  num("default_replication_factor", default_replication_factor);
  flag("unclean_leader_election", unclean_leader_election);
  num("session_timeout_ms", session_timeout_ms);
  num("min_insync_replicas", min_insync_replicas);
  num("replica_lag_time_max_ms", replica_lag_time_max_ms);
  security.load_toml(t);
  str("fetch_strategy", [&](const std::string& v) {
    auto s = io::parse_strategy(v);
    if (!s) throw std::invalid_argument("config key 'fetch_strategy': unknown strategy '" + v + "'");
    fetch_strategy = *s;
  });
}

}  // namespace nocopy::broker
