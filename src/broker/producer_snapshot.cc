#include "broker/producer_snapshot.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <string>
#include <string_view>
#include <system_error>

#include "kafka/producer_snapshot_records.h"
#include "kafka/reader.h"
#include "kafka/versioned_record.h"
#include "kafka/writer.h"
#include "log/checkpoint_file.h"
#include "log/crc32c.h"
#include "log/log_segment.h"

namespace nocopy::broker {

namespace {
// Version 1 (hand-written, before the layout was described) is refused: a
// restart then rebuilds the state from the log, as for a corrupt file.
constexpr std::int16_t kVersion = 2;

std::string file_name(std::int64_t offset) { return log::LogSegment::file_name(offset, ProducerSnapshotFiles::kSuffix); }
}  // namespace

std::vector<std::byte> ProducerSnapshot::encode() const {
  kafka::ProducerSnapshotFile m;
  m.offset = offset;
  m.last_aborted_marker = last_aborted_marker;
  m.open_transactions.reserve(open_txns.size());
  for (const auto& [pid, first] : open_txns) m.open_transactions.push_back({pid, first});
  m.producers = producers;
  kafka::Writer w;
  kafka::encode_versioned(w, kVersion, m);
  w.u32(log::crc32c(w.buffer()));
  return w.take_buffer();
}

std::optional<ProducerSnapshot> ProducerSnapshot::decode(std::span<const std::byte> bytes) {
  if (bytes.size() < 4) return std::nullopt;
  kafka::Reader tail(bytes.subspan(bytes.size() - 4));
  if (tail.u32() != log::crc32c(bytes.first(bytes.size() - 4))) return std::nullopt;
  auto m = kafka::decode_versioned<kafka::ProducerSnapshotFile>(bytes.first(bytes.size() - 4));
  if (!m) return std::nullopt;
  ProducerSnapshot s;
  s.offset = m->offset;
  s.last_aborted_marker = m->last_aborted_marker;
  for (const auto& t : m->open_transactions) s.open_txns[t.producer_id] = t.first_offset;
  s.producers = std::move(m->producers);
  return s;
}

std::vector<std::int64_t> ProducerSnapshotFiles::list(const std::filesystem::path& dir) {
  std::vector<std::int64_t> out;
  std::error_code ec;
  const std::string_view suffix = kSuffix;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (!name.ends_with(suffix) || name.size() != 20 + suffix.size()) continue;
    std::int64_t offset = -1;
    auto [end, err] = std::from_chars(name.data(), name.data() + 20, offset);
    if (err == std::errc{} && end == name.data() + 20) out.push_back(offset);
  }
  std::sort(out.begin(), out.end());
  return out;
}

log::LogResult<void> ProducerSnapshotFiles::write(const std::filesystem::path& dir, const ProducerSnapshot& s) {
  const std::vector<std::byte> bytes = s.encode();
  auto w = log::write_checkpoint_file(
      dir, file_name(s.offset), std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  if (!w) return w;
  const std::vector<std::int64_t> all = list(dir);
  for (std::size_t i = 0; i + kKeep < all.size(); ++i) remove(dir, all[i]);
  return {};
}

std::optional<ProducerSnapshot> ProducerSnapshotFiles::read(const std::filesystem::path& dir, std::int64_t offset) {
  auto text = log::read_checkpoint_file(dir, file_name(offset));
  if (!text) return std::nullopt;
  auto s = ProducerSnapshot::decode(std::as_bytes(std::span(text->data(), text->size())));
  if (!s || s->offset != offset) {
    spdlog::warn("{}: producer snapshot {} is corrupt; ignored", dir.string(), file_name(offset));
    return std::nullopt;
  }
  return s;
}

void ProducerSnapshotFiles::remove(const std::filesystem::path& dir, std::int64_t offset) noexcept {
  std::error_code ec;
  std::filesystem::remove(dir / file_name(offset), ec);
}

}  // namespace nocopy::broker
