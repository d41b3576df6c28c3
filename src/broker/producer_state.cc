#include "broker/producer_state.h"

#include <algorithm>
#include <exception>
#include <limits>
#include <stdexcept>
#include <utility>

#include <spdlog/spdlog.h>

#include "kafka/producer_snapshot_records.h"
#include "kafka/versioned_record.h"

namespace nocopy::broker {

using kafka::ErrorCode;

// ---------------------------------------------------------------- allocator

ProducerIdAllocator::ProducerIdAllocator(std::int64_t next_unreserved, std::function<void(std::int64_t)> persist,
                                         std::int64_t block_size)
    : next_(next_unreserved < 0 ? 0 : next_unreserved),
      reserved_until_(next_),
      persist_(std::move(persist)),
      block_size_(block_size < 1 ? 1 : block_size) {}

ProducerIdAllocator::ProducerIdAllocator(std::function<std::int64_t(std::int64_t)> reserve, std::int64_t block_size)
    : next_(0), reserved_until_(0), reserve_(std::move(reserve)), block_size_(block_size < 1 ? 1 : block_size) {}

std::int64_t ProducerIdAllocator::allocate() {
  std::lock_guard lock(mu_);
  if (reserve_ && next_ >= reserved_until_) {
    const std::int64_t first = reserve_(block_size_);  // throws: nothing handed out
    if (first < 0) throw std::runtime_error("producer id block reserved at a negative id");
    next_ = first;
    reserved_until_ = first + block_size_;
  } else if (next_ >= reserved_until_) {
    std::int64_t until = next_ + block_size_;
    if (persist_) persist_(until);  // throws: nothing handed out
    reserved_until_ = until;
  }
  return next_++;
}

kafka::InitProducerIdResponse ProducerIdAllocator::init_producer_id(const kafka::InitProducerIdRequest& req) {
  kafka::InitProducerIdResponse r;
  if (req.transactional_id.has_value()) {
    r.error_code = kafka::to_wire(ErrorCode::invalid_request);
    return r;
  }
  try {
    r.producer_id = allocate();
    r.producer_epoch = 0;
  } catch (const std::exception& e) {
    spdlog::error("InitProducerId: could not persist the producer id block: {}", e.what());
    r.error_code = kafka::to_wire(ErrorCode::coordinator_not_available);
  }
  return r;
}

// ---------------------------------------------------------------- per partition

namespace {
constexpr std::int32_t kMaxSeq = std::numeric_limits<std::int32_t>::max();

// The sequence after `s`, wrapping at INT32_MAX like Kafka's.
std::int32_t next_seq(std::int32_t s) { return s == kMaxSeq ? 0 : s + 1; }
}  // namespace

std::int32_t ProducerStateManager::BatchId::last_sequence() const {
  if (record_count <= 0) return base_sequence;
  std::int64_t last = static_cast<std::int64_t>(base_sequence) + record_count - 1;
  if (last > kMaxSeq) last -= static_cast<std::int64_t>(kMaxSeq) + 1;
  return static_cast<std::int32_t>(last);
}

ProducerStateManager::Check ProducerStateManager::check(const BatchId& b) const {
  Check c;
  if (b.producer_id == kNoProducerId) return c;
  auto it = producers_.find(b.producer_id);
  if (it == producers_.end()) return c;  // unknown producer: accept (see header)
  const Entry& e = it->second;
  if (b.producer_epoch < e.epoch) {
    c.verdict = Verdict::reject;
    c.error = ErrorCode::invalid_producer_epoch;
    return c;
  }
  // No sequence (-1): a coordinator's batch (the group coordinator's
  // transactional offsets); only its epoch is checked, it is never a retry.
  if (b.base_sequence < 0) return c;
  if (b.producer_epoch > e.epoch) {
    // A bumped epoch restarts the sequence.
    if (b.base_sequence != 0) {
      c.verdict = Verdict::reject;
      c.error = ErrorCode::out_of_order_sequence_number;
    }
    return c;
  }
  const std::int32_t last = b.last_sequence();
  for (const BatchMeta& m : e.batches) {
    if (m.first_seq == b.base_sequence && m.last_seq == last) {
      c.verdict = Verdict::duplicate;
      c.duplicate_base_offset = m.first_offset;
      return c;
    }
  }
  if (!e.batches.empty() && b.base_sequence != next_seq(e.batches.back().last_seq)) {
    c.verdict = Verdict::reject;
    c.error = ErrorCode::out_of_order_sequence_number;
  }
  return c;
}

void ProducerStateManager::record(const BatchId& b, std::int64_t first_offset, std::int64_t last_offset,
                                  std::int64_t now_ms) {
  if (b.producer_id == kNoProducerId) return;
  Entry& e = producers_[b.producer_id];
  if (now_ms >= 0) e.last_append_ms = std::max(e.last_append_ms, now_ms);
  if (b.producer_epoch != e.epoch) {
    e.epoch = b.producer_epoch;
    e.batches.clear();
  }
  if (b.base_sequence < 0) return;  // no sequence: nothing to deduplicate against
  e.batches.push_back(BatchMeta{b.base_sequence, b.last_sequence(), first_offset, last_offset});
  while (e.batches.size() > kMaxBatchesPerProducer) e.batches.pop_front();
}

void ProducerStateManager::on_marker(std::int64_t producer_id, std::int16_t epoch) {
  if (producer_id == kNoProducerId) return;
  Entry& e = producers_[producer_id];
  if (epoch > e.epoch) {
    e.epoch = epoch;
    e.batches.clear();
  }
}

std::int16_t ProducerStateManager::epoch_of(std::int64_t producer_id) const {
  auto it = producers_.find(producer_id);
  return it == producers_.end() ? std::int16_t{-1} : it->second.epoch;
}

std::size_t ProducerStateManager::expire(std::int64_t now_ms, std::int64_t max_idle_ms) {
  if (max_idle_ms < 0) return 0;
  std::size_t n = 0;
  for (auto it = producers_.begin(); it != producers_.end();) {
    Entry& e = it->second;
    if (e.last_append_ms < 0) {
      e.last_append_ms = now_ms;
    } else if (now_ms - e.last_append_ms >= max_idle_ms) {
      it = producers_.erase(it);
      ++n;
      continue;
    }
    ++it;
  }
  return n;
}

// Layout: src/kafka/schema/producer_state_entries.msg after an int16 version
// (2); version 1 (hand-written, an int8 batch count) is refused, and the
// partition then rebuilds its state from the log.
namespace {
constexpr std::int16_t kSnapshotVersion = 2;
}  // namespace

std::vector<std::byte> ProducerStateManager::snapshot() const {
  kafka::ProducerStateEntries m;
  m.producers.reserve(producers_.size());
  for (const auto& [pid, e] : producers_) {
    auto& p = m.producers.emplace_back();
    p.producer_id = pid;
    p.epoch = e.epoch;
    for (const BatchMeta& b : e.batches) p.batches.push_back({b.first_seq, b.last_seq, b.first_offset, b.last_offset});
  }
  // Sorted by producer id: the same state always gives the same bytes.
  std::sort(m.producers.begin(), m.producers.end(),
            [](const auto& x, const auto& y) { return x.producer_id < y.producer_id; });
  return kafka::encode_versioned(kSnapshotVersion, m);
}

bool ProducerStateManager::load_snapshot(std::span<const std::byte> bytes) {
  auto m = kafka::decode_versioned<kafka::ProducerStateEntries>(bytes);
  if (!m) return false;
  std::unordered_map<std::int64_t, Entry> loaded;
  for (const auto& p : m->producers) {
    if (p.batches.size() > kMaxBatchesPerProducer || loaded.contains(p.producer_id)) return false;
    Entry e;
    e.epoch = p.epoch;
    for (const auto& b : p.batches) e.batches.push_back({b.first_sequence, b.last_sequence, b.first_offset, b.last_offset});
    loaded[p.producer_id] = std::move(e);
  }
  producers_ = std::move(loaded);
  return true;
}

}  // namespace nocopy::broker
