#include "broker/metrics.h"

#include <algorithm>

#include <fmt/format.h>

#include "kafka/api_key.h"
#include "log/log_cleaner.h"

namespace nocopy::broker {

void Metrics::on_request(std::int16_t api, std::int16_t version, std::size_t bytes) {
  auto i = (api >= 0 && api < kMaxApi) ? api : kMaxApi - 1;
  auto v = std::clamp<int>(version, 0, kMaxVersion - 1);
  add(requests_[i], 1);
  add(requests_by_version_[i * kMaxVersion + v], 1);
  add(request_bytes_[i], bytes);
}

void Metrics::on_response(std::int16_t api, std::uint64_t bytes) {
  auto i = (api >= 0 && api < kMaxApi) ? api : kMaxApi - 1;
  add(response_bytes_[i], bytes);
}

void Metrics::on_send(const io::Counters& d) {
  add(copied_user_, d.bytes_copied_user);
  add(zero_copy_, d.bytes_zero_copy);
  add(syscalls_, d.syscalls);
}

void Metrics::on_flush(double seconds) {
  for (std::size_t i = 0; i < kFlushBuckets.size(); ++i)
    if (seconds <= kFlushBuckets[i]) add(flush_buckets_[i], 1);
  add(flush_count_, 1);
  add(flush_sum_ns_, static_cast<std::uint64_t>(seconds * 1e9));
}

std::string Metrics::render() const {
  auto ld = [](const std::atomic<std::uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  std::string out;
  auto per_api = [&](const char* name, const char* help, const auto& arr) {
    out += fmt::format("# HELP {} {}\n# TYPE {} counter\n", name, help, name);
    for (int i = 0; i < kMaxApi; ++i) {
      auto v = ld(arr[i]);
      if (v == 0) continue;
      auto label = i == kMaxApi - 1 ? std::string_view("unknown") : kafka::api_label(static_cast<std::int16_t>(i));
      out += fmt::format("{}{{api=\"{}\"}} {}\n", name, label, v);
    }
  };
  per_api("nocopy_requests_total", "Requests received by API.", requests_);
  out += "# HELP nocopy_requests_by_version_total Requests received by API and version.\n"
         "# TYPE nocopy_requests_by_version_total counter\n";
  for (int i = 0; i < kMaxApi * kMaxVersion; ++i) {
    auto n = ld(requests_by_version_[i]);
    if (n == 0) continue;
    const int api = i / kMaxVersion;
    auto label = api == kMaxApi - 1 ? std::string_view("unknown") : kafka::api_label(static_cast<std::int16_t>(api));
    out += fmt::format("nocopy_requests_by_version_total{{api=\"{}\",key=\"{}\",version=\"{}\"}} {}\n", label, api,
                       i % kMaxVersion, n);
  }
  per_api("nocopy_request_bytes_total", "Request bytes received by API.", request_bytes_);
  per_api("nocopy_response_bytes_total", "Response bytes queued by API.", response_bytes_);
  auto counter = [&](const char* name, const char* help, std::uint64_t v) {
    out += fmt::format("# HELP {} {}\n# TYPE {} counter\n{} {}\n", name, help, name, name, v);
  };
  auto gauge = [&](const char* name, const char* help, std::int64_t v) {
    out += fmt::format("# HELP {} {}\n# TYPE {} gauge\n{} {}\n", name, help, name, name, v);
  };
  out += fmt::format(
      "# HELP nocopy_fetch_bytes_total Record bytes served by Fetch, by transfer strategy.\n"
      "# TYPE nocopy_fetch_bytes_total counter\nnocopy_fetch_bytes_total{{strategy=\"{}\"}} {}\n",
      io::to_string(strategy_), ld(fetch_bytes_));
  counter("nocopy_send_bytes_copied_user_total", "Bytes the response senders copied through user space.",
          ld(copied_user_));
  counter("nocopy_send_bytes_zero_copy_total", "Bytes sent without a user-space copy.", ld(zero_copy_));
  counter("nocopy_mapped_content_bytes_read_total",
          "Log bytes read for their contents through read-only mappings (the log cleaner).",
          log::LogCleaner::mapped_bytes_read());
  counter("nocopy_send_syscalls_total", "Syscalls made by the response senders.", ld(syscalls_));
  counter("nocopy_produce_bytes_total", "Record batch bytes appended.", ld(produce_bytes_));
  counter("nocopy_produce_errors_total", "Produce partitions answered with an error.", ld(produce_errors_));
  counter("nocopy_log_cleaner_runs_total", "Cleans completed by the log cleaner threads.", ld(clean_runs_));
  counter("nocopy_log_cleaner_bytes_read_total", "Log bytes read by the log cleaner.", ld(clean_read_));
  counter("nocopy_log_cleaner_bytes_written_total", "Cleaned segment bytes written.", ld(clean_written_));
  counter("nocopy_log_cleaner_records_removed_total", "Superseded records and expired tombstones removed.",
          ld(clean_removed_));
  out += fmt::format("# HELP nocopy_log_cleaner_seconds_total Time spent cleaning.\n"
                     "# TYPE nocopy_log_cleaner_seconds_total counter\nnocopy_log_cleaner_seconds_total {}\n",
                     static_cast<double>(ld(clean_ns_)) / 1e9);
  out += "# HELP nocopy_flush_latency_seconds Log flush (fdatasync) latency.\n"
         "# TYPE nocopy_flush_latency_seconds histogram\n";
  for (std::size_t i = 0; i < kFlushBuckets.size(); ++i)
    out += fmt::format("nocopy_flush_latency_seconds_bucket{{le=\"{}\"}} {}\n", kFlushBuckets[i],
                       ld(flush_buckets_[i]));
  out += fmt::format("nocopy_flush_latency_seconds_bucket{{le=\"+Inf\"}} {}\n", ld(flush_count_));
  out += fmt::format("nocopy_flush_latency_seconds_sum {}\n", static_cast<double>(ld(flush_sum_ns_)) / 1e9);
  out += fmt::format("nocopy_flush_latency_seconds_count {}\n", ld(flush_count_));
  counter("nocopy_connections_total", "Connections accepted.", ld(connections_total_));
  counter("nocopy_sasl_authentications_total", "SASL authentications completed (first on a connection).",
          ld(sasl_auths_));
  counter("nocopy_sasl_reauthentications_total", "SASL re-authentications completed (KIP-368).", ld(sasl_reauths_));
  counter("nocopy_sasl_sessions_expired_total",
          "Connections closed by a request other than SaslHandshake after their SASL session expired.",
          ld(sasl_expired_));
  gauge("nocopy_connections_active", "Open connections.", connections_active_.load(std::memory_order_relaxed));
  gauge("nocopy_fetch_waiting", "Fetches waiting in the purgatory.", fetch_waiting_.load(std::memory_order_relaxed));
  gauge("nocopy_produce_waiting", "acks=-1 produces waiting for a flush.",
        produce_waiting_.load(std::memory_order_relaxed));
  return out;
}

}  // namespace nocopy::broker
