// Order statistics of a benchmark's repeated samples.
//
// A benchmark figure in nocopy is always a median with its min-max spread,
// never a mean: on a shared, noisy machine one slow sample must not move the
// reported figure, and the spread must stay visible.
#pragma once

#include <cstddef>
#include <span>

namespace nocopy::bench {

struct Summary {
  std::size_t count = 0;
  double median = 0;  // mean of the two middle values for an even count
  double min = 0;
  double max = 0;
};

// Summarizes `samples` (any order, copied internally; NaNs are not allowed).
// An empty span gives Summary{} with count 0.
Summary summarize(std::span<const double> samples);

}  // namespace nocopy::bench
