// ListOffsets v1-v3: latest (high watermark), earliest (log start), or the
// first record with a timestamp at or after the one asked for. With
// isolation_level=read_committed (v2+) "latest" is the last stable offset.
#include <array>
#include <cstdint>
#include <vector>

#include "broker/batch_decompressor.h"
#include "broker/handlers/reply.h"
#include "broker/request_handler.h"
#include "log/record_batch.h"

namespace nocopy::broker {

using namespace handlers;

namespace {

// The log answers a timestamp lookup inside uncompressed batches; for a
// compressed one it returns the batch's base offset. Kafka answers the first
// *record* with timestamp >= ts, so look inside that batch: read it (one
// pread of the batch -- ListOffsets by time is rare, and the batch is
// normally in the page cache) and decompress its records (BatchDecompressor).
// Anything unexpected keeps the log's answer.
std::int64_t first_record_at_or_after(const Partition& part, std::int64_t off, std::int64_t ts) {
  if (off < 0) return off;
  auto rr = part.read(off, 1);
  if (rr.error || rr.regions.empty()) return off;
  const buf::FileRegion& reg = rr.regions.front();
  std::array<std::byte, log::kBatchHeaderSize> hdr{};
  if (reg.length < hdr.size()) return off;
  auto n = reg.file->pread_full(hdr, reg.offset);
  if (!n || *n < hdr.size()) return off;
  const log::BatchHeader h = log::parse_batch_header(hdr);
  if (h.base_offset != off || h.compression() == 0 || h.log_append_time() || h.total_size() > reg.length)
    return off;
  // Bounded: no batch above 64 MiB is read or inflated past 256 MiB.
  constexpr std::uint64_t kMaxBatch = 64ull << 20;
  constexpr std::size_t kMaxRecords = 256u << 20;
  if (h.total_size() > kMaxBatch) return off;
  std::vector<std::byte> batch(h.total_size());  // COPY of one batch
  auto m = reg.file->pread_full(batch, reg.offset);
  if (!m || *m < batch.size()) return off;
  return BatchDecompressor::first_offset_at_or_after(batch, ts, kMaxRecords).value_or(off);
}

}  // namespace

// Authorization: DESCRIBE on each topic (else TOPIC_AUTHORIZATION_FAILED).
void RequestHandler::list_offsets(const Header& h, const kafka::ListOffsetsRequest& req, Done& done,
                                  const Access& access) {
  kafka::ListOffsetsResponse res;
  res.topics.reserve(req.topics.size());
  for (auto& t : req.topics) {
    auto& rt = res.topics.emplace_back();
    rt.name = t.name;
    rt.partitions.reserve(t.partitions.size());
    const bool allowed = access.topic(security::AclOperation::describe, t.name);
    for (auto& p : t.partitions) {
      auto& rp = rt.partitions.emplace_back();
      rp.partition_index = p.partition_index;
      if (!allowed) {
        rp.error_code = code(ErrorCode::topic_authorization_failed);
        continue;
      }
      auto part = served(t.name, p.partition_index, &rp.error_code);
      if (!part) continue;
      const std::int64_t ts = p.timestamp;
      std::int64_t off;
      if (ts == kafka::kLatestTimestamp)
        off = req.isolation_level == 1 ? part->last_stable_offset() : part->high_watermark();
      else if (ts == kafka::kEarliestTimestamp)
        off = part->log_start_offset();
      else
        off = first_record_at_or_after(*part, part->offset_for_timestamp(ts), ts);
      rp.timestamp = ts < 0 ? -1 : (off >= 0 ? ts : -1);
      rp.offset = off;
    }
  }
  done(respond(encode(h, res)));
}

}  // namespace nocopy::broker
