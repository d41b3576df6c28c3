#include "log/time_index.h"

#include <algorithm>

#include "log/record_batch.h"

namespace nocopy::log {

TimestampOffset TimeIndex::entry(std::size_t i) const noexcept {
  const std::byte* e = file_.entry(i);
  return {load_be64(e), base_offset_ + load_be32(e + 8)};
}

TimestampOffset TimeIndex::lookup_before(std::int64_t ts) const noexcept {
  std::size_t lo = 0, hi = file_.entries();
  while (lo < hi) {
    std::size_t mid = lo + (hi - lo) / 2;
    if (entry(mid).timestamp < ts) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo == 0) return {-1, base_offset_};
  return entry(lo - 1);
}

bool TimeIndex::maybe_append(std::int64_t timestamp, std::int64_t offset) noexcept {
  std::size_t n = file_.entries();
  if (n > 0) {
    TimestampOffset last = entry(n - 1);
    if (timestamp <= last.timestamp || offset <= last.offset) return true;
  }
  if (file_.full()) return true;
  std::byte e[kEntrySize];
  store_be64(e, timestamp);
  store_be32(e + 8, static_cast<std::int32_t>(offset - base_offset_));
  return file_.append(e);
}

void TimeIndex::truncate_to(std::int64_t offset) noexcept {
  std::size_t n = file_.entries();
  while (n > 0 && entry(n - 1).offset >= offset) --n;
  file_.truncate_entries(n);
}

bool TimeIndex::sane(std::int64_t next_offset, std::size_t first_n) const noexcept {
  const std::size_t n = std::min(file_.entries(), first_n);
  for (std::size_t i = 0; i < n; ++i) {
    TimestampOffset e = entry(i);
    if (e.offset < base_offset_ || e.offset >= next_offset) return false;
    if (i > 0) {
      TimestampOffset p = entry(i - 1);
      if (e.timestamp <= p.timestamp || e.offset <= p.offset) return false;
    }
  }
  return true;
}

bool TimeIndex::sane_ends(std::int64_t next_offset) const noexcept {
  const std::size_t n = file_.entries();
  if (n == 0) return true;
  const TimestampOffset first = entry(0);
  const TimestampOffset last = entry(n - 1);
  for (const TimestampOffset& e : {first, last}) {
    if (e.offset < base_offset_ || e.offset >= next_offset) return false;
  }
  return n == 1 || (first.timestamp < last.timestamp && first.offset < last.offset);
}

}  // namespace nocopy::log
