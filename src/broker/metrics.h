// Metrics: the broker's counters, rendered in the Prometheus text format.
//
// Metric names (stable; `nocopy perf compare` and docs/architecture-broker.md
// depend on them):
//   nocopy_requests_total{api}                 requests received, by API name
//   nocopy_requests_by_version_total{api,key,version}  the same by API key and version (what clients negotiated)
//   nocopy_request_bytes_total{api}            request bytes (incl. size prefix)
//   nocopy_response_bytes_total{api}           response bytes queued (incl. file regions)
//   nocopy_fetch_bytes_total{strategy}         record bytes served by Fetch (file regions)
//   nocopy_send_bytes_copied_user_total        bytes the sender copied through user space
//                                              (header memory + read_write/mmap_write file bytes)
//   nocopy_send_bytes_zero_copy_total          bytes sent without a user-space copy
//   nocopy_mapped_content_bytes_read_total     log bytes the broker read for their contents through
//                                              read-only mappings (the log cleaner), beside the
//                                              zero-copy bytes above: the two data paths side by side
//   nocopy_send_syscalls_total                 syscalls made by the response senders
//   nocopy_log_cleaner_runs_total              cleans completed by the log cleaner threads
//   nocopy_log_cleaner_bytes_read_total        log bytes those cleans read (clean + dirty sections)
//   nocopy_log_cleaner_bytes_written_total     bytes of the cleaned segments they wrote
//   nocopy_log_cleaner_records_removed_total   superseded records and expired tombstones dropped
//   nocopy_log_cleaner_seconds_total           time spent cleaning
//   nocopy_produce_bytes_total                 record batch bytes appended
//   nocopy_produce_errors_total                partitions answered with an error on produce
//   nocopy_flush_latency_seconds (histogram)   fdatasync/flush latency as the log reports it
//   nocopy_connections_active, nocopy_connections_total
//   nocopy_fetch_waiting                       fetches parked in the purgatory
//   nocopy_produce_waiting                     acks=-1 produces waiting for a flush
//
// Thread-safety: every counter is a relaxed atomic; any thread may update.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include "io/counters.h"
#include "io/strategy.h"
#include "net/chain_outbound.h"

namespace nocopy::broker {

class Metrics final : public net::SendObserver {
 public:
  static constexpr int kMaxApi = 64;
  static constexpr int kMaxVersion = 32;  // versions at or above count as kMaxVersion - 1

  explicit Metrics(io::Strategy strategy) : strategy_(strategy) {}

  void on_request(std::int16_t api, std::int16_t version, std::size_t bytes);
  void on_response(std::int16_t api, std::uint64_t bytes);
  void on_fetch_bytes(std::uint64_t bytes) { add(fetch_bytes_, bytes); }
  void on_send(const io::Counters& delta) override;
  void on_produce(std::uint64_t bytes) { add(produce_bytes_, bytes); }
  void on_produce_error() { add(produce_errors_, 1); }
  void on_flush(double seconds);
  void on_clean(std::uint64_t read, std::uint64_t written, std::uint64_t removed, double seconds) {
    add(clean_runs_, 1);
    add(clean_read_, read);
    add(clean_written_, written);
    add(clean_removed_, removed);
    add(clean_ns_, static_cast<std::uint64_t>(seconds * 1e9));
  }
  void connection_opened() { add(connections_total_, 1); connections_active_.fetch_add(1, std::memory_order_relaxed); }
  void connection_closed() { connections_active_.fetch_sub(1, std::memory_order_relaxed); }
  // SASL: completed authentications (first on a connection, or a KIP-368
  // re-authentication) and connections closed because their session expired.
  void on_sasl_authenticated(bool reauthentication) { add(reauthentication ? sasl_reauths_ : sasl_auths_, 1); }
  void on_sasl_session_expired() { add(sasl_expired_, 1); }
  void fetch_waiting(int delta) { fetch_waiting_.fetch_add(delta, std::memory_order_relaxed); }
  void produce_waiting(int delta) { produce_waiting_.fetch_add(delta, std::memory_order_relaxed); }

  std::string render() const;

 private:
  static void add(std::atomic<std::uint64_t>& a, std::uint64_t v) { a.fetch_add(v, std::memory_order_relaxed); }
  static constexpr std::array<double, 12> kFlushBuckets{0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                                        0.005,   0.01,   0.025,   0.05,   0.1,   1.0};

  io::Strategy strategy_;
  std::array<std::atomic<std::uint64_t>, kMaxApi> requests_{};
  std::array<std::atomic<std::uint64_t>, kMaxApi * kMaxVersion> requests_by_version_{};
  std::array<std::atomic<std::uint64_t>, kMaxApi> request_bytes_{};
  std::array<std::atomic<std::uint64_t>, kMaxApi> response_bytes_{};
  std::atomic<std::uint64_t> fetch_bytes_{0};
  std::atomic<std::uint64_t> copied_user_{0};
  std::atomic<std::uint64_t> zero_copy_{0};
  std::atomic<std::uint64_t> syscalls_{0};
  std::atomic<std::uint64_t> produce_bytes_{0};
  std::atomic<std::uint64_t> produce_errors_{0};
  std::array<std::atomic<std::uint64_t>, kFlushBuckets.size()> flush_buckets_{};
  std::atomic<std::uint64_t> flush_count_{0};
  std::atomic<std::uint64_t> flush_sum_ns_{0};
  std::atomic<std::uint64_t> clean_runs_{0};
  std::atomic<std::uint64_t> clean_read_{0};
  std::atomic<std::uint64_t> clean_written_{0};
  std::atomic<std::uint64_t> clean_removed_{0};
  std::atomic<std::uint64_t> clean_ns_{0};
  std::atomic<std::uint64_t> connections_total_{0};
  std::atomic<std::uint64_t> sasl_auths_{0};
  std::atomic<std::uint64_t> sasl_reauths_{0};
  std::atomic<std::uint64_t> sasl_expired_{0};
  std::atomic<std::int64_t> connections_active_{0};
  std::atomic<std::int64_t> fetch_waiting_{0};
  std::atomic<std::int64_t> produce_waiting_{0};
};

}  // namespace nocopy::broker
