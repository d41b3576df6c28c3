// GroupsService: wires the I/O-free GroupCoordinator into the
// broker. Decodes the group APIs with kafka::decode_request(), runs them under
// one mutex, encodes answers with kafka::encode_response(), and posts every
// answer to the requesting connection's loop (coordinator callbacks may fire
// from another connection's request or from the ticker thread).
//
// Committed offsets and group membership (see GroupCoordinator) are stored in
// the internal partition `__consumer_offsets-0`, a compacted topic
// (cleanup.policy=compact, segment.bytes = Config::offsets_segment_bytes, 100 MiB by default; an existing one without the
// policy gets it at start), so the log cleaner keeps only each key's latest
// record and start-up replays the compacted log (one uncompressed record per
// commit or completed generation; DeleteGroups and OffsetDelete append one
// batch of null-valued tombstones) and replayed into the coordinator at
// start (null values through replay_tombstone()); undecodable records are
// skipped with a warning. A ticker thread calls tick() every 100 ms.
//
// Thread-safety: handle() from any reactor thread.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "broker/access.h"
#include "broker/config.h"
#include "broker/group_coordinator.h"
#include "broker/topic_registry.h"
#include "buf/chain.h"

namespace nocopy::net {
class EventLoop;
}

namespace nocopy::broker {

inline constexpr const char* kOffsetsTopic = "__consumer_offsets";

class GroupsService {
 public:
  // Creates/opens __consumer_offsets and replays it. Call before serving.
  GroupsService(const Config& cfg, TopicRegistry& topics);
  ~GroupsService();

  static bool handles(std::int16_t api_key);
  // `respond(chain)` is posted to `loop`; an empty optional = close the
  // connection. `access` decides what the principal may do (group_access.h);
  // it is only used during the call.
  void handle(std::span<const std::byte> frame, const std::string& client_host, const Access& access,
              net::EventLoop& loop, std::function<void(std::optional<buf::Chain>)> respond);
  void stop();

  // A committed transaction's offsets (TxnOffsetCommit): stored in
  // __consumer_offsets and made the group's committed offsets, whatever the
  // group's generation (the transaction coordinator checked the producer).
  struct TxnOffset {
    std::string topic;
    std::int32_t partition = 0;
    std::int64_t offset = -1;
    std::int32_t leader_epoch = -1;
    std::string metadata;
  };
  bool commit_txn_offsets(const std::string& group, const std::vector<TxnOffset>& offsets, std::int64_t now_ms);

 private:
  class OffsetsLog;
  const Config& cfg_;
  TopicRegistry& topics_;
  std::unique_ptr<OffsetsLog> offsets_log_;
  std::mutex mu_;
  std::unique_ptr<GroupCoordinator> coordinator_;
  std::thread ticker_;
  std::atomic<bool> stop_{false};
};

}  // namespace nocopy::broker
