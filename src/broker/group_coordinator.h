// GroupCoordinator: Kafka's classic consumer-group protocol (JoinGroup,
// SyncGroup, Heartbeat, LeaveGroup, DescribeGroups, ListGroups) and committed
// offsets (OffsetCommit, OffsetFetch), as a pure state machine.
//
// Contract:
// - Single-threaded and I/O-free. The broker calls it from one thread (one
//   reactor, or under one mutex) and passes the current time into every call;
//   nothing reads a clock. The broker also calls tick(now) no later than
//   next_deadline(), which expires sessions and finishes rebalances whose
//   timers ran out.
// - Answers that cannot be given at once -- a JoinGroup waits until the
//   rebalance completes, a follower's SyncGroup until the leader's -- are
//   delivered through the callback passed with the request. A callback runs
//   exactly once: either before the call returns or from a later call
//   (another member's JoinGroup/SyncGroup/LeaveGroup, or tick()). Callbacks
//   must not call back into the coordinator; they should only queue the
//   response on their connection (and must tolerate that connection having
//   closed meanwhile, e.g. by holding a weak reference).
// - Responses are kafka:: message structs; the broker encodes them at the
//   request's version. Version-dependent behaviour (MEMBER_ID_REQUIRED on
//   JoinGroup v4+, LeaveGroup v0-2 single-member errors) takes the version.
// - Committed offsets are persisted through OffsetLog::append() before the
//   commit is acknowledged, as (key, value) records in the format of
//   encode_offset_key()/encode_offset_value() (close to Kafka's own
//   __consumer_offsets records). On start the broker replays every stored
//   record, oldest first, with replay(); the last value per key wins.
// - Group membership is persisted the same way, as Kafka does: a group
//   record (encode_group_key()/encode_group_value(), Kafka's GroupMetadata
//   key v2 / value v3 layout) is appended whenever a generation completes
//   (the leader's SyncGroup hands out the assignments) and whenever the group
//   becomes Empty (every member left or expired; the record then has no
//   members). Replaying it brings the group back Stable with its generation,
//   protocol, leader and members (with their subscriptions and
//   assignments), so surviving members keep heartbeating and committing
//   across a broker restart. After the last replay() call the broker calls
//   finish_replay(now): every restored member's session starts afresh then;
//   members that do not come back expire and trigger a rebalance.
//   A group record that fails to be stored does not complete the generation:
//   the pending SyncGroups get COORDINATOR_NOT_AVAILABLE and the group
//   rebalances (Kafka does the same).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "kafka/delete_groups.h"
#include "kafka/describe_groups.h"
#include "kafka/heartbeat.h"
#include "kafka/join_group.h"
#include "kafka/leave_group.h"
#include "kafka/list_groups.h"
#include "kafka/offset_commit.h"
#include "kafka/offset_delete.h"
#include "kafka/offset_fetch.h"
#include "kafka/sync_group.h"

namespace nocopy::broker {

// Where committed offsets are stored (the broker maps it onto an internal
// `__consumer_offsets` partition log).
class OffsetLog {
 public:
  virtual ~OffsetLog() = default;
  // Store one record. Returns false when it could not be stored; the commit
  // is then answered with an error and not applied in memory.
  virtual bool append(std::span<const std::byte> key, std::span<const std::byte> value) = 0;
  // Store a tombstone (null value) for every key, all or nothing. Returns
  // false when they could not be stored; nothing is then deleted in memory.
  // The default stores them one by one as empty values, which is not
  // atomic; the broker's log overrides it with one batch of null-valued
  // records (replayed with replay_tombstone()).
  virtual bool append_tombstones(std::span<const std::vector<std::byte>> keys) {
    for (const auto& k : keys)
      if (!append(k, {})) return false;
    return true;
  }
};

struct GroupCoordinatorConfig {
  // group.initial.rebalance.delay.ms: how long the first rebalance of an
  // empty group waits for more members (extended by each new member, capped
  // by the rebalance timeout). Kafka's default is 3000; tests use 0.
  std::chrono::milliseconds initial_rebalance_delay{3000};
  std::chrono::milliseconds min_session_timeout{6000};
  std::chrono::milliseconds max_session_timeout{1800000};
  std::size_t max_metadata_size = 4096;     // offset.metadata.max.bytes
  std::size_t max_group_id_length = 32767;  // longer ids: INVALID_GROUP_ID
  std::uint64_t member_id_seed = 0;         // mixed into generated member ids
};

class GroupCoordinator {
 public:
  using Clock = std::chrono::steady_clock;
  using TimePoint = Clock::time_point;
  using JoinCallback = std::function<void(kafka::JoinGroupResponse)>;
  using SyncCallback = std::function<void(kafka::SyncGroupResponse)>;

  // `log` may be null (offsets kept in memory only); it must outlive this.
  GroupCoordinator(GroupCoordinatorConfig config, OffsetLog* log);
  ~GroupCoordinator();
  GroupCoordinator(const GroupCoordinator&) = delete;
  GroupCoordinator& operator=(const GroupCoordinator&) = delete;

  // client_id / client_host name the member in DescribeGroups and prefix
  // generated member ids.
  void join_group(const kafka::JoinGroupRequest& req, std::int16_t version, const std::string& client_id,
                  const std::string& client_host, TimePoint now, JoinCallback respond);
  void sync_group(const kafka::SyncGroupRequest& req, TimePoint now, SyncCallback respond);
  kafka::HeartbeatResponse heartbeat(const kafka::HeartbeatRequest& req, TimePoint now);
  kafka::LeaveGroupResponse leave_group(const kafka::LeaveGroupRequest& req, std::int16_t version, TimePoint now);
  kafka::OffsetCommitResponse offset_commit(const kafka::OffsetCommitRequest& req, TimePoint now,
                                            std::int64_t commit_timestamp_ms);
  kafka::OffsetFetchResponse offset_fetch(const kafka::OffsetFetchRequest& req) const;
  kafka::DescribeGroupsResponse describe_groups(const kafka::DescribeGroupsRequest& req) const;
  kafka::ListGroupsResponse list_groups() const;
  // DeleteGroups: an Empty group (no members; pending member ids do not
  // count, as in Kafka) is removed with all its committed offsets, stored
  // first as tombstones (the group key and every offset key, in one
  // append_tombstones() call) so a replay does not bring it back. Per group:
  // NON_EMPTY_GROUP while it has members, GROUP_ID_NOT_FOUND when unknown,
  // INVALID_GROUP_ID for "", COORDINATOR_NOT_AVAILABLE when the tombstones
  // could not be stored (nothing is deleted then).
  kafka::DeleteGroupsResponse delete_groups(const kafka::DeleteGroupsRequest& req);
  // OffsetDelete: tombstones the listed partitions' committed offsets. A
  // partition of a topic that a member of a "consumer" group subscribes to
  // keeps its offset (GROUP_SUBSCRIBED_TO_TOPIC); a non-empty group of
  // another protocol type answers NON_EMPTY_GROUP for the whole request.
  kafka::OffsetDeleteResponse offset_delete(const kafka::OffsetDeleteRequest& req);

  // Expire sessions and finish rebalances whose deadline has passed.
  void tick(TimePoint now);
  // Earliest time tick() has something to do; nullopt when nothing is timed.
  std::optional<TimePoint> next_deadline() const;

  // Rebuild committed offsets and group membership from stored records
  // (oldest first). An empty `value` is a tombstone (a null record value):
  // for a group key it forgets the group's members. Unknown record versions
  // are skipped (with a warning) and return true; returns false for
  // undecodable or inconsistent records, which change nothing.
  bool replay(std::span<const std::byte> key, std::span<const std::byte> value);
  // A record with a null value (OffsetDelete, DeleteGroups): an offset key
  // forgets that committed offset; a group key forgets the group -- or
  // only its members while it still has committed offsets (DeleteGroups
  // writes the offsets' tombstones before the group's). Unknown key
  // versions are skipped (true); undecodable keys return false.
  bool replay_tombstone(std::span<const std::byte> key);
  // Ends a replay: restored members' sessions start at `now`.
  void finish_replay(TimePoint now);

  // Introspection (tests, metrics).
  std::size_t group_count() const { return groups_.size(); }
  std::optional<std::int32_t> generation(const std::string& group_id) const;
  std::optional<std::string> state_name(const std::string& group_id) const;

  struct OffsetKey {
    std::string group;
    std::string topic;
    std::int32_t partition = 0;
    auto operator<=>(const OffsetKey&) const = default;
  };
  struct OffsetValue {
    std::int64_t offset = -1;
    std::int32_t leader_epoch = -1;
    std::string metadata;
    std::int64_t commit_timestamp_ms = -1;
  };
  static std::vector<std::byte> encode_offset_key(const OffsetKey& k);
  static std::vector<std::byte> encode_offset_value(const OffsetValue& v);
  static std::optional<OffsetKey> decode_offset_key(std::span<const std::byte> key);
  static std::optional<OffsetValue> decode_offset_value(std::span<const std::byte> value);

  // Group membership records (Kafka's GroupMetadataKey v2 / Value v0-v3).
  struct GroupRecordMember {
    std::string member_id;
    std::optional<std::string> group_instance_id;
    std::string client_id;
    std::string client_host;
    std::int32_t rebalance_timeout_ms = 0;
    std::int32_t session_timeout_ms = 0;
    kafka::ByteVec subscription;  // the member's metadata for `protocol`
    kafka::ByteVec assignment;
  };
  struct GroupRecord {
    std::string protocol_type;
    std::int32_t generation = 0;
    std::optional<std::string> protocol;  // null while the group is Empty
    std::optional<std::string> leader;
    std::int64_t state_timestamp_ms = -1;
    std::vector<GroupRecordMember> members;
  };
  static constexpr std::int16_t kGroupKeyVersion = 2;
  static constexpr std::int16_t kGroupValueVersion = 3;
  static std::vector<std::byte> encode_group_key(const std::string& group);
  static std::vector<std::byte> encode_group_value(const GroupRecord& v);
  static std::optional<std::string> decode_group_key(std::span<const std::byte> key);
  // Accepts value versions 0-3; nullopt for other versions, truncated or
  // trailing bytes, or an inconsistent group (a leader that is not a member,
  // duplicate member ids, members without a protocol, bad timeouts).
  static std::optional<GroupRecord> decode_group_value(std::span<const std::byte> value);

 private:
  enum class State { empty, preparing_rebalance, completing_rebalance, stable, dead };
  struct Member;
  struct Group;

  Group* find_group(const std::string& id);
  const Group* find_group(const std::string& id) const;
  std::string new_member_id(const std::string& client_id);
  void prepare_rebalance(Group& g, TimePoint now);
  void maybe_complete_join(Group& g, TimePoint now);
  void complete_join(Group& g, TimePoint now);
  void remove_member(Group& g, const std::string& member_id, TimePoint now);
  void send_join_response(Group& g, Member& m);
  void reset_pending_sync(Group& g, std::int16_t error);
  static const char* state_text(State s);
  void flush_callbacks();
  bool store_group(const Group& g);
  bool replay_group(std::span<const std::byte> key, std::span<const std::byte> value);
  bool has_offsets(const std::string& group) const;
  // Topics the members of a "consumer" group subscribe to (parsed from
  // their ConsumerProtocolSubscription metadata; unparsable metadata adds
  // nothing).
  std::vector<std::string> subscribed_topics(const Group& g) const;

  GroupCoordinatorConfig cfg_;
  OffsetLog* log_;
  std::map<std::string, std::unique_ptr<Group>> groups_;
  std::map<OffsetKey, OffsetValue> offsets_;
  std::uint64_t member_counter_ = 0;
  // Callbacks are queued while state changes and run at the end of each
  // public call, so they always observe a consistent coordinator.
  std::vector<std::function<void()>> ready_;
};

}  // namespace nocopy::broker
