// bench_kafka: what decoding a Produce request and encoding a Fetch response
// (and the reverse directions) cost per message, the generated codecs
// (src/kafka/schema/*.msg -> kafka/produce.h, kafka/fetch.h) against the
// hand-written ones they replaced (hand_codecs.h), at the newest version
// each serves (Produce v13, Fetch v18: flexible, topics by id).
//
//   build/benchmarks/kafka/bench_kafka [rounds] [messages_per_round]
//
// Each round times every case for both codecs back to back (which codec
// goes first alternates by round and case), ns per message = round time / messages; the
// figures are the medians over rounds and ratio = generated / hand.
// Messages: Produce v13 with 1 topic x 8 partitions, each partition's
// records a view of a 16 KiB batch (decoding copies no record bytes);
// Fetch v18 with 1 topic x 8 partitions, each partition's records a
// splice point for a 16 KiB file region (encoding writes no record bytes),
// one partition answered NOT_LEADER_OR_FOLLOWER with its current leader (a
// tagged field).
// Figures: docs/architecture-kafka.md.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "hand_codecs.h"
#include "kafka/fetch.h"
#include "kafka/produce.h"
#include "kafka/reader.h"
#include "kafka/serde.h"
#include "kafka/writer.h"

namespace {

using namespace nocopy;

constexpr int kPartitions = 8;
constexpr std::uint32_t kBatchBytes = 16 * 1024;

const std::vector<std::byte>& batch() {
  static const std::vector<std::byte> b(kBatchBytes, std::byte{0x5a});
  return b;
}

template <class Req>
Req produce_request() {
  Req m;
  m.transactional_id = std::nullopt;
  m.acks = -1;
  m.timeout_ms = 30000;
  m.topics.resize(1);
  m.topics[0].name = "bench-topic";
  m.topics[0].topic_id[0] = std::byte{0x42};
  for (int p = 0; p < kPartitions; ++p) {
    typename decltype(m.topics[0].partitions)::value_type pd;
    pd.index = p;
    pd.records.bytes = batch();
    m.topics[0].partitions.push_back(pd);
  }
  return m;
}

// splice: records as splice points (the broker's way); otherwise inline bytes.
template <class Res>
Res fetch_response(bool splice) {
  Res m;
  m.responses.resize(1);
  m.responses[0].topic = "bench-topic";
  m.responses[0].topic_id[0] = std::byte{0x42};
  for (int p = 0; p < kPartitions; ++p) {
    typename decltype(m.responses[0].partitions)::value_type pd;
    pd.partition_index = p;
    pd.high_watermark = 1000000 + p;
    pd.last_stable_offset = pd.high_watermark;
    pd.log_start_offset = 0;
    if (p == kPartitions - 1) {
      pd.error_code = 6;  // NOT_LEADER_OR_FOLLOWER
      pd.current_leader.leader_id = 2;
      pd.current_leader.leader_epoch = 7;
      m.responses[0].partitions.push_back(pd);
      continue;
    }
    if (splice) {
      pd.records.splice_index = p;
      pd.records.splice_length = kBatchBytes;
    } else {
      pd.records.bytes = batch();
    }
    m.responses[0].partitions.push_back(pd);
  }
  return m;
}

template <class Msg>
bool flexible(std::int16_t v) {
  return Msg::kFlexibleFrom >= 0 && v >= Msg::kFlexibleFrom;
}

template <class Msg>
std::vector<std::byte> encode(const Msg& m, std::int16_t v) {
  kafka::Writer w(flexible<Msg>(v));
  kafka::Encoder e(w, v);
  serde(e, const_cast<Msg&>(m));
  return w.take_buffer();
}

// One case: `run(n)` does n messages' work.
struct Case {
  std::string name;
  std::function<void(int)> generated;
  std::function<void(int)> hand;
};

template <class Msg>
std::function<void(int)> decoder(std::vector<std::byte> wire, std::int16_t v) {
  return [wire = std::move(wire), v](int n) {
    for (int i = 0; i < n; ++i) {
      kafka::Reader r(wire, flexible<Msg>(v));
      kafka::Decoder d(r, v);
      Msg m;
      serde(d, m);
      if (!r.ok() || r.remaining() != 0) std::abort();
      benchmark::DoNotOptimize(m);
    }
  };
}

template <class Msg>
std::function<void(int)> encoder(Msg msg, std::int16_t v) {
  return [msg = std::move(msg), v](int n) mutable {
    for (int i = 0; i < n; ++i) {
      kafka::Writer w(flexible<Msg>(v));
      kafka::Encoder e(w, v);
      serde(e, msg);
      auto buf = w.take_buffer();
      auto sp = w.take_splices();
      benchmark::DoNotOptimize(buf.data());
      benchmark::DoNotOptimize(sp.data());
    }
  };
}

double ns_per_message(const std::function<void(int)>& f, int n) {
  auto t0 = std::chrono::steady_clock::now();
  f(n);
  auto t1 = std::chrono::steady_clock::now();
  return std::chrono::duration<double, std::nano>(t1 - t0).count() / n;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 21;
  const int n = argc > 2 ? std::atoi(argv[2]) : 20000;
  if (rounds <= 0 || n <= 0) {
    std::fprintf(stderr, "usage: bench_kafka [rounds > 0] [messages_per_round > 0]\n");
    return 2;
  }
  const std::int16_t pv = 13, fv = 18;
  // Both codecs encode identical bytes (checked here), so each decodes the same input.
  const auto produce_wire = encode(produce_request<kafka::ProduceRequest>(), pv);
  const auto fetch_wire = encode(fetch_response<kafka::FetchResponse>(false), fv);
  if (produce_wire != encode(produce_request<bench_hand::ProduceRequest>(), pv) ||
      fetch_wire != encode(fetch_response<bench_hand::FetchResponse>(false), fv)) {
    std::fprintf(stderr, "generated and hand-written codecs encode different bytes\n");
    return 1;
  }
  std::vector<Case> cases;
  cases.push_back({"produce_v13_request_decode", decoder<kafka::ProduceRequest>(produce_wire, pv),
                   decoder<bench_hand::ProduceRequest>(produce_wire, pv)});
  cases.push_back({"produce_v13_request_encode", encoder(produce_request<kafka::ProduceRequest>(), pv),
                   encoder(produce_request<bench_hand::ProduceRequest>(), pv)});
  cases.push_back({"fetch_v18_response_encode_spliced", encoder(fetch_response<kafka::FetchResponse>(true), fv),
                   encoder(fetch_response<bench_hand::FetchResponse>(true), fv)});
  cases.push_back({"fetch_v18_response_decode", decoder<kafka::FetchResponse>(fetch_wire, fv),
                   decoder<bench_hand::FetchResponse>(fetch_wire, fv)});
  for (auto& c : cases) {  // warm up
    c.generated(n / 10 + 1);
    c.hand(n / 10 + 1);
  }
  std::printf("{\"rounds\": %d, \"messages_per_round\": %d, \"partitions\": %d, \"cases\": [\n", rounds, n,
              kPartitions);
  std::vector<std::vector<double>> gen(cases.size()), hand(cases.size());
  for (int r = 0; r < rounds; ++r) {
    for (std::size_t ci = 0; ci < cases.size(); ++ci) {
      if ((r + static_cast<int>(ci)) % 2 == 0) {
        gen[ci].push_back(ns_per_message(cases[ci].generated, n));
        hand[ci].push_back(ns_per_message(cases[ci].hand, n));
      } else {
        hand[ci].push_back(ns_per_message(cases[ci].hand, n));
        gen[ci].push_back(ns_per_message(cases[ci].generated, n));
      }
    }
  }
  for (std::size_t ci = 0; ci < cases.size(); ++ci) {
    const double g = median(gen[ci]), h = median(hand[ci]);
    std::printf("  {\"name\": \"%s\", \"generated_ns\": %.1f, \"hand_ns\": %.1f, \"ratio\": %.3f}%s\n",
                cases[ci].name.c_str(), g, h, g / h, ci + 1 < cases.size() ? "," : "");
  }
  std::printf("]}\n");
  return 0;
}
