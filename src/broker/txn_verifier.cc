#include "broker/txn_verifier.h"

#include <spdlog/spdlog.h>

#include "broker/coordinator_partition.h"
#include "broker/txn_service.h"
#include "kafka/messages.h"

namespace nocopy::broker {

namespace {
using kafka::ErrorCode;
constexpr int kCallTimeoutMs = 5000;

// The coordinator's verdict, or NOT_ENOUGH_REPLICAS (retriable) when it gave none.
ErrorCode verdict(std::int16_t e) {
  switch (static_cast<ErrorCode>(e)) {
    case ErrorCode::none:
    case ErrorCode::invalid_producer_epoch:
    case ErrorCode::invalid_txn_state:
    case ErrorCode::transaction_abortable:
      return static_cast<ErrorCode>(e);
    default:
      return ErrorCode::not_enough_replicas;
  }
}
}  // namespace

TxnVerifier::TxnVerifier(TxnMarkerSender::LeaderOf leader_of, std::function<std::int32_t()> state_partitions,
                         replication::InterBrokerAuth auth)
    : leader_of_(std::move(leader_of)), state_partitions_(std::move(state_partitions)), auth_(std::move(auth)) {
  thread_ = std::thread([this] { loop(); });
}

TxnVerifier::~TxnVerifier() { stop(); }

void TxnVerifier::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  for (auto& job : jobs_) job.done(std::vector<ErrorCode>(job.partitions.size(), ErrorCode::not_enough_replicas));
  jobs_.clear();
}

void TxnVerifier::verify(std::string transactional_id, std::int64_t producer_id, std::int16_t epoch,
                         std::vector<txn::TopicPartition> partitions, Done done, bool add) {
  {
    std::lock_guard lock(mu_);
    if (!stop_) {
      jobs_.push_back({std::move(transactional_id), producer_id, epoch, std::move(partitions), std::move(done), add});
      cv_.notify_all();
      return;
    }
  }
  done(std::vector<ErrorCode>(partitions.size(), ErrorCode::not_enough_replicas));
}

void TxnVerifier::loop() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    if (jobs_.empty()) {
      cv_.wait(lock);
      continue;
    }
    Job job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    auto result = check(job);
    job.done(std::move(result));
    lock.lock();
  }
}

std::vector<ErrorCode> TxnVerifier::check(const Job& job) {
  std::vector<ErrorCode> out(job.partitions.size(), ErrorCode::not_enough_replicas);
  if (job.partitions.empty()) return out;  // only keeps its place in the queue
  const std::int32_t n = state_partitions_();
  if (n <= 0) return out;
  const auto leader = leader_of_(kTxnStateTopic, coordinator_partition(job.transactional_id, n));
  if (!leader || leader->node_id < 0) return out;
  kafka::AddPartitionsToTxnRequest req;
  auto& t = req.transactions.emplace_back();
  t.transactional_id = job.transactional_id;
  t.producer_id = job.producer_id;
  t.producer_epoch = job.epoch;
  t.verify_only = !job.add;
  for (const auto& tp : job.partitions) {
    if (t.topics.empty() || t.topics.back().name != tp.topic) t.topics.emplace_back().name = tp.topic;
    t.topics.back().partitions.push_back(tp.partition);
  }
  auto& c = clients_[leader->node_id];
  kafka::AddPartitionsToTxnResponse resp;
  std::vector<std::byte> frame;
  if ((!c.connected() && !c.connect_to(*leader, auth_, kCallTimeoutMs)) ||
      !c.call(req, 5, resp, frame, kCallTimeoutMs)) {
    spdlog::debug("transactions: verifying with broker {}: {}", leader->node_id, c.error());
    return out;
  }
  if (resp.error_code != 0 || resp.results_by_transaction.empty()) return out;
  for (std::size_t i = 0; i < job.partitions.size(); ++i) {
    for (const auto& tr : resp.results_by_transaction.front().topic_results) {
      if (tr.name != job.partitions[i].topic) continue;
      for (const auto& pr : tr.results)
        if (pr.partition_index == job.partitions[i].partition)
          out[i] = job.add ? txn::add_verdict(static_cast<ErrorCode>(pr.partition_error_code))
                           : verdict(pr.partition_error_code);
    }
  }
  return out;
}

}  // namespace nocopy::broker
