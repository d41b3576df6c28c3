#include "broker/groups_service.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <random>

#include "broker/group_access.h"
#include "broker/request_handler.h"
#include "broker/stored_batches.h"
#include "kafka/api_key.h"
#include "kafka/codec.h"
#include "kafka/error_code.h"
#include "kafka/messages.h"
#include "kafka/request.h"
#include "log/record_batch.h"
#include "net/event_loop.h"

namespace nocopy::broker {

namespace {
std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}
}  // namespace

class GroupsService::OffsetsLog final : public OffsetLog {
 public:
  explicit OffsetsLog(std::shared_ptr<Partition> p) : p_(std::move(p)) {}
  bool append(std::span<const std::byte> key, std::span<const std::byte> value) override {
    std::string k(reinterpret_cast<const char*>(key.data()), key.size());
    std::string v(reinterpret_cast<const char*>(value.data()), value.size());
    auto batch = log::BatchBuilder().timestamp(wall_ms()).add(std::move(k), std::move(v)).build();
    auto r = p_->append(batch);
    if (r.error) spdlog::error("__consumer_offsets append failed: error {}", r.error);
    return r.error == kafka::to_wire(kafka::ErrorCode::none);
  }
  // One batch of null-valued records: appended whole or not at all.
  bool append_tombstones(std::span<const std::vector<std::byte>> keys) override {
    if (keys.empty()) return true;
    log::BatchBuilder b;
    b.timestamp(wall_ms());
    for (const auto& k : keys) b.add(std::string(reinterpret_cast<const char*>(k.data()), k.size()), std::nullopt);
    auto batch = b.build();
    auto r = p_->append(batch);
    if (r.error) spdlog::error("__consumer_offsets tombstone append failed: error {}", r.error);
    return r.error == kafka::to_wire(kafka::ErrorCode::none);
  }
  Partition& partition() { return *p_; }

 private:
  std::shared_ptr<Partition> p_;
};

namespace {

// The compacted __consumer_offsets partition, created on first start.
std::shared_ptr<Partition> open_offsets_partition(const Config& cfg, TopicRegistry& topics) {
  // Compacted, as Kafka's (segment.bytes: offsets.topic.segment.bytes): each
  // group's latest metadata and each partition's latest commit survive the
  // log cleaner, deleted groups' tombstones leave after delete.retention.ms.
  const TopicConfig::Overrides offsets_config{{"cleanup.policy", "compact"},
                                              {"segment.bytes", std::to_string(cfg.offsets_segment_bytes)}};
  if (auto t = topics.find(kOffsetsTopic); !t) {
    std::string msg;
    if (topics.create(kOffsetsTopic, 1, offsets_config, false, &msg))
      throw std::runtime_error("cannot create " + std::string(kOffsetsTopic) + ": " + msg);
  } else if (!t->config->compacts()) {
    // A data directory from before the offsets topic was compacted.
    std::string msg;
    auto edit = [](TopicConfig::Overrides& o, std::string*) -> std::int16_t {
      o["cleanup.policy"] = "compact";
      return 0;
    };
    if (topics.alter_config(kOffsetsTopic, edit, false, &msg))
      spdlog::warn("groups: cannot make {} compacted: {}", kOffsetsTopic, msg);
  }
  auto part = topics.find(kOffsetsTopic, 0);
  if (!part) throw std::runtime_error("cannot open __consumer_offsets");
  return part;
}

struct ReplayCounts {
  std::size_t replayed = 0;
  std::size_t skipped = 0;
};

// Replays the records of one batch (uncompressed, written by us) into the
// coordinator.
void replay_batch(std::span<const std::byte> batch, std::int64_t base_offset, GroupCoordinator& coordinator,
                  ReplayCounts& n) {
  auto recs = log::parse_records(batch);
  if (!recs) {
    spdlog::warn("groups: skipping unreadable batch at offset {} of {}", base_offset, kOffsetsTopic);
    return;
  }
  for (auto& rec : *recs) {
    if (!rec.key) continue;
    const auto key = std::as_bytes(std::span(rec.key->data(), rec.key->size()));
    // A null value is a tombstone (DeleteGroups, OffsetDelete).
    const bool ok = rec.value
                        ? coordinator.replay(key, std::as_bytes(std::span(rec.value->data(), rec.value->size())))
                        : coordinator.replay_tombstone(key);
    if (ok) {
      ++n.replayed;
    } else {
      ++n.skipped;
      spdlog::warn("groups: skipping undecodable record at offset {} of {}", base_offset, kOffsetsTopic);
    }
  }
}

// Replays every stored record, oldest first.
ReplayCounts replay_offsets(Partition& part, GroupCoordinator& coordinator) {
  ReplayCounts n;
  for_each_stored_batch(part, [&](std::span<const std::byte> batch, std::int64_t base_offset) {
    replay_batch(batch, base_offset, coordinator, n);
  });
  return n;
}

}  // namespace

GroupsService::GroupsService(const Config& cfg, TopicRegistry& topics) : cfg_(cfg), topics_(topics) {
  auto part = open_offsets_partition(cfg_, topics_);
  offsets_log_ = std::make_unique<OffsetsLog>(part);

  GroupCoordinatorConfig gcfg;
  gcfg.initial_rebalance_delay = std::chrono::milliseconds(cfg_.group_initial_rebalance_delay_ms);
  gcfg.member_id_seed = std::random_device{}();
  coordinator_ = std::make_unique<GroupCoordinator>(gcfg, offsets_log_.get());

  const ReplayCounts n = replay_offsets(*part, *coordinator_);
  // Restored members' sessions start now: a member that does not come back
  // expires one session timeout after the restart.
  coordinator_->finish_replay(GroupCoordinator::Clock::now());
  const std::size_t groups = coordinator_->group_count();
  spdlog::info("groups: replayed {} record{} from {} ({} skipped), {} group{}", n.replayed,
               n.replayed == 1 ? "" : "s", kOffsetsTopic, n.skipped, groups, groups == 1 ? "" : "s");

  ticker_ = std::thread([this] {
    while (!stop_.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      std::lock_guard lock(mu_);
      coordinator_->tick(GroupCoordinator::Clock::now());
    }
  });
}

GroupsService::~GroupsService() { stop(); }

void GroupsService::stop() {
  stop_ = true;
  if (ticker_.joinable()) ticker_.join();
}

bool GroupsService::commit_txn_offsets(const std::string& group, const std::vector<TxnOffset>& offsets,
                                       std::int64_t now_ms) {
  std::lock_guard lock(mu_);
  bool ok = true;
  for (const TxnOffset& o : offsets) {
    const auto key = GroupCoordinator::encode_offset_key({group, o.topic, o.partition});
    const auto value = GroupCoordinator::encode_offset_value({o.offset, o.leader_epoch, o.metadata, now_ms});
    // Stored first, then applied the way a replay applies it.
    if (!offsets_log_->append(key, value)) {
      ok = false;
      continue;
    }
    coordinator_->replay(key, value);
  }
  return ok;
}

bool GroupsService::handles(std::int16_t k) {
  using kafka::ApiKey;
  switch (static_cast<ApiKey>(k)) {
    case ApiKey::offset_commit:
    case ApiKey::offset_fetch:
    case ApiKey::join_group:
    case ApiKey::heartbeat:
    case ApiKey::leave_group:
    case ApiKey::sync_group:
    case ApiKey::describe_groups:
    case ApiKey::list_groups:
    case ApiKey::delete_groups:
    case ApiKey::offset_delete:
      return true;
    default:
      return false;
  }
}

// Each API is authorized first (group_access.h): a request denied whole is
// answered without the coordinator, a partly denied one runs without the
// denied parts, which are added back to the answer denied.
void GroupsService::handle(std::span<const std::byte> frame, const std::string& client_host, const Access& access,
                           net::EventLoop& loop, std::function<void(std::optional<buf::Chain>)> respond) {
  auto req = kafka::decode_request(frame);
  if (req.status != kafka::RequestStatus::ok) return respond(std::nullopt);
  const auto corr = req.header.correlation_id;
  const auto ver = req.header.api_version;
  // Posts an encoded answer to the connection's loop (callbacks may run on
  // another thread: another connection's reactor or the ticker).
  auto post = [&loop, respond, corr, ver](const auto& msg) {
    auto enc = kafka::encode_response(corr, ver, msg);
    auto bytes = std::make_shared<std::vector<std::byte>>(std::move(enc.bytes));
    loop.post([respond, bytes]() mutable {
      buf::Chain c;
      c.append(to_buffer(std::move(*bytes)));
      respond(std::move(c));
    });
  };
  const auto now = GroupCoordinator::Clock::now();
  const std::string client_id = req.header.client_id.value_or("");
  std::lock_guard lock(mu_);
  std::visit(
      [&](auto& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, kafka::JoinGroupRequest>) {
          if (auto r = group_access::deny_member_request<kafka::JoinGroupResponse>(body, access)) return post(*r);
          coordinator_->join_group(body, ver, client_id, client_host, now,
                                   [post](kafka::JoinGroupResponse r) { post(r); });
        } else if constexpr (std::is_same_v<T, kafka::SyncGroupRequest>) {
          if (auto r = group_access::deny_member_request<kafka::SyncGroupResponse>(body, access)) return post(*r);
          coordinator_->sync_group(body, now, [post](kafka::SyncGroupResponse r) { post(r); });
        } else if constexpr (std::is_same_v<T, kafka::HeartbeatRequest>) {
          if (auto r = group_access::deny_member_request<kafka::HeartbeatResponse>(body, access)) return post(*r);
          post(coordinator_->heartbeat(body, now));
        } else if constexpr (std::is_same_v<T, kafka::LeaveGroupRequest>) {
          if (auto r = group_access::deny_member_request<kafka::LeaveGroupResponse>(body, access)) return post(*r);
          post(coordinator_->leave_group(body, ver, now));
        } else if constexpr (std::is_same_v<T, kafka::OffsetCommitRequest>) {
          if (auto r = group_access::deny(body, access)) return post(*r);
          auto denied = group_access::strip(body, access);
          auto res = coordinator_->offset_commit(body, now, wall_ms());
          group_access::add_denied(res, denied);
          post(res);
        } else if constexpr (std::is_same_v<T, kafka::OffsetFetchRequest>) {
          auto res = coordinator_->offset_fetch(body);
          group_access::filter(body, ver, res, access);
          post(res);
        } else if constexpr (std::is_same_v<T, kafka::DescribeGroupsRequest>) {
          auto res = coordinator_->describe_groups(body);
          group_access::filter(res, access);
          post(res);
        } else if constexpr (std::is_same_v<T, kafka::ListGroupsRequest>) {
          auto res = coordinator_->list_groups();
          group_access::filter(res, access);
          post(res);
        } else if constexpr (std::is_same_v<T, kafka::DeleteGroupsRequest>) {
          auto denied = group_access::strip(body, access);
          auto res = coordinator_->delete_groups(body);
          group_access::add_denied(res, denied);
          post(res);
        } else if constexpr (std::is_same_v<T, kafka::OffsetDeleteRequest>) {
          if (auto r = group_access::deny(body, access)) return post(*r);
          auto denied = group_access::strip(body, access);
          auto res = coordinator_->offset_delete(body);
          group_access::add_denied(res, denied);
          post(res);
        } else {
          loop.post([respond] { respond(std::nullopt); });
        }
      },
      req.body);
}

}  // namespace nocopy::broker
