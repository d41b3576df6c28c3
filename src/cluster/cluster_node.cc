#include "cluster/cluster_node.h"

#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <random>
#include <set>

#include "kafka/error_code.h"

namespace nocopy::cluster {

using namespace std::chrono_literals;
using kafka::ErrorCode;

namespace {
std::int16_t code(ErrorCode e) { return static_cast<std::int16_t>(e); }
}  // namespace

ClusterNode::ClusterNode(ClusterOptions opts, replication::ReplicaControl* replicas, TopicSink* topics)
    : opts_(std::move(opts)),
      keys_{opts_.prefix},
      replicas_(replicas),
      topics_(topics),
      etcd_({opts_.endpoints, 2000ms, 1000ms}),
      ttl_seconds_(std::max<std::int64_t>(2, (opts_.session_timeout.count() + 999) / 1000)),
      snapshot_(std::make_shared<ClusterSnapshot>()),
      watch_({opts_.endpoints, keys_.prefix, "the cluster state"},
             {[this] { load_all(); }, [this] { return snapshot()->revision; },
              [this](std::int64_t rev, const std::vector<WatchEvent>& evs) { on_events(rev, evs); }}) {}

ClusterNode::~ClusterNode() { stop(); }

std::shared_ptr<const ClusterSnapshot> ClusterNode::snapshot() const {
  std::lock_guard lk(mu_);
  return snapshot_;
}

bool ClusterNode::is_leader(std::string_view topic, std::int32_t partition) const {
  auto snap = snapshot();
  const auto* e = snap->partition(topic, partition);
  return e && e->state.leader == opts_.self.node_id;
}

bool ClusterNode::wait_for_revision(std::int64_t revision, std::chrono::milliseconds timeout) const {
  std::unique_lock lk(mu_);
  return cv_.wait_for(lk, timeout, [&] { return snapshot_->revision >= revision || stop_.load(); }) &&
         snapshot_->revision >= revision;
}

bool ClusterNode::sleep_for(std::chrono::milliseconds d) {
  std::unique_lock lk(mu_);
  cv_.wait_for(lk, d, [&] { return stop_.load(); });
  return !stop_.load();
}

void ClusterNode::start() {
  retry_until(std::chrono::steady_clock::now() + std::chrono::seconds(ttl_seconds_ + 2),
              "registering broker " + std::to_string(opts_.self.node_id), [this] { register_session(); });
  load_all();
  campaign();
  session_thread_ = std::thread([this] { session_loop(); });
  watch_.start();
  worker_thread_ = std::thread([this] { worker_loop(); });
}

void ClusterNode::stop() {
  if (stop_.exchange(true)) return;
  cv_.notify_all();
  if (session_thread_.joinable()) session_thread_.join();
  if (worker_thread_.joinable()) worker_thread_.join();
  watch_.stop();
  if (auto lease = lease_.exchange(0)) {
    try {
      etcd_.lease_revoke(lease);
    } catch (const EtcdError& e) {
      spdlog::warn("cluster: leaving: {}", e.what());
    }
  }
  controller_rev_ = 0;
}

namespace {
std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

bool ClusterNode::session_current() const {
  const auto ok = session_ok_ns_.load();
  return lease_.load() != 0 && ok != 0 && steady_ns() - ok < ttl_seconds_ * 1'000'000'000 &&
         delivered_rev_.load() >= registered_rev_.load();
}

void ClusterNode::register_session() {
  const auto sent = steady_ns();
  const auto lease = etcd_.lease_grant(ttl_seconds_);
  const std::string key = keys_.broker(opts_.self.node_id);
  auto r = etcd_.txn({Compare::absent(key)}, {Op::put(key, to_json(opts_.self), lease)}, {Op::get(key)});
  if (!r.succeeded) {
    try {
      etcd_.lease_revoke(lease);
    } catch (const EtcdError&) {
    }
    std::string holder = r.gets.empty() || r.gets[0].empty() ? "?" : r.gets[0][0].value;
    throw EtcdError("node id " + std::to_string(opts_.self.node_id) + " is registered by a live broker (" + holder +
                    "); waiting for its session to end");
  }
  registered_rev_ = r.revision;  // before lease_: session_current() must never see the new lease without it
  session_ok_ns_ = sent;
  lease_ = lease;
  spdlog::info("cluster: registered as broker {} ({}:{}) with a {} s session", opts_.self.node_id, opts_.self.host,
               opts_.self.port, ttl_seconds_);
}

bool ClusterNode::campaign() {
  const auto lease = lease_.load();
  if (!lease || controller_rev_.load()) return false;
  const std::string key = keys_.controller();
  nlohmann::json v = {{"id", opts_.self.node_id}};
  auto r = etcd_.txn({Compare::absent(key)}, {Op::put(key, v.dump(), lease), Op::get(key)});
  if (r.succeeded && !r.gets.empty() && !r.gets[0].empty()) {
    controller_rev_ = r.gets[0][0].create_revision;
    spdlog::info("cluster: broker {} is the controller (term {})", opts_.self.node_id, controller_rev_.load());
    std::lock_guard lk(mu_);
    dirty_ = true;
    cv_.notify_all();
    return true;
  }
  return false;
}

// Renews the lease every third of its TTL; re-registers after losing it.
// Campaigns whenever the snapshot shows no controller.
void ClusterNode::session_loop() {
  const auto period = std::chrono::milliseconds(ttl_seconds_ * 1000 / 3);
  auto last_ok = std::chrono::steady_clock::now();
  auto registered_at = last_ok;
  while (!stop_.load()) {
    {
      std::unique_lock lk(mu_);
      cv_.wait_for(lk, period, [&] { return stop_.load() || (snapshot_->controller_id < 0 && !controller_rev_.load()); });
    }
    if (stop_.load()) break;
    try {
      const auto sent = steady_ns();
      if (!lease_.load()) {
        register_session();
        last_ok = std::chrono::steady_clock::now();
        registered_at = last_ok;
      } else if (etcd_.lease_keepalive(lease_.load()) > 0) {
        session_ok_ns_ = sent;
        last_ok = std::chrono::steady_clock::now();
      } else {
        spdlog::warn("cluster: session of broker {} expired; registering again", opts_.self.node_id);
        lease_ = 0;
        controller_rev_ = 0;
        continue;
      }
      // A watch stream that survived a cut may resume only when TCP next
      // retransmits: read the state again rather than wait for it.
      if (delivered_rev_.load() < registered_rev_.load() && std::chrono::steady_clock::now() - registered_at > period) {
        watch_.restart("the watch fell behind this broker's registration");
        registered_at = std::chrono::steady_clock::now();
      }
      if (snapshot()->controller_id < 0 && !campaign()) sleep_for(100ms);
    } catch (const EtcdError& e) {
      spdlog::warn("cluster: {}", e.what());
      if (std::chrono::steady_clock::now() - last_ok > std::chrono::seconds(ttl_seconds_)) {
        // The lease has surely expired: stop acting as controller now.
        if (controller_rev_.exchange(0)) spdlog::warn("cluster: no longer the controller (session lost)");
        lease_ = 0;
      }
      sleep_for(500ms);
    }
  }
}

void ClusterNode::load_all() {
  auto r = etcd_.get_prefix(keys_.prefix);
  {
    std::lock_guard lk(mu_);
    kvs_.clear();
    for (auto& kv : r.kvs) kvs_[kv.key] = kv;
  }
  publish(r.revision);
}

void ClusterNode::on_events(std::int64_t revision, const std::vector<WatchEvent>& events) {
  {
    std::lock_guard lk(mu_);
    for (auto& e : events) {
      if (e.type == WatchEvent::Type::del)
        kvs_.erase(e.kv.key);
      else
        kvs_[e.kv.key] = e.kv;
    }
  }
  publish(revision);
}

void ClusterNode::publish(std::int64_t revision) {
  std::vector<std::string> warnings;
  std::shared_ptr<ClusterSnapshot> snap;
  {
    std::lock_guard lk(mu_);
    snap = std::make_shared<ClusterSnapshot>(build_snapshot(keys_, kvs_, revision, &warnings));
  }
  for (auto& w : warnings) spdlog::warn("cluster: ignoring {}", w);
  const auto rev = controller_rev_.load();
  if (rev && snap->controller_revision != rev && snap->revision >= rev) {
    spdlog::warn("cluster: broker {} is no longer the controller", opts_.self.node_id);
    controller_rev_ = 0;
  }
  deliver(*snap);
  {
    std::lock_guard lk(mu_);
    snapshot_ = snap;
    dirty_ = true;
  }
  delivered_rev_ = snap->revision;
  cv_.notify_all();
}

// Tells the sinks what changed since the last snapshot (watch thread).
void ClusterNode::deliver(const ClusterSnapshot& snap) {
  const auto self = opts_.self.node_id;
  auto live = snap.live_brokers();
  if (replicas_ && (!told_any_ || live != told_brokers_)) replicas_->brokers(live);
  told_brokers_ = live;
  told_any_ = true;
  for (auto it = told_topics_.begin(); it != told_topics_.end();) {
    if (!snap.topics.contains(it->first)) {
      for (auto p = told_partitions_.begin(); p != told_partitions_.end();) {
        if (p->first.first == it->first) {
          if (replicas_) replicas_->removed(p->first.first, p->first.second);
          p = told_partitions_.erase(p);
        } else {
          ++p;
        }
      }
      if (topics_) topics_->topic_deleted(it->first);
      it = told_topics_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& [name, t] : snap.topics) {
    auto told = told_topics_.find(name);
    ToldTopic now{t.partition_count, t.configs, t.topic_id};
    if (told == told_topics_.end() || told->second != now) {
      if (topics_) topics_->topic_changed(name, t.partition_count, t.configs, t.topic_id);
      told_topics_[name] = std::move(now);
    }
    for (std::int32_t p = 0; p < static_cast<std::int32_t>(t.partitions.size()); ++p) {
      const auto& e = t.partitions[static_cast<std::size_t>(p)];
      const bool mine = e.mod_revision && std::ranges::find(e.state.replicas, self) != e.state.replicas.end();
      auto key = std::make_pair(name, p);
      auto was = told_partitions_.find(key);
      if (mine && (was == told_partitions_.end() || was->second != e.state)) {
        if (replicas_) replicas_->apply(name, p, e.state);
        told_partitions_[key] = e.state;
      } else if (!mine && was != told_partitions_.end()) {
        if (replicas_) replicas_->removed(name, p);
        told_partitions_.erase(was);
      }
    }
  }
}

void ClusterNode::worker_loop() {
  while (!stop_.load()) {
    std::deque<Proposal> props;
    std::shared_ptr<const ClusterSnapshot> snap;
    bool control_now = false;
    {
      std::unique_lock lk(mu_);
      cv_.wait_for(lk, 1s, [&] { return stop_.load() || !proposals_.empty() || (dirty_ && controller_rev_.load()); });
      if (stop_.load()) break;
      props.swap(proposals_);
      control_now = controller_rev_.load() != 0;
      dirty_ = false;
      snap = snapshot_;
    }
    for (auto& p : props) {
      try {
        commit_isr(p.topic, p.partition, p.state);
      } catch (const EtcdError& e) {
        spdlog::warn("cluster: ISR change of {}-{}: {}", p.topic, p.partition, e.what());
      }
    }
    if (control_now) {
      try {
        control(*snap);
      } catch (const EtcdError& e) {
        spdlog::warn("cluster: controller: {}", e.what());
      }
    }
  }
}

void ClusterNode::control(const ClusterSnapshot& snap) {
  const auto term = controller_rev_.load();
  // Act only on a snapshot that already shows this term.
  if (!term || snap.controller_revision != term) return;
  for (auto& [name, t] : snap.topics) {
    // A topic written before ids were kept gets one, once: the write is
    // conditioned on the topic key as read, so it never overwrites an id.
    if (kafka::is_zero(t.topic_id) && t.mod_revision) {
      const auto id = kafka::random_topic_id();
      auto r = etcd_.txn({Compare::mod_revision(keys_.topic(name), t.mod_revision),
                          Compare::create_revision(keys_.controller(), term)},
                         {Op::put(keys_.topic(name), topic_json(t.partition_count, t.configs, id))});
      if (r.succeeded) spdlog::info("cluster: topic {} had no topic id, assigned {}", name, kafka::uuid_to_string(id));
    }
    for (std::int32_t p = 0; p < static_cast<std::int32_t>(t.partitions.size()); ++p) {
      const auto& e = t.partitions[static_cast<std::size_t>(p)];
      if (!e.mod_revision) continue;
      auto next = reconcile_partition(e.state, snap, opts_.unclean_leader_election);
      if (!next) continue;
      const auto key = keys_.partition(name, p);
      auto r = etcd_.txn({Compare::mod_revision(key, e.mod_revision), Compare::create_revision(keys_.controller(), term)},
                         {Op::put(key, to_json(*next))});
      if (r.succeeded) {
        if (next->leader != e.state.leader)
          spdlog::info("cluster: {}-{} leader {} -> {} (epoch {}), isr [{}]", name, p, e.state.leader, next->leader,
                       next->leader_epoch, fmt::join(next->isr, ","));
        else
          spdlog::info("cluster: {}-{} isr [{}] -> [{}]", name, p, fmt::join(e.state.isr, ","), fmt::join(next->isr, ","));
      }
    }
  }
}

void ClusterNode::propose_isr(const std::string& topic, std::int32_t partition, const PartitionState& proposed) {
  std::lock_guard lk(mu_);
  proposals_.push_back({topic, partition, proposed});
  cv_.notify_all();
}

void ClusterNode::commit_isr(const std::string& topic, std::int32_t partition, const PartitionState& proposed) {
  auto snap = snapshot();
  const auto* e = snap->partition(topic, partition);
  const auto self = opts_.self.node_id;
  if (!e || e->state.leader != self || proposed.partition_epoch != e->state.partition_epoch ||
      proposed.leader_epoch != e->state.leader_epoch) {
    spdlog::debug("cluster: stale ISR proposal for {}-{} dropped", topic, partition);
    return;
  }
  PartitionState next = e->state;
  next.isr.clear();
  for (auto r : proposed.isr)
    if (std::ranges::find(e->state.replicas, r) != e->state.replicas.end() &&
        std::ranges::find(next.isr, r) == next.isr.end())
      next.isr.push_back(r);
  if (std::ranges::find(next.isr, self) == next.isr.end()) next.isr.insert(next.isr.begin(), self);
  if (next.isr == e->state.isr) return;
  next.partition_epoch = e->state.partition_epoch + 1;
  const auto key = keys_.partition(topic, partition);
  auto r = etcd_.txn({Compare::mod_revision(key, e->mod_revision)}, {Op::put(key, to_json(next))});
  if (r.succeeded)
    spdlog::info("cluster: {}-{} isr [{}] -> [{}] (leader {})", topic, partition, fmt::join(e->state.isr, ","),
                 fmt::join(next.isr, ","), self);
}

std::int64_t ClusterNode::reserve_producer_ids(std::int64_t count) {
  if (count < 1) throw EtcdError("producer id block: count " + std::to_string(count) + " is not positive");
  const std::string key = keys_.prefix + "producer_id_block";
  for (int attempt = 0; attempt < 50; ++attempt) {
    auto got = etcd_.get(key);
    std::int64_t next = 0;
    std::vector<Compare> cmp;
    if (got.kvs.empty()) {
      cmp.push_back(Compare::absent(key));
    } else {
      const std::string& v = got.kvs[0].value;
      std::size_t used = 0;
      try {
        next = std::stoll(v, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used == 0 || used != v.size() || next < 0)
        throw EtcdError("producer id block: " + key + " holds '" + v + "', not a non-negative number");
      cmp.push_back(Compare::mod_revision(key, got.kvs[0].mod_revision));
    }
    if (etcd_.txn(cmp, {Op::put(key, std::to_string(next + count))}).succeeded) {
      spdlog::info("cluster: broker {} reserved producer ids [{}, {})", opts_.self.node_id, next, next + count);
      return next;
    }
  }
  throw EtcdError("producer id block: " + key + " kept changing (50 attempts)");
}

ClusterNode::Result ClusterNode::create_topic(const std::string& name, std::int32_t partitions,
                                              std::int32_t replication_factor,
                                              const std::vector<std::vector<std::int32_t>>& assignment,
                                              const std::map<std::string, std::string>& configs, bool validate_only) {
  auto snap = snapshot();
  std::vector<std::int32_t> live;
  for (auto& [id, b] : snap->brokers) live.push_back(id);
  std::vector<std::vector<std::int32_t>> replicas;
  if (!assignment.empty()) {
    const auto rf = assignment.front().size();
    for (auto& a : assignment) {
      std::set<std::int32_t> distinct(a.begin(), a.end());
      if (a.empty() || a.size() != rf || distinct.size() != a.size())
        return {code(ErrorCode::invalid_replica_assignment),
                "every partition needs the same number of distinct replicas"};
      for (auto id : a)
        if (!snap->is_live(id))
          return {code(ErrorCode::invalid_replica_assignment), "broker " + std::to_string(id) + " is not live"};
    }
    replicas = assignment;
  } else {
    const std::int32_t rf = replication_factor == -1 ? opts_.default_replication_factor : replication_factor;
    if (rf < 1 || rf > static_cast<std::int32_t>(live.size()))
      return {code(ErrorCode::invalid_replication_factor),
              "replication factor " + std::to_string(rf) + " with " + std::to_string(live.size()) + " live broker" +
                  (live.size() == 1 ? "" : "s")};
    static thread_local std::mt19937 rng{std::random_device{}()};
    replicas = assign_replicas(live, partitions, rf,
                               static_cast<std::int32_t>(rng() % static_cast<std::uint32_t>(live.size())));
  }
  if (validate_only) return {};
  std::vector<Op> ops = {Op::put(keys_.topic(name), topic_json(static_cast<std::int32_t>(replicas.size()), configs,
                                                                 kafka::random_topic_id()))};
  for (std::size_t p = 0; p < replicas.size(); ++p) {
    PartitionState s;
    s.replicas = replicas[p];
    s.isr = replicas[p];
    s.leader = replicas[p].front();
    ops.push_back(Op::put(keys_.partition(name, static_cast<std::int32_t>(p)), to_json(s)));
  }
  try {
    auto r = etcd_.txn({Compare::absent(keys_.topic(name))}, ops);
    if (!r.succeeded) return {code(ErrorCode::topic_already_exists), "topic '" + name + "' already exists"};
    if (!wait_for_revision(r.revision, 5s))
      spdlog::warn("cluster: topic {} created at revision {} but not seen by the watch yet", name, r.revision);
    return {};
  } catch (const EtcdError& e) {
    return {code(ErrorCode::request_timed_out), e.what()};
  }
}

ClusterNode::Result ClusterNode::add_partitions(const std::string& name, std::int32_t count, bool validate_only) {
  auto snap = snapshot();
  auto it = snap->topics.find(name);
  if (it == snap->topics.end()) return {code(ErrorCode::unknown_topic_or_partition), "topic '" + name + "' does not exist"};
  const auto& t = it->second;
  if (count <= t.partition_count || count > 100000)
    return {code(ErrorCode::invalid_partitions), "topic '" + name + "' has " + std::to_string(t.partition_count) +
                                                     " partitions; the new count must be above that (at most 100000)"};
  const auto rf = t.partitions.empty() ? 1 : static_cast<std::int32_t>(t.partitions[0].state.replicas.size());
  std::vector<std::int32_t> live;
  for (auto& [id, b] : snap->brokers) live.push_back(id);
  auto replicas = assign_replicas(live, count, rf, 0);
  if (replicas.empty())
    return {code(ErrorCode::invalid_replication_factor),
            "replication factor " + std::to_string(rf) + " with " + std::to_string(live.size()) + " live brokers"};
  if (validate_only) return {};
  std::vector<Op> ops = {Op::put(keys_.topic(name), topic_json(count, t.configs, t.topic_id))};
  for (std::int32_t p = t.partition_count; p < count; ++p) {
    PartitionState s;
    s.replicas = replicas[static_cast<std::size_t>(p)];
    s.isr = s.replicas;
    s.leader = s.replicas.front();
    ops.push_back(Op::put(keys_.partition(name, p), to_json(s)));
  }
  try {
    auto r = etcd_.txn({Compare::mod_revision(keys_.topic(name), t.mod_revision)}, ops);
    if (!r.succeeded) return {code(ErrorCode::request_timed_out), "topic '" + name + "' changed meanwhile; retry"};
    wait_for_revision(r.revision, 5s);
    return {};
  } catch (const EtcdError& e) {
    return {code(ErrorCode::request_timed_out), e.what()};
  }
}

ClusterNode::Result ClusterNode::delete_topic(const std::string& name) {
  try {
    if (etcd_.get(keys_.topic(name)).kvs.empty()) return {code(ErrorCode::unknown_topic_or_partition), "topic '" + name + "' does not exist"};
    auto d = etcd_.txn({}, {Op::del(keys_.topic(name)), Op::del(keys_.partitions_of(name), true)});
    wait_for_revision(d.revision, 5s);
    return {};
  } catch (const EtcdError& e) {
    return {code(ErrorCode::request_timed_out), e.what()};
  }
}

ClusterNode::Result ClusterNode::elect_leader(const std::string& topic, std::int32_t partition, ElectionType type) {
  auto snap = snapshot();
  const PartitionEntry* e = snap->partition(topic, partition);
  if (e == nullptr)
    return {code(ErrorCode::unknown_topic_or_partition),
            "partition " + topic + "-" + std::to_string(partition) + " does not exist"};
  Election el = cluster::elect_leader(e->state, *snap, type);
  if (!el.next) return {el.error_code, el.message};
  try {
    auto r = etcd_.txn({Compare::mod_revision(keys_.partition(topic, partition), e->mod_revision)},
                       {Op::put(keys_.partition(topic, partition), to_json(*el.next))});
    if (!r.succeeded) return {code(ErrorCode::request_timed_out), "the partition changed meanwhile; retry"};
    wait_for_revision(r.revision, 5s);
    spdlog::info("cluster: {}-{}: {} election: leader {} -> {} (epoch {})", topic, partition,
                 type == ElectionType::preferred ? "preferred" : "unclean", e->state.leader, el.next->leader,
                 el.next->leader_epoch);
    return {};
  } catch (const EtcdError& ex) {
    return {code(ErrorCode::request_timed_out), ex.what()};
  }
}

}  // namespace nocopy::cluster
