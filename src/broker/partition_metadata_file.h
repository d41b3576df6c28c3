// partition.metadata: a partition directory's topic id, in Kafka's format
// (PartitionMetadataFile), so a data directory moved between nocopy and
// Kafka keeps its ids:
//
//   version: 0
//   topic_id: <22-character URL-safe base64 Uuid>
//
// Every partition directory of a topic holds the same id. Written
// atomically (log::write_checkpoint_file: temp file, fdatasync, rename,
// directory fsync), so a crash leaves the old file, the new one, or none.
//
// Thread-safety: stateless; the registry serializes writes to one directory.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "kafka/uuid.h"

namespace nocopy::broker {

inline constexpr const char* kPartitionMetadataFile = "partition.metadata";

struct PartitionMetadataRead {
  std::optional<kafka::Uuid> topic_id;  // nullopt: no file, or `error`
  std::string error;                    // why the file was not understood (empty: absent or read)
};

// The id in `dir`/partition.metadata. A file that is not version 0 with a
// non-zero id (Kafka's reader rejects the same) is reported in `error`.
PartitionMetadataRead read_partition_metadata(const std::filesystem::path& dir);

// Writes `dir`/partition.metadata. Throws std::runtime_error naming the file
// and the cause.
void write_partition_metadata(const std::filesystem::path& dir, const kafka::Uuid& topic_id);

}  // namespace nocopy::broker
