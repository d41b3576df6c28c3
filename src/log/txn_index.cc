#include "log/txn_index.h"

#include <fmt/format.h>

#include <charconv>
#include <system_error>

#include "io/file.h"
#include "log/record_batch.h"

namespace nocopy::log {

std::filesystem::path TxnIndexFile::path_for(const std::filesystem::path& dir, std::int64_t segment_base) {
  return dir / fmt::format("{:020d}{}", segment_base, kSuffix);
}

std::int64_t TxnIndexFile::base_of(const std::filesystem::path& file) {
  const std::string name = file.filename().string();
  const std::string_view suffix(kSuffix);
  if (name.size() != 20 + suffix.size() || !name.ends_with(suffix)) return -1;
  std::int64_t base = -1;
  auto [p, ec] = std::from_chars(name.data(), name.data() + 20, base);
  if (ec != std::errc{} || p != name.data() + 20) return -1;
  return base;
}

void TxnIndexFile::encode(const AbortedTxn& t, std::byte* out) noexcept {
  store_be16(out + 0, kVersion);
  store_be64(out + 2, t.producer_id);
  store_be64(out + 10, t.first_offset);
  store_be64(out + 18, t.last_offset);
  store_be64(out + 26, t.last_stable_offset);
}

LogResult<void> TxnIndexFile::append(const std::filesystem::path& file, const AbortedTxn& t) {
  std::byte entry[kEntrySize];
  encode(t, entry);
  try {
    io::File f = io::File::open(file, io::File::Mode::create_rw);
    auto size = f.size();
    if (!size) return std::unexpected(LogError{LogErrc::storage_error, 0, size.error().message()});
    // Whole entries only: a torn tail of a crash is overwritten.
    const std::uint64_t at = *size - *size % kEntrySize;
    if (auto w = f.pwrite_full(std::span<const std::byte>(entry, kEntrySize), at); !w)
      return std::unexpected(LogError{LogErrc::storage_error, 0, w.error().message()});
  } catch (const std::system_error& e) {
    return std::unexpected(LogError{LogErrc::storage_error, e.code().value(), e.what()});
  }
  return {};
}

std::vector<AbortedTxn> TxnIndexFile::read(const std::filesystem::path& file) {
  std::vector<AbortedTxn> out;
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) return out;
  io::File f = io::File::open(file, io::File::Mode::read);
  auto size = f.size();
  if (!size) return out;
  std::vector<std::byte> bytes(*size);
  auto n = f.pread_full(bytes, 0);
  if (!n) return out;
  for (std::size_t pos = 0; pos + kEntrySize <= *n; pos += kEntrySize) {
    const std::byte* p = bytes.data() + pos;
    if (load_be16(p) != kVersion) break;
    out.push_back({load_be64(p + 2), load_be64(p + 10), load_be64(p + 18), load_be64(p + 26)});
  }
  return out;
}

}  // namespace nocopy::log
