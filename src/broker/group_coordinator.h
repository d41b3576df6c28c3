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
//
// Parts: ClassicGroup (broker/classic_group.h) is one group's state machine
// and members; CommittedOffsets (broker/committed_offsets.h) the offset
// store; broker/group_records.h the stored records and their codecs. The
// coordinator validates requests, owns the groups and runs the queued
// answers. Its definitions are split by API family: group_coordinator.cc
// (membership, tick), group_coordinator_offsets.cc (OffsetCommit/Fetch/
// Delete, DeleteGroups), group_coordinator_replay.cc (restart).
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

#include "broker/classic_group.h"
#include "broker/committed_offsets.h"
#include "broker/group_records.h"
#include "kafka/delete_groups.h"
#include "kafka/describe_groups.h"
#include "kafka/error_code.h"
#include "kafka/heartbeat.h"
#include "kafka/join_group.h"
#include "kafka/leave_group.h"
#include "kafka/list_groups.h"
#include "kafka/offset_commit.h"
#include "kafka/offset_delete.h"
#include "kafka/offset_fetch.h"
#include "kafka/sync_group.h"
#include "kafka/txn_offset_commit.h"

namespace nocopy::broker {

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
  using Clock = GroupClock;
  using TimePoint = Clock::time_point;
  using JoinCallback = GroupJoinCallback;
  using SyncCallback = GroupSyncCallback;

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
  // From v9 a group that does not exist is GROUP_ID_NOT_FOUND (before:
  // ILLEGAL_GENERATION) unless generation_id is -1, which creates a simple
  // group that only stores offsets.
  kafka::OffsetCommitResponse offset_commit(const kafka::OffsetCommitRequest& req, std::int16_t version,
                                            TimePoint now, std::int64_t commit_timestamp_ms);
  // Whether a TxnOffsetCommit may store its offsets in `req.group_id`
  // (the zombie fencing of KIP-447), as Kafka's group coordinator decides:
  // - generation -1, no member id, no instance id (v0-v2, or a producer
  //   committing for a group without being its member): accepted, also for
  //   a group that does not exist (then created, a simple group, as by an
  //   OffsetCommit with generation -1); a group that does not exist with a
  //   generation >= 0 is ILLEGAL_GENERATION (v6+: GROUP_ID_NOT_FOUND);
  // - a Dead group: COORDINATOR_NOT_AVAILABLE; generation -1 on an Empty
  //   group: accepted;
  // - else the sender must be a current member (ClassicGroup::member_error:
  //   FENCED_INSTANCE_ID, UNKNOWN_MEMBER_ID) of the group's generation
  //   (else ILLEGAL_GENERATION). Unlike OffsetCommit, a rebalance in
  //   progress is no error: a member of the current generation commits
  //   during PreparingRebalance and CompletingRebalance alike.
  // Nothing is stored and no session is extended.
  kafka::ErrorCode txn_offset_commit_error(const kafka::TxnOffsetCommitRequest& req, std::int16_t version);
  // OffsetFetch: the request's groups (v8+) each answered in `groups`, or
  // its one group_id (v1-v7) in `topics` and `error_code`. Null topics: every
  // partition the group has committed.
  kafka::OffsetFetchResponse offset_fetch(const kafka::OffsetFetchRequest& req) const;
  // A group that does not exist: state Dead, error 0, or from v6
  // GROUP_ID_NOT_FOUND with a message.
  kafka::DescribeGroupsResponse describe_groups(const kafka::DescribeGroupsRequest& req,
                                                std::int16_t version = 5) const;
  // ListGroups: every group with its state (v4) and type ("classic", v5),
  // kept when `states` / `types` are empty or name them (any case).
  kafka::ListGroupsResponse list_groups(const std::vector<std::string>& states = {},
                                        const std::vector<std::string>& types = {}) const;
  // DeleteGroups: an Empty group (no members; pending member ids do not
  // count, as in Kafka) is removed with all its committed offsets, stored
  // first as tombstones (the group key and every offset key, in one
  // append_tombstones() call) so a replay does not bring it back. Per group:
  // NON_EMPTY_GROUP while it has members, GROUP_ID_NOT_FOUND when unknown,
  // INVALID_GROUP_ID for "", COORDINATOR_NOT_AVAILABLE when the tombstones
  // could not be stored (nothing is deleted then). Every error carries
  // error_message saying why (sent from v3); a deleted group's is null.
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
  // This coordinator stops serving its groups (cluster mode: the broker no
  // longer leads their __consumer_offsets partition). Every JoinGroup and
  // SyncGroup still waiting is answered `error` (NOT_COORDINATOR: the
  // client looks the coordinator up again) and every group is forgotten;
  // nothing is stored.
  void unload(kafka::ErrorCode error);

  // Introspection (tests, metrics).
  std::size_t group_count() const { return groups_.size(); }
  std::optional<std::int32_t> generation(const std::string& group_id) const;
  std::optional<std::string> state_name(const std::string& group_id) const;

  // The stored records and their codecs (broker/group_records.h).
  using OffsetKey = GroupOffsetKey;
  using OffsetValue = GroupOffsetValue;
  using GroupRecordMember = broker::GroupRecordMember;
  using GroupRecord = broker::GroupRecord;
  static constexpr std::int16_t kGroupKeyVersion = group_records::kGroupKeyVersion;
  static constexpr std::int16_t kGroupValueVersion = group_records::kGroupValueVersion;
  static std::vector<std::byte> encode_offset_key(const OffsetKey& k) { return group_records::encode_offset_key(k); }
  static std::vector<std::byte> encode_offset_value(const OffsetValue& v) {
    return group_records::encode_offset_value(v);
  }
  static std::optional<OffsetKey> decode_offset_key(std::span<const std::byte> key) {
    return group_records::decode_offset_key(key);
  }
  static std::optional<OffsetValue> decode_offset_value(std::span<const std::byte> value) {
    return group_records::decode_offset_value(value);
  }
  static std::vector<std::byte> encode_group_key(const std::string& group) {
    return group_records::encode_group_key(group);
  }
  static std::vector<std::byte> encode_group_value(const GroupRecord& v) {
    return group_records::encode_group_value(v);
  }
  static std::optional<std::string> decode_group_key(std::span<const std::byte> key) {
    return group_records::decode_group_key(key);
  }
  static std::optional<GroupRecord> decode_group_value(std::span<const std::byte> value) {
    return group_records::decode_group_value(value);
  }

 private:
  using State = ClassicGroup::State;

  kafka::OffsetFetchResponse::Group fetch_group_offsets(
      const std::string& group_id, const std::optional<std::vector<kafka::OffsetFetchRequest::Topic>>& topics) const;
  ClassicGroup* find_group(const std::string& id);
  const ClassicGroup* find_group(const std::string& id) const;
  ClassicGroup& find_or_create_group(const std::string& id);
  bool valid_group_id(const std::string& id) const;
  std::string new_member_id(const std::string& client_id);
  // JoinGroup checks that do not depend on the group's state.
  std::optional<kafka::ErrorCode> join_request_error(const kafka::JoinGroupRequest& req) const;
  // The error every partition of an OffsetCommit gets from its group, and
  // the group (created for a simple, unmanaged commit).
  kafka::ErrorCode commit_group_error(const kafka::OffsetCommitRequest& req, std::int16_t version, TimePoint now);
  // A commit (OffsetCommit or TxnOffsetCommit) to group `id`, which does
  // not exist: generation -1 creates it as a simple group (offsets only:
  // manual assignment, kcat -o stored) and is accepted; a generation >= 0
  // is GROUP_ID_NOT_FOUND to versions that know it, else ILLEGAL_GENERATION.
  kafka::ErrorCode commit_to_missing_group(const std::string& id, std::int32_t generation, bool not_found_known);
  bool replay_group(std::span<const std::byte> key, std::span<const std::byte> value);
  // Topics the members of a "consumer" group subscribe to (parsed from
  // their ConsumerProtocolSubscription metadata; unparsable metadata adds
  // nothing).
  std::vector<std::string> subscribed_topics(const ClassicGroup& g) const;

  GroupCoordinatorConfig cfg_;
  OffsetLog* log_;
  std::map<std::string, std::unique_ptr<ClassicGroup>> groups_;
  CommittedOffsets offsets_;
  std::uint64_t member_counter_ = 0;
  // Answers are queued while state changes and run at the end of each
  // public call, so they always observe a consistent coordinator.
  ReplyQueue replies_;
  GroupContext ctx_;
};

}  // namespace nocopy::broker
