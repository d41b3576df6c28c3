#include "perf/consumer.h"

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include "perf/payload.h"

namespace nocopy::perf {
namespace {

struct Shared {
  std::uint64_t limit = 0;  // 0: unlimited
  std::atomic<std::uint64_t> counted{0};
  std::atomic<std::uint64_t> bytes{0};
  std::atomic<std::uint64_t> last_message_ns{0};
  std::atomic<bool> stop{false};
};

struct Instance {
  int index = 0;
  std::vector<int> partitions;
  KafkaHandle rk;
  SequenceTracker seen;
  LatencyHistogram latency;
  std::uint64_t foreign = 0;
  std::uint64_t errors = 0;
  std::uint64_t last_counted_ns = 0;
  std::string first_error;
};

void consume_instance(const ConsumeOptions& o, Instance& in, Shared& sh) {
  rd_kafka_t* rk = in.rk.get();
  KafkaTopic rkt(rd_kafka_topic_new(rk, o.topic.c_str(), nullptr));
  KafkaQueue q(rd_kafka_queue_new(rk));
  for (int p : in.partitions) {
    if (rd_kafka_consume_start_queue(rkt.get(), p, RD_KAFKA_OFFSET_BEGINNING, q.get()) != 0) {
      in.first_error = std::string("consume_start partition ") + std::to_string(p) + ": " +
                       rd_kafka_err2str(rd_kafka_last_error());
      ++in.errors;
      sh.stop.store(true);
      return;
    }
  }
  std::vector<rd_kafka_message_t*> msgs(10'000);
  while (!sh.stop.load(std::memory_order_relaxed)) {
    const ssize_t n = rd_kafka_consume_batch_queue(q.get(), 100, msgs.data(), msgs.size());
    if (n <= 0) continue;
    const std::uint64_t now_wall = realtime_ns();
    const std::uint64_t now_mono = monotonic_ns();
    std::uint64_t counted = 0, bytes = 0;
    for (ssize_t i = 0; i < n; ++i) {
      rd_kafka_message_t* m = msgs[static_cast<std::size_t>(i)];
      if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
          if (in.first_error.empty()) in.first_error = rd_kafka_message_errstr(m);
          ++in.errors;
        }
        rd_kafka_message_destroy(m);
        continue;
      }
      ++counted;
      bytes += m->len + m->key_len;
      const auto h = decode_payload_header(
          std::span<const std::byte>(static_cast<const std::byte*>(m->payload), m->len));
      if (h) {
        in.seen.record(h->run_id, h->sequence);
        in.latency.record(now_wall > h->timestamp_ns ? now_wall - h->timestamp_ns : 0);
      } else {
        ++in.foreign;
      }
      rd_kafka_message_destroy(m);
    }
    if (counted == 0) continue;
    // Messages past the limit are still checked above; run_consume() reports
    // min(received, limit).
    const std::uint64_t before = sh.counted.fetch_add(counted);
    if (sh.limit > 0 && before + counted >= sh.limit) sh.stop.store(true);
    sh.bytes.fetch_add(bytes);
    sh.last_message_ns.store(now_mono);
    in.last_counted_ns = now_mono;
  }
  for (int p : in.partitions) rd_kafka_consume_stop(rkt.get(), p);
}

}  // namespace

void ConsumeOptions::validate() const {
  auto bad = [](const std::string& what) { throw std::invalid_argument(what); };
  if (brokers.empty()) bad("--brokers must not be empty");
  if (topic.empty()) bad("--topic must not be empty");
  if (duration_s < 0) bad("--duration must be >= 0");
  if (instances < 1 || instances > 256) bad("--instances must be 1..256");
  if (timeout_ms < 1) bad("--timeout must be > 0");
  if (idle_timeout_ms < 1) bad("--idle-timeout must be > 0");
  if (fetch_max_bytes < 1024 || partition_fetch_bytes < 1024) bad("fetch sizes must be >= 1024");
}

ConfigMap consumer_config(const ConsumeOptions& o) {
  ConfigMap c{
      {"bootstrap.servers", o.brokers},
      {"fetch.max.bytes", std::to_string(o.fetch_max_bytes)},
      {"fetch.message.max.bytes", std::to_string(o.partition_fetch_bytes)},
      {"queued.max.messages.kbytes", std::to_string(o.queued_max_kbytes)},
      {"fetch.wait.max.ms", "100"},
      {"enable.partition.eof", "false"},
      {"check.crcs", "false"},
      {"socket.connection.setup.timeout.ms", std::to_string(std::max(1000, o.timeout_ms))},
  };
  for (const auto& [k, v] : o.extra) c[k] = v;
  return c;
}

ConsumeResult run_consume(const ConsumeOptions& o, const ConsumeProgressFn& on_progress, double progress_interval_s) {
  o.validate();
  int partitions = 0;
  {
    KafkaHandle probe = make_client(RD_KAFKA_CONSUMER, make_conf(consumer_config(o)));
    try {
      partitions = ensure_topic(probe.get(), o.topic, 0, std::chrono::milliseconds(o.timeout_ms));
    } catch (const std::runtime_error& e) {
      throw std::runtime_error("broker " + o.brokers + ": " + e.what());
    }
  }
  Shared sh;
  sh.limit = o.num_messages;
  std::vector<std::unique_ptr<Instance>> ins;
  const int n_inst = std::min(o.instances, partitions);
  for (int i = 0; i < n_inst; ++i) {
    auto in = std::make_unique<Instance>();
    in->index = i;
    for (int p = i; p < partitions; p += n_inst) in->partitions.push_back(p);
    in->rk = make_client(RD_KAFKA_CONSUMER, make_conf(consumer_config(o)));
    ins.push_back(std::move(in));
  }
  const std::uint64_t start = monotonic_ns();
  sh.last_message_ns.store(start);
  std::vector<std::thread> threads;
  for (auto& in : ins) threads.emplace_back([&o, &sh, p = in.get()] { consume_instance(o, *p, sh); });

  ConsumeResult r;
  const auto interval_ns = static_cast<std::uint64_t>(progress_interval_s * 1e9);
  std::uint64_t next_progress = start + interval_ns;
  while (!sh.stop.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    const std::uint64_t now = monotonic_ns();
    if (o.duration_s > 0 && now - start >= static_cast<std::uint64_t>(o.duration_s * 1e9)) break;
    if (now - sh.last_message_ns.load() >= static_cast<std::uint64_t>(o.idle_timeout_ms) * 1'000'000) {
      r.idle_timeout = true;
      break;
    }
    if (on_progress && now >= next_progress) {
      next_progress += interval_ns;
      on_progress({sh.counted.load(), sh.bytes.load(), static_cast<double>(now - start) / 1e9});
    }
  }
  sh.stop.store(true);
  for (auto& t : threads) t.join();

  SequenceTracker seen;
  std::uint64_t last = 0;
  for (auto& in : ins) {
    seen.merge(in->seen);
    r.e2e_latency.merge(in->latency);
    r.foreign += in->foreign;
    r.errors += in->errors;
    if (r.first_error.empty()) r.first_error = in->first_error;
    last = std::max(last, in->last_counted_ns);
  }
  const std::uint64_t received = sh.counted.load();
  r.messages = sh.limit > 0 ? std::min(received, sh.limit) : received;
  r.bytes = sh.bytes.load();
  if (sh.limit > 0 && received > sh.limit && received > 0)  // scale bytes to the counted messages
    r.bytes = static_cast<std::uint64_t>(static_cast<double>(r.bytes) * static_cast<double>(sh.limit) / static_cast<double>(received));
  r.duplicates = seen.duplicates();
  r.missing = seen.missing(o.num_messages > 0 ? o.num_messages - std::min(o.num_messages, r.foreign) : 0);
  // From the start of fetching (connections included, like
  // kafka-consumer-perf-test) to the last counted message.
  r.elapsed_s = last > start ? static_cast<double>(last - start) / 1e9 : 0;
  return r;
}

}  // namespace nocopy::perf
