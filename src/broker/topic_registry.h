// TopicRegistry: topic name -> partitions, each a Partition over a log in
// `<data_dir>/<topic>-<partition>/` (Kafka's layout).
//
// Thread-safety: lookups (find, list) take a shared lock and may run on any
// reactor thread. create/remove/recover do file-system work (mkdir, open,
// recovery, unlink) and must run off the reactor threads (the broker's admin
// thread); they take the exclusive lock only to publish the change.
// Topic ids (KIP-516): every topic has a random, non-zero id, kept in each
// partition directory's partition.metadata (Kafka's file; see
// partition_metadata_file.h). create() draws one (or takes the cluster's),
// recover() reads it and gives a topic found without one a new id, written
// to every partition directory; add_partitions() writes it into the new
// directories. find_id() looks a topic up by it.
//
// Topics are shared_ptr: a reader holding one keeps its partitions (and their
// open files) alive after a concurrent delete.
//
// Names are validated with kafka::is_valid_topic_name() before anything touches the
// file system, so no path outside data_dir is ever created.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "broker/config.h"
#include "broker/partition.h"
#include "broker/topic_config.h"
#include "kafka/uuid.h"

namespace nocopy::broker {

// A published Topic is immutable; changes publish a new one.
struct Topic {
  std::string name;
  // Never zero once published.
  kafka::Uuid topic_id{};
  std::vector<std::shared_ptr<Partition>> partitions;
  // The topic's config overrides as persisted in its topic.config (what
  // DescribeConfigs reports as DYNAMIC_TOPIC_CONFIG).
  TopicConfig::Overrides overrides;
  // What the partitions run with: the broker Config with the overrides
  // applied when they were opened. Never null. Each partition also holds
  // this pointer (see make_partition), so a Partition that outlives its
  // Topic keeps its Config.
  std::shared_ptr<const Config> config;
};

class TopicRegistry {
 public:
  TopicRegistry(const Config& cfg, Metrics* metrics);

  // Opens every `<topic>-<n>` directory in data_dir (creating data_dir if
  // needed). Directories with illegal names or gaps in partition numbers are
  // logged and skipped. Returns the number of topics recovered.
  std::size_t recover();

  std::shared_ptr<const Topic> find(std::string_view name) const;
  // The topic with id `id`, or nullptr (also for the zero id).
  std::shared_ptr<const Topic> find_id(const kafka::Uuid& id) const;
  std::shared_ptr<Partition> find(std::string_view name, std::int32_t partition) const;
  std::vector<std::shared_ptr<const Topic>> list() const;

  // Kafka error code: none, invalid_topic, topic_already_exists,
  // invalid_partitions, kafka_storage_error.
  std::int16_t create(const std::string& name, std::int32_t partitions, std::string* message = nullptr);
  // CreateTopics with per-topic configs: also invalid_config (an unknown
  // name or a bad value, see TopicConfig::check; nothing is created). The
  // overrides are persisted (TopicConfig::save) before any partition opens.
  // validate_only: every check, nothing created. `topic_id`: the id to
  // keep (cluster mode: the one in etcd); nullopt or zero draws a random one.
  std::int16_t create(const std::string& name, std::int32_t partitions, const TopicConfig::Overrides& overrides,
                      bool validate_only, std::string* message = nullptr,
                      std::optional<kafka::Uuid> topic_id = std::nullopt);
  // Gives topic `name` the id `id` (cluster mode: etcd's id wins over a
  // local one, e.g. a topic created before ids were kept): written to every
  // partition directory, then published. none, unknown_topic_or_partition,
  // invalid_request (zero id), kafka_storage_error (a write failed; the
  // topic keeps its old id).
  std::int16_t set_topic_id(const std::string& name, const kafka::Uuid& id, std::string* message = nullptr);
  // none or unknown_topic_or_partition / invalid_topic.
  std::int16_t remove(const std::string& name);
  // Grows `name` to `count` partitions (CreatePartitions): the new
  // `<topic>-<n>` directories are created and opened, then the grown topic
  // is published (readers holding the old Topic keep seeing the old count).
  // On disk the new directories are the partition count, so it survives a
  // restart. validate_only: check, change nothing. Kafka error code: none,
  // unknown_topic_or_partition, invalid_partitions (count not above the
  // current one, or above 100000), kafka_storage_error (nothing published;
  // directories created so far are removed).
  std::int16_t add_partitions(const std::string& name, std::int32_t count, bool validate_only,
                              std::string* message = nullptr);

  // AlterConfigs / IncrementalAlterConfigs on topic `name`: `edit` gets a
  // copy of the current overrides and changes it (returning a Kafka error
  // code to refuse, with *message). The result is validated (invalid_config),
  // persisted (TopicConfig::save) and published as the topic's overrides,
  // which DescribeConfigs reports at once and Produce's checks read from
  // then on; the open partitions take it live as Kafka does
  // (Partition::reconfigure: max.message.bytes from the next append,
  // segment.bytes / retention.* at the next roll / retention pass). Only the
  // logs' own flush cadence (flush.*) waits for them to reopen (logged).
  // validate_only: every check, nothing written.
  // Kafka error code: none, unknown_topic_or_partition, invalid_config,
  // whatever `edit` returns, kafka_storage_error (the file write failed;
  // nothing changed).
  using ConfigEdit = std::function<std::int16_t(TopicConfig::Overrides&, std::string* message)>;
  std::int16_t alter_config(const std::string& name, const ConfigEdit& edit, bool validate_only,
                            std::string* message = nullptr);

  // The effective Config of topic `name` (broker defaults + its overrides),
  // or the broker Config when the topic does not exist.
  std::shared_ptr<const Config> config_of(std::string_view name) const;

  // Every partition (shutdown flush, retention, metrics).
  std::vector<std::shared_ptr<Partition>> all_partitions() const;

 private:
  // A Partition running with `cfg`, which it keeps alive (aliasing shared_ptr).
  std::shared_ptr<Partition> make_partition(const std::string& name, std::int32_t idx, const std::filesystem::path& dir,
                                            const std::shared_ptr<const Config>& cfg) const;
  std::filesystem::path partition_dir(const std::string& name, std::int32_t idx) const;
  // The topic `name` for an alter (its name checked); nullptr and
  // `*message` = "topic '<name>' does not exist" otherwise.
  std::shared_ptr<const Topic> find_existing(const std::string& name, std::string* message) const;
  // The id of the lowest partition directory in `dirs` (by index) that has one,
  // written into those without it; a new id when none has one. Throws when a
  // write fails.
  kafka::Uuid recover_topic_id(const std::string& name, const std::map<std::int32_t, std::filesystem::path>& dirs);
  // Publishes `t` under its name and id (replacing the previous version).
  void publish(std::shared_ptr<const Topic> t);

  const Config& cfg_;
  // Topics without overrides: a non-owning pointer to cfg_ (which outlives
  // the registry and every partition, as before per-topic configs).
  std::shared_ptr<const Config> broker_cfg_;
  Metrics* metrics_;
  mutable std::shared_mutex mu_;
  std::map<std::string, std::shared_ptr<const Topic>, std::less<>> topics_;
  std::map<kafka::Uuid, std::shared_ptr<const Topic>> by_id_;  // the same topics, by id
  std::mutex create_mu_;  // serializes create/remove (file-system work)
};

}  // namespace nocopy::broker
