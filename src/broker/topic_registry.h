// TopicRegistry: topic name -> partitions, each a Partition over a log in
// `<data_dir>/<topic>-<partition>/` (Kafka's layout).
//
// Thread-safety: lookups (find, list) take a shared lock and may run on any
// reactor thread. create/remove/recover do file-system work (mkdir, open,
// recovery, unlink) and must run off the reactor threads (the broker's admin
// thread); they take the exclusive lock only to publish the change.
// Topics are shared_ptr: a reader holding one keeps its partitions (and their
// open files) alive after a concurrent delete.
//
// Names are validated with kafka::is_valid_topic_name() before anything touches the
// file system, so no path outside data_dir is ever created.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "broker/config.h"
#include "broker/partition.h"

namespace nocopy::broker {

struct Topic {
  std::string name;
  std::vector<std::shared_ptr<Partition>> partitions;
};

class TopicRegistry {
 public:
  TopicRegistry(const Config& cfg, Metrics* metrics);

  // Opens every `<topic>-<n>` directory in data_dir (creating data_dir if
  // needed). Directories with illegal names or gaps in partition numbers are
  // logged and skipped. Returns the number of topics recovered.
  std::size_t recover();

  std::shared_ptr<const Topic> find(std::string_view name) const;
  std::shared_ptr<Partition> find(std::string_view name, std::int32_t partition) const;
  std::vector<std::shared_ptr<const Topic>> list() const;

  // Kafka error code: none, invalid_topic, topic_already_exists,
  // invalid_partitions, kafka_storage_error.
  std::int16_t create(const std::string& name, std::int32_t partitions, std::string* message = nullptr);
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

  // Every partition (shutdown flush, retention, metrics).
  std::vector<std::shared_ptr<Partition>> all_partitions() const;

 private:
  const Config& cfg_;
  Metrics* metrics_;
  mutable std::shared_mutex mu_;
  std::map<std::string, std::shared_ptr<const Topic>, std::less<>> topics_;
  std::mutex create_mu_;  // serializes create/remove (file-system work)
};

}  // namespace nocopy::broker
