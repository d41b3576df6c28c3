// ListOffsets v1-v11, as Kafka 4.x answers them (no tiered storage):
//   -1 latest: the high watermark, or the last stable offset with
//      isolation_level=read_committed (v2+); the partition's leader epoch.
//   -2 earliest, -4 earliest local (v8+): the log start offset; the epoch
//      of the leader-epoch cache's first entry when it starts at or before it.
//   -3 max timestamp (v7+): the first record carrying the log's largest
//      timestamp, with that timestamp.
//   -5 latest tiered (v9+), -6 earliest pending upload (v11+): nothing is
//      tiered, so offset -1, timestamp -1, error 0.
//   >= 0: the first record whose timestamp is >= the one asked for, with its
//      own timestamp and offset.
// A record found by timestamp (and -3) must lie below the high watermark /
// LSO, else the answer is -1/-1. Records found answer their batch's
// partitionLeaderEpoch (v4+) in cluster mode, where the leader stamps every
// batch; a single node keeps what producers sent and answers -1.
// -4, -5 and -6 from a version too old for them are UNSUPPORTED_VERSION.
// timeout_ms (v10+) bounds remote lookups, of which there are none.
// A partition named more than once is INVALID_REQUEST at each place.
// Cluster mode: a leader whose high watermark is still below its log end at
// the election (the followers have not told it yet) answers a client
// (replica_id -1) OFFSET_NOT_AVAILABLE for -1 and for a record found at or
// above the high watermark / LSO, as Kafka does, rather than an offset that
// may go back.
#include <array>
#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "broker/batch_decompressor.h"
#include "broker/handlers/reply.h"
#include "broker/request_handler.h"
#include "log/partition_log.h"
#include "log/record_batch.h"
#include "replication/replica_manager.h"

namespace nocopy::broker {

using namespace handlers;

namespace {

// The log answers a timestamp lookup inside uncompressed batches; for a
// compressed one it returns the batch's base offset and max timestamp.
// Kafka answers the first *record* with timestamp >= ts, so look inside
// that batch: read it (one pread of the batch -- ListOffsets by time is
// rare, and the batch is normally in the page cache) and decompress its
// records (BatchDecompressor). Anything unexpected keeps the log's answer.
log::FoundRecord exact_record(const Partition& part, log::FoundRecord found, std::int64_t ts) {
  if (found.exact || found.offset < 0) return found;
  auto rr = part.read(found.offset, 1, true);
  if (rr.error || rr.regions.empty()) return found;
  const buf::FileRegion& reg = rr.regions.front();
  std::array<std::byte, log::kBatchHeaderSize> hdr{};
  if (reg.length < hdr.size()) return found;
  auto n = reg.file->pread_full(hdr, reg.offset);
  if (!n || *n < hdr.size()) return found;
  const log::BatchHeader h = log::parse_batch_header(hdr);
  if (h.base_offset != found.offset || h.total_size() > reg.length) return found;
  // Bounded: no batch above 64 MiB is read or inflated past 256 MiB.
  constexpr std::uint64_t kMaxBatch = 64ull << 20;
  constexpr std::size_t kMaxRecords = 256u << 20;
  if (h.total_size() > kMaxBatch) return found;
  std::vector<std::byte> batch(h.total_size());  // COPY of one batch
  auto m = reg.file->pread_full(batch, reg.offset);
  if (!m || *m < batch.size()) return found;
  if (auto r = BatchDecompressor::first_record_at_or_after(batch, ts, kMaxRecords)) {
    found.offset = r->offset;
    found.timestamp = r->timestamp;
    found.exact = true;
  }
  return found;
}

struct Answer {
  std::int64_t timestamp = -1;
  std::int64_t offset = -1;
  std::int32_t leader_epoch = -1;
  ErrorCode error = ErrorCode::none;
};

// `leader_epoch`: the partition's (cluster mode), else -1. `hw_unknown`: a
// client asks a new leader whose high watermark lags its epoch's start.
Answer look_up(Partition& part, std::int64_t ts, bool read_committed, std::int32_t leader_epoch, bool hw_unknown) {
  const std::int64_t fetchable = read_committed ? part.last_stable_offset() : part.high_watermark();
  const Answer not_available{-1, -1, -1, ErrorCode::offset_not_available};
  switch (ts) {
    case kafka::kLatestTimestamp:
      if (hw_unknown) return not_available;
      return {-1, fetchable, leader_epoch};
    case kafka::kEarliestTimestamp:
    case kafka::kEarliestLocalTimestamp: {
      Answer a{-1, part.log_start_offset(), -1};
      if (leader_epoch >= 0) {
        const auto entries = part.log().leader_epochs().entries();
        if (!entries.empty() && entries.front().start_offset <= a.offset) a.leader_epoch = entries.front().epoch;
      }
      return a;
    }
    case kafka::kLatestTieredTimestamp:
    case kafka::kEarliestPendingUploadTimestamp:
      return {};
    default:
      break;
  }
  auto found = ts == kafka::kMaxTimestamp ? part.log().max_timestamp_record() : part.log().record_for_timestamp(ts);
  if (!found) return {};
  const log::FoundRecord r = exact_record(part, *found, ts == kafka::kMaxTimestamp ? found->timestamp : ts);
  if (r.offset >= fetchable) return hw_unknown ? not_available : Answer{};
  return {r.timestamp, r.offset, leader_epoch >= 0 ? r.leader_epoch : -1};
}

// The partitions `req` names more than once.
std::set<std::pair<std::string, std::int32_t>> named_twice(const kafka::ListOffsetsRequest& req) {
  std::set<std::pair<std::string, std::int32_t>> seen, twice;
  for (const auto& t : req.topics)
    for (const auto& p : t.partitions)
      if (!seen.emplace(t.name, p.partition_index).second) twice.emplace(t.name, p.partition_index);
  return twice;
}

}  // namespace

// Authorization: DESCRIBE on each topic (else TOPIC_AUTHORIZATION_FAILED).
// Cluster mode: a current_leader_epoch (v4+) other than the leader's is
// FENCED_LEADER_EPOCH (older) or UNKNOWN_LEADER_EPOCH (newer).
void RequestHandler::list_offsets(const Header& h, const kafka::ListOffsetsRequest& req, Done& done,
                                  const Access& access) {
  kafka::ListOffsetsResponse res;
  res.topics.reserve(req.topics.size());
  const auto twice = named_twice(req);
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
      if (twice.contains({t.name, p.partition_index})) {
        rp.error_code = code(ErrorCode::invalid_request);
        continue;
      }
      if (kafka::timestamp_needs_newer_version(p.timestamp, h.api_version)) {
        rp.error_code = code(ErrorCode::unsupported_version);
        continue;
      }
      auto part = served(t.name, p.partition_index, &rp.error_code);
      if (!part) continue;
      std::int32_t epoch = -1;
      bool hw_unknown = false;
      if (auto view = replicas_ ? replicas_->view(t.name, p.partition_index) : std::nullopt) {
        epoch = view->leader_epoch;
        hw_unknown = req.replica_id == -1 && view->epoch_start_offset > part->high_watermark();
        if (p.current_leader_epoch >= 0 && p.current_leader_epoch != epoch) {
          rp.error_code = code(p.current_leader_epoch < epoch ? ErrorCode::fenced_leader_epoch
                                                              : ErrorCode::unknown_leader_epoch);
          continue;
        }
      }
      const Answer a = look_up(*part, p.timestamp, req.isolation_level == 1, epoch, hw_unknown);
      rp.error_code = code(a.error);
      rp.timestamp = a.timestamp;
      rp.offset = a.offset;
      rp.leader_epoch = a.leader_epoch;
    }
  }
  done(respond(encode(h, res)));
}

}  // namespace nocopy::broker
