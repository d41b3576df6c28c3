// SequenceTracker: exact accounting of which (run id, sequence) pairs a
// consumer has seen, to report missing and duplicated messages.
//
// One bitmap per run id, grown on demand (1 bit per sequence number, so ten
// million messages cost 1.25 MB). Not thread-safe: each consumer instance
// owns one and the results are merged with merge().
#pragma once

#include <cstdint>
#include <map>
#include <vector>

namespace nocopy::perf {

class SequenceTracker {
 public:
  // Records one message; returns false if it was a duplicate.
  bool record(std::uint32_t run_id, std::uint64_t sequence);

  // Adds every sequence seen by `other` (a duplicate across trackers counts
  // as a duplicate here too).
  void merge(const SequenceTracker& other);

  std::uint64_t unique() const { return unique_; }
  std::uint64_t duplicates() const { return duplicates_; }
  std::size_t runs() const { return runs_.size(); }

  // Sequence numbers missing below the highest one seen, summed over runs.
  std::uint64_t gaps() const;

  // Missing messages given that `expected` distinct messages should have been
  // seen: max(gaps(), expected - unique()). expected == 0 means unknown.
  std::uint64_t missing(std::uint64_t expected) const;

 private:
  struct Run {
    std::vector<std::uint64_t> bits;
    std::uint64_t unique = 0;
    std::uint64_t max_seq_plus1 = 0;
  };
  bool set(Run& r, std::uint64_t sequence);

  std::map<std::uint32_t, Run> runs_;
  std::uint64_t unique_ = 0;
  std::uint64_t duplicates_ = 0;
};

}  // namespace nocopy::perf
