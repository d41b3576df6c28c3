#include "broker/producer_snapshot.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <string>
#include <string_view>
#include <system_error>

#include "kafka/reader.h"
#include "kafka/writer.h"
#include "log/checkpoint_file.h"
#include "log/crc32c.h"
#include "log/log_segment.h"

namespace nocopy::broker {

namespace {
constexpr std::int16_t kVersion = 1;

std::string file_name(std::int64_t offset) { return log::LogSegment::file_name(offset, ProducerSnapshotFiles::kSuffix); }
}  // namespace

std::vector<std::byte> ProducerSnapshot::encode() const {
  kafka::Writer w;
  w.i16(kVersion);
  w.i64(offset);
  w.i64(last_aborted_marker);
  w.i32(static_cast<std::int32_t>(open_txns.size()));
  for (const auto& [pid, first] : open_txns) {
    w.i64(pid);
    w.i64(first);
  }
  w.i32(static_cast<std::int32_t>(producers.size()));
  w.raw(producers);
  w.u32(log::crc32c(w.buffer()));
  return w.take_buffer();
}

std::optional<ProducerSnapshot> ProducerSnapshot::decode(std::span<const std::byte> bytes) {
  if (bytes.size() < 4) return std::nullopt;
  kafka::Reader tail(bytes.subspan(bytes.size() - 4));
  if (tail.u32() != log::crc32c(bytes.first(bytes.size() - 4))) return std::nullopt;
  kafka::Reader r(bytes.first(bytes.size() - 4));
  if (r.i16() != kVersion) return std::nullopt;
  ProducerSnapshot s;
  s.offset = r.i64();
  s.last_aborted_marker = r.i64();
  const std::int32_t open = r.i32();
  if (!r.ok() || open < 0 || static_cast<std::size_t>(open) > r.remaining() / 16) return std::nullopt;
  for (std::int32_t i = 0; i < open; ++i) {
    const std::int64_t pid = r.i64();
    s.open_txns[pid] = r.i64();
  }
  const std::int32_t len = r.i32();
  if (!r.ok() || len < 0) return std::nullopt;
  auto p = r.raw(static_cast<std::size_t>(len));
  if (!r.ok() || r.remaining() != 0) return std::nullopt;
  s.producers.assign(p.begin(), p.end());
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
