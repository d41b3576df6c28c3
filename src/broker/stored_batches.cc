#include "broker/stored_batches.h"

#include "broker/partition.h"
#include "buf/chain.h"
#include "log/record_batch.h"

namespace nocopy::broker {

void for_each_stored_batch(Partition& part,
                           const std::function<void(std::span<const std::byte>, std::int64_t)>& fn,
                           bool to_log_end) {
  std::int64_t offset = part.log_start_offset();
  const auto end = to_log_end ? part.log_end_offset() : part.high_watermark();
  while (offset < end) {
    auto rr = part.read(offset, 1 << 20, to_log_end);
    if (rr.error || rr.regions.empty()) break;
    buf::Chain c;
    for (auto& reg : rr.regions) c.append(reg);
    auto bytes = c.to_string_copy();  // COPIES: startup replay only
    if (!bytes) break;
    auto all = std::as_bytes(std::span(bytes->data(), bytes->size()));
    std::size_t pos = 0;
    std::int64_t next = offset;
    while (pos + log::kBatchHeaderSize <= all.size()) {
      auto h = log::parse_batch_header(all.subspan(pos));
      if (pos + h.total_size() > all.size()) break;
      fn(all.subspan(pos, h.total_size()), h.base_offset);
      next = h.last_offset() + 1;
      pos += h.total_size();
    }
    if (next <= offset) break;
    offset = next;
  }
}

}  // namespace nocopy::broker
