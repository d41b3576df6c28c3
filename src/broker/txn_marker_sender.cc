#include "broker/txn_marker_sender.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <thread>

#include "io/clock.h"
#include "kafka/error_code.h"
#include "kafka/messages.h"

namespace nocopy::broker {

namespace {
using kafka::ErrorCode;
using kafka::to_wire;
constexpr int kCallTimeoutMs = 5000;
constexpr int kRetryBackoffMs = 100;

// Worth another try against the leader the cluster's state names next.
bool retriable(std::int16_t e) {
  return e == to_wire(ErrorCode::not_leader_or_follower) || e == to_wire(ErrorCode::leader_not_available) ||
         e == to_wire(ErrorCode::not_enough_replicas) || e == to_wire(ErrorCode::request_timed_out) ||
         e == to_wire(ErrorCode::unknown_topic_or_partition);
}
}  // namespace

std::int16_t TxnMarkerSender::write(const std::string& topic, std::int32_t partition, std::int64_t producer_id,
                                    std::int16_t epoch, bool commit, std::int32_t coordinator_epoch) {
  kafka::WriteTxnMarkersRequest req;
  auto& m = req.markers.emplace_back();
  m.producer_id = producer_id;
  m.producer_epoch = epoch;
  m.transaction_result = commit;
  m.coordinator_epoch = coordinator_epoch;
  auto& t = m.topics.emplace_back();
  t.name = topic;
  t.partition_indexes.push_back(partition);

  const std::int64_t deadline = io::steady_clock_ms() + deadline_ms_;
  std::int16_t last = to_wire(ErrorCode::leader_not_available);
  std::lock_guard lock(mu_);
  for (;;) {
    const auto leader = leader_of_(topic, partition);
    if (!leader) return to_wire(ErrorCode::unknown_topic_or_partition);
    if (leader->node_id >= 0) {
      auto& c = clients_[leader->node_id];
      kafka::WriteTxnMarkersResponse resp;
      std::vector<std::byte> frame;
      if (!c.connected() && !c.connect_to(*leader, auth_, kCallTimeoutMs)) {
        last = to_wire(ErrorCode::network_exception);
        spdlog::debug("transactions: marker to broker {}: {}", leader->node_id, c.error());
      } else if (!c.call(req, 1, resp, frame, kCallTimeoutMs)) {
        last = to_wire(ErrorCode::network_exception);
        spdlog::debug("transactions: marker to broker {}: {}", leader->node_id, c.error());
      } else {
        last = to_wire(ErrorCode::unknown_server_error);
        if (!resp.markers.empty() && !resp.markers[0].topics.empty() && !resp.markers[0].topics[0].partitions.empty())
          last = resp.markers[0].topics[0].partitions[0].error_code;
        if (!retriable(last)) return last;
      }
    }
    if (io::steady_clock_ms() + kRetryBackoffMs > deadline) return last;
    std::this_thread::sleep_for(std::chrono::milliseconds(kRetryBackoffMs));
  }
}

}  // namespace nocopy::broker
