#include "bench/stats.h"

#include <algorithm>
#include <vector>

namespace nocopy::bench {

Summary summarize(std::span<const double> samples) {
  Summary s;
  s.count = samples.size();
  if (samples.empty()) return s;
  std::vector<double> v(samples.begin(), samples.end());
  std::sort(v.begin(), v.end());
  s.min = v.front();
  s.max = v.back();
  const std::size_t mid = v.size() / 2;
  s.median = (v.size() % 2 == 1) ? v[mid] : (v[mid - 1] + v[mid]) / 2.0;
  return s;
}

}  // namespace nocopy::bench
