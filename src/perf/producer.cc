#include "perf/producer.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <optional>
#include <random>
#include <span>
#include <stdexcept>
#include <string_view>
#include <thread>

#include "perf/payload.h"
#include "perf/report_waiter.h"

namespace nocopy::perf {

struct ProduceWorkload::Instance {
  int index = 0;
  std::uint32_t run_id = 0;
  std::uint64_t to_send = 0;  // 0: until deadline
  std::uint64_t deadline_ns = 0;
  double rate = 0;  // msgs/s for this instance; 0: unlimited
  KafkaHandle rk;

  // Written by this instance's thread only; read by the progress reporter.
  std::atomic<std::uint64_t> enqueued{0};
  std::atomic<std::uint64_t> acked{0};
  std::atomic<std::uint64_t> failed{0};
  std::atomic<bool> done{false};

  std::uint64_t bytes = 0;
  std::uint64_t first_enqueue_ns = 0;
  std::uint64_t last_report_ns = 0;
  LatencyHistogram latency;
  std::string first_error;
};

namespace {


void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* in = static_cast<ProduceWorkload::Instance*>(opaque);
  const std::uint64_t now = monotonic_ns();
  in->last_report_ns = now;
  if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    in->failed.store(in->failed.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    if (in->first_error.empty()) in->first_error = rd_kafka_err2str(m->err);
    return;
  }
  const auto enq = reinterpret_cast<std::uintptr_t>(m->_private);
  in->latency.record(now > enq ? now - enq : 0);
  in->bytes += m->len + m->key_len;
  in->acked.store(in->acked.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

}  // namespace

void ProduceOptions::validate() const {
  auto bad = [](const std::string& what) { throw std::invalid_argument(what); };
  if (brokers.empty()) bad("--brokers must not be empty");
  if (topic.empty()) bad("--topic must not be empty");
  if (num_messages == 0 && duration_s <= 0) bad("give --num-messages N or --duration SECONDS");
  if (message_size < kPayloadHeaderSize)
    bad("--size must be at least " + std::to_string(kPayloadHeaderSize) + " bytes (the sequence/timestamp header)");
  if (message_size > 100'000'000) bad("--size must be at most 100000000");
  if (acks != "0" && acks != "1" && acks != "all" && acks != "-1") bad("--acks must be 0, 1, all or -1");
  if (compression != "none" && compression != "gzip" && compression != "snappy" && compression != "lz4" &&
      compression != "zstd")
    bad("--compression must be none, gzip, snappy, lz4 or zstd");
  if (linger_ms < 0 || linger_ms > 900'000) bad("--linger-ms out of range");
  if (batch_bytes == 0 || batch_messages == 0) bad("--batch-bytes and --batch-messages must be > 0");
  if (instances < 1 || instances > 256) bad("--instances must be 1..256");
  if (rate < 0) bad("--rate must be >= 0");
  if (timeout_ms < 1) bad("--timeout must be > 0");
  if (partitions < 0) bad("--partitions must be >= 0");
  if (produce_batch < 1 || produce_batch > 100'000) bad("--produce-batch must be 1..100000");
}

ConfigMap producer_config(const ProduceOptions& o) {
  ConfigMap c{
      {"bootstrap.servers", o.brokers},
      {"acks", o.acks},
      {"compression.codec", o.compression},
      {"linger.ms", std::to_string(o.linger_ms)},
      {"batch.size", std::to_string(o.batch_bytes)},
      {"batch.num.messages", std::to_string(o.batch_messages)},
      {"queue.buffering.max.messages", "2000000"},
      {"queue.buffering.max.kbytes", "2097151"},
      {"message.timeout.ms", std::to_string(o.timeout_ms)},
      {"socket.connection.setup.timeout.ms", std::to_string(std::max(1000, o.timeout_ms))},
      {"enable.idempotence", "false"},
  };
  for (const auto& [k, v] : o.extra) c[k] = v;
  return c;
}

namespace {

// One message by rd_kafka_produce (to the partitioner), retried while the
// local queue is full. False (the instance's error set) on any other error.
bool produce_one(ProduceWorkload::Instance& in, rd_kafka_topic_t* rkt, std::span<std::byte> payload,
                 std::string_view key, std::uint64_t enqueue_ns) {
  rd_kafka_t* rk = in.rk.get();
  for (;;) {
    if (rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, payload.data(), payload.size(),
                         key.empty() ? nullptr : key.data(), key.size(),
                         reinterpret_cast<void*>(static_cast<std::uintptr_t>(enqueue_ns))) == 0)
      return true;
    const rd_kafka_resp_err_t e = rd_kafka_last_error();
    if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      in.first_error = std::string("produce: ") + rd_kafka_err2str(e);
      in.failed.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    rd_kafka_poll(rk, 1);
  }
}

// `n` messages of `size` bytes from `buf` to `partition` by
// rd_kafka_produce_batch, the rest retried while the local queue is full.
// False (the instance's error set) on any other error.
bool produce_batch(ProduceWorkload::Instance& in, rd_kafka_topic_t* rkt, int partition,
                   std::vector<rd_kafka_message_t>& msgs, std::byte* buf, std::size_t size, std::uint64_t n,
                   std::uint64_t enqueue_ns) {
  std::uint64_t queued = 0;
  while (queued < n) {
    const std::uint64_t want = n - queued;
    for (std::uint64_t i = 0; i < want; ++i) {
      rd_kafka_message_t& m = msgs[i];
      std::memset(&m, 0, sizeof m);
      m.payload = buf + (queued + i) * size;
      m.len = size;
      m._private = reinterpret_cast<void*>(static_cast<std::uintptr_t>(enqueue_ns));
    }
    const int ok = rd_kafka_produce_batch(rkt, partition, RD_KAFKA_MSG_F_COPY, msgs.data(), static_cast<int>(want));
    // Messages are enqueued in order; the first failure and all after it are not.
    std::uint64_t accepted = static_cast<std::uint64_t>(std::max(ok, 0));
    for (std::uint64_t i = 0; i < want; ++i) {
      if (msgs[i].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        accepted = i;
        if (msgs[i].err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
          in.first_error = std::string("produce_batch: ") + rd_kafka_err2str(msgs[i].err);
          in.failed.fetch_add(n - queued - i, std::memory_order_relaxed);
          return false;
        }
        break;
      }
    }
    queued += accepted;
    if (queued < n) rd_kafka_poll(in.rk.get(), 1);  // queue full: serve delivery reports to make room
  }
  return true;
}

// Waits for every delivery report; librdkafka fails messages itself after
// message.timeout.ms, so this is bounded. The extra margin covers that;
// whatever is still queued then is purged.
void wait_for_delivery_reports(rd_kafka_t* rk, int timeout_ms) {
  const std::uint64_t flush_deadline = monotonic_ns() + static_cast<std::uint64_t>(timeout_ms + 2000) * 1'000'000;
  while (rd_kafka_outq_len(rk) > 0 && monotonic_ns() < flush_deadline) rd_kafka_poll(rk, 50);
  if (rd_kafka_outq_len(rk) > 0) {
    rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(rk, 100);
  }
}

}  // namespace

ProduceWorkload::ProduceWorkload(ProduceOptions opts) : opts_(std::move(opts)) { opts_.validate(); }

void ProduceWorkload::run_instance(Instance& in) {
  rd_kafka_t* rk = in.rk.get();
  KafkaTopic rkt(rd_kafka_topic_new(rk, opts_.topic.c_str(), nullptr));
  const std::size_t size = opts_.message_size;
  const int batch = opts_.keys > 0 ? 1 : opts_.produce_batch;
  std::vector<std::byte> buf(size * static_cast<std::size_t>(batch));
  for (std::size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<std::byte>('a' + i % 26);
  std::vector<rd_kafka_message_t> msgs(static_cast<std::size_t>(batch));
  char key[32];
  std::uint64_t seq = 0;
  int partition = in.index % partitions_;
  in.first_enqueue_ns = monotonic_ns();
  const std::uint64_t start = in.first_enqueue_ns;
  std::uint64_t since_poll = 0;
  std::optional<ReportWaiter> waiter;
  if (in.rate > 0) waiter.emplace(rk);

  auto keep_going = [&] {
    if (in.to_send > 0) return seq < in.to_send;
    return monotonic_ns() < in.deadline_ns;
  };
  while (keep_going()) {
    std::uint64_t n = static_cast<std::uint64_t>(batch);
    if (in.rate > 0) {
      // A steady stream, not bursts: enqueue what 100 us of the rate allows
      // (at least one message), so a burst's tail does not wait behind its head.
      n = std::clamp<std::uint64_t>(static_cast<std::uint64_t>(in.rate * 100e-6), 1, n);
    }
    if (in.to_send > 0) n = std::min(n, in.to_send - seq);
    if (in.rate > 0) {
      // Wait for the next slot serving delivery reports as they arrive, so
      // their latency is taken then, not when the pacing wait ends.
      waiter->wait_until(start + static_cast<std::uint64_t>(static_cast<double>(seq) * 1e9 / in.rate));
    }
    const std::uint64_t enq = monotonic_ns();
    const std::uint64_t wall = realtime_ns();
    for (std::uint64_t i = 0; i < n; ++i) {
      std::byte* p = buf.data() + i * size;
      encode_payload_header({in.run_id, seq + i, wall}, std::span<std::byte>(p, size));
    }
    if (batch == 1) {
      std::size_t key_len = 0;
      if (opts_.keys > 0) key_len = static_cast<std::size_t>(std::snprintf(key, sizeof key, "k%llu", static_cast<unsigned long long>(seq % opts_.keys)));
      if (!produce_one(in, rkt.get(), std::span<std::byte>(buf.data(), size), std::string_view(key, key_len), enq)) {
        in.done.store(true);
        return;
      }
    } else {
      if (!produce_batch(in, rkt.get(), partition, msgs, buf.data(), size, n, enq)) {
        in.done.store(true);
        return;
      }
      partition = (partition + 1) % partitions_;
    }
    seq += n;
    in.enqueued.store(seq, std::memory_order_relaxed);
    since_poll += n;
    if (since_poll >= 1000) {
      rd_kafka_poll(rk, 0);
      since_poll = 0;
    }
  }
  wait_for_delivery_reports(rk, opts_.timeout_ms);
  in.done.store(true);
}

ProduceResult ProduceWorkload::run(const ProduceProgressFn& on_progress, double progress_interval_s) {
  {
    // Probe the cluster first: an unreachable broker or a missing topic is a
    // clear error within the timeout, before any thread starts.
    KafkaHandle probe = make_client(RD_KAFKA_PRODUCER, make_conf(producer_config(opts_)));
    try {
      partitions_ = ensure_topic(probe.get(), opts_.topic, opts_.partitions, std::chrono::milliseconds(opts_.timeout_ms));
    } catch (const std::runtime_error& e) {
      throw std::runtime_error("broker " + opts_.brokers + ": " + e.what());
    }
  }
  std::random_device rd;
  const std::uint32_t base = static_cast<std::uint32_t>(rd()) & ~0xffu;
  std::vector<std::unique_ptr<Instance>> ins;
  const double duration_ns = opts_.duration_s * 1e9;
  const std::uint64_t start = monotonic_ns();
  for (int i = 0; i < opts_.instances; ++i) {
    auto in = std::make_unique<Instance>();
    in->index = i;
    in->run_id = base + static_cast<std::uint32_t>(i);
    if (opts_.num_messages > 0) {
      const auto k = static_cast<std::uint64_t>(opts_.instances);
      in->to_send = opts_.num_messages / k + (static_cast<std::uint64_t>(i) < opts_.num_messages % k ? 1 : 0);
    } else {
      in->deadline_ns = start + static_cast<std::uint64_t>(duration_ns);
    }
    in->rate = opts_.rate / opts_.instances;
    KafkaConf conf = make_conf(producer_config(opts_));
    rd_kafka_conf_set_dr_msg_cb(conf.get(), on_delivery);
    rd_kafka_conf_set_opaque(conf.get(), in.get());
    in->rk = make_client(RD_KAFKA_PRODUCER, std::move(conf));
    ins.push_back(std::move(in));
  }
  std::vector<std::thread> threads;
  for (auto& in : ins) {
    if (in->to_send == 0 && opts_.num_messages > 0) {
      in->done.store(true);
      continue;
    }
    threads.emplace_back([this, p = in.get()] { run_instance(*p); });
  }
  const auto interval = std::chrono::duration<double>(progress_interval_s);
  auto next = std::chrono::steady_clock::now() + interval;
  for (;;) {
    bool all_done = true;
    for (auto& in : ins) all_done = all_done && in->done.load();
    if (all_done) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (on_progress && std::chrono::steady_clock::now() >= next) {
      next += interval;
      ProduceProgress p;
      for (auto& in : ins) {
        p.enqueued += in->enqueued.load(std::memory_order_relaxed);
        p.acked += in->acked.load(std::memory_order_relaxed);
        p.failed += in->failed.load(std::memory_order_relaxed);
      }
      p.elapsed_s = static_cast<double>(monotonic_ns() - start) / 1e9;
      on_progress(p);
    }
  }
  for (auto& t : threads) t.join();

  ProduceResult r;
  std::uint64_t first = ~0ull, last = 0;
  for (auto& in : ins) {
    r.acked += in->acked.load();
    r.failed += in->failed.load();
    r.bytes += in->bytes;
    r.ack_latency.merge(in->latency);
    r.run_ids.push_back(in->run_id);
    if (r.first_error.empty()) r.first_error = in->first_error;
    if (in->enqueued.load() > 0) first = std::min(first, in->first_enqueue_ns);
    last = std::max(last, in->last_report_ns);
  }
  r.elapsed_s = (last > first && first != ~0ull) ? static_cast<double>(last - first) / 1e9 : 0;
  return r;
}

}  // namespace nocopy::perf
