#include "broker/partition.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <ctime>

#include "kafka/error_code.h"
#include "broker/metrics.h"
#include "broker/producer_snapshot.h"
#include "log/control_batch.h"
#include "log/partition_log.h"
#include "log/record_batch.h"
#include "net/event_loop.h"

namespace nocopy::broker {

namespace {
log::LogConfig log_config(const Config& cfg) {
  log::LogConfig lc;
  lc.segment_bytes = cfg.segment_bytes;
  lc.retention_ms = cfg.retention_ms;
  lc.retention_bytes = cfg.retention_bytes;
  lc.max_message_bytes = static_cast<std::uint32_t>(cfg.max_message_bytes);
  lc.preallocate_bytes = cfg.preallocate_bytes;
  lc.replica_drop_behind_bytes = cfg.replica_drop_behind_bytes;
  lc.map_for_reads = cfg.lookup_mmap;
  lc.allow_control_batches = true;  // markers; Partition::append refuses them from clients
  lc.timestamp_type = cfg.log_append_time() ? log::TimestampType::log_append_time : log::TimestampType::create_time;
  switch (cfg.flush) {
    case FlushMode::never: lc.flush.mode = log::FlushPolicy::Mode::never; break;
    case FlushMode::interval:
      lc.flush.mode = log::FlushPolicy::Mode::interval;
      lc.flush.ms = cfg.flush_interval_ms;
      break;
    case FlushMode::every:
      lc.flush.mode = log::FlushPolicy::Mode::every_append;
      lc.flush.group_commit = true;
      lc.flush.group_commit_delay_us = cfg.group_commit_delay_us;
      break;
  }
  return lc;
}
}  // namespace

Partition::Partition(std::string topic, std::int32_t index, std::filesystem::path dir, const Config& cfg,
                     Metrics* metrics)
    : topic_(std::move(topic)),
      index_(index),
      dir_(std::move(dir)),
      cfg_(cfg),
      metrics_(metrics) {
  log_ = log::PartitionLog::open(dir_, log_config(cfg_));
  txns_ = std::make_unique<log::TransactionTracker>(dir_);
  txns_->load(log_->segment_base_offsets());
  rebuild_producer_state();
  const auto& rep = log_->recovery_report();
  if (!rep.clean_shutdown && (rep.bytes_truncated || !rep.segments_deleted.empty()))
    spdlog::warn("{}-{}: recovery truncated {} bytes, deleted {} segment(s){}", topic_, index_, rep.bytes_truncated,
                 rep.segments_deleted.size(), rep.mid_log_corruption ? " (corruption before the end of the log)" : "");
}

Partition::~Partition() = default;

std::int64_t Partition::wall_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME_COARSE, &ts);  // ms-granular enough for a day-long expiry
  return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

std::size_t Partition::producer_count() {
  std::lock_guard lock(producers_mu_);
  return producers_.producer_count();
}

void Partition::rebuild_producer_state() {
  std::lock_guard snap_lock(snapshot_mu_);
  const std::int64_t from = restore_snapshot();
  const std::size_t batches = replay_batches(from);
  if (auto open = txns_->open_transactions(); !open.empty())
    spdlog::info("{}-{}: {} open transaction(s) after recovery, last stable offset {}", topic_, index_, open.size(),
                 last_stable_offset());
  if (producers_.producer_count())
    spdlog::info("{}-{}: producer state of {} producer(s) rebuilt from {} batch header(s) from offset {}{}", topic_,
                 index_, producers_.producer_count(), batches, from,
                 snapshot_offset_ == from ? " (producer snapshot)" : "");
}

std::int64_t Partition::restore_snapshot() {
  const std::int64_t start = log_->log_start_offset();
  const std::int64_t end = log_->log_end_offset();
  const std::vector<std::int64_t> offsets = ProducerSnapshotFiles::list(dir_);
  for (auto it = offsets.rbegin(); it != offsets.rend(); ++it) {
    if (*it > end) {  // it describes batches a crash took from the log
      ProducerSnapshotFiles::remove(dir_, *it);
      continue;
    }
    if (*it < start) break;  // the batches between it and the log start are gone
    auto snap = ProducerSnapshotFiles::read(dir_, *it);
    if (!snap) continue;
    if (snap->last_aborted_marker >= start && txns_->indexed_until() < snap->last_aborted_marker) {
      // A crash lost index entries the snapshot relies on: only a replay of
      // the whole log finds every abort again.
      spdlog::warn("{}-{}: the transaction index lacks the abort at offset {} known to the producer snapshot at {}",
                   topic_, index_, snap->last_aborted_marker, *it);
      break;
    }
    if (!producers_.load_snapshot(snap->producers)) continue;
    txns_->restore_open(snap->open_txns);
    snapshot_offset_ = *it;
    return *it;
  }
  return start;
}

void Partition::relearn_producers() {
  std::lock_guard lock(producers_mu_);
  producers_ = ProducerStateManager{};
  const std::int64_t from = std::max(log_->log_start_offset(), log_->log_end_offset() - kRelearnOffsets);
  const std::size_t batches = replay_batches(from, false);
  spdlog::info("{}-{}: producer state of {} producer(s) relearnt from {} batch header(s) from offset {}", topic_,
               index_, producers_.producer_count(), batches, from);
}

log::LogResult<log::AppendInfo> Partition::append_replicated(std::span<std::byte> batches) {
  std::lock_guard lock(producers_mu_);
  auto r = log_->append_replicated(batches);
  if (r) replay_batches(r->base_offset);
  return r;
}

void Partition::on_truncated() {
  // The order of write_producer_snapshot: snapshot_mu_, then producers_mu_.
  std::lock_guard snap_lock(snapshot_mu_);
  std::lock_guard lock(producers_mu_);
  const std::int64_t end = log_->log_end_offset();
  for (std::int64_t off : ProducerSnapshotFiles::list(dir_))
    if (off > end) ProducerSnapshotFiles::remove(dir_, off);
  if (snapshot_offset_ > end) snapshot_offset_ = -1;
  producers_ = ProducerStateManager{};
  txns_->restore_open({});
  const std::int64_t from = restore_snapshot();
  const std::size_t batches = replay_batches(from);
  spdlog::info("{}-{}: producer state rebuilt after truncation to {} ({} producer(s), {} batch header(s) from {})",
               topic_, index_, end, producers_.producer_count(), batches, from);
}

std::size_t Partition::replay_batches(std::int64_t from, bool with_txns) {
  const std::int64_t end = log_->log_end_offset();
  std::int64_t next = from;
  std::size_t batches = 0;
  std::array<std::byte, log::kBatchHeaderSize> hdr;
  std::vector<std::byte> control;
  while (next < end) {
    auto r = log_->read(next, 1 << 20);
    if (!r || r->regions.empty()) break;
    const std::int64_t before = next;
    for (const auto& reg : r->regions) {
      std::uint64_t pos = reg.offset;
      const std::uint64_t stop = reg.offset + reg.length;
      while (pos + hdr.size() <= stop) {
        auto n = reg.file->pread_full(hdr, pos);
        if (!n || *n < hdr.size()) break;
        const log::BatchHeader h = log::parse_batch_header(hdr);
        // The read starts at the batch holding `next`: skip what was replayed.
        if (h.last_offset() >= next) {
          if (h.is_control()) {
            // A marker: read its one record for the type (a few dozen bytes).
            control.resize(std::min<std::uint64_t>(h.total_size(), 4096));
            auto m = reg.file->pread_full(control, pos);
            auto marker = m && *m == h.total_size() ? log::parse_control_batch(control) : std::nullopt;
            if (marker) {
              producers_.on_marker(h.producer_id, h.producer_epoch);
            }
            if (marker && with_txns) {
              auto t = txns_->on_marker(h.producer_id, marker->type, h.base_offset, segment_base_of(h.base_offset),
                                        true);
              if (!t) spdlog::warn("{}-{}: transaction index: {}", topic_, index_, t.error().to_string());
            }
          } else if (h.producer_id >= 0) {
            producers_.record({h.producer_id, h.producer_epoch, h.base_sequence, h.last_offset_delta + 1},
                              h.base_offset, h.last_offset());
            if (with_txns && h.is_transactional()) txns_->on_data(h.producer_id, h.base_offset);
          }
          ++batches;
          next = h.last_offset() + 1;
        }
        pos += h.total_size();
      }
    }
    if (next <= before) break;  // no whole header in this read: stop rather than spin
  }
  return batches;
}

void Partition::write_producer_snapshot() {
  std::lock_guard snap_lock(snapshot_mu_);
  ProducerSnapshot snap;
  {
    // Appends by producers (and markers) hold producers_mu_: the state and
    // the log end agree.
    std::lock_guard lock(producers_mu_);
    snap.offset = log_->log_end_offset();
    if (snap.offset == snapshot_offset_) return;
    snap.producers = producers_.snapshot();
    snap.open_txns = txns_->open_transactions();
    snap.last_aborted_marker = txns_->last_aborted_marker();
  }
  auto w = ProducerSnapshotFiles::write(dir_, snap);
  if (!w) {
    spdlog::warn("{}-{}: producer snapshot at {} not written: {}", topic_, index_, snap.offset, w.error().to_string());
    return;
  }
  snapshot_offset_ = snap.offset;
}

Partition::AppendResult Partition::append(std::span<std::byte> batch, bool will_wait, std::int32_t leader_epoch) {
  AppendResult out;
  // One batch per partition per request, as Kafka requires of magic-2 producers.
  auto refuse = [&](kafka::ErrorCode e, std::string why) {
    out.error = kafka::to_wire(e);
    out.message = std::move(why);
    return out;
  };
  if (batch.size() < log::kBatchHeaderSize)
    return refuse(kafka::ErrorCode::corrupt_message, fmt::format("{} bytes: shorter than a batch header", batch.size()));
  const log::BatchHeader h = log::parse_batch_header(batch);
  if (h.magic != log::kMagicV2)
    return refuse(kafka::ErrorCode::invalid_record, fmt::format("magic {} is not 2 (only RecordBatch v2)", h.magic));
  // The size limit (max.message.bytes) is the log's to check.
  if (h.total_size() != batch.size())
    return refuse(h.total_size() < batch.size() ? kafka::ErrorCode::invalid_record : kafka::ErrorCode::corrupt_message,
                  fmt::format("batchLength {} does not match the {} bytes sent (one batch per partition)",
                              h.batch_length, batch.size()));
  if (h.is_control()) return refuse(kafka::ErrorCode::invalid_record, "control batches are written by the broker only");
  if (h.is_transactional() && h.producer_id < 0)
    return refuse(kafka::ErrorCode::invalid_record, "a transactional batch needs a producer id");
  const ProducerStateManager::BatchId id{h.producer_id, h.producer_epoch, h.base_sequence, h.last_offset_delta + 1};
  std::unique_lock lock(producers_mu_, std::defer_lock);
  if (id.producer_id >= 0) {
    lock.lock();
    const auto c = producers_.check(id);
    if (c.verdict == ProducerStateManager::Verdict::reject) {
      out.error = static_cast<std::int16_t>(c.error);
      return out;
    }
    if (c.verdict == ProducerStateManager::Verdict::duplicate) {
      spdlog::debug("{}-{}: duplicate batch of producer {} seq {} answered with offset {}", topic_, index_,
                    id.producer_id, id.base_sequence, c.duplicate_base_offset);
      out.base_offset = c.duplicate_base_offset;
      out.last_offset = c.duplicate_base_offset + id.record_count - 1;
      return out;
    }
  }
  // A transaction opens before its first batch is published (with the log
  // end now, or the real offset once known), so the LSO never passes it.
  const bool txn = h.is_transactional();
  const std::int64_t provisional = txn ? log_->log_end_offset() : -1;
  if (txn) txns_->on_data(id.producer_id, provisional);
  auto r = log_->append(batch, will_wait ? log::PartitionLog::SyncBy::caller : log::PartitionLog::SyncBy::log,
                        leader_epoch);
  if (txn) {
    if (r) txns_->data_appended(id.producer_id, provisional, r->base_offset);
    else txns_->data_failed(id.producer_id, provisional);
  }
  if (!r) {
    out.error = r.error().kafka_error_code();
    if (r.error().kind == log::LogErrc::invalid_record || r.error().kind == log::LogErrc::corrupt_message)
      out.message = r.error().message;
    spdlog::debug("{}-{}: append rejected: {}", topic_, index_, r.error().to_string());
    return out;
  }
  if (id.producer_id >= 0) producers_.record(id, r->base_offset, r->last_offset, wall_ms());
  out.base_offset = r->base_offset;
  out.last_offset = r->last_offset;
  out.log_append_time = r->log_append_time;  // -1 under CreateTime
  wake_appended();
  return out;
}

Partition::ReadResult Partition::read(std::int64_t offset, std::uint32_t max_bytes, bool to_log_end) const {
  ReadResult out;
  auto r = log_->read(offset, max_bytes, to_log_end ? log::PartitionLog::kLogEnd : log_->high_watermark());
  if (!r) {
    out.error = r.error().kafka_error_code();
    return out;
  }
  out.regions = std::move(r->regions);
  out.bytes = r->bytes;
  return out;
}

Partition::ReadResult Partition::read_committed(std::int64_t offset, std::uint32_t max_bytes) const {
  const std::int64_t lso = last_stable_offset();
  if (offset >= lso) return {};
  ReadResult out = read(offset, max_bytes);
  if (out.error || out.regions.empty()) return out;
  auto cut = log_->read(lso, 1);
  if (!cut || cut->regions.empty()) return out;  // lso == log end: nothing to cut
  const buf::FileRegion& at = cut->regions.front();
  for (std::size_t i = 0; i < out.regions.size(); ++i) {
    buf::FileRegion& reg = out.regions[i];
    if (reg.file.get() != at.file.get()) continue;
    if (reg.offset >= at.offset) {
      out.regions.resize(i);
    } else {
      reg.length = std::min(reg.length, at.offset - reg.offset);
      out.regions.resize(i + 1);
    }
    break;
  }
  out.bytes = 0;
  for (const auto& reg : out.regions) out.bytes += reg.length;
  return out;
}

std::int64_t Partition::last_stable_offset() const { return txns_->last_stable_offset(log_->high_watermark()); }

std::vector<log::AbortedTxn> Partition::aborted_transactions(std::int64_t from, std::int64_t upper) const {
  return txns_->aborted(from, upper);
}

std::int64_t Partition::segment_base_of(std::int64_t offset) const {
  const auto bases = log_->segment_base_offsets();
  auto it = std::upper_bound(bases.begin(), bases.end(), offset);
  return it == bases.begin() ? 0 : *std::prev(it);
}

bool Partition::in_transaction(std::int64_t producer_id, std::int16_t epoch) {
  std::lock_guard lock(producers_mu_);
  return producers_.epoch_of(producer_id) == epoch && txns_->open_transactions().contains(producer_id);
}

std::int16_t Partition::append_marker(std::int64_t producer_id, std::int16_t epoch, bool commit,
                                      std::int32_t coordinator_epoch, std::int32_t leader_epoch, std::int64_t* offset) {
  std::lock_guard lock(producers_mu_);
  if (epoch < producers_.epoch_of(producer_id)) return kafka::to_wire(kafka::ErrorCode::invalid_producer_epoch);
  if (auto it = marker_coordinator_epochs_.find(producer_id);
      it != marker_coordinator_epochs_.end() && coordinator_epoch < it->second)
    return kafka::to_wire(kafka::ErrorCode::transaction_coordinator_fenced);
  auto batch = log::build_control_batch(
      producer_id, epoch, {commit ? log::ControlType::commit : log::ControlType::abort, coordinator_epoch}, wall_ms());
  auto r = log_->append(batch, log::PartitionLog::SyncBy::log, leader_epoch);
  if (!r) {
    spdlog::warn("{}-{}: transaction marker not appended: {}", topic_, index_, r.error().to_string());
    return r.error().kafka_error_code();
  }
  producers_.on_marker(producer_id, epoch);
  marker_coordinator_epochs_[producer_id] = coordinator_epoch;
  if (offset != nullptr) *offset = r->base_offset;
  auto t = txns_->on_marker(producer_id, commit ? log::ControlType::commit : log::ControlType::abort, r->base_offset,
                            segment_base_of(r->base_offset));
  // The marker is in the log; a lost index entry is rebuilt at the next start.
  if (!t) spdlog::warn("{}-{}: transaction index: {}", topic_, index_, t.error().to_string());
  wake_appended();
  return kafka::to_wire(kafka::ErrorCode::none);
}

std::int64_t Partition::high_watermark() const { return log_->high_watermark(); }
std::int64_t Partition::log_end_offset() const { return log_->log_end_offset(); }
std::int64_t Partition::log_start_offset() const { return log_->log_start_offset(); }
std::int64_t Partition::flushed_offset() const { return log_->flushed_offset(); }

std::int64_t Partition::offset_for_timestamp(std::int64_t ts) const {
  auto o = log_->offset_for_timestamp(ts);
  return o ? *o : -1;
}

void Partition::on_next_append(net::EventLoop* loop, std::weak_ptr<void> owner, std::function<void()> fn) {
  std::lock_guard lock(waiters_mu_);
  if (waiters_.size() >= prune_at_) {
    std::erase_if(waiters_, [](const Waiter& w) { return w.owner.expired(); });
    prune_at_ = std::max<std::size_t>(64, waiters_.size() * 2);
  }
  waiters_.push_back(Waiter{loop, std::move(owner), std::move(fn)});
}

void Partition::wake_appended() {
  std::vector<Waiter> ws;
  {
    std::lock_guard lock(waiters_mu_);
    if (waiters_.empty()) return;
    ws.swap(waiters_);
  }
  for (auto& w : ws) {
    if (w.owner.expired()) continue;
    w.loop->post(std::move(w.fn));
  }
}

void Partition::on_flushed(std::int64_t offset, net::EventLoop* loop, FlushDone fn) {
  if (test_flush_notifier_) {
    test_flush_notifier_(offset, [loop, fn = std::move(fn)](std::int16_t error) mutable {
      loop->post([fn = std::move(fn), error] { fn(error); });
    });
    return;
  }
  auto t0 = std::chrono::steady_clock::now();
  log_->request_flush_notification(
      offset, [loop, fn = std::move(fn), t0, m = metrics_, this](const log::LogResult<void>& r) mutable {
        std::int16_t error = kafka::to_wire(kafka::ErrorCode::none);
        if (!r) {
          spdlog::error("{}-{}: flush failed: {}", topic_, index_, r.error().to_string());
          // A failed sync, or the log closed first: either way the data is
          // not known to be durable.
          error = kafka::to_wire(kafka::ErrorCode::kafka_storage_error);
        }
        if (m) m->on_flush(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        loop->post([fn = std::move(fn), error] { fn(error); });
      });
}

void Partition::flush() {
  auto r = log_->flush();
  if (!r) spdlog::error("{}-{}: flush failed: {}", topic_, index_, r.error().to_string());
}

void Partition::close() {
  write_producer_snapshot();
  log_->close();
}

void Partition::reconfigure(const Config& cfg) {
  log_->reconfigure(log_config(cfg));
}

void Partition::enforce_retention(bool delete_segments) {
  if (cfg_.producer_id_expiration_ms >= 0) {
    std::size_t expired = 0, left = 0;
    {
      std::lock_guard lock(producers_mu_);
      expired = producers_.expire(wall_ms(), cfg_.producer_id_expiration_ms);
      left = producers_.producer_count();
    }
    if (expired)
      spdlog::info("{}-{}: forgot {} idle producer(s) (producer_id_expiration_ms {}); {} left", topic_, index_,
                   expired, cfg_.producer_id_expiration_ms, left);
  }
  // Before segments go: the snapshot is then never below the new log start.
  write_producer_snapshot();
  if (!delete_segments) return;
  auto r = log_->enforce_retention();
  if (!r) {
    spdlog::warn("{}-{}: retention: {}", topic_, index_, r.error().to_string());
    return;
  }
  txns_->prune(log_->log_start_offset(), log_->segment_base_offsets());
  if (r->segments_deleted)
    spdlog::info("{}-{}: retention deleted {} segment(s), {} bytes; log starts at {}", topic_, index_,
                 r->segments_deleted, r->bytes_deleted, r->log_start_offset);
}

}  // namespace nocopy::broker
