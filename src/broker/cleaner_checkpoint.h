// CleanerCheckpoint: how far the log cleaner has cleaned each compacted
// partition -- Kafka's `cleaner-offset-checkpoint` file in the data
// directory, in Kafka's format:
//
//   0                      (version)
//   <number of entries>
//   <topic> <partition> <offset>    (one line per partition)
//
// <offset> is one past the cleaned section of the partition's log: segments
// whose base offset is below it have been cleaned, the others are dirty. A
// restart reads the file so that cleaning resumes where it stopped instead
// of counting the whole log dirty again.
//
// save() writes atomically: a temp file, fsync, rename, fsync of the
// directory. load() of a missing file is empty; a malformed file throws.
// Thread-safety: stateless functions (the caller serializes save()).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>

namespace nocopy::broker {

class CleanerCheckpoint {
 public:
  using Key = std::pair<std::string, std::int32_t>;  // topic, partition
  using Offsets = std::map<Key, std::int64_t>;

  static constexpr const char* kFileName = "cleaner-offset-checkpoint";

  // Throws std::runtime_error naming the file and line of a malformed entry.
  static Offsets load(const std::filesystem::path& data_dir);
  // Throws std::system_error naming the failed syscall.
  static void save(const std::filesystem::path& data_dir, const Offsets& offsets);
};

}  // namespace nocopy::broker
