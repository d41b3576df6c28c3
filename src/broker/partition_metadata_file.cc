#include "broker/partition_metadata_file.h"

#include <sstream>
#include <stdexcept>

#include "log/checkpoint_file.h"

namespace nocopy::broker {

namespace {

// "key: value" (Kafka splits on any run of blanks) -> value, if the key matches.
std::optional<std::string> field(const std::string& line, std::string_view key) {
  std::istringstream in(line);
  std::string k, v, extra;
  if (!(in >> k >> v) || (in >> extra) || k != std::string(key) + ":") return std::nullopt;
  return v;
}

}  // namespace

PartitionMetadataRead read_partition_metadata(const std::filesystem::path& dir) {
  PartitionMetadataRead out;
  auto text = log::read_checkpoint_file(dir, kPartitionMetadataFile);
  if (!text) return out;
  const auto where = (dir / kPartitionMetadataFile).string();
  std::istringstream in(*text);
  std::string l1, l2;
  std::getline(in, l1);
  std::getline(in, l2);
  auto version = field(l1, "version");
  if (!version) {
    out.error = where + ": malformed line '" + l1 + "'";
    return out;
  }
  if (*version != "0") {
    out.error = where + ": unsupported version " + *version;
    return out;
  }
  auto id_text = field(l2, "topic_id");
  auto id = id_text ? kafka::parse_uuid(*id_text) : std::nullopt;
  if (!id || kafka::is_zero(*id)) {
    out.error = where + ": malformed topic id line '" + l2 + "'";
    return out;
  }
  out.topic_id = id;
  return out;
}

void write_partition_metadata(const std::filesystem::path& dir, const kafka::Uuid& topic_id) {
  const std::string text = "version: 0\ntopic_id: " + kafka::uuid_to_string(topic_id) + "\n";
  if (auto r = log::write_checkpoint_file(dir, kPartitionMetadataFile, text); !r)
    throw std::runtime_error((dir / kPartitionMetadataFile).string() + ": " + r.error().to_string());
}

}  // namespace nocopy::broker
