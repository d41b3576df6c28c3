#include "broker/topic_registry.h"

#include <spdlog/spdlog.h>

#include <charconv>
#include <system_error>

#include "broker/partition_metadata_file.h"
#include "kafka/error_code.h"
#include "kafka/topic_name.h"

namespace nocopy::broker {

namespace fs = std::filesystem;

TopicRegistry::TopicRegistry(const Config& cfg, Metrics* metrics)
    : cfg_(cfg), broker_cfg_(std::shared_ptr<void>(), &cfg), metrics_(metrics) {}

fs::path TopicRegistry::partition_dir(const std::string& name, std::int32_t idx) const {
  return cfg_.data_dir / (name + "-" + std::to_string(idx));
}

std::shared_ptr<Partition> TopicRegistry::make_partition(const std::string& name, std::int32_t idx,
                                                         const fs::path& dir,
                                                         const std::shared_ptr<const Config>& cfg) const {
  // Partition keeps a reference to its Config: bundle the two so the Config
  // lives exactly as long as the Partition.
  struct Bundle {
    std::shared_ptr<const Config> cfg;
    Partition partition;
    Bundle(std::shared_ptr<const Config> c, const std::string& n, std::int32_t i, const fs::path& d, Metrics* m)
        : cfg(std::move(c)), partition(n, i, d, *cfg, m) {}
  };
  auto b = std::make_shared<Bundle>(cfg, name, idx, dir, metrics_);
  return std::shared_ptr<Partition>(b, &b->partition);
}

std::shared_ptr<const Config> TopicRegistry::config_of(std::string_view name) const {
  auto t = find(name);
  return t ? t->config : broker_cfg_;
}

std::size_t TopicRegistry::recover() {
  fs::create_directories(cfg_.data_dir);
  std::map<std::string, std::map<std::int32_t, fs::path>> found;
  for (const auto& entry : fs::directory_iterator(cfg_.data_dir)) {
    if (!entry.is_directory()) continue;
    auto name = entry.path().filename().string();
    auto dash = name.rfind('-');
    if (dash == std::string::npos || dash == 0) continue;
    std::int32_t part = -1;
    auto tail = std::string_view(name).substr(dash + 1);
    auto [p, ec] = std::from_chars(tail.data(), tail.data() + tail.size(), part);
    if (ec != std::errc() || p != tail.data() + tail.size() || part < 0) continue;
    auto topic = name.substr(0, dash);
    if (!kafka::is_valid_topic_name(topic)) {
      spdlog::warn("data dir: skipping {} (not a legal topic name)", entry.path().string());
      continue;
    }
    found[topic][part] = entry.path();
  }
  std::size_t n = 0;
  for (auto& [name, parts] : found) {
    auto t = std::make_shared<Topic>();
    t->name = name;
    t->config = broker_cfg_;
    if (parts.count(0)) {
      try {
        t->overrides = TopicConfig::load(parts[0]);
        if (!t->overrides.empty()) {
          t->config = std::make_shared<const Config>(TopicConfig::apply(cfg_, t->overrides));
          std::string s;
          for (auto& [k, v] : t->overrides) s += (s.empty() ? "" : ", ") + k + "=" + v;
          spdlog::info("topic {}: config overrides {}", name, s);
        }
      } catch (const std::exception& e) {
        spdlog::warn("topic {}: ignoring its config overrides, using the broker defaults: {}", name, e.what());
        t->overrides.clear();
        t->config = broker_cfg_;
      }
    }
    std::int32_t expect = 0;
    bool ok = true;
    for (auto& [idx, dir] : parts) {
      if (idx != expect++) {
        spdlog::error("topic {}: partition {} missing on disk; skipping the topic", name, expect - 1);
        ok = false;
        break;
      }
      t->partitions.push_back(make_partition(name, idx, dir, t->config));
    }
    if (!ok) continue;
    try {
      t->topic_id = recover_topic_id(name, parts);
    } catch (const std::exception& e) {
      spdlog::error("topic {}: cannot keep a topic id ({}); skipping the topic", name, e.what());
      for (auto& p : t->partitions) p->close();
      continue;
    }
    spdlog::info("recovered topic {} (id {}, {} partition{}, high watermarks {})", name,
                 kafka::uuid_to_string(t->topic_id), t->partitions.size(),
                 t->partitions.size() == 1 ? "" : "s", [&] {
                   std::string s;
                   for (auto& p : t->partitions) s += (s.empty() ? "" : ",") + std::to_string(p->high_watermark());
                   return s;
                 }());
    publish(std::move(t));
    ++n;
  }
  return n;
}

kafka::Uuid TopicRegistry::recover_topic_id(const std::string& name,
                                            const std::map<std::int32_t, fs::path>& dirs) {
  std::optional<kafka::Uuid> id;
  std::vector<const fs::path*> missing;
  for (auto& [idx, dir] : dirs) {
    auto r = read_partition_metadata(dir);
    if (!r.error.empty()) spdlog::warn("topic {}: {}; rewriting it", name, r.error);
    if (!r.topic_id) {
      missing.push_back(&dir);
    } else if (!id) {
      id = r.topic_id;
    } else if (*r.topic_id != *id) {
      // Kafka refuses such a log (InconsistentTopicIdException); the id of
      // the lowest partition is kept so the topic stays readable.
      spdlog::warn("topic {}: partition {} has topic id {}, the lowest partition's is {}; rewriting it", name, idx,
                   kafka::uuid_to_string(*r.topic_id), kafka::uuid_to_string(*id));
      missing.push_back(&dir);
    }
  }
  if (!id) {
    id = kafka::random_topic_id();
    spdlog::info("topic {}: had no topic id, assigned {}", name, kafka::uuid_to_string(*id));
  }
  for (const fs::path* dir : missing) write_partition_metadata(*dir, *id);
  return *id;
}

void TopicRegistry::publish(std::shared_ptr<const Topic> t) {
  std::unique_lock lock(mu_);
  auto old = topics_.find(t->name);
  if (old != topics_.end() && old->second->topic_id != t->topic_id) by_id_.erase(old->second->topic_id);
  by_id_[t->topic_id] = t;
  const std::string name = t->name;
  topics_[name] = std::move(t);
}

std::shared_ptr<const Topic> TopicRegistry::find_id(const kafka::Uuid& id) const {
  std::shared_lock lock(mu_);
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : it->second;
}

std::shared_ptr<const Topic> TopicRegistry::find(std::string_view name) const {
  std::shared_lock lock(mu_);
  auto it = topics_.find(name);
  return it == topics_.end() ? nullptr : it->second;
}

std::shared_ptr<Partition> TopicRegistry::find(std::string_view name, std::int32_t partition) const {
  auto t = find(name);
  if (!t || partition < 0 || static_cast<std::size_t>(partition) >= t->partitions.size()) return nullptr;
  return t->partitions[static_cast<std::size_t>(partition)];
}

std::vector<std::shared_ptr<const Topic>> TopicRegistry::list() const {
  std::shared_lock lock(mu_);
  std::vector<std::shared_ptr<const Topic>> out;
  out.reserve(topics_.size());
  for (auto& [_, t] : topics_) out.push_back(t);
  return out;
}

std::vector<std::shared_ptr<Partition>> TopicRegistry::all_partitions() const {
  std::vector<std::shared_ptr<Partition>> out;
  for (auto& t : list())
    for (auto& p : t->partitions) out.push_back(p);
  return out;
}

std::int16_t TopicRegistry::create(const std::string& name, std::int32_t partitions, std::string* message) {
  return create(name, partitions, {}, false, message);
}

std::int16_t TopicRegistry::create(const std::string& name, std::int32_t partitions,
                                   const TopicConfig::Overrides& overrides, bool validate_only, std::string* message,
                                   std::optional<kafka::Uuid> topic_id) {
  if (!kafka::is_valid_topic_name(name)) {
    if (message) *message = "topic name is not legal: 1..249 characters of [a-zA-Z0-9._-], not . or ..";
    return kafka::to_wire(kafka::ErrorCode::invalid_topic_exception);
  }
  if (partitions <= 0 || partitions > 100000) {
    if (message) *message = "number of partitions must be 1..100000";
    return kafka::to_wire(kafka::ErrorCode::invalid_partitions);
  }
  auto t = std::make_shared<Topic>();
  t->name = name;
  t->topic_id = topic_id && !kafka::is_zero(*topic_id) ? *topic_id : kafka::random_topic_id();
  t->overrides = overrides;
  t->config = broker_cfg_;
  if (!overrides.empty()) {
    try {
      t->config = std::make_shared<const Config>(TopicConfig::apply(cfg_, overrides));
    } catch (const std::invalid_argument& e) {
      if (message) *message = e.what();
      return kafka::to_wire(kafka::ErrorCode::invalid_config);
    }
  }
  std::lock_guard serial(create_mu_);
  if (find(name)) {
    if (message) *message = "topic '" + name + "' already exists";
    return kafka::to_wire(kafka::ErrorCode::topic_already_exists);
  }
  if (validate_only) return kafka::to_wire(kafka::ErrorCode::none);
  try {
    for (std::int32_t i = 0; i < partitions; ++i) {
      auto dir = partition_dir(name, i);
      fs::create_directories(dir);
      // Persisted before the partitions open: a crash leaves a topic that
      // recovers with its overrides.
      if (i == 0) TopicConfig::save(dir, overrides);
      write_partition_metadata(dir, t->topic_id);
      t->partitions.push_back(make_partition(name, i, dir, t->config));
    }
  } catch (const std::exception& e) {
    spdlog::error("create topic {}: {}", name, e.what());
    if (message) *message = e.what();
    for (auto& p : t->partitions) p->close();
    return kafka::to_wire(kafka::ErrorCode::kafka_storage_error);
  }
  spdlog::info("created topic {} (id {}) with {} partition{}{}", name, kafka::uuid_to_string(t->topic_id), partitions,
               partitions == 1 ? "" : "s", [&] {
                 std::string s;
                 for (auto& [k, v] : overrides) s += (s.empty() ? ", configs " : ", ") + k + "=" + v;
                 return s;
               }());
  publish(std::move(t));
  return kafka::to_wire(kafka::ErrorCode::none);
}

std::shared_ptr<const Topic> TopicRegistry::find_existing(const std::string& name, std::string* message) const {
  std::shared_ptr<const Topic> t;
  if (kafka::is_valid_topic_name(name)) t = find(name);
  if (!t && message) *message = "topic '" + name + "' does not exist";
  return t;
}

std::int16_t TopicRegistry::alter_config(const std::string& name, const ConfigEdit& edit, bool validate_only,
                                         std::string* message) {
  auto say = [&](std::string m) {
    if (message) *message = std::move(m);
  };
  std::lock_guard serial(create_mu_);
  auto old = find_existing(name, message);
  if (!old) return kafka::to_wire(kafka::ErrorCode::unknown_topic_or_partition);
  TopicConfig::Overrides next = old->overrides;
  if (auto ec = edit(next, message); ec != 0) return ec;
  std::shared_ptr<const Config> running;
  try {
    running = std::make_shared<const Config>(TopicConfig::apply(cfg_, next));
  } catch (const std::invalid_argument& e) {
    say(e.what());
    return kafka::to_wire(kafka::ErrorCode::invalid_config);
  }
  if (validate_only) return kafka::to_wire(kafka::ErrorCode::none);
  try {
    TopicConfig::save(partition_dir(name, 0), next);
  } catch (const std::exception& e) {
    spdlog::error("alter config of topic {}: {}", name, e.what());
    say(e.what());
    return kafka::to_wire(kafka::ErrorCode::kafka_storage_error);
  }
  // Live, as Kafka: the open partitions take the new limits (max.message.bytes
  // now, segment.bytes at the next roll, retention.* at the next pass);
  // Produce decides from the new Config whether acks=-1 waits for a sync.
  // The logs' own flush cadence (flush.*) changes when they reopen.
  for (const auto& p : old->partitions) p->reconfigure(*running);
  auto t = std::make_shared<Topic>(*old);  // same partitions
  t->overrides = std::move(next);
  const bool flush_changed = running->flush != old->config->flush ||
                             running->flush_interval_ms != old->config->flush_interval_ms;
  t->config = std::move(running);
  std::string s;
  for (auto& [k, v] : t->overrides) s += (s.empty() ? "" : ", ") + k + "=" + v;
  spdlog::info("topic {}: config overrides now {{{}}}, persisted and applied to the open partitions{}", name, s,
               flush_changed ? " (the logs' flush cadence changes at the next restart; acks=-1 follows the new "
                               "policy now)"
                             : "");
  publish(std::move(t));
  return kafka::to_wire(kafka::ErrorCode::none);
}

std::int16_t TopicRegistry::remove(const std::string& name) {
  if (!kafka::is_valid_topic_name(name)) return kafka::to_wire(kafka::ErrorCode::unknown_topic_or_partition);
  std::lock_guard serial(create_mu_);
  std::shared_ptr<const Topic> t;
  {
    std::unique_lock lock(mu_);
    auto it = topics_.find(name);
    if (it == topics_.end()) return kafka::to_wire(kafka::ErrorCode::unknown_topic_or_partition);
    t = it->second;
    topics_.erase(it);
    by_id_.erase(t->topic_id);
  }
  for (auto& p : t->partitions) {
    // Open regions keep their files readable after the unlink.
    p->close();
    std::error_code ec;
    fs::remove_all(p->dir(), ec);
    if (ec) spdlog::warn("delete topic {}: removing {}: {}", name, p->dir().string(), ec.message());
  }
  spdlog::info("deleted topic {}", name);
  return kafka::to_wire(kafka::ErrorCode::none);
}

std::int16_t TopicRegistry::add_partitions(const std::string& name, std::int32_t count, bool validate_only,
                                           std::string* message) {
  auto say = [&](std::string m) {
    if (message) *message = std::move(m);
  };
  std::lock_guard serial(create_mu_);
  auto old = find_existing(name, message);
  if (!old) return kafka::to_wire(kafka::ErrorCode::unknown_topic_or_partition);
  const auto current = static_cast<std::int32_t>(old->partitions.size());
  if (count < current) {
    say("topic currently has " + std::to_string(current) + " partitions, which is higher than the requested " +
        std::to_string(count));
    return kafka::to_wire(kafka::ErrorCode::invalid_partitions);
  }
  if (count == current) {
    say("topic already has " + std::to_string(current) + " partitions");
    return kafka::to_wire(kafka::ErrorCode::invalid_partitions);
  }
  if (count > 100000) {
    say("number of partitions must be 1..100000");
    return kafka::to_wire(kafka::ErrorCode::invalid_partitions);
  }
  if (validate_only) return kafka::to_wire(kafka::ErrorCode::none);
  auto t = std::make_shared<Topic>(*old);  // shares the existing partitions
  try {
    for (std::int32_t i = current; i < count; ++i) {
      auto dir = cfg_.data_dir / (name + "-" + std::to_string(i));
      fs::create_directories(dir);
      write_partition_metadata(dir, t->topic_id);
      t->partitions.push_back(make_partition(name, i, dir, t->config));
    }
  } catch (const std::exception& e) {
    spdlog::error("add partitions to {}: {}", name, e.what());
    say(e.what());
    for (std::size_t i = static_cast<std::size_t>(current); i < t->partitions.size(); ++i) t->partitions[i]->close();
    for (std::int32_t i = current; i < count; ++i) {
      std::error_code ec;
      fs::remove_all(cfg_.data_dir / (name + "-" + std::to_string(i)), ec);
    }
    return kafka::to_wire(kafka::ErrorCode::kafka_storage_error);
  }
  spdlog::info("topic {}: {} -> {} partitions", name, current, count);
  publish(std::move(t));
  return kafka::to_wire(kafka::ErrorCode::none);
}

std::int16_t TopicRegistry::set_topic_id(const std::string& name, const kafka::Uuid& id, std::string* message) {
  if (kafka::is_zero(id)) {
    if (message) *message = "the zero topic id";
    return kafka::to_wire(kafka::ErrorCode::invalid_request);
  }
  std::lock_guard serial(create_mu_);
  auto old = find_existing(name, message);
  if (!old) return kafka::to_wire(kafka::ErrorCode::unknown_topic_or_partition);
  if (old->topic_id == id) return kafka::to_wire(kafka::ErrorCode::none);
  try {
    for (auto& p : old->partitions) write_partition_metadata(p->dir(), id);
  } catch (const std::exception& e) {
    spdlog::error("topic {}: setting topic id {}: {}", name, kafka::uuid_to_string(id), e.what());
    if (message) *message = e.what();
    // Directories already rewritten are put back; the topic keeps its id.
    for (auto& p : old->partitions) {
      try {
        write_partition_metadata(p->dir(), old->topic_id);
      } catch (const std::exception&) {
      }
    }
    return kafka::to_wire(kafka::ErrorCode::kafka_storage_error);
  }
  spdlog::info("topic {}: topic id {} -> {}", name, kafka::uuid_to_string(old->topic_id), kafka::uuid_to_string(id));
  auto t = std::make_shared<Topic>(*old);
  t->topic_id = id;
  publish(std::move(t));
  return kafka::to_wire(kafka::ErrorCode::none);
}

}  // namespace nocopy::broker
