#include "perf/sequence_tracker.h"

#include <algorithm>
#include <bit>

namespace nocopy::perf {

bool SequenceTracker::set(Run& r, std::uint64_t sequence) {
  const std::size_t word = sequence / 64;
  if (word >= r.bits.size()) r.bits.resize(std::max<std::size_t>(word + 1, r.bits.size() * 2), 0);
  const std::uint64_t mask = 1ull << (sequence % 64);
  if (r.bits[word] & mask) {
    ++duplicates_;
    return false;
  }
  r.bits[word] |= mask;
  ++r.unique;
  ++unique_;
  r.max_seq_plus1 = std::max(r.max_seq_plus1, sequence + 1);
  return true;
}

bool SequenceTracker::record(std::uint32_t run_id, std::uint64_t sequence) {
  return set(runs_[run_id], sequence);
}

void SequenceTracker::merge(const SequenceTracker& other) {
  duplicates_ += other.duplicates_;
  for (const auto& [id, theirs] : other.runs_) {
    Run& mine = runs_[id];
    for (std::size_t w = 0; w < theirs.bits.size(); ++w) {
      std::uint64_t word = theirs.bits[w];
      while (word != 0) {
        const int b = std::countr_zero(word);
        word &= word - 1;
        set(mine, w * 64 + static_cast<std::uint64_t>(b));
      }
    }
  }
}

std::uint64_t SequenceTracker::gaps() const {
  std::uint64_t g = 0;
  for (const auto& [id, r] : runs_) g += r.max_seq_plus1 - r.unique;
  return g;
}

std::uint64_t SequenceTracker::missing(std::uint64_t expected) const {
  const std::uint64_t short_by = expected > unique_ ? expected - unique_ : 0;
  return std::max(gaps(), short_by);
}

}  // namespace nocopy::perf
