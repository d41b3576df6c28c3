#include "broker/group_coordinator.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "kafka/error_code.h"
#include "kafka/reader.h"
#include "kafka/writer.h"

namespace nocopy::broker {

using kafka::ErrorCode;
using kafka::to_wire;
using std::chrono::milliseconds;

struct GroupCoordinator::Member {
  std::string id;
  std::optional<std::string> instance_id;
  std::string client_id;
  std::string client_host;
  milliseconds session_timeout{0};
  milliseconds rebalance_timeout{0};
  std::vector<kafka::JoinGroupRequest::Protocol> protocols;
  kafka::ByteVec assignment;
  JoinCallback awaiting_join;  // set while a JoinGroup waits for the rebalance
  SyncCallback awaiting_sync;  // set while a SyncGroup waits for the leader
  TimePoint last_heartbeat{};

  const kafka::ByteVec* metadata_for(const std::string& protocol) const {
    for (const auto& p : protocols) {
      if (p.name == protocol) return &p.metadata;
    }
    return nullptr;
  }
};

struct GroupCoordinator::Group {
  std::string id;
  State state = State::empty;
  std::int32_t generation = 0;
  std::string protocol_type;
  std::string protocol_name;
  std::string leader;
  std::vector<std::unique_ptr<Member>> members;  // join order; the first is the default leader
  std::map<std::string, TimePoint> pending;      // ids handed out with MEMBER_ID_REQUIRED -> expiry
  TimePoint rebalance_start{};
  TimePoint rebalance_deadline{};
  bool initial_delay = false;
  TimePoint initial_delay_until{};

  Member* member(const std::string& member_id) {
    for (auto& m : members) {
      if (m->id == member_id) return m.get();
    }
    return nullptr;
  }
};

namespace {

bool same_protocols(const std::vector<kafka::JoinGroupRequest::Protocol>& a,
                    const std::vector<kafka::JoinGroupRequest::Protocol>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name || a[i].metadata != b[i].metadata) return false;
  }
  return true;
}

bool supports(const std::vector<kafka::JoinGroupRequest::Protocol>& ps, const std::string& name) {
  return std::any_of(ps.begin(), ps.end(), [&](const auto& p) { return p.name == name; });
}

}  // namespace

GroupCoordinator::GroupCoordinator(GroupCoordinatorConfig config, OffsetLog* log) : cfg_(config), log_(log) {}

GroupCoordinator::~GroupCoordinator() = default;

const char* GroupCoordinator::state_text(State s) {
  switch (s) {
    case State::empty: return "Empty";
    case State::preparing_rebalance: return "PreparingRebalance";
    case State::completing_rebalance: return "CompletingRebalance";
    case State::stable: return "Stable";
    case State::dead: return "Dead";
  }
  return "Dead";
}

GroupCoordinator::Group* GroupCoordinator::find_group(const std::string& id) {
  auto it = groups_.find(id);
  return it == groups_.end() ? nullptr : it->second.get();
}

const GroupCoordinator::Group* GroupCoordinator::find_group(const std::string& id) const {
  auto it = groups_.find(id);
  return it == groups_.end() ? nullptr : it->second.get();
}

std::optional<std::int32_t> GroupCoordinator::generation(const std::string& group_id) const {
  const Group* g = find_group(group_id);
  if (g == nullptr) return std::nullopt;
  return g->generation;
}

std::optional<std::string> GroupCoordinator::state_name(const std::string& group_id) const {
  const Group* g = find_group(group_id);
  if (g == nullptr) return std::nullopt;
  return std::string(state_text(g->state));
}

std::string GroupCoordinator::new_member_id(const std::string& client_id) {
  // Kafka uses client_id + "-" + a UUID; a seeded counter is as unique
  // within one coordinator and keeps tests deterministic.
  std::uint64_t x = cfg_.member_id_seed ^ (++member_counter_ * 0x9e3779b97f4a7c15ULL);
  x ^= x >> 31;
  std::string prefix = client_id.substr(0, 64);
  return fmt::format("{}-{:016x}-{}", prefix.empty() ? "member" : prefix, x, member_counter_);
}

void GroupCoordinator::flush_callbacks() {
  while (!ready_.empty()) {
    auto batch = std::move(ready_);
    ready_.clear();
    for (auto& f : batch) f();
  }
}

void GroupCoordinator::send_join_response(Group& g, Member& m) {
  if (!m.awaiting_join) return;
  kafka::JoinGroupResponse r;
  r.error_code = 0;
  r.generation_id = g.generation;
  r.protocol_name = g.protocol_name;
  r.leader = g.leader;
  r.member_id = m.id;
  if (m.id == g.leader) {
    for (const auto& other : g.members) {
      const kafka::ByteVec* md = other->metadata_for(g.protocol_name);
      r.members.push_back({other->id, other->instance_id, md != nullptr ? *md : kafka::ByteVec{}});
    }
  }
  ready_.push_back([cb = std::move(m.awaiting_join), r = std::move(r)]() mutable { cb(std::move(r)); });
  m.awaiting_join = nullptr;
}

void GroupCoordinator::reset_pending_sync(Group& g, std::int16_t error) {
  for (auto& m : g.members) {
    if (!m->awaiting_sync) continue;
    kafka::SyncGroupResponse r;
    r.error_code = error;
    ready_.push_back([cb = std::move(m->awaiting_sync), r = std::move(r)]() mutable { cb(std::move(r)); });
    m->awaiting_sync = nullptr;
  }
}

void GroupCoordinator::prepare_rebalance(Group& g, TimePoint now) {
  if (g.state == State::completing_rebalance) reset_pending_sync(g, to_wire(ErrorCode::rebalance_in_progress));
  const bool was_empty = g.state == State::empty;
  g.state = State::preparing_rebalance;
  milliseconds timeout{0};
  for (const auto& m : g.members) timeout = std::max(timeout, m->rebalance_timeout);
  g.rebalance_start = now;
  g.rebalance_deadline = now + timeout;
  g.initial_delay = was_empty && cfg_.initial_rebalance_delay.count() > 0;
  if (g.initial_delay) g.initial_delay_until = now + std::min(cfg_.initial_rebalance_delay, timeout);
}

void GroupCoordinator::maybe_complete_join(Group& g, TimePoint now) {
  if (g.state != State::preparing_rebalance) return;
  if (g.initial_delay && now < g.initial_delay_until) return;
  const bool all_joined =
      g.pending.empty() && std::all_of(g.members.begin(), g.members.end(),
                                       [](const auto& m) { return static_cast<bool>(m->awaiting_join); });
  if (all_joined || now >= g.rebalance_deadline) complete_join(g, now);
}

void GroupCoordinator::complete_join(Group& g, TimePoint now) {
  // Members that did not rejoin in time are out of the new generation.
  std::erase_if(g.members, [](const auto& m) { return !m->awaiting_join; });
  g.initial_delay = false;
  ++g.generation;
  if (g.members.empty()) {
    g.state = State::empty;
    g.protocol_name.clear();
    g.leader.clear();
    // Kafka stores the Empty group (no members) so a restart does not bring
    // back members that already left. A failure only means a restart may
    // restore the previous generation, whose members then expire.
    if (!store_group(g)) spdlog::warn("groups: could not store the Empty state of group '{}'", g.id);
    return;
  }
  // Protocol: among those every member supports, the one most members list
  // first (ties: the first member's preference), as Kafka's vote does.
  std::vector<std::string> candidates;
  for (const auto& p : g.members.front()->protocols) {
    bool everyone = std::all_of(g.members.begin(), g.members.end(),
                                [&](const auto& m) { return supports(m->protocols, p.name); });
    if (everyone) candidates.push_back(p.name);
  }
  std::string chosen = candidates.empty() ? g.members.front()->protocols.front().name : candidates.front();
  std::size_t best_votes = 0;
  for (const auto& c : candidates) {
    std::size_t votes = 0;
    for (const auto& m : g.members) {
      for (const auto& p : m->protocols) {
        if (std::find(candidates.begin(), candidates.end(), p.name) != candidates.end()) {
          if (p.name == c) ++votes;
          break;
        }
      }
    }
    if (votes > best_votes) {
      best_votes = votes;
      chosen = c;
    }
  }
  g.protocol_name = chosen;
  if (g.member(g.leader) == nullptr) g.leader = g.members.front()->id;
  g.state = State::completing_rebalance;
  for (auto& m : g.members) {
    m->assignment.clear();
    m->last_heartbeat = now;
    send_join_response(g, *m);
  }
}

void GroupCoordinator::remove_member(Group& g, const std::string& member_id, TimePoint now) {
  auto it = std::find_if(g.members.begin(), g.members.end(), [&](const auto& m) { return m->id == member_id; });
  if (it == g.members.end()) return;
  std::unique_ptr<Member> m = std::move(*it);
  g.members.erase(it);
  if (m->awaiting_join) {
    kafka::JoinGroupResponse r;
    r.error_code = to_wire(ErrorCode::unknown_member_id);
    r.member_id = m->id;
    ready_.push_back([cb = std::move(m->awaiting_join), r = std::move(r)]() mutable { cb(std::move(r)); });
  }
  if (m->awaiting_sync) {
    kafka::SyncGroupResponse r;
    r.error_code = to_wire(ErrorCode::unknown_member_id);
    ready_.push_back([cb = std::move(m->awaiting_sync), r = std::move(r)]() mutable { cb(std::move(r)); });
  }
  if (g.leader == member_id) g.leader = g.members.empty() ? std::string() : g.members.front()->id;
  switch (g.state) {
    case State::preparing_rebalance:
      maybe_complete_join(g, now);
      break;
    case State::completing_rebalance:
    case State::stable:
      prepare_rebalance(g, now);
      maybe_complete_join(g, now);
      break;
    case State::empty:
    case State::dead:
      break;
  }
}

void GroupCoordinator::join_group(const kafka::JoinGroupRequest& req, std::int16_t version,
                                  const std::string& client_id, const std::string& client_host, TimePoint now,
                                  JoinCallback respond) {
  auto answer_error = [&](ErrorCode e, std::string member_id) {
    kafka::JoinGroupResponse r;
    r.error_code = to_wire(e);
    r.member_id = std::move(member_id);
    ready_.push_back([cb = std::move(respond), r = std::move(r)]() mutable { cb(std::move(r)); });
    flush_callbacks();
  };
  if (req.group_id.empty() || req.group_id.size() > cfg_.max_group_id_length) {
    return answer_error(ErrorCode::invalid_group_id, req.member_id);
  }
  const milliseconds session{req.session_timeout_ms};
  if (session < cfg_.min_session_timeout || session > cfg_.max_session_timeout) {
    return answer_error(ErrorCode::invalid_session_timeout, req.member_id);
  }
  if (req.protocol_type.empty() || req.protocols.empty()) {
    return answer_error(ErrorCode::inconsistent_group_protocol, req.member_id);
  }
  Group* g = find_group(req.group_id);
  if (g == nullptr) {
    if (!req.member_id.empty()) return answer_error(ErrorCode::unknown_member_id, req.member_id);
    auto fresh = std::make_unique<Group>();
    fresh->id = req.group_id;
    g = fresh.get();
    groups_.emplace(req.group_id, std::move(fresh));
  }
  if (g->state == State::dead) return answer_error(ErrorCode::coordinator_not_available, req.member_id);
  if (!g->members.empty()) {
    // The joiner must speak the group's protocol type and share at least one
    // protocol with every current member.
    bool compatible = req.protocol_type == g->protocol_type;
    if (compatible) {
      compatible = std::any_of(req.protocols.begin(), req.protocols.end(), [&](const auto& p) {
        return std::all_of(g->members.begin(), g->members.end(), [&](const auto& m) {
          return m->id == req.member_id || supports(m->protocols, p.name);
        });
      });
    }
    if (!compatible) return answer_error(ErrorCode::inconsistent_group_protocol, req.member_id);
  }

  const milliseconds rebalance{req.rebalance_timeout_ms >= 0 ? req.rebalance_timeout_ms : req.session_timeout_ms};
  auto add_member = [&](std::string id) {
    auto m = std::make_unique<Member>();
    m->id = std::move(id);
    m->instance_id = req.group_instance_id;
    m->client_id = client_id;
    m->client_host = client_host;
    m->session_timeout = session;
    m->rebalance_timeout = rebalance;
    m->protocols = req.protocols;
    m->awaiting_join = std::move(respond);
    m->last_heartbeat = now;
    if (g->members.empty()) g->protocol_type = req.protocol_type;
    if (g->leader.empty()) g->leader = m->id;
    g->members.push_back(std::move(m));
    if (g->state == State::preparing_rebalance) {
      if (g->initial_delay) {
        // Each newcomer during the initial delay extends it, up to the
        // rebalance timeout (Kafka's InitialDelayedJoin).
        g->initial_delay_until = std::min(now + cfg_.initial_rebalance_delay, g->rebalance_start + rebalance);
        g->rebalance_deadline = std::max(g->rebalance_deadline, g->rebalance_start + rebalance);
      }
    } else {
      prepare_rebalance(*g, now);
    }
    maybe_complete_join(*g, now);
  };

  if (req.member_id.empty()) {
    std::string id = new_member_id(client_id);
    // Restored members carry ids from an earlier run of the generator.
    while (g->member(id) != nullptr || g->pending.contains(id)) id = new_member_id(client_id);
    if (version >= 4) {
      // KIP-394: hand out the id first; the member must rejoin with it.
      g->pending[id] = now + session;
      return answer_error(ErrorCode::member_id_required, id);
    }
    add_member(std::move(id));
    flush_callbacks();
    return;
  }

  if (auto p = g->pending.find(req.member_id); p != g->pending.end()) {
    g->pending.erase(p);
    add_member(req.member_id);
    flush_callbacks();
    return;
  }

  Member* m = g->member(req.member_id);
  if (m == nullptr) return answer_error(ErrorCode::unknown_member_id, req.member_id);
  m->last_heartbeat = now;
  auto update_member = [&] {
    m->protocols = req.protocols;
    m->session_timeout = session;
    m->rebalance_timeout = rebalance;
    m->client_id = client_id;
    m->client_host = client_host;
    if (m->awaiting_join) {
      // A second JoinGroup replaces the first; answer the stale one.
      kafka::JoinGroupResponse r;
      r.error_code = to_wire(ErrorCode::rebalance_in_progress);
      r.member_id = m->id;
      ready_.push_back([cb = std::move(m->awaiting_join), r = std::move(r)]() mutable { cb(std::move(r)); });
    }
    m->awaiting_join = std::move(respond);
  };
  switch (g->state) {
    case State::preparing_rebalance:
      update_member();
      maybe_complete_join(*g, now);
      break;
    case State::completing_rebalance:
      if (same_protocols(m->protocols, req.protocols)) {
        m->awaiting_join = std::move(respond);  // a retry: same answer again
        send_join_response(*g, *m);
      } else {
        update_member();
        prepare_rebalance(*g, now);
        maybe_complete_join(*g, now);
      }
      break;
    case State::stable:
      if (m->id == g->leader || !same_protocols(m->protocols, req.protocols)) {
        update_member();
        prepare_rebalance(*g, now);
        maybe_complete_join(*g, now);
      } else {
        m->awaiting_join = std::move(respond);
        send_join_response(*g, *m);
      }
      break;
    case State::empty:
    case State::dead:
      return answer_error(ErrorCode::unknown_member_id, req.member_id);
  }
  flush_callbacks();
}

void GroupCoordinator::sync_group(const kafka::SyncGroupRequest& req, TimePoint now, SyncCallback respond) {
  auto answer = [&](ErrorCode e, kafka::ByteVec assignment = {}) {
    kafka::SyncGroupResponse r;
    r.error_code = to_wire(e);
    r.assignment = std::move(assignment);
    ready_.push_back([cb = std::move(respond), r = std::move(r)]() mutable { cb(std::move(r)); });
    flush_callbacks();
  };
  Group* g = find_group(req.group_id);
  if (g == nullptr) return answer(ErrorCode::unknown_member_id);
  Member* m = g->member(req.member_id);
  if (m == nullptr) return answer(ErrorCode::unknown_member_id);
  if (req.generation_id != g->generation) return answer(ErrorCode::illegal_generation);
  switch (g->state) {
    case State::empty:
    case State::dead:
      return answer(ErrorCode::unknown_member_id);
    case State::preparing_rebalance:
      return answer(ErrorCode::rebalance_in_progress);
    case State::stable:
      m->last_heartbeat = now;
      return answer(ErrorCode::none, m->assignment);
    case State::completing_rebalance:
      break;
  }
  m->last_heartbeat = now;
  if (m->awaiting_sync) {
    kafka::SyncGroupResponse stale;
    stale.error_code = to_wire(ErrorCode::rebalance_in_progress);
    ready_.push_back([cb = std::move(m->awaiting_sync), r = std::move(stale)]() mutable { cb(std::move(r)); });
  }
  m->awaiting_sync = std::move(respond);
  if (m->id == g->leader) {
    for (auto& member : g->members) {
      member->assignment.clear();
      for (const auto& a : req.assignments) {
        if (a.member_id == member->id) member->assignment = a.assignment;
      }
    }
    if (!store_group(*g)) {
      // Not durable, so not complete: everyone waiting gets an error and the
      // group rebalances (Kafka's resetAndPropagateAssignmentError).
      for (auto& member : g->members) member->assignment.clear();
      reset_pending_sync(*g, to_wire(ErrorCode::coordinator_not_available));
      prepare_rebalance(*g, now);
      maybe_complete_join(*g, now);
      flush_callbacks();
      return;
    }
    g->state = State::stable;
    for (auto& member : g->members) {
      if (!member->awaiting_sync) continue;
      kafka::SyncGroupResponse r;
      r.assignment = member->assignment;
      ready_.push_back([cb = std::move(member->awaiting_sync), r = std::move(r)]() mutable { cb(std::move(r)); });
      member->awaiting_sync = nullptr;
    }
  }
  flush_callbacks();
}

kafka::HeartbeatResponse GroupCoordinator::heartbeat(const kafka::HeartbeatRequest& req, TimePoint now) {
  kafka::HeartbeatResponse r;
  auto err = [&](ErrorCode e) {
    r.error_code = to_wire(e);
    return r;
  };
  Group* g = find_group(req.group_id);
  if (g == nullptr) return err(ErrorCode::unknown_member_id);
  Member* m = g->member(req.member_id);
  if (m == nullptr || g->state == State::empty || g->state == State::dead) return err(ErrorCode::unknown_member_id);
  if (req.generation_id != g->generation) return err(ErrorCode::illegal_generation);
  m->last_heartbeat = now;
  if (g->state == State::preparing_rebalance) return err(ErrorCode::rebalance_in_progress);
  return err(ErrorCode::none);
}

kafka::LeaveGroupResponse GroupCoordinator::leave_group(const kafka::LeaveGroupRequest& req, std::int16_t version,
                                                        TimePoint now) {
  kafka::LeaveGroupResponse r;
  Group* g = find_group(req.group_id);
  for (const auto& leaving : req.members) {
    kafka::LeaveGroupResponse::Member out{leaving.member_id, leaving.group_instance_id, 0};
    if (g == nullptr) {
      out.error_code = to_wire(ErrorCode::unknown_member_id);
    } else if (auto p = g->pending.find(leaving.member_id); p != g->pending.end()) {
      g->pending.erase(p);
      maybe_complete_join(*g, now);
    } else if (g->member(leaving.member_id) != nullptr) {
      remove_member(*g, leaving.member_id, now);
    } else {
      out.error_code = to_wire(ErrorCode::unknown_member_id);
    }
    r.members.push_back(std::move(out));
  }
  if (req.group_id.empty()) r.error_code = to_wire(ErrorCode::invalid_group_id);
  // v0-2 carry one member and only a top-level error.
  if (version < 3 && !r.members.empty() && r.error_code == 0) r.error_code = r.members.front().error_code;
  flush_callbacks();
  return r;
}

kafka::OffsetCommitResponse GroupCoordinator::offset_commit(const kafka::OffsetCommitRequest& req, TimePoint now,
                                                            std::int64_t commit_timestamp_ms) {
  ErrorCode group_error = ErrorCode::none;
  Group* g = nullptr;
  if (req.group_id.empty() || req.group_id.size() > cfg_.max_group_id_length) {
    group_error = ErrorCode::invalid_group_id;
  } else {
    g = find_group(req.group_id);
    if (g == nullptr) {
      if (req.generation_id < 0) {
        // A group that only stores offsets (manual assignment, kcat -o stored).
        auto fresh = std::make_unique<Group>();
        fresh->id = req.group_id;
        g = fresh.get();
        groups_.emplace(req.group_id, std::move(fresh));
      } else {
        group_error = ErrorCode::illegal_generation;
      }
    } else if (req.generation_id < 0 && g->state == State::empty) {
      // allowed: not using group management
    } else if (g->state == State::completing_rebalance) {
      group_error = ErrorCode::rebalance_in_progress;
    } else if (g->state == State::dead) {
      group_error = ErrorCode::coordinator_not_available;
    } else if (Member* m = g->member(req.member_id); m == nullptr) {
      group_error = ErrorCode::unknown_member_id;
    } else if (req.generation_id != g->generation) {
      group_error = ErrorCode::illegal_generation;
    } else {
      m->last_heartbeat = now;
    }
  }

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
        bool stored = true;
        if (log_ != nullptr) stored = log_->append(encode_offset_key(key), encode_offset_value(value));
        if (stored) offsets_[std::move(key)] = std::move(value);
        else e = ErrorCode::coordinator_not_available;
      }
      rt.partitions.push_back({p.partition_index, to_wire(e)});
    }
    r.topics.push_back(std::move(rt));
  }
  flush_callbacks();
  return r;
}

kafka::OffsetFetchResponse GroupCoordinator::offset_fetch(const kafka::OffsetFetchRequest& req) const {
  kafka::OffsetFetchResponse r;
  const bool bad_group = req.group_id.empty() || req.group_id.size() > cfg_.max_group_id_length;
  if (bad_group) r.error_code = to_wire(ErrorCode::invalid_group_id);
  auto lookup = [&](const std::string& topic, std::int32_t partition) {
    kafka::OffsetFetchResponse::Partition p;
    p.partition_index = partition;
    p.metadata = "";
    if (bad_group) {
      p.error_code = to_wire(ErrorCode::invalid_group_id);
      return p;
    }
    auto it = offsets_.find(OffsetKey{req.group_id, topic, partition});
    if (it != offsets_.end()) {
      p.committed_offset = it->second.offset;
      p.committed_leader_epoch = it->second.leader_epoch;
      p.metadata = it->second.metadata;
    }
    return p;
  };
  if (req.topics) {
    for (const auto& t : *req.topics) {
      kafka::OffsetFetchResponse::Topic rt;
      rt.name = t.name;
      for (std::int32_t part : t.partition_indexes) rt.partitions.push_back(lookup(t.name, part));
      r.topics.push_back(std::move(rt));
    }
    return r;
  }
  if (bad_group) return r;
  // null topics: everything the group has committed.
  for (auto it = offsets_.lower_bound(OffsetKey{req.group_id, "", INT32_MIN});
       it != offsets_.end() && it->first.group == req.group_id; ++it) {
    if (r.topics.empty() || r.topics.back().name != it->first.topic) r.topics.push_back({it->first.topic, {}});
    r.topics.back().partitions.push_back(lookup(it->first.topic, it->first.partition));
  }
  return r;
}

kafka::DescribeGroupsResponse GroupCoordinator::describe_groups(const kafka::DescribeGroupsRequest& req) const {
  kafka::DescribeGroupsResponse r;
  for (const auto& id : req.groups) {
    kafka::DescribeGroupsResponse::Group out;
    out.group_id = id;
    const Group* g = find_group(id);
    if (id.empty() || id.size() > cfg_.max_group_id_length) {
      out.error_code = to_wire(ErrorCode::invalid_group_id);
      out.group_state = "Dead";
    } else if (g == nullptr) {
      out.group_state = "Dead";
    } else {
      out.group_state = state_text(g->state);
      out.protocol_type = g->protocol_type;
      const bool stable = g->state == State::stable;
      if (stable) out.protocol_data = g->protocol_name;
      for (const auto& m : g->members) {
        kafka::DescribeGroupsResponse::Member dm;
        dm.member_id = m->id;
        dm.client_id = m->client_id;
        dm.client_host = m->client_host;
        if (stable) {
          if (const kafka::ByteVec* md = m->metadata_for(g->protocol_name)) dm.member_metadata = *md;
          dm.member_assignment = m->assignment;
        }
        out.members.push_back(std::move(dm));
      }
    }
    r.groups.push_back(std::move(out));
  }
  return r;
}

kafka::ListGroupsResponse GroupCoordinator::list_groups() const {
  kafka::ListGroupsResponse r;
  for (const auto& [id, g] : groups_) r.groups.push_back({id, g->protocol_type});
  return r;
}

bool GroupCoordinator::has_offsets(const std::string& group) const {
  auto o = offsets_.lower_bound(OffsetKey{group, "", INT32_MIN});
  return o != offsets_.end() && o->first.group == group;
}

kafka::DeleteGroupsResponse GroupCoordinator::delete_groups(const kafka::DeleteGroupsRequest& req) {
  kafka::DeleteGroupsResponse r;
  for (const auto& id : req.groups_names) {
    auto& out = r.results.emplace_back();
    out.group_id = id;
    if (id.empty() || id.size() > cfg_.max_group_id_length) {
      out.error_code = to_wire(ErrorCode::invalid_group_id);
      continue;
    }
    auto it = groups_.find(id);
    if (it == groups_.end() || it->second->state == State::dead) {
      out.error_code = to_wire(ErrorCode::group_id_not_found);
      continue;
    }
    Group& g = *it->second;
    if (g.state != State::empty || !g.members.empty()) {
      out.error_code = to_wire(ErrorCode::non_empty_group);
      continue;
    }
    // Offsets first, the group key last: replaying the group's tombstone
    // erases the group only once no offset of it is left.
    std::vector<std::vector<std::byte>> keys;
    for (auto o = offsets_.lower_bound(OffsetKey{id, "", INT32_MIN}); o != offsets_.end() && o->first.group == id; ++o)
      keys.push_back(encode_offset_key(o->first));
    keys.push_back(encode_group_key(id));
    if (log_ != nullptr && !log_->append_tombstones(keys)) {
      out.error_code = to_wire(ErrorCode::coordinator_not_available);
      continue;
    }
    // Pending member ids die with the group: a JoinGroup with one is
    // answered UNKNOWN_MEMBER_ID and the client rejoins afresh.
    offsets_.erase(offsets_.lower_bound(OffsetKey{id, "", INT32_MIN}),
                   offsets_.lower_bound(OffsetKey{id + '\0', "", INT32_MIN}));
    groups_.erase(it);
    spdlog::info("groups: deleted group '{}' ({} committed offset{})", id, keys.size() - 1,
                 keys.size() == 2 ? "" : "s");
  }
  flush_callbacks();
  return r;
}

std::vector<std::string> GroupCoordinator::subscribed_topics(const Group& g) const {
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
  if (req.group_id.empty() || req.group_id.size() > cfg_.max_group_id_length) {
    r.error_code = to_wire(ErrorCode::invalid_group_id);
    return r;
  }
  const Group* g = find_group(req.group_id);
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

void GroupCoordinator::tick(TimePoint now) {
  std::vector<std::string> idle;
  for (auto& [id, gp] : groups_) {
    Group& g = *gp;
    bool pending_expired = false;
    for (auto it = g.pending.begin(); it != g.pending.end();) {
      if (it->second <= now) {
        it = g.pending.erase(it);
        pending_expired = true;
      } else {
        ++it;
      }
    }
    // A member waiting in JoinGroup/SyncGroup is kept alive (Kafka's
    // shouldKeepAlive); everyone else must heartbeat within the session.
    std::vector<std::string> expired;
    for (const auto& m : g.members) {
      if (m->awaiting_join || m->awaiting_sync) continue;
      if (m->last_heartbeat + m->session_timeout <= now) expired.push_back(m->id);
    }
    for (const auto& mid : expired) remove_member(g, mid, now);
    if (pending_expired || g.state == State::preparing_rebalance) maybe_complete_join(g, now);
    if (g.state == State::empty && g.members.empty() && g.pending.empty()) {
      auto o = offsets_.lower_bound(OffsetKey{id, "", INT32_MIN});
      if (o == offsets_.end() || o->first.group != id) idle.push_back(id);
    }
  }
  // Groups with no members, no pending joins and no offsets are forgotten.
  for (const auto& id : idle) groups_.erase(id);
  flush_callbacks();
}

std::optional<GroupCoordinator::TimePoint> GroupCoordinator::next_deadline() const {
  std::optional<TimePoint> next;
  auto consider = [&](TimePoint t) {
    if (!next || t < *next) next = t;
  };
  for (const auto& [id, gp] : groups_) {
    const Group& g = *gp;
    for (const auto& [mid, t] : g.pending) consider(t);
    for (const auto& m : g.members) {
      if (!m->awaiting_join && !m->awaiting_sync) consider(m->last_heartbeat + m->session_timeout);
    }
    if (g.state == State::preparing_rebalance) {
      consider(g.initial_delay ? g.initial_delay_until : g.rebalance_deadline);
      if (g.initial_delay) consider(g.rebalance_deadline);
    }
  }
  return next;
}

// Offset records, after Kafka's __consumer_offsets schema:
//   key   = int16 version (1) | string group | string topic | int32 partition
//   value = int16 version (3) | int64 offset | int32 leader_epoch
//           | string metadata | int64 commit_timestamp_ms
std::vector<std::byte> GroupCoordinator::encode_offset_key(const OffsetKey& k) {
  kafka::Writer w;
  w.i16(1);
  w.string(k.group);
  w.string(k.topic);
  w.i32(k.partition);
  return w.take_buffer();
}

std::vector<std::byte> GroupCoordinator::encode_offset_value(const OffsetValue& v) {
  kafka::Writer w;
  w.i16(3);
  w.i64(v.offset);
  w.i32(v.leader_epoch);
  w.string(v.metadata);
  w.i64(v.commit_timestamp_ms);
  return w.take_buffer();
}

std::optional<GroupCoordinator::OffsetKey> GroupCoordinator::decode_offset_key(std::span<const std::byte> key) {
  kafka::Reader r(key);
  if (r.i16() != 1) return std::nullopt;
  OffsetKey k;
  k.group = r.string();
  k.topic = r.string();
  k.partition = r.i32();
  if (!r.ok() || r.remaining() != 0) return std::nullopt;
  return k;
}

std::optional<GroupCoordinator::OffsetValue> GroupCoordinator::decode_offset_value(
    std::span<const std::byte> value) {
  kafka::Reader r(value);
  if (r.i16() != 3) return std::nullopt;
  OffsetValue v;
  v.offset = r.i64();
  v.leader_epoch = r.i32();
  v.metadata = r.string();
  v.commit_timestamp_ms = r.i64();
  if (!r.ok() || r.remaining() != 0) return std::nullopt;
  return v;
}

// Group records, after Kafka's GroupMetadataKey / GroupMetadataValue:
//   key   = int16 version (2) | string group
//   value = int16 version (0..3)
//           | string protocol_type | int32 generation
//           | nullable string protocol | nullable string leader
//           | int64 current_state_timestamp_ms                  (v2+)
//           | int32 member count, then per member:
//               string member_id
//               | nullable string group_instance_id             (v3+)
//               | string client_id | string client_host
//               | int32 rebalance_timeout_ms                    (v1+)
//               | int32 session_timeout_ms
//               | bytes subscription | bytes assignment
//   A null (here: empty) value is a tombstone. We write value v3.
std::vector<std::byte> GroupCoordinator::encode_group_key(const std::string& group) {
  kafka::Writer w;
  w.i16(kGroupKeyVersion);
  w.string(group);
  return w.take_buffer();
}

std::vector<std::byte> GroupCoordinator::encode_group_value(const GroupRecord& v) {
  kafka::Writer w;
  w.i16(kGroupValueVersion);
  w.string(v.protocol_type);
  w.i32(v.generation);
  w.nullable_string(v.protocol);
  w.nullable_string(v.leader);
  w.i64(v.state_timestamp_ms);
  w.array_length(static_cast<std::int32_t>(v.members.size()));
  for (const auto& m : v.members) {
    w.string(m.member_id);
    w.nullable_string(m.group_instance_id);
    w.string(m.client_id);
    w.string(m.client_host);
    w.i32(m.rebalance_timeout_ms);
    w.i32(m.session_timeout_ms);
    w.bytes(m.subscription);
    w.bytes(m.assignment);
  }
  return w.take_buffer();
}

std::optional<std::string> GroupCoordinator::decode_group_key(std::span<const std::byte> key) {
  kafka::Reader r(key);
  if (r.i16() != kGroupKeyVersion) return std::nullopt;
  std::string group(r.string());
  // Trailing bytes are tolerated, as Kafka's key readers do (later key
  // versions may append fields).
  if (!r.ok() || group.empty()) return std::nullopt;
  return group;
}

std::optional<GroupCoordinator::GroupRecord> GroupCoordinator::decode_group_value(std::span<const std::byte> value) {
  kafka::Reader r(value);
  const std::int16_t version = r.i16();
  if (!r.ok() || version < 0 || version > kGroupValueVersion) return std::nullopt;
  auto opt = [](std::optional<std::string_view> s) -> std::optional<std::string> {
    if (!s) return std::nullopt;
    return std::string(*s);
  };
  GroupRecord g;
  g.protocol_type = r.string();
  g.generation = r.i32();
  g.protocol = opt(r.nullable_string());
  g.leader = opt(r.nullable_string());
  if (version >= 2) g.state_timestamp_ms = r.i64();
  const std::int32_t n = r.array_length();
  if (!r.ok() || n < 0) return std::nullopt;
  for (std::int32_t i = 0; i < n && r.ok(); ++i) {
    GroupRecordMember m;
    m.member_id = r.string();
    if (version >= 3) m.group_instance_id = opt(r.nullable_string());
    m.client_id = r.string();
    m.client_host = r.string();
    if (version >= 1) m.rebalance_timeout_ms = r.i32();
    m.session_timeout_ms = r.i32();
    if (version == 0) m.rebalance_timeout_ms = m.session_timeout_ms;
    auto sub = r.bytes();
    m.subscription.assign(sub.begin(), sub.end());
    auto asg = r.bytes();
    m.assignment.assign(asg.begin(), asg.end());
    g.members.push_back(std::move(m));
  }
  if (!r.ok() || r.remaining() != 0) return std::nullopt;
  // Consistency: what the coordinator relies on for a restored group.
  if (g.generation < 0) return std::nullopt;
  if (!g.members.empty()) {
    if (g.protocol_type.empty() || !g.protocol || g.protocol->empty() || !g.leader) return std::nullopt;
    bool leader_found = false;
    for (std::size_t i = 0; i < g.members.size(); ++i) {
      const auto& m = g.members[i];
      if (m.member_id.empty() || m.session_timeout_ms <= 0 || m.rebalance_timeout_ms < 0) return std::nullopt;
      for (std::size_t j = 0; j < i; ++j) {
        if (g.members[j].member_id == m.member_id) return std::nullopt;
      }
      leader_found = leader_found || m.member_id == *g.leader;
    }
    if (!leader_found) return std::nullopt;
  }
  return g;
}

bool GroupCoordinator::store_group(const Group& g) {
  if (log_ == nullptr) return true;
  GroupRecord rec;
  rec.protocol_type = g.protocol_type;
  rec.generation = g.generation;
  if (!g.members.empty()) {
    rec.protocol = g.protocol_name;
    rec.leader = g.leader;
  }
  for (const auto& m : g.members) {
    GroupRecordMember rm;
    rm.member_id = m->id;
    rm.group_instance_id = m->instance_id;
    rm.client_id = m->client_id;
    rm.client_host = m->client_host;
    rm.rebalance_timeout_ms = static_cast<std::int32_t>(m->rebalance_timeout.count());
    rm.session_timeout_ms = static_cast<std::int32_t>(m->session_timeout.count());
    if (const kafka::ByteVec* md = m->metadata_for(g.protocol_name)) rm.subscription = *md;
    rm.assignment = m->assignment;
    rec.members.push_back(std::move(rm));
  }
  return log_->append(encode_group_key(g.id), encode_group_value(rec));
}

bool GroupCoordinator::replay_group(std::span<const std::byte> key, std::span<const std::byte> value) {
  auto id = decode_group_key(key);
  if (!id) return false;
  Group* g = find_group(*id);
  if (value.empty()) {
    // Tombstone: the group's membership is gone (its offsets are separate
    // records and stay).
    if (g != nullptr) {
      g->members.clear();
      g->pending.clear();
      g->state = State::empty;
      g->protocol_name.clear();
      g->leader.clear();
    }
    return true;
  }
  auto rec = decode_group_value(value);
  if (!rec) {
    kafka::Reader peek(value);
    const std::int16_t version = peek.i16();
    if (peek.ok() && (version < 0 || version > kGroupValueVersion)) {
      spdlog::warn("groups: skipping group record of '{}' with unknown value version {}", *id, version);
      return true;
    }
    return false;
  }
  if (g == nullptr) {
    auto fresh = std::make_unique<Group>();
    fresh->id = *id;
    g = fresh.get();
    groups_.emplace(*id, std::move(fresh));
  }
  g->members.clear();
  g->pending.clear();
  g->initial_delay = false;
  g->protocol_type = rec->protocol_type;
  g->generation = rec->generation;
  g->protocol_name = rec->protocol.value_or("");
  g->leader = rec->members.empty() ? std::string() : rec->leader.value_or("");
  g->state = rec->members.empty() ? State::empty : State::stable;
  for (auto& rm : rec->members) {
    auto m = std::make_unique<Member>();
    m->id = std::move(rm.member_id);
    m->instance_id = std::move(rm.group_instance_id);
    m->client_id = std::move(rm.client_id);
    m->client_host = std::move(rm.client_host);
    m->session_timeout = milliseconds(rm.session_timeout_ms);
    m->rebalance_timeout = milliseconds(rm.rebalance_timeout_ms);
    m->protocols.push_back({g->protocol_name, std::move(rm.subscription)});
    m->assignment = std::move(rm.assignment);
    g->members.push_back(std::move(m));
  }
  return true;
}

bool GroupCoordinator::replay_tombstone(std::span<const std::byte> key) {
  kafka::Reader peek(key);
  const std::int16_t key_version = peek.i16();
  if (!peek.ok()) return false;
  if (key_version == kGroupKeyVersion) {
    auto id = decode_group_key(key);
    if (!id) return false;
    // A group that still has committed offsets stays, Empty, to hold them
    // (Kafka does the same); one without is gone.
    if (has_offsets(*id)) return replay_group(key, {});
    groups_.erase(*id);
    return true;
  }
  if (key_version != 1) {
    spdlog::warn("groups: skipping __consumer_offsets tombstone with unknown key version {}", key_version);
    return true;
  }
  auto k = decode_offset_key(key);
  if (!k) return false;
  offsets_.erase(*k);
  return true;
}

void GroupCoordinator::finish_replay(TimePoint now) {
  for (auto& [id, g] : groups_) {
    for (auto& m : g->members) m->last_heartbeat = now;
  }
}

bool GroupCoordinator::replay(std::span<const std::byte> key, std::span<const std::byte> value) {
  kafka::Reader peek(key);
  std::int16_t key_version = peek.i16();
  if (!peek.ok()) return false;
  if (key_version == kGroupKeyVersion) return replay_group(key, value);
  if (key_version != 1) {
    spdlog::warn("groups: skipping __consumer_offsets record with unknown key version {}", key_version);
    return true;
  }
  auto k = decode_offset_key(key);
  auto v = decode_offset_value(value);
  if (!k || !v) return false;
  if (find_group(k->group) == nullptr) {
    auto fresh = std::make_unique<Group>();
    fresh->id = k->group;
    groups_.emplace(k->group, std::move(fresh));
  }
  offsets_[std::move(*k)] = std::move(*v);
  return true;
}

}  // namespace nocopy::broker
