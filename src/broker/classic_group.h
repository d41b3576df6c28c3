// ClassicGroup: the state machine of one consumer group under Kafka's classic
// group protocol (Empty -> PreparingRebalance -> CompletingRebalance ->
// Stable), with its members, the join phase of a rebalance and the
// protocol vote. GroupCoordinator owns one per group id and validates each
// request before it calls in here.
//
// Contract:
// - Single-threaded and I/O-free, like GroupCoordinator: time is passed in,
//   and the only storage access is appending the group's record through
//   the OffsetLog in its GroupContext.
// - Answers to waiting JoinGroup/SyncGroup requests are never called
//   directly: they are queued on the context's ReplyQueue, which the
//   coordinator runs at the end of each public call, so callbacks always
//   observe a consistent coordinator.
// - A member that waits in JoinGroup or SyncGroup is kept alive; every
//   other member must heartbeat within its session timeout (tick()).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "broker/group_records.h"
#include "kafka/error_code.h"
#include "kafka/join_group.h"
#include "kafka/sync_group.h"

namespace nocopy::broker {

using GroupClock = std::chrono::steady_clock;
using GroupJoinCallback = std::function<void(kafka::JoinGroupResponse)>;
using GroupSyncCallback = std::function<void(kafka::SyncGroupResponse)>;

// Responses ready to be delivered. Queued while state changes; run() calls
// them in order (including any queued while it runs).
class ReplyQueue {
 public:
  // Queues `callback(response)` and leaves `callback` empty.
  template <class Callback, class Response>
  void push(Callback& callback, Response response) {
    ready_.push_back([cb = std::move(callback), r = std::move(response)]() mutable { cb(std::move(r)); });
    callback = nullptr;
  }
  void run();

 private:
  std::vector<std::function<void()>> ready_;
};

// What a group's transitions need from its coordinator.
struct GroupContext {
  std::chrono::milliseconds initial_rebalance_delay{0};
  ReplyQueue& replies;
  OffsetLog* log = nullptr;  // null: group records are not stored
};

struct ClassicGroupMember {
  std::string id;
  std::optional<std::string> instance_id;
  std::string client_id;
  std::string client_host;
  std::chrono::milliseconds session_timeout{0};
  std::chrono::milliseconds rebalance_timeout{0};
  std::vector<kafka::JoinGroupRequest::Protocol> protocols;
  kafka::ByteVec assignment;
  GroupJoinCallback awaiting_join;  // set while a JoinGroup waits for the rebalance
  GroupSyncCallback awaiting_sync;  // set while a SyncGroup waits for the leader
  GroupClock::time_point last_heartbeat{};

  const kafka::ByteVec* metadata_for(const std::string& protocol) const;
};

class ClassicGroup {
 public:
  using TimePoint = GroupClock::time_point;
  enum class State { empty, preparing_rebalance, completing_rebalance, stable, dead };
  static const char* state_text(State s);

  explicit ClassicGroup(std::string id) : id(std::move(id)) {}

  // What a JoinGroup carries about its member, validated by the caller.
  struct JoinInfo {
    const kafka::JoinGroupRequest& req;
    std::string client_id;
    std::string client_host;
    std::chrono::milliseconds session;
    std::chrono::milliseconds rebalance;
  };

  ClassicGroupMember* member(const std::string& member_id);
  const ClassicGroupMember* member(const std::string& member_id) const;
  // Whether a request naming `member_id` (and, for a static member,
  // `instance_id`) comes from a current member, as Kafka validates it:
  // an instance id held by a member with another id is FENCED_INSTANCE_ID
  // (the latest member to join with it holds it), an instance id nobody
  // holds or a member id not in the group UNKNOWN_MEMBER_ID, else NONE.
  kafka::ErrorCode member_error(const std::string& member_id, const std::optional<std::string>& instance_id) const;
  // Whether a joiner speaks the group's protocol type and shares at least
  // one protocol with every current member (other than itself).
  bool accepts(const kafka::JoinGroupRequest& req) const;
  // A new member joins (a fresh id or one handed out as pending).
  void add_member(std::string id, const JoinInfo& join, GroupJoinCallback respond, TimePoint now, GroupContext& ctx);
  // A known member joins again.
  void rejoin(ClassicGroupMember& m, const JoinInfo& join, GroupJoinCallback respond, TimePoint now,
              GroupContext& ctx);
  // The leader's SyncGroup: stores the generation with its assignments and
  // answers every waiting member; on a store failure everyone waiting gets
  // COORDINATOR_NOT_AVAILABLE and the group rebalances.
  void complete_sync(const kafka::SyncGroupRequest& req, TimePoint now, GroupContext& ctx);
  void remove_member(const std::string& member_id, TimePoint now, GroupContext& ctx);
  void maybe_complete_join(TimePoint now, GroupContext& ctx);
  // Expires pending member ids and silent members, finishes a rebalance
  // whose time ran out.
  void tick(TimePoint now, GroupContext& ctx);
  std::optional<TimePoint> next_deadline() const;
  // No members and no pending joins.
  bool idle() const { return state == State::empty && members.empty() && pending.empty(); }

  // The group record for its current generation; store() appends it.
  GroupRecord to_record() const;
  bool store(OffsetLog* log) const;
  // Replaces the membership with a stored record's (Stable, or Empty when
  // it has no members); forget_members() is a tombstone's effect.
  void restore(GroupRecord rec);
  void forget_members();

  std::string id;
  State state = State::empty;
  std::int32_t generation = 0;
  std::string protocol_type;
  std::string protocol_name;
  std::string leader;
  std::vector<std::unique_ptr<ClassicGroupMember>> members;  // join order; the first is the default leader
  std::map<std::string, TimePoint> pending;  // ids handed out with MEMBER_ID_REQUIRED -> expiry

 private:
  void prepare_rebalance(TimePoint now, GroupContext& ctx);
  void complete_join(TimePoint now, GroupContext& ctx);
  std::string choose_protocol() const;
  void send_join_response(ClassicGroupMember& m, GroupContext& ctx);
  void reset_pending_sync(std::int16_t error, GroupContext& ctx);
  void update_member(ClassicGroupMember& m, const JoinInfo& join, GroupJoinCallback respond, GroupContext& ctx);

  TimePoint rebalance_start_{};
  TimePoint rebalance_deadline_{};
  bool initial_delay_ = false;
  TimePoint initial_delay_until_{};
};

}  // namespace nocopy::broker
