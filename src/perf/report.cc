#include "perf/report.h"

#include <fmt/format.h>

namespace nocopy::perf {
namespace {

double us(std::uint64_t ns) { return static_cast<double>(ns) / 1000.0; }

std::string latency_text(const char* what, const LatencyHistogram& h) {
  if (h.count() == 0) return fmt::format("{}: no samples\n", what);
  return fmt::format("{}: p50 {:.1f} us, p99 {:.1f} us, p99.9 {:.1f} us, max {:.1f} us ({} samples)\n", what,
                     us(h.percentile(0.50)), us(h.percentile(0.99)), us(h.percentile(0.999)), us(h.max()),
                     h.count());
}

}  // namespace

nlohmann::json latency_json(const LatencyHistogram& h) {
  return {{"count", h.count()},
          {"mean_us", h.mean() / 1000.0},
          {"p50_us", us(h.percentile(0.50))},
          {"p99_us", us(h.percentile(0.99))},
          {"p99_9_us", us(h.percentile(0.999))},
          {"max_us", us(h.max())}};
}

nlohmann::json to_json(const ProduceOptions& o, const ProduceResult& r) {
  return {{"command", "produce"},
          {"brokers", o.brokers},
          {"topic", o.topic},
          {"message_size", o.message_size},
          {"instances", o.instances},
          {"acks", o.acks},
          {"compression", o.compression},
          {"linger_ms", o.linger_ms},
          {"acked", r.acked},
          {"failed", r.failed},
          {"bytes", r.bytes},
          {"elapsed_s", r.elapsed_s},
          {"msgs_per_s", r.msgs_per_s()},
          {"mb_per_s", r.mb_per_s()},
          {"ack_latency", latency_json(r.ack_latency)},
          {"run_ids", r.run_ids},
          {"first_error", r.first_error}};
}

nlohmann::json to_json(const ConsumeOptions& o, const ConsumeResult& r) {
  return {{"command", "consume"},
          {"brokers", o.brokers},
          {"topic", o.topic},
          {"instances", o.instances},
          {"expected", o.num_messages},
          {"messages", r.messages},
          {"bytes", r.bytes},
          {"missing", r.missing},
          {"duplicates", r.duplicates},
          {"foreign", r.foreign},
          {"errors", r.errors},
          {"idle_timeout", r.idle_timeout},
          {"elapsed_s", r.elapsed_s},
          {"msgs_per_s", r.msgs_per_s()},
          {"mb_per_s", r.mb_per_s()},
          {"e2e_latency", latency_json(r.e2e_latency)},
          {"first_error", r.first_error}};
}

std::string summary_text(const ProduceResult& r) {
  std::string s = fmt::format("produced {} messages ({} failed), {:.1f} MB in {:.3f} s: {:.0f} msgs/s, {:.1f} MB/s\n",
                              r.acked, r.failed, static_cast<double>(r.bytes) / 1e6, r.elapsed_s, r.msgs_per_s(),
                              r.mb_per_s());
  s += latency_text("produce-ack latency", r.ack_latency);
  if (!r.first_error.empty()) s += "first error: " + r.first_error + "\n";
  return s;
}

std::string summary_text(const ConsumeResult& r) {
  std::string s = fmt::format("consumed {} messages, {:.1f} MB in {:.3f} s: {:.0f} msgs/s, {:.1f} MB/s\n", r.messages,
                              static_cast<double>(r.bytes) / 1e6, r.elapsed_s, r.msgs_per_s(), r.mb_per_s());
  s += fmt::format("missing {}, duplicates {}, foreign {}, errors {}{}\n", r.missing, r.duplicates, r.foreign,
                   r.errors, r.idle_timeout ? " (stopped: idle timeout)" : "");
  s += latency_text("end-to-end latency", r.e2e_latency);
  if (!r.first_error.empty()) s += "first error: " + r.first_error + "\n";
  return s;
}

std::string progress_line(const ProduceProgress& p, std::size_t message_size) {
  const double rate = p.elapsed_s > 0 ? static_cast<double>(p.acked) / p.elapsed_s : 0;
  return fmt::format("[{:6.1f}s] enqueued {} acked {} failed {} | {:.0f} msgs/s {:.1f} MB/s", p.elapsed_s, p.enqueued,
                     p.acked, p.failed, rate, rate * static_cast<double>(message_size) / 1e6);
}

std::string progress_line(const ConsumeProgress& p) {
  const double secs = p.elapsed_s > 0 ? p.elapsed_s : 1;
  return fmt::format("[{:6.1f}s] consumed {} | {:.0f} msgs/s {:.1f} MB/s", p.elapsed_s, p.messages,
                     static_cast<double>(p.messages) / secs, static_cast<double>(p.bytes) / 1e6 / secs);
}

}  // namespace nocopy::perf
