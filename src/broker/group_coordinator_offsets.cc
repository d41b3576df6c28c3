// GroupCoordinator: committed offsets (OffsetCommit, the group checks of
// TxnOffsetCommit, OffsetFetch, OffsetDelete) and DeleteGroups.
#include <algorithm>
#include <utility>

#include <spdlog/spdlog.h>

#include "broker/group_coordinator.h"
#include "kafka/reader.h"

namespace nocopy::broker {

using kafka::ErrorCode;
using kafka::to_wire;

ErrorCode GroupCoordinator::commit_to_missing_group(const std::string& id, std::int32_t generation,
                                                    bool not_found_known) {
  if (generation >= 0) return not_found_known ? ErrorCode::group_id_not_found : ErrorCode::illegal_generation;
  find_or_create_group(id);
  return ErrorCode::none;
}

ErrorCode GroupCoordinator::commit_group_error(const kafka::OffsetCommitRequest& req, std::int16_t version,
                                               TimePoint now) {
  if (!valid_group_id(req.group_id)) return ErrorCode::invalid_group_id;
  ClassicGroup* g = find_group(req.group_id);
  if (g == nullptr) return commit_to_missing_group(req.group_id, req.generation_id, version >= 9);
  if (req.generation_id < 0 && g->state == State::empty) return ErrorCode::none;  // not using group management
  if (g->state == State::completing_rebalance) return ErrorCode::rebalance_in_progress;
  if (g->state == State::dead) return ErrorCode::coordinator_not_available;
  if (const ErrorCode e = g->member_error(req.member_id, req.group_instance_id); e != ErrorCode::none) return e;
  if (req.generation_id != g->generation) return ErrorCode::illegal_generation;
  g->member(req.member_id)->last_heartbeat = now;
  return ErrorCode::none;
}

ErrorCode GroupCoordinator::txn_offset_commit_error(const kafka::TxnOffsetCommitRequest& req, std::int16_t version) {
  if (!valid_group_id(req.group_id)) return ErrorCode::invalid_group_id;
  ClassicGroup* g = find_group(req.group_id);
  if (g == nullptr) return commit_to_missing_group(req.group_id, req.generation_id, version >= 6);
  if (g->state == State::dead) return ErrorCode::coordinator_not_available;
  if (req.generation_id < 0 && g->state == State::empty) return ErrorCode::none;
  if (req.generation_id < 0 && req.member_id.empty() && !req.group_instance_id) return ErrorCode::none;
  if (const ErrorCode e = g->member_error(req.member_id, req.group_instance_id); e != ErrorCode::none) return e;
  return req.generation_id == g->generation ? ErrorCode::none : ErrorCode::illegal_generation;
}

kafka::OffsetCommitResponse GroupCoordinator::offset_commit(const kafka::OffsetCommitRequest& req,
                                                            std::int16_t version, TimePoint now,
                                                            std::int64_t commit_timestamp_ms) {
  const ErrorCode group_error = commit_group_error(req, version, now);
  kafka::OffsetCommitResponse r;
  for (const auto& t : req.topics) {
    kafka::OffsetCommitResponse::Topic rt;
    rt.name = t.name;
    for (const auto& p : t.partitions) {
      ErrorCode e = group_error;
      const std::size_t md_size = p.committed_metadata ? p.committed_metadata->size() : 0;
      if (e == ErrorCode::none && (md_size > cfg_.max_metadata_size || md_size > 32767)) {
        e = ErrorCode::offset_metadata_too_large;
      }
      if (e == ErrorCode::none) {
        OffsetKey key{req.group_id, t.name, p.partition_index};
        OffsetValue value{p.committed_offset, p.committed_leader_epoch, p.committed_metadata.value_or(""),
                          commit_timestamp_ms};
        if (!offsets_.commit(std::move(key), std::move(value))) e = ErrorCode::coordinator_not_available;
      }
      rt.partitions.push_back({p.partition_index, to_wire(e)});
    }
    r.topics.push_back(std::move(rt));
  }
  replies_.run();
  return r;
}

kafka::OffsetFetchResponse::Group GroupCoordinator::fetch_group_offsets(
    const std::string& group_id, const std::optional<std::vector<kafka::OffsetFetchRequest::Topic>>& topics) const {
  kafka::OffsetFetchResponse::Group r;
  r.group_id = group_id;
  const bool bad_group = !valid_group_id(group_id);
  if (bad_group) r.error_code = to_wire(ErrorCode::invalid_group_id);
  auto lookup = [&](const std::string& topic, std::int32_t partition) {
    kafka::OffsetFetchResponse::Partition p;
    p.partition_index = partition;
    p.metadata = "";
    if (bad_group) {
      p.error_code = to_wire(ErrorCode::invalid_group_id);
      return p;
    }
    if (const OffsetValue* v = offsets_.find(OffsetKey{group_id, topic, partition})) {
      p.committed_offset = v->offset;
      p.committed_leader_epoch = v->leader_epoch;
      p.metadata = v->metadata;
    }
    return p;
  };
  if (topics) {
    for (const auto& t : *topics) {
      kafka::OffsetFetchResponse::Topic rt;
      rt.name = t.name;
      for (std::int32_t part : t.partition_indexes) rt.partitions.push_back(lookup(t.name, part));
      r.topics.push_back(std::move(rt));
    }
    return r;
  }
  if (bad_group) return r;
  // null topics: everything the group has committed.
  for (const auto& [key, value] : offsets_.of_group(group_id)) {
    if (r.topics.empty() || r.topics.back().name != key.topic) r.topics.push_back({key.topic, {}});
    r.topics.back().partitions.push_back(lookup(key.topic, key.partition));
  }
  return r;
}

kafka::OffsetFetchResponse GroupCoordinator::offset_fetch(const kafka::OffsetFetchRequest& req) const {
  kafka::OffsetFetchResponse r;
  if (!req.groups.empty()) {
    for (const auto& g : req.groups) r.groups.push_back(fetch_group_offsets(g.group_id, g.topics));
    return r;
  }
  kafka::OffsetFetchResponse::Group one = fetch_group_offsets(req.group_id, req.topics);
  r.topics = std::move(one.topics);
  r.error_code = one.error_code;
  return r;
}

kafka::DeleteGroupsResponse GroupCoordinator::delete_groups(const kafka::DeleteGroupsRequest& req) {
  kafka::DeleteGroupsResponse r;
  for (const auto& id : req.groups_names) {
    auto& out = r.results.emplace_back();
    out.group_id = id;
    auto fail = [&out](ErrorCode e, std::string why) {
      out.error_code = to_wire(e);
      out.error_message = std::move(why);
    };
    if (!valid_group_id(id)) {
      fail(ErrorCode::invalid_group_id, "The group id is empty.");
      continue;
    }
    auto it = groups_.find(id);
    if (it == groups_.end() || it->second->state == State::dead) {
      fail(ErrorCode::group_id_not_found, fmt::format("Group {} does not exist.", id));
      continue;
    }
    const ClassicGroup& g = *it->second;
    if (g.state != State::empty || !g.members.empty()) {
      fail(ErrorCode::non_empty_group, fmt::format("Group {} is not empty: it has {} member{}.", id,
                                                   g.members.size(), g.members.size() == 1 ? "" : "s"));
      continue;
    }
    // Offsets first, the group key last: replaying the group's tombstone
    // erases the group only once no offset of it is left.
    std::vector<std::vector<std::byte>> keys;
    for (const auto& [key, value] : offsets_.of_group(id)) keys.push_back(encode_offset_key(key));
    keys.push_back(encode_group_key(id));
    if (log_ != nullptr && !log_->append_tombstones(keys)) {
      fail(ErrorCode::coordinator_not_available,
           fmt::format("The tombstones of group {} could not be stored; nothing was deleted.", id));
      continue;
    }
    // Pending member ids die with the group: a JoinGroup with one is
    // answered UNKNOWN_MEMBER_ID and the client rejoins afresh.
    offsets_.erase_group(id);
    groups_.erase(it);
    spdlog::info("groups: deleted group '{}' ({} committed offset{})", id, keys.size() - 1,
                 keys.size() == 2 ? "" : "s");
  }
  replies_.run();
  return r;
}

std::vector<std::string> GroupCoordinator::subscribed_topics(const ClassicGroup& g) const {
  std::vector<std::string> topics;
  if (g.protocol_type != "consumer") return topics;
  for (const auto& m : g.members) {
    for (const auto& p : m->protocols) {
      // ConsumerProtocolSubscription: int16 version | [string topic] | ...
      if (!g.protocol_name.empty() && p.name != g.protocol_name) continue;
      kafka::Reader rd(p.metadata);
      rd.i16();
      const std::int32_t n = rd.array_length();
      for (std::int32_t i = 0; i < n && rd.ok(); ++i) {
        std::string t(rd.string());
        if (rd.ok() && std::find(topics.begin(), topics.end(), t) == topics.end()) topics.push_back(std::move(t));
      }
    }
  }
  return topics;
}

kafka::OffsetDeleteResponse GroupCoordinator::offset_delete(const kafka::OffsetDeleteRequest& req) {
  kafka::OffsetDeleteResponse r;
  if (!valid_group_id(req.group_id)) {
    r.error_code = to_wire(ErrorCode::invalid_group_id);
    return r;
  }
  const ClassicGroup* g = find_group(req.group_id);
  if (g == nullptr || g->state == State::dead) {
    r.error_code = to_wire(ErrorCode::group_id_not_found);
    return r;
  }
  const bool empty = g->state == State::empty && g->members.empty();
  if (!empty && g->protocol_type != "consumer") {
    r.error_code = to_wire(ErrorCode::non_empty_group);
    return r;
  }
  const std::vector<std::string> subscribed = empty ? std::vector<std::string>{} : subscribed_topics(*g);
  std::vector<std::vector<std::byte>> keys;
  std::vector<OffsetKey> to_erase;
  for (const auto& t : req.topics) {
    auto& rt = r.topics.emplace_back();
    rt.name = t.name;
    const bool is_subscribed = std::find(subscribed.begin(), subscribed.end(), t.name) != subscribed.end();
    for (std::int32_t part : t.partitions) {
      rt.partitions.push_back({part, to_wire(is_subscribed ? ErrorCode::group_subscribed_to_topic : ErrorCode::none)});
      if (is_subscribed) continue;
      OffsetKey k{req.group_id, t.name, part};
      if (offsets_.contains(k) && std::find(to_erase.begin(), to_erase.end(), k) == to_erase.end()) {
        keys.push_back(encode_offset_key(k));
        to_erase.push_back(std::move(k));
      }
    }
  }
  if (!keys.empty() && log_ != nullptr && !log_->append_tombstones(keys)) {
    r.error_code = to_wire(ErrorCode::coordinator_not_available);
    r.topics.clear();
    return r;
  }
  for (const auto& k : to_erase) offsets_.erase(k);
  return r;
}

}  // namespace nocopy::broker
