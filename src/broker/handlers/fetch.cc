// Fetch v4-v18. Record bytes are never read here: each partition's answer is
// the log's file regions, spliced into the encoded response. A fetch with
// fewer than min_bytes available waits ("fetch purgatory") without a thread:
// FetchWait registers with each partition's on_next_append and a max_wait_ms
// timer on the loop; whichever comes first answers.
// isolation_level=read_committed (1): each partition answers only below its
// last stable offset (Partition::read_committed cuts the regions there) plus
// the aborted transactions from the transaction index; the client filters
// aborted records, as with Kafka, so the record bytes stay zero copy.
// A follower broker (replica_id >= 0, cluster mode) is served by the same
// path, up to the log end instead of the high watermark; its fetch offset is
// its log end, which the replication layer records (the high watermark and
// the ISR follow from it).
// v12+: a last_fetched_epoch whose end in this log lies before the fetch
// offset (or that this log never had: the largest epoch below it answers)
// is answered with diverging_epoch and no records, before the offset range
// is checked -- the fetcher truncates to it (KIP-320's fetch-side check, as
// Kafka). NOT_LEADER_OR_FOLLOWER and FENCED_LEADER_EPOCH answers carry the
// current leader and epoch, v16+ also its endpoint (KIP-951). v13+ names
// topics by id: an id no topic has is UNKNOWN_TOPIC_ID. v15+ carries the
// follower's id in replica_state.
#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "broker/handlers/reply.h"
#include "broker/request_handler.h"
#include "replication/replica_manager.h"

namespace nocopy::broker {

using namespace handlers;

namespace {

struct FetchPartitionReq {
  std::int32_t partition = 0;
  std::int64_t fetch_offset = 0;
  std::int32_t max_bytes = 0;
  std::int32_t last_fetched_epoch = -1;  // v12+: -1 none
  std::shared_ptr<Partition> p;
  std::int16_t error = 0;  // why p is null
  kafka::FetchResponse::LeaderIdAndEpoch leader;  // with NOT_LEADER_OR_FOLLOWER / FENCED_LEADER_EPOCH
};
struct FetchTopicReq {
  std::string name;
  kafka::Uuid id{};
  std::vector<FetchPartitionReq> partitions;
};
struct FetchReq {
  kafka::RequestHeader header;
  std::int32_t replica_id = -1;  // >= 0: a follower broker
  std::int32_t max_wait_ms = 0;
  std::int32_t min_bytes = 0;
  std::int32_t max_bytes = 0x7fffffff;
  bool read_committed = false;
  std::vector<FetchTopicReq> topics;
  std::vector<kafka::FetchResponse::NodeEndpoint> endpoints;  // v16+: the leaders named
};

struct PartitionRead {
  std::int16_t error = 0;
  std::int64_t hw = -1;
  std::int64_t log_start = -1;
  std::int64_t lso = -1;
  std::vector<log::AbortedTxn> aborted;
  Partition::ReadResult data;
  kafka::FetchResponse::EpochEndOffset diverging;  // epoch -1: none
};

// Where the fetcher's log left this one's: the end of `last_fetched_epoch`
// here when it lies before `fetch_offset` or this log never had that epoch
// (the largest one below it answers); epoch -1 when the logs agree or the
// answer is undefined (an epoch newer than any here, an empty cache).
kafka::FetchResponse::EpochEndOffset divergence(Partition& p, std::int64_t fetch_offset,
                                                std::int32_t last_fetched_epoch) {
  if (last_fetched_epoch < 0) return {};
  const log::EpochEndOffset e = p.log().end_offset_for_epoch(last_fetched_epoch);
  if (e.epoch < 0 || e.end_offset < 0) return {};
  if (e.epoch < last_fetched_epoch || e.end_offset < fetch_offset) return {e.epoch, e.end_offset};
  return {};
}

// Reads every partition (regions only: no record byte is touched) and
// returns the total record bytes found.
std::uint64_t read_all(const FetchReq& req, std::vector<std::vector<PartitionRead>>& out) {
  out.clear();
  std::uint64_t total = 0;
  std::int64_t budget = req.max_bytes <= 0 ? 0x7fffffff : req.max_bytes;
  for (auto& t : req.topics) {
    auto& tv = out.emplace_back();
    for (auto& pr : t.partitions) {
      auto& r = tv.emplace_back();
      if (!pr.p) {
        r.error = pr.error ? pr.error : code(ErrorCode::unknown_topic_or_partition);
        continue;
      }
      // The LSO before the high watermark: a transaction opening in
      // between keeps the LSO at or below its first offset.
      r.lso = pr.p->last_stable_offset();
      r.hw = pr.p->high_watermark();
      r.log_start = pr.p->log_start_offset();
      r.diverging = divergence(*pr.p, pr.fetch_offset, pr.last_fetched_epoch);
      if (r.diverging.epoch >= 0) continue;
      // An offset between the high watermark and the log end is answered
      // with no records, no error (as Kafka does).
      const std::int64_t log_end = pr.p->log_end_offset();
      if (pr.fetch_offset < r.log_start || pr.fetch_offset > log_end) {
        r.error = code(ErrorCode::offset_out_of_range);
        continue;
      }
      const bool follower = req.replica_id >= 0;
      const std::int64_t end = follower ? log_end : req.read_committed ? r.lso : r.hw;
      if (pr.fetch_offset >= end || budget <= 0 || pr.max_bytes <= 0) continue;
      auto limit = static_cast<std::uint32_t>(std::min<std::int64_t>(pr.max_bytes, budget));
      r.data = req.read_committed && !follower ? pr.p->read_committed(pr.fetch_offset, limit)
                                               : pr.p->read(pr.fetch_offset, limit, follower);
      if (req.read_committed && r.data.bytes > 0) r.aborted = pr.p->aborted_transactions(pr.fetch_offset, r.lso);
      if (r.data.error) {
        r.error = r.data.error;
        r.data = {};
        continue;
      }
      // Never 1..16 bytes of records (kafkajs reads the magic at byte 16).
      if (r.data.bytes > 0 && r.data.bytes < 17) r.data = {};
      budget -= static_cast<std::int64_t>(r.data.bytes);
      total += r.data.bytes;
    }
  }
  return total;
}

// The record bytes of each partition become a splice point of the encoded
// response, filled with that partition's file regions in the chain.
buf::Chain encode_fetch(const FetchReq& req, std::vector<std::vector<PartitionRead>>& reads, Metrics& metrics) {
  kafka::FetchResponse res;
  std::vector<std::vector<buf::FileRegion>> regions;
  std::uint64_t record_bytes = 0;
  res.responses.reserve(req.topics.size());
  for (std::size_t ti = 0; ti < req.topics.size(); ++ti) {
    auto& t = req.topics[ti];
    auto& rt = res.responses.emplace_back();
    rt.topic = t.name;
    rt.topic_id = t.id;
    rt.partitions.reserve(t.partitions.size());
    for (std::size_t pi = 0; pi < t.partitions.size(); ++pi) {
      auto& r = reads[ti][pi];
      auto& rp = rt.partitions.emplace_back();
      rp.partition_index = t.partitions[pi].partition;
      rp.error_code = r.error;
      rp.current_leader = t.partitions[pi].leader;
      rp.diverging_epoch = r.diverging;
      rp.high_watermark = r.hw;
      rp.last_stable_offset = r.lso >= 0 ? std::min(r.lso, r.hw) : r.hw;
      if (!r.aborted.empty()) {
        rp.aborted_transactions.emplace();
        for (const auto& a : r.aborted) rp.aborted_transactions->push_back({a.producer_id, a.first_offset});
      }
      rp.log_start_offset = r.log_start;
      if (r.data.bytes > 0) {
        rp.records.splice_index = static_cast<std::int32_t>(regions.size());
        rp.records.splice_length = static_cast<std::uint32_t>(r.data.bytes);
        regions.push_back(std::move(r.data.regions));
      }
      record_bytes += r.data.bytes;
    }
  }
  res.node_endpoints = req.endpoints;
  metrics.on_fetch_bytes(record_bytes);
  return to_chain(kafka::encode_response(req.header.correlation_id, req.header.api_version, res), regions);
}

// A fetch parked until min_bytes arrive or max_wait_ms passes. Lives on one
// loop; partitions hold only weak references to it.
struct FetchWait : std::enable_shared_from_this<FetchWait> {
  FetchReq req;
  net::EventLoop* loop = nullptr;
  RequestHandler::Done done;
  Metrics* metrics = nullptr;
  net::EventLoop::TimerId timer = 0;
  bool finished = false;

  void arm(Partition& p) {
    std::weak_ptr<FetchWait> weak = weak_from_this();
    auto sp = &p;
    p.on_next_append(loop, weak, [weak, sp] {
      if (auto self = weak.lock()) self->woken(*sp);
    });
  }
  void start() {
    // Register first, then re-check: an append in between wakes us anyway.
    for (auto& t : req.topics)
      for (auto& pr : t.partitions)
        if (pr.p) arm(*pr.p);
    auto self = shared_from_this();
    timer = loop->run_after(std::chrono::milliseconds(req.max_wait_ms), [self] { self->finish(); });
    metrics->fetch_waiting(1);
    check();
  }
  void woken(Partition& p) {
    if (finished) return;
    if (!check()) arm(p);
  }
  bool check() {
    std::vector<std::vector<PartitionRead>> reads;
    auto total = read_all(req, reads);
    if (total < static_cast<std::uint64_t>(std::max(req.min_bytes, 1))) return false;
    loop->cancel(timer);
    send(reads);
    return true;
  }
  void finish() {
    if (finished) return;
    std::vector<std::vector<PartitionRead>> reads;
    read_all(req, reads);
    send(reads);
  }
  void send(std::vector<std::vector<PartitionRead>>& reads) {
    finished = true;
    metrics->fetch_waiting(-1);
    auto d = std::move(done);
    d(respond(encode_fetch(req, reads, *metrics)));
  }
};

}  // namespace

// Cluster mode: a client naming another leader epoch is fenced
// (FENCED_LEADER_EPOCH when older, UNKNOWN_LEADER_EPOCH when newer); a
// follower's fetch offset is its log end, which the leader records --
// unless its log diverged from this one (it is answered diverging_epoch
// and must truncate first: its offsets past the divergence hold other
// records, which must not count towards the high watermark).
void RequestHandler::replica_fetch_checks(const std::string& topic, const kafka::FetchRequest::Partition& p,
                                          std::int32_t replica_id, std::shared_ptr<Partition>& part,
                                          std::int16_t& error) const {
  auto view = replicas_->view(topic, p.partition);
  if (!view) return;
  if (view->role != replication::Role::leader) {
    part = nullptr;
    error = code(ErrorCode::not_leader_or_follower);
  } else if (p.current_leader_epoch >= 0 && p.current_leader_epoch != view->leader_epoch) {
    part = nullptr;
    error = code(p.current_leader_epoch < view->leader_epoch ? ErrorCode::fenced_leader_epoch
                                                             : ErrorCode::unknown_leader_epoch);
  } else if (replica_id >= 0 && divergence(*part, p.fetch_offset, p.last_fetched_epoch).epoch < 0) {
    replicas_->on_follower_fetch(topic, p.partition, replica_id, p.fetch_offset);
  }
}

// The leader to name in an answer that sends the client elsewhere
// (KIP-951): current_leader from v12, its endpoint from v16.
kafka::FetchResponse::LeaderIdAndEpoch RequestHandler::fetch_leader_hint(
    const std::string& topic, std::int32_t partition, std::int16_t version,
    std::vector<kafka::FetchResponse::NodeEndpoint>& endpoints) const {
  if (version < 12) return {};
  const LeaderHint h = leader_hint(topic, partition);
  if (h.leader < 0) return {};
  if (version >= 16 && h.port != 0 &&
      std::ranges::none_of(endpoints, [&](const auto& e) { return e.node_id == h.leader; }))
    endpoints.push_back({h.leader, h.host, h.port, h.rack});
  return {h.leader, h.epoch};
}

// Authorization: a follower broker (replica_id >= 0) needs CLUSTER_ACTION
// on the cluster, a consumer READ on each topic; a denied partition is
// answered TOPIC_AUTHORIZATION_FAILED (a follower CLUSTER_AUTHORIZATION_FAILED).
void RequestHandler::fetch(const Header& h, kafka::FetchRequest& in, net::EventLoop& loop, Done& done,
                           const Access& access) {
  using security::AclOperation;
  const std::int16_t v = h.api_version;
  const std::int32_t replica_id = v >= 15 ? in.replica_state.replica_id : in.replica_id;
  const bool follower_ok = replica_id < 0 || access.cluster(AclOperation::cluster_action);
  FetchReq req;
  req.header = h;
  req.max_wait_ms = in.max_wait_ms;
  req.min_bytes = in.min_bytes;
  req.max_bytes = in.max_bytes;
  req.read_committed = in.isolation_level == 1;
  req.replica_id = replica_id;
  req.topics.reserve(in.topics.size());
  for (auto& t : in.topics) {
    auto& rt = req.topics.emplace_back();
    rt.id = t.topic_id;
    std::int16_t unknown = 0;
    if (v >= 13) {
      auto known = topics_.find_id(t.topic_id);
      if (known) rt.name = known->name;
      else unknown = code(ErrorCode::unknown_topic_id);
    } else {
      rt.name = std::move(t.topic);
    }
    rt.partitions.reserve(t.partitions.size());
    const std::int16_t denied = unknown                ? unknown
                                : !follower_ok         ? code(ErrorCode::cluster_authorization_failed)
                                : replica_id < 0 && !access.topic(AclOperation::read, rt.name)
                                    ? code(ErrorCode::topic_authorization_failed)
                                    : std::int16_t{0};
    for (auto& p : t.partitions) {
      auto& rp = rt.partitions.emplace_back(
          FetchPartitionReq{p.partition, p.fetch_offset, p.partition_max_bytes, p.last_fetched_epoch, nullptr, 0, {}});
      if (denied) {
        rp.error = denied;
        continue;
      }
      rp.p = served(rt.name, p.partition, &rp.error);
      if (rp.p && replicas_) replica_fetch_checks(rt.name, p, replica_id, rp.p, rp.error);
      if (rp.error == code(ErrorCode::not_leader_or_follower) || rp.error == code(ErrorCode::fenced_leader_epoch))
        rp.leader = fetch_leader_hint(rt.name, p.partition, v, req.endpoints);
    }
  }

  std::vector<std::vector<PartitionRead>> reads;
  auto total = read_all(req, reads);
  bool any_error = false;
  for (auto& t : reads)
    for (auto& p : t)
      if (p.error || p.diverging.epoch >= 0) any_error = true;
  if (total >= static_cast<std::uint64_t>(std::max(req.min_bytes, 1)) || req.max_wait_ms <= 0 || any_error ||
      draining_.load(std::memory_order_relaxed) || req.topics.empty())
    return done(respond(encode_fetch(req, reads, metrics_)));

  auto wait = std::make_shared<FetchWait>();
  wait->req = std::move(req);
  wait->loop = &loop;
  wait->done = std::move(done);
  wait->metrics = &metrics_;
  wait->start();
}

}  // namespace nocopy::broker
