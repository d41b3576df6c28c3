#include "broker/partition.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <ctime>

#include "kafka/error_code.h"
#include "broker/metrics.h"
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
  const std::int64_t end = log_->log_end_offset();
  std::int64_t next = std::max(log_->log_start_offset(), end - kProducerScanOffsets);
  std::size_t batches = 0;
  std::array<std::byte, log::kBatchHeaderSize> hdr;
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
        const ProducerStateManager::BatchId id{h.producer_id, h.producer_epoch, h.base_sequence,
                                               h.last_offset_delta + 1};
        if (id.producer_id >= 0) producers_.record(id, h.base_offset, h.last_offset());
        ++batches;
        next = h.last_offset() + 1;
        pos += h.total_size();
      }
    }
    if (next <= before) break;  // no whole header in this read: stop rather than spin
  }
  if (producers_.producer_count())
    spdlog::info("{}-{}: producer state of {} producer(s) rebuilt from {} batch header(s)", topic_, index_,
                 producers_.producer_count(), batches);
}

Partition::AppendResult Partition::append(std::span<std::byte> batch, bool will_wait) {
  AppendResult out;
  // One batch per partition per request, as Kafka requires of magic-2 producers.
  if (batch.size() < log::kBatchHeaderSize) {
    out.error = kafka::to_wire(kafka::ErrorCode::corrupt_message);
    return out;
  }
  const log::BatchHeader h = log::parse_batch_header(batch);
  if (h.magic != log::kMagicV2) {
    out.error = kafka::to_wire(kafka::ErrorCode::invalid_record);
    return out;
  }
  // The size limit (max.message.bytes) is the log's to check.
  if (h.total_size() != batch.size()) {
    out.error = h.total_size() < batch.size() ? kafka::to_wire(kafka::ErrorCode::invalid_record)
                                              : kafka::to_wire(kafka::ErrorCode::corrupt_message);
    return out;
  }
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
  auto r = log_->append(batch, will_wait ? log::PartitionLog::SyncBy::caller : log::PartitionLog::SyncBy::log);
  if (!r) {
    out.error = r.error().kafka_error_code();
    spdlog::debug("{}-{}: append rejected: {}", topic_, index_, r.error().to_string());
    return out;
  }
  if (id.producer_id >= 0) producers_.record(id, r->base_offset, r->last_offset, wall_ms());
  out.base_offset = r->base_offset;
  out.last_offset = r->last_offset;
  out.log_append_time = -1;
  wake_appended();
  return out;
}

Partition::ReadResult Partition::read(std::int64_t offset, std::uint32_t max_bytes) const {
  ReadResult out;
  auto r = log_->read(offset, max_bytes);
  if (!r) {
    out.error = r.error().kafka_error_code();
    return out;
  }
  out.regions = std::move(r->regions);
  out.bytes = r->bytes;
  return out;
}

std::int64_t Partition::high_watermark() const { return log_->log_end_offset(); }
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

void Partition::close() { log_->close(); }

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
  if (!delete_segments) return;
  auto r = log_->enforce_retention();
  if (!r) {
    spdlog::warn("{}-{}: retention: {}", topic_, index_, r.error().to_string());
    return;
  }
  if (r->segments_deleted)
    spdlog::info("{}-{}: retention deleted {} segment(s), {} bytes; log starts at {}", topic_, index_,
                 r->segments_deleted, r->bytes_deleted, r->log_start_offset);
}

}  // namespace nocopy::broker
