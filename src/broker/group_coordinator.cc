#include "broker/group_coordinator.h"

#include <algorithm>
#include <cctype>
#include <string_view>
#include <utility>

#include <fmt/format.h>

namespace nocopy::broker {

using kafka::ErrorCode;
using kafka::to_wire;
using std::chrono::milliseconds;

GroupCoordinator::GroupCoordinator(GroupCoordinatorConfig config, OffsetLog* log)
    : cfg_(config), log_(log), offsets_(log), ctx_{cfg_.initial_rebalance_delay, replies_, log} {}

GroupCoordinator::~GroupCoordinator() = default;

ClassicGroup* GroupCoordinator::find_group(const std::string& id) {
  auto it = groups_.find(id);
  return it == groups_.end() ? nullptr : it->second.get();
}

const ClassicGroup* GroupCoordinator::find_group(const std::string& id) const {
  auto it = groups_.find(id);
  return it == groups_.end() ? nullptr : it->second.get();
}

ClassicGroup& GroupCoordinator::find_or_create_group(const std::string& id) {
  auto& slot = groups_[id];
  if (!slot) slot = std::make_unique<ClassicGroup>(id);
  return *slot;
}

bool GroupCoordinator::valid_group_id(const std::string& id) const {
  return !id.empty() && id.size() <= cfg_.max_group_id_length;
}

std::optional<std::int32_t> GroupCoordinator::generation(const std::string& group_id) const {
  const ClassicGroup* g = find_group(group_id);
  if (g == nullptr) return std::nullopt;
  return g->generation;
}

std::optional<std::string> GroupCoordinator::state_name(const std::string& group_id) const {
  const ClassicGroup* g = find_group(group_id);
  if (g == nullptr) return std::nullopt;
  return std::string(ClassicGroup::state_text(g->state));
}

std::string GroupCoordinator::new_member_id(const std::string& client_id) {
  // Kafka uses client_id + "-" + a UUID; a seeded counter is as unique
  // within one coordinator and keeps tests deterministic.
  std::uint64_t x = cfg_.member_id_seed ^ (++member_counter_ * 0x9e3779b97f4a7c15ULL);
  x ^= x >> 31;
  std::string prefix = client_id.substr(0, 64);
  return fmt::format("{}-{:016x}-{}", prefix.empty() ? "member" : prefix, x, member_counter_);
}

std::optional<ErrorCode> GroupCoordinator::join_request_error(const kafka::JoinGroupRequest& req) const {
  if (!valid_group_id(req.group_id)) return ErrorCode::invalid_group_id;
  const milliseconds session{req.session_timeout_ms};
  if (session < cfg_.min_session_timeout || session > cfg_.max_session_timeout) {
    return ErrorCode::invalid_session_timeout;
  }
  if (req.protocol_type.empty() || req.protocols.empty()) return ErrorCode::inconsistent_group_protocol;
  return std::nullopt;
}

void GroupCoordinator::join_group(const kafka::JoinGroupRequest& req, std::int16_t version,
                                  const std::string& client_id, const std::string& client_host, TimePoint now,
                                  JoinCallback respond) {
  auto answer_error = [&](ErrorCode e, std::string member_id) {
    kafka::JoinGroupResponse r;
    r.error_code = to_wire(e);
    r.member_id = std::move(member_id);
    replies_.push(respond, std::move(r));
    replies_.run();
  };
  if (auto e = join_request_error(req)) return answer_error(*e, req.member_id);
  ClassicGroup* g = find_group(req.group_id);
  if (g == nullptr) {
    if (!req.member_id.empty()) return answer_error(ErrorCode::unknown_member_id, req.member_id);
    g = &find_or_create_group(req.group_id);
  }
  if (g->state == State::dead) return answer_error(ErrorCode::coordinator_not_available, req.member_id);
  if (!g->accepts(req)) return answer_error(ErrorCode::inconsistent_group_protocol, req.member_id);
  // v7+: a successful answer names the group's protocol type, which
  // accepts() found equal to the member's.
  respond = [respond = std::move(respond), type = req.protocol_type](kafka::JoinGroupResponse r) {
    if (r.error_code == 0) r.protocol_type = type;
    respond(std::move(r));
  };

  const ClassicGroup::JoinInfo join{
      req, client_id, client_host, milliseconds{req.session_timeout_ms},
      milliseconds{req.rebalance_timeout_ms >= 0 ? req.rebalance_timeout_ms : req.session_timeout_ms}};
  if (req.member_id.empty()) {
    std::string id = new_member_id(client_id);
    // Restored members carry ids from an earlier run of the generator.
    while (g->member(id) != nullptr || g->pending.contains(id)) id = new_member_id(client_id);
    if (version >= 4) {
      // KIP-394: hand out the id first; the member must rejoin with it.
      g->pending[id] = now + join.session;
      return answer_error(ErrorCode::member_id_required, id);
    }
    g->add_member(std::move(id), join, std::move(respond), now, ctx_);
  } else if (auto p = g->pending.find(req.member_id); p != g->pending.end()) {
    g->pending.erase(p);
    g->add_member(req.member_id, join, std::move(respond), now, ctx_);
  } else if (ClassicGroupMember* m = g->member(req.member_id)) {
    g->rejoin(*m, join, std::move(respond), now, ctx_);
  } else {
    return answer_error(ErrorCode::unknown_member_id, req.member_id);
  }
  replies_.run();
}

void GroupCoordinator::sync_group(const kafka::SyncGroupRequest& req, TimePoint now, SyncCallback respond) {
  auto answer = [&](ErrorCode e, kafka::ByteVec assignment = {}) {
    kafka::SyncGroupResponse r;
    r.error_code = to_wire(e);
    r.assignment = std::move(assignment);
    replies_.push(respond, std::move(r));
    replies_.run();
  };
  ClassicGroup* g = find_group(req.group_id);
  if (g == nullptr) return answer(ErrorCode::unknown_member_id);
  ClassicGroupMember* m = g->member(req.member_id);
  if (m == nullptr) return answer(ErrorCode::unknown_member_id);
  if (req.generation_id != g->generation) return answer(ErrorCode::illegal_generation);
  // v5: a member expecting another protocol type or name than the group's
  // (a null one expects nothing).
  auto differs = [](const std::optional<std::string>& asked, const std::string& group) {
    return asked && !group.empty() && *asked != group;
  };
  if (differs(req.protocol_type, g->protocol_type) || differs(req.protocol_name, g->protocol_name))
    return answer(ErrorCode::inconsistent_group_protocol);
  // Every successful answer (v5) names the group's protocol type and name;
  // they stay fixed for the generation checked above.
  respond = [respond = std::move(respond), type = g->protocol_type, name = g->protocol_name](
                kafka::SyncGroupResponse r) {
    if (r.error_code == 0) {
      r.protocol_type = type;
      r.protocol_name = name;
    }
    respond(std::move(r));
  };
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
    replies_.push(m->awaiting_sync, std::move(stale));
  }
  m->awaiting_sync = std::move(respond);
  if (m->id == g->leader) g->complete_sync(req, now, ctx_);
  replies_.run();
}

kafka::HeartbeatResponse GroupCoordinator::heartbeat(const kafka::HeartbeatRequest& req, TimePoint now) {
  kafka::HeartbeatResponse r;
  auto err = [&](ErrorCode e) {
    r.error_code = to_wire(e);
    return r;
  };
  ClassicGroup* g = find_group(req.group_id);
  if (g == nullptr) return err(ErrorCode::unknown_member_id);
  ClassicGroupMember* m = g->member(req.member_id);
  if (m == nullptr || g->state == State::empty || g->state == State::dead) return err(ErrorCode::unknown_member_id);
  if (req.generation_id != g->generation) return err(ErrorCode::illegal_generation);
  m->last_heartbeat = now;
  if (g->state == State::preparing_rebalance) return err(ErrorCode::rebalance_in_progress);
  return err(ErrorCode::none);
}

kafka::LeaveGroupResponse GroupCoordinator::leave_group(const kafka::LeaveGroupRequest& req, std::int16_t version,
                                                        TimePoint now) {
  kafka::LeaveGroupResponse r;
  ClassicGroup* g = find_group(req.group_id);
  for (const auto& leaving : req.members) {
    kafka::LeaveGroupResponse::Member out{leaving.member_id, leaving.group_instance_id, 0};
    if (g == nullptr) {
      out.error_code = to_wire(ErrorCode::unknown_member_id);
    } else if (auto p = g->pending.find(leaving.member_id); p != g->pending.end()) {
      g->pending.erase(p);
      g->maybe_complete_join(now, ctx_);
    } else if (g->member(leaving.member_id) != nullptr) {
      g->remove_member(leaving.member_id, now, ctx_);
    } else {
      out.error_code = to_wire(ErrorCode::unknown_member_id);
    }
    r.members.push_back(std::move(out));
  }
  if (req.group_id.empty()) r.error_code = to_wire(ErrorCode::invalid_group_id);
  // v0-2 carry one member and only a top-level error.
  if (version < 3 && !r.members.empty() && r.error_code == 0) r.error_code = r.members.front().error_code;
  replies_.run();
  return r;
}

kafka::DescribeGroupsResponse GroupCoordinator::describe_groups(const kafka::DescribeGroupsRequest& req,
                                                                std::int16_t version) const {
  kafka::DescribeGroupsResponse r;
  for (const auto& id : req.groups) {
    kafka::DescribeGroupsResponse::Group out;
    out.group_id = id;
    const ClassicGroup* g = find_group(id);
    if (!valid_group_id(id)) {
      out.error_code = to_wire(ErrorCode::invalid_group_id);
      out.group_state = "Dead";
    } else if (g == nullptr) {
      out.group_state = "Dead";
      if (version >= 6) {
        out.error_code = to_wire(ErrorCode::group_id_not_found);
        out.error_message = "Group " + id + " not found.";
      }
    } else {
      out.group_state = ClassicGroup::state_text(g->state);
      out.protocol_type = g->protocol_type;
      const bool stable = g->state == State::stable;
      if (stable) out.protocol_data = g->protocol_name;
      for (const auto& m : g->members) {
        kafka::DescribeGroupsResponse::Member dm;
        dm.member_id = m->id;
        dm.group_instance_id = m->instance_id;
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

namespace {
bool named_in(const std::vector<std::string>& filter, std::string_view value) {
  if (filter.empty()) return true;
  auto lower = [](std::string_view s) {
    std::string out(s);
    for (char& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return out;
  };
  const std::string v = lower(value);
  return std::any_of(filter.begin(), filter.end(), [&](const std::string& f) { return lower(f) == v; });
}
}  // namespace

kafka::ListGroupsResponse GroupCoordinator::list_groups(const std::vector<std::string>& states,
                                                        const std::vector<std::string>& types) const {
  kafka::ListGroupsResponse r;
  if (!named_in(types, "classic")) return r;
  for (const auto& [id, g] : groups_) {
    const std::string state(ClassicGroup::state_text(g->state));
    if (!named_in(states, state)) continue;
    r.groups.push_back({id, g->protocol_type, state, "classic"});
  }
  return r;
}

void GroupCoordinator::tick(TimePoint now) {
  std::vector<std::string> idle;
  for (auto& [id, g] : groups_) {
    g->tick(now, ctx_);
    if (g->idle() && !offsets_.has_group(id)) idle.push_back(id);
  }
  // Groups with no members, no pending joins and no offsets are forgotten.
  for (const auto& id : idle) groups_.erase(id);
  replies_.run();
}

std::optional<GroupCoordinator::TimePoint> GroupCoordinator::next_deadline() const {
  std::optional<TimePoint> next;
  for (const auto& [id, g] : groups_) {
    if (auto t = g->next_deadline(); t && (!next || *t < *next)) next = t;
  }
  return next;
}

}  // namespace nocopy::broker
