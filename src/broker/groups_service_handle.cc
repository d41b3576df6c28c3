// GroupsService::handle: decoding, authorization, routing each group to the
// shard that serves it (groups_service.h), and answering once the shard's
// writes are replicated.
#include <spdlog/spdlog.h>

#include <chrono>

#include "broker/group_access.h"
#include "broker/group_errors.h"
#include "broker/group_topic_ids.h"
#include "broker/groups_service.h"
#include "broker/request_handler.h"
#include "io/clock.h"
#include "kafka/codec.h"
#include "kafka/error_code.h"
#include "kafka/messages.h"
#include "kafka/request.h"
#include "net/event_loop.h"
#include "replication/replica_manager.h"

namespace nocopy::broker {


// Single node, or nothing to wait for: posted at once. Otherwise each wait
// is a replication::ReplicaManager::wait_for_high_watermark on the shard's
// partition; the last one to finish posts (callbacks may run on the thread
// that moved the high watermark, or inline).
template <class Msg, class Post>
void GroupsService::answer(std::vector<Wait> waits, Msg msg, Post post) {
  std::erase_if(waits, [](const Wait& w) { return w.offset < 0; });
  if (!clustered_ || cluster_.replicas == nullptr || waits.empty()) return post(msg);
  struct Pending {
    std::atomic<std::size_t> left;
    std::atomic<bool> failed{false};
    Msg msg;
  };
  auto st = std::make_shared<Pending>();
  st->left = waits.size();
  st->msg = std::move(msg);
  for (const Wait& w : waits) {
    cluster_.replicas->wait_for_high_watermark(kOffsetsTopic, w.partition, w.offset, [st, post](std::int16_t error) {
      if (error) st->failed = true;
      if (--st->left != 0) return;
      if (st->failed) group_errors::set_error(st->msg, kafka::ErrorCode::not_coordinator);
      post(st->msg);
    });
  }
}

template <class Msg, class Post>
void GroupsService::answer_from(Shard* s, Msg msg, Post post) {
  std::vector<Wait> waits;
  if (s != nullptr) waits.push_back({s->partition, pending_offset(s->partition)});
  answer(std::move(waits), std::move(msg), std::move(post));
}

namespace {

// UNSTABLE_OFFSET_COMMIT (88): OffsetFetch with require_stable of a
// partition that a transaction has pending offsets for.
constexpr std::int16_t kUnstableOffsetCommit = 88;

// OffsetFetch with require_stable: each partition of `group` with offsets
// pending in a transaction answers UNSTABLE_OFFSET_COMMIT with no offset
// (the client retries until the transaction ends), as Kafka does.
template <class Topics>
void mark_unstable(const PendingTxnOffsets& pending, const std::string& group, Topics& topics) {
  if (pending.producers() == 0) return;
  for (auto& t : topics)
    for (auto& p : t.partitions)
      if (p.error_code == 0 && pending.pending(group, t.name, p.partition_index)) {
        p.error_code = kUnstableOffsetCommit;
        p.committed_offset = -1;
        p.committed_leader_epoch = -1;
        p.metadata = "";
      }
}

}  // namespace

// Each API is authorized first (group_access.h): a request denied whole is
// answered without the coordinator, a partly denied one runs without the
// denied parts, which are added back to the answer denied. Then each group
// goes to its shard (route()); a group this broker does not serve gets the
// routing error. One branch per API: the function is long for that reason.
void GroupsService::handle(std::span<const std::byte> frame, const std::string& client_host, const Access& access,
                           net::EventLoop& loop, std::function<void(std::optional<buf::Chain>)> respond) {
  auto req = kafka::decode_request(frame);
  if (req.status != kafka::RequestStatus::ok) return respond(std::nullopt);
  const auto corr = req.header.correlation_id;
  const auto ver = req.header.api_version;
  // Posts an encoded answer to the connection's loop (callbacks may run on
  // another thread: another connection's reactor or the ticker).
  auto post = [loop = &loop, respond, corr, ver](const auto& msg) {
    auto enc = kafka::encode_response(corr, ver, msg);
    auto bytes = std::make_shared<std::vector<std::byte>>(std::move(enc.bytes));
    loop->post([respond, bytes]() mutable {
      buf::Chain c;
      c.append(to_buffer(std::move(*bytes)));
      respond(std::move(c));
    });
  };
  // A deferred answer (JoinGroup, SyncGroup) of shard `p`: it runs under
  // mu_ (inside a coordinator call), and waits for whatever the shard
  // appended by then.
  auto later = [this, post](std::int32_t p) {
    return [this, post, p](auto r) { answer({{p, pending_offset(p)}}, std::move(r), post); };
  };
  const auto now = GroupCoordinator::Clock::now();
  const std::string client_id = req.header.client_id.value_or("");
  std::lock_guard lock(mu_);
  std::visit(
      [&](auto& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, kafka::JoinGroupRequest>) {
          if (auto r = group_access::deny_member_request<kafka::JoinGroupResponse>(body, access)) return post(*r);
          const Route rt = route(body.group_id);
          if (!rt.shard) return post(group_errors::error_answer(body, rt.error));
          rt.shard->coordinator->join_group(body, ver, client_id, client_host, now, later(rt.shard->partition));
        } else if constexpr (std::is_same_v<T, kafka::SyncGroupRequest>) {
          if (auto r = group_access::deny_member_request<kafka::SyncGroupResponse>(body, access)) return post(*r);
          const Route rt = route(body.group_id);
          if (!rt.shard) return post(group_errors::error_answer(body, rt.error));
          rt.shard->coordinator->sync_group(body, now, later(rt.shard->partition));
        } else if constexpr (std::is_same_v<T, kafka::HeartbeatRequest>) {
          if (auto r = group_access::deny_member_request<kafka::HeartbeatResponse>(body, access)) return post(*r);
          const Route rt = route(body.group_id);
          if (!rt.shard) return post(group_errors::error_answer(body, rt.error));
          answer_from(rt.shard, rt.shard->coordinator->heartbeat(body, now), post);
        } else if constexpr (std::is_same_v<T, kafka::LeaveGroupRequest>) {
          if (auto r = group_access::deny_member_request<kafka::LeaveGroupResponse>(body, access)) return post(*r);
          const Route rt = route(body.group_id);
          if (!rt.shard) return post(group_errors::error_answer(body, rt.error));
          answer_from(rt.shard, rt.shard->coordinator->leave_group(body, ver, now), post);
        } else if constexpr (std::is_same_v<T, kafka::OffsetCommitRequest>) {
          std::vector<kafka::OffsetCommitRequest::Topic> unknown;
          if (ver >= 10) unknown = group_topic_ids::resolve(body, topics_);
          auto res = group_access::deny(body, access);
          const Route rt = res ? Route{} : route(body.group_id);
          if (!res) {
            auto denied = group_access::strip(body, access);
            res = rt.shard ? rt.shard->coordinator->offset_commit(body, ver, now, io::wall_clock_ms())
                           : group_errors::error_answer(body, rt.error);
            group_access::add_denied(*res, denied);
          }
          if (ver >= 10) group_topic_ids::finish(*res, unknown, topics_);
          answer_from(rt.shard, std::move(*res), post);
        } else if constexpr (std::is_same_v<T, kafka::OffsetFetchRequest>) {
          kafka::OffsetFetchResponse res;
          std::vector<Wait> waits;
          group_topic_ids::FetchUnknown unknown;
          if (ver >= 10) unknown = group_topic_ids::resolve(body, topics_);
          if (body.groups.empty()) {
            const Route rt = route(body.group_id);
            res = rt.shard ? rt.shard->coordinator->offset_fetch(body) : group_errors::error_answer(body, rt.error);
            if (rt.shard && body.require_stable) mark_unstable(rt.shard->txn_offsets, body.group_id, res.topics);
            if (rt.shard) waits.push_back({rt.shard->partition, pending_offset(rt.shard->partition)});
          } else {
            for (const auto& g : body.groups) {
              const Route rt = route(g.group_id);
              if (!rt.shard) {
                res.groups.push_back(group_errors::error_group(g.group_id, rt.error));
                continue;
              }
              kafka::OffsetFetchRequest one;
              one.groups.push_back(g);
              one.require_stable = body.require_stable;
              auto sub = rt.shard->coordinator->offset_fetch(one);
              if (body.require_stable) mark_unstable(rt.shard->txn_offsets, g.group_id, sub.groups.front().topics);
              res.groups.push_back(std::move(sub.groups.front()));
              waits.push_back({rt.shard->partition, pending_offset(rt.shard->partition)});
            }
          }
          group_access::filter(body, ver, res, access);
          if (ver >= 10) group_topic_ids::finish(res, body, unknown, topics_);
          answer(std::move(waits), std::move(res), post);
        } else if constexpr (std::is_same_v<T, kafka::DescribeGroupsRequest>) {
          kafka::DescribeGroupsResponse res;
          std::vector<Wait> waits;
          for (const auto& id : body.groups) {
            const Route rt = route(id);
            if (!rt.shard) {
              auto& g = res.groups.emplace_back();
              g.group_id = id;
              g.error_code = kafka::to_wire(rt.error);
              continue;
            }
            kafka::DescribeGroupsRequest one = body;
            one.groups = {id};
            auto sub = rt.shard->coordinator->describe_groups(one, ver);
            for (auto& g : sub.groups) res.groups.push_back(std::move(g));
            waits.push_back({rt.shard->partition, pending_offset(rt.shard->partition)});
          }
          group_access::filter(res, access);
          answer(std::move(waits), std::move(res), post);
        } else if constexpr (std::is_same_v<T, kafka::ListGroupsRequest>) {
          // Every group of every partition served here; any partition still
          // loading makes it COORDINATOR_LOAD_IN_PROGRESS, as Kafka answers.
          kafka::ListGroupsResponse res;
          std::vector<Wait> waits;
          for (auto& [p, s] : shards_) {
            if (!s->loaded) {
              res.error_code = kafka::to_wire(kafka::ErrorCode::coordinator_load_in_progress);
              continue;
            }
            auto sub = s->coordinator->list_groups(body.states_filter, body.types_filter);
            for (auto& g : sub.groups) res.groups.push_back(std::move(g));
            waits.push_back({p, pending_offset(p)});
          }
          if (res.error_code) res.groups.clear();
          group_access::filter(res, access);
          answer(std::move(waits), std::move(res), post);
        } else if constexpr (std::is_same_v<T, kafka::DeleteGroupsRequest>) {
          auto denied = group_access::strip(body, access);
          kafka::DeleteGroupsResponse res;
          std::vector<Wait> waits;
          for (const auto& id : body.groups_names) {
            const Route rt = route(id);
            if (!rt.shard) {
              res.results.push_back({id, kafka::to_wire(rt.error),
                                     fmt::format("This broker cannot delete group {} now: {}.", id,
                                                 kafka::error_name(rt.error))});
              continue;
            }
            kafka::DeleteGroupsRequest one;
            one.groups_names = {id};
            auto sub = rt.shard->coordinator->delete_groups(one);
            for (auto& r : sub.results) res.results.push_back(std::move(r));
            waits.push_back({rt.shard->partition, pending_offset(rt.shard->partition)});
          }
          group_access::add_denied(res, denied);
          answer(std::move(waits), std::move(res), post);
        } else if constexpr (std::is_same_v<T, kafka::OffsetDeleteRequest>) {
          if (auto r = group_access::deny(body, access)) return post(*r);
          auto denied = group_access::strip(body, access);
          const Route rt = route(body.group_id);
          if (!rt.shard) return post(group_errors::error_answer(body, rt.error));
          auto res = rt.shard->coordinator->offset_delete(body);
          group_access::add_denied(res, denied);
          answer_from(rt.shard, std::move(res), post);
        } else {
          loop.post([respond] { respond(std::nullopt); });
        }
      },
      req.body);
}

}  // namespace nocopy::broker
