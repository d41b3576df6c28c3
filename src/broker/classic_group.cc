#include "broker/classic_group.h"

#include <algorithm>
#include <utility>

#include <spdlog/spdlog.h>

#include "kafka/error_code.h"

namespace nocopy::broker {

using kafka::ErrorCode;
using kafka::to_wire;
using std::chrono::milliseconds;

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

void ReplyQueue::run() {
  while (!ready_.empty()) {
    auto batch = std::move(ready_);
    ready_.clear();
    for (auto& f : batch) f();
  }
}

const kafka::ByteVec* ClassicGroupMember::metadata_for(const std::string& protocol) const {
  for (const auto& p : protocols) {
    if (p.name == protocol) return &p.metadata;
  }
  return nullptr;
}

const char* ClassicGroup::state_text(State s) {
  switch (s) {
    case State::empty: return "Empty";
    case State::preparing_rebalance: return "PreparingRebalance";
    case State::completing_rebalance: return "CompletingRebalance";
    case State::stable: return "Stable";
    case State::dead: return "Dead";
  }
  return "Dead";
}

ClassicGroupMember* ClassicGroup::member(const std::string& member_id) {
  for (auto& m : members) {
    if (m->id == member_id) return m.get();
  }
  return nullptr;
}

const ClassicGroupMember* ClassicGroup::member(const std::string& member_id) const {
  for (const auto& m : members) {
    if (m->id == member_id) return m.get();
  }
  return nullptr;
}

ErrorCode ClassicGroup::member_error(const std::string& member_id,
                                     const std::optional<std::string>& instance_id) const {
  if (instance_id) {
    auto holds = [&](const auto& m) { return m->instance_id == instance_id; };
    auto holder = std::find_if(members.rbegin(), members.rend(), holds);
    if (holder == members.rend()) return ErrorCode::unknown_member_id;
    if ((*holder)->id != member_id) return ErrorCode::fenced_instance_id;
  }
  return member(member_id) != nullptr ? ErrorCode::none : ErrorCode::unknown_member_id;
}

bool ClassicGroup::accepts(const kafka::JoinGroupRequest& req) const {
  if (members.empty()) return true;
  if (req.protocol_type != protocol_type) return false;
  return std::any_of(req.protocols.begin(), req.protocols.end(), [&](const auto& p) {
    return std::all_of(members.begin(), members.end(),
                       [&](const auto& m) { return m->id == req.member_id || supports(m->protocols, p.name); });
  });
}

void ClassicGroup::send_join_response(ClassicGroupMember& m, GroupContext& ctx) {
  if (!m.awaiting_join) return;
  kafka::JoinGroupResponse r;
  r.error_code = 0;
  r.generation_id = generation;
  r.protocol_name = protocol_name;
  r.leader = leader;
  r.member_id = m.id;
  if (m.id == leader) {
    for (const auto& other : members) {
      const kafka::ByteVec* md = other->metadata_for(protocol_name);
      r.members.push_back({other->id, other->instance_id, md != nullptr ? *md : kafka::ByteVec{}});
    }
  }
  ctx.replies.push(m.awaiting_join, std::move(r));
}

void ClassicGroup::reset_pending_sync(std::int16_t error, GroupContext& ctx) {
  for (auto& m : members) {
    if (!m->awaiting_sync) continue;
    kafka::SyncGroupResponse r;
    r.error_code = error;
    ctx.replies.push(m->awaiting_sync, std::move(r));
  }
}

void ClassicGroup::prepare_rebalance(TimePoint now, GroupContext& ctx) {
  if (state == State::completing_rebalance) reset_pending_sync(to_wire(ErrorCode::rebalance_in_progress), ctx);
  const bool was_empty = state == State::empty;
  state = State::preparing_rebalance;
  milliseconds timeout{0};
  for (const auto& m : members) timeout = std::max(timeout, m->rebalance_timeout);
  rebalance_start_ = now;
  rebalance_deadline_ = now + timeout;
  initial_delay_ = was_empty && ctx.initial_rebalance_delay.count() > 0;
  if (initial_delay_) initial_delay_until_ = now + std::min(ctx.initial_rebalance_delay, timeout);
}

void ClassicGroup::maybe_complete_join(TimePoint now, GroupContext& ctx) {
  if (state != State::preparing_rebalance) return;
  if (initial_delay_ && now < initial_delay_until_) return;
  const bool all_joined = pending.empty() && std::all_of(members.begin(), members.end(), [](const auto& m) {
                            return static_cast<bool>(m->awaiting_join);
                          });
  if (all_joined || now >= rebalance_deadline_) complete_join(now, ctx);
}

std::string ClassicGroup::choose_protocol() const {
  // Among those every member supports, the one most members list first
  // (ties: the first member's preference), as Kafka's vote does.
  std::vector<std::string> candidates;
  for (const auto& p : members.front()->protocols) {
    bool everyone =
        std::all_of(members.begin(), members.end(), [&](const auto& m) { return supports(m->protocols, p.name); });
    if (everyone) candidates.push_back(p.name);
  }
  std::string chosen = candidates.empty() ? members.front()->protocols.front().name : candidates.front();
  std::size_t best_votes = 0;
  for (const auto& c : candidates) {
    std::size_t votes = 0;
    for (const auto& m : members) {
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
  return chosen;
}

void ClassicGroup::complete_join(TimePoint now, GroupContext& ctx) {
  // Members that did not rejoin in time are out of the new generation.
  std::erase_if(members, [](const auto& m) { return !m->awaiting_join; });
  initial_delay_ = false;
  ++generation;
  if (members.empty()) {
    state = State::empty;
    protocol_name.clear();
    leader.clear();
    // Kafka stores the Empty group (no members) so a restart does not bring
    // back members that already left. A failure only means a restart may
    // restore the previous generation, whose members then expire.
    if (!store(ctx.log)) spdlog::warn("groups: could not store the Empty state of group '{}'", id);
    return;
  }
  protocol_name = choose_protocol();
  if (member(leader) == nullptr) leader = members.front()->id;
  state = State::completing_rebalance;
  for (auto& m : members) {
    m->assignment.clear();
    m->last_heartbeat = now;
    send_join_response(*m, ctx);
  }
}

void ClassicGroup::remove_member(const std::string& member_id, TimePoint now, GroupContext& ctx) {
  auto it = std::find_if(members.begin(), members.end(), [&](const auto& m) { return m->id == member_id; });
  if (it == members.end()) return;
  std::unique_ptr<ClassicGroupMember> m = std::move(*it);
  members.erase(it);
  if (m->awaiting_join) {
    kafka::JoinGroupResponse r;
    r.error_code = to_wire(ErrorCode::unknown_member_id);
    r.member_id = m->id;
    ctx.replies.push(m->awaiting_join, std::move(r));
  }
  if (m->awaiting_sync) {
    kafka::SyncGroupResponse r;
    r.error_code = to_wire(ErrorCode::unknown_member_id);
    ctx.replies.push(m->awaiting_sync, std::move(r));
  }
  if (leader == member_id) leader = members.empty() ? std::string() : members.front()->id;
  switch (state) {
    case State::preparing_rebalance:
      maybe_complete_join(now, ctx);
      break;
    case State::completing_rebalance:
    case State::stable:
      prepare_rebalance(now, ctx);
      maybe_complete_join(now, ctx);
      break;
    case State::empty:
    case State::dead:
      break;
  }
}

void ClassicGroup::add_member(std::string member_id, const JoinInfo& join, GroupJoinCallback respond, TimePoint now,
                              GroupContext& ctx) {
  auto m = std::make_unique<ClassicGroupMember>();
  m->id = std::move(member_id);
  m->instance_id = join.req.group_instance_id;
  m->client_id = join.client_id;
  m->client_host = join.client_host;
  m->session_timeout = join.session;
  m->rebalance_timeout = join.rebalance;
  m->protocols = join.req.protocols;
  m->awaiting_join = std::move(respond);
  m->last_heartbeat = now;
  if (members.empty()) protocol_type = join.req.protocol_type;
  if (leader.empty()) leader = m->id;
  members.push_back(std::move(m));
  if (state == State::preparing_rebalance) {
    if (initial_delay_) {
      // Each newcomer during the initial delay extends it, up to the
      // rebalance timeout (Kafka's InitialDelayedJoin).
      initial_delay_until_ = std::min(now + ctx.initial_rebalance_delay, rebalance_start_ + join.rebalance);
      rebalance_deadline_ = std::max(rebalance_deadline_, rebalance_start_ + join.rebalance);
    }
  } else {
    prepare_rebalance(now, ctx);
  }
  maybe_complete_join(now, ctx);
}

void ClassicGroup::update_member(ClassicGroupMember& m, const JoinInfo& join, GroupJoinCallback respond,
                                 GroupContext& ctx) {
  m.protocols = join.req.protocols;
  m.session_timeout = join.session;
  m.rebalance_timeout = join.rebalance;
  m.client_id = join.client_id;
  m.client_host = join.client_host;
  if (m.awaiting_join) {
    // A second JoinGroup replaces the first; answer the stale one.
    kafka::JoinGroupResponse r;
    r.error_code = to_wire(ErrorCode::rebalance_in_progress);
    r.member_id = m.id;
    ctx.replies.push(m.awaiting_join, std::move(r));
  }
  m.awaiting_join = std::move(respond);
}

void ClassicGroup::rejoin(ClassicGroupMember& m, const JoinInfo& join, GroupJoinCallback respond, TimePoint now,
                          GroupContext& ctx) {
  m.last_heartbeat = now;
  switch (state) {
    case State::preparing_rebalance:
      update_member(m, join, std::move(respond), ctx);
      maybe_complete_join(now, ctx);
      break;
    case State::completing_rebalance:
      if (same_protocols(m.protocols, join.req.protocols)) {
        m.awaiting_join = std::move(respond);  // a retry: same answer again
        send_join_response(m, ctx);
      } else {
        update_member(m, join, std::move(respond), ctx);
        prepare_rebalance(now, ctx);
        maybe_complete_join(now, ctx);
      }
      break;
    case State::stable:
      if (m.id == leader || !same_protocols(m.protocols, join.req.protocols)) {
        update_member(m, join, std::move(respond), ctx);
        prepare_rebalance(now, ctx);
        maybe_complete_join(now, ctx);
      } else {
        m.awaiting_join = std::move(respond);
        send_join_response(m, ctx);
      }
      break;
    case State::empty:
    case State::dead: {
      kafka::JoinGroupResponse r;
      r.error_code = to_wire(ErrorCode::unknown_member_id);
      r.member_id = m.id;
      ctx.replies.push(respond, std::move(r));
      break;
    }
  }
}

void ClassicGroup::complete_sync(const kafka::SyncGroupRequest& req, TimePoint now, GroupContext& ctx) {
  for (auto& m : members) {
    m->assignment.clear();
    for (const auto& a : req.assignments) {
      if (a.member_id == m->id) m->assignment = a.assignment;
    }
  }
  if (!store(ctx.log)) {
    // Not durable, so not complete: everyone waiting gets an error and the
    // group rebalances (Kafka's resetAndPropagateAssignmentError).
    for (auto& m : members) m->assignment.clear();
    reset_pending_sync(to_wire(ErrorCode::coordinator_not_available), ctx);
    prepare_rebalance(now, ctx);
    maybe_complete_join(now, ctx);
    return;
  }
  state = State::stable;
  for (auto& m : members) {
    if (!m->awaiting_sync) continue;
    kafka::SyncGroupResponse r;
    r.assignment = m->assignment;
    ctx.replies.push(m->awaiting_sync, std::move(r));
  }
}

void ClassicGroup::tick(TimePoint now, GroupContext& ctx) {
  const bool pending_expired = std::erase_if(pending, [&](const auto& p) { return p.second <= now; }) > 0;
  // A member waiting in JoinGroup/SyncGroup is kept alive (Kafka's
  // shouldKeepAlive); everyone else must heartbeat within the session.
  std::vector<std::string> expired;
  for (const auto& m : members) {
    if (m->awaiting_join || m->awaiting_sync) continue;
    if (m->last_heartbeat + m->session_timeout <= now) expired.push_back(m->id);
  }
  for (const auto& mid : expired) remove_member(mid, now, ctx);
  if (pending_expired || state == State::preparing_rebalance) maybe_complete_join(now, ctx);
}

std::optional<ClassicGroup::TimePoint> ClassicGroup::next_deadline() const {
  std::optional<TimePoint> next;
  auto consider = [&](TimePoint t) {
    if (!next || t < *next) next = t;
  };
  for (const auto& [mid, t] : pending) consider(t);
  for (const auto& m : members) {
    if (!m->awaiting_join && !m->awaiting_sync) consider(m->last_heartbeat + m->session_timeout);
  }
  if (state == State::preparing_rebalance) {
    consider(initial_delay_ ? initial_delay_until_ : rebalance_deadline_);
    if (initial_delay_) consider(rebalance_deadline_);
  }
  return next;
}

GroupRecord ClassicGroup::to_record() const {
  GroupRecord rec;
  rec.protocol_type = protocol_type;
  rec.generation = generation;
  if (!members.empty()) {
    rec.protocol = protocol_name;
    rec.leader = leader;
  }
  for (const auto& m : members) {
    GroupRecordMember rm;
    rm.member_id = m->id;
    rm.group_instance_id = m->instance_id;
    rm.client_id = m->client_id;
    rm.client_host = m->client_host;
    rm.rebalance_timeout_ms = static_cast<std::int32_t>(m->rebalance_timeout.count());
    rm.session_timeout_ms = static_cast<std::int32_t>(m->session_timeout.count());
    if (const kafka::ByteVec* md = m->metadata_for(protocol_name)) rm.subscription = *md;
    rm.assignment = m->assignment;
    rec.members.push_back(std::move(rm));
  }
  return rec;
}

bool ClassicGroup::store(OffsetLog* log) const {
  if (log == nullptr) return true;
  return log->append(group_records::encode_group_key(id), group_records::encode_group_value(to_record()));
}

void ClassicGroup::forget_members() {
  members.clear();
  pending.clear();
  state = State::empty;
  protocol_name.clear();
  leader.clear();
}

void ClassicGroup::restore(GroupRecord rec) {
  members.clear();
  pending.clear();
  initial_delay_ = false;
  protocol_type = rec.protocol_type;
  generation = rec.generation;
  protocol_name = rec.protocol.value_or("");
  leader = rec.members.empty() ? std::string() : rec.leader.value_or("");
  state = rec.members.empty() ? State::empty : State::stable;
  for (auto& rm : rec.members) {
    auto m = std::make_unique<ClassicGroupMember>();
    m->id = std::move(rm.member_id);
    m->instance_id = std::move(rm.group_instance_id);
    m->client_id = std::move(rm.client_id);
    m->client_host = std::move(rm.client_host);
    m->session_timeout = milliseconds(rm.session_timeout_ms);
    m->rebalance_timeout = milliseconds(rm.rebalance_timeout_ms);
    m->protocols.push_back({protocol_name, std::move(rm.subscription)});
    m->assignment = std::move(rm.assignment);
    members.push_back(std::move(m));
  }
}

}  // namespace nocopy::broker
