// bench_txn: the transaction coordinator's per-produce cost.
//
//   BM_VerifyPartition/ids:<n>
//       verify_partition() -- the check every transactional produce batch
//       makes -- for the producer of the last of n transactional ids, each
//       with an Ongoing transaction over one partition. The coordinator
//       finds the producer through its producer-id index, so the time per
//       call stays flat as n grows.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <optional>
#include <string>

#include "kafka/messages.h"
#include "txn/txn_coordinator.h"

namespace {

using namespace nocopy;

struct NoParticipants : txn::TxnParticipants {
  bool partition_exists(const std::string&, std::int32_t) override { return true; }
  std::int16_t write_marker(const txn::TopicPartition&, std::int64_t, std::int16_t, bool, std::int32_t) override {
    return 0;
  }
  std::optional<txn::TopicPartition> offsets_partition(const std::string&) override {
    return txn::TopicPartition{"__consumer_offsets", 0};
  }
};

void BM_VerifyPartition(benchmark::State& state) {
  NoParticipants parts;
  std::int64_t next_pid = 0;
  txn::TxnCoordinator c({}, nullptr, &parts, [&] { return next_pid++; });
  std::int64_t pid = -1;
  for (std::int64_t i = 0; i < state.range(0); ++i) {
    kafka::InitProducerIdRequest init;
    init.transactional_id = "txn-" + std::to_string(i);
    init.transaction_timeout_ms = 60000;
    pid = c.init_producer_id(init, 1, 0).producer_id;
    kafka::AddPartitionsToTxnRequest add;
    add.transactional_id = *init.transactional_id;
    add.producer_id = pid;
    add.producer_epoch = 0;
    add.topics.emplace_back().name = "t";
    add.topics.back().partitions.push_back(static_cast<std::int32_t>(i % 16));
    c.add_partitions(add, 3, 0);
  }
  const std::string topic = "t";
  const auto partition = static_cast<std::int32_t>((state.range(0) - 1) % 16);
  for (auto _ : state) {
    auto e = c.verify_partition(pid, 0, topic, partition);
    if (e != kafka::ErrorCode::none) state.SkipWithError("the last producer's partition is not in its transaction");
    benchmark::DoNotOptimize(e);
  }
}
BENCHMARK(BM_VerifyPartition)->ArgName("ids")->Arg(10)->Arg(1000)->Arg(100000);

}  // namespace

BENCHMARK_MAIN();
