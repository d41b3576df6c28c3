#include "log/offset_index.h"

#include "log/record_batch.h"


namespace nocopy::log {

OffsetPosition OffsetIndex::entry(std::size_t i) const noexcept {
  const std::byte* e = file_.entry(i);
  return {base_offset_ + load_be32(e), static_cast<std::uint32_t>(load_be32(e + 4))};
}

IndexWindow OffsetIndex::lookup_window(std::int64_t target) const noexcept {
  const std::size_t n = file_.entries();
  // Binary search for the last entry with offset <= target, comparing
  // relative offsets (the entries' own 4-byte form).
  const std::int64_t rel = target - base_offset_;
  std::size_t lo = 0, hi = n;  // invariant: answer index < hi, entries [0, lo) are <= target
  while (lo < hi) {
    std::size_t mid = lo + (hi - lo) / 2;
    if (load_be32(file_.entry(mid)) <= rel) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  IndexWindow w;
  w.from = lo == 0 ? OffsetPosition{base_offset_, 0} : entry(lo - 1);
  if (lo < n) {
    const OffsetPosition next = entry(lo);
    w.next_position = next.position;
    w.next_offset = next.offset;
  }
  return w;
}

bool OffsetIndex::append(std::int64_t offset, std::uint64_t position) noexcept {
  std::byte e[kEntrySize];
  store_be32(e, static_cast<std::int32_t>(offset - base_offset_));
  store_be32(e + 4, static_cast<std::int32_t>(position));
  return file_.append(e);
}

void OffsetIndex::truncate_to(std::int64_t offset) noexcept {
  std::size_t n = file_.entries();
  while (n > 0 && entry(n - 1).offset >= offset) --n;
  file_.truncate_entries(n);
}

bool OffsetIndex::sane_ends(std::uint64_t log_size) const noexcept {
  const std::size_t n = file_.entries();
  if (n == 0) return true;
  auto ok = [&](std::size_t i) {
    const std::byte* e = file_.entry(i);
    return load_be32(e) >= 0 && load_be32(e + 4) >= 0 && static_cast<std::uint64_t>(load_be32(e + 4)) < log_size;
  };
  if (!ok(0) || !ok(n - 1)) return false;
  if (n == 1) return true;
  const std::byte* first = file_.entry(0);
  const std::byte* last = file_.entry(n - 1);
  return load_be32(first) < load_be32(last) && load_be32(first + 4) < load_be32(last + 4);
}

}  // namespace nocopy::log
