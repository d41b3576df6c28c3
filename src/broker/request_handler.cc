#include "broker/request_handler.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>

#include "broker/api_keys.h"
#include "broker/error_codes.h"
#include "broker/groups_service.h"
#include "broker/topic_name.h"
#include "broker/wire.h"
#include "io/file.h"
#include "net/event_loop.h"

namespace nocopy::broker {

namespace {

constexpr ApiRange kApis[] = {
    {api::produce, 0, 7},        {api::fetch, 4, 11},         {api::list_offsets, 1, 3},
    {api::metadata, 0, 6},       {api::api_versions, 0, 3},   {api::create_topics, 0, 4},
    {api::delete_topics, 0, 3},  {api::find_coordinator, 0, 2}, {api::init_producer_id, 0, 1},
};

// Advertised only when a GroupsService is wired in.
constexpr ApiRange kGroupApis[] = {
    {api::offset_commit, 2, 7}, {api::offset_fetch, 1, 5},    {api::join_group, 0, 5},
    {api::heartbeat, 0, 3},     {api::leave_group, 0, 3},     {api::sync_group, 0, 3},
    {api::describe_groups, 0, 2}, {api::list_groups, 0, 2},
};

const ApiRange* find_range(std::int16_t key, bool groups) {
  for (auto& r : kApis)
    if (r.key == key) return &r;
  if (groups)
    for (auto& r : kGroupApis)
      if (r.key == key) return &r;
  return nullptr;
}

// Accumulates a response frame: memory pieces and file regions in order.
// The frame's int32 size prefix is patched in finish().
class FrameBuilder {
 public:
  explicit FrameBuilder(std::int32_t correlation_id) {
    w_.i32(0);  // size, patched
    w_.i32(correlation_id);
  }
  WireWriter& w() { return w_; }
  void region(const buf::FileRegion& r) {
    if (r.length == 0) return;
    flush_memory();
    chain_.append(r);
  }
  buf::Chain finish() {
    flush_memory();
    auto total = chain_.length();
    // Patch the size in the first memory piece (it is always memory: header).
    std::int32_t size = static_cast<std::int32_t>(total - 4);
    first_[0] = static_cast<std::byte>(static_cast<std::uint32_t>(size) >> 24);
    first_[1] = static_cast<std::byte>(static_cast<std::uint32_t>(size) >> 16);
    first_[2] = static_cast<std::byte>(static_cast<std::uint32_t>(size) >> 8);
    first_[3] = static_cast<std::byte>(static_cast<std::uint32_t>(size));
    return std::move(chain_);
  }

 private:
  void flush_memory() {
    if (w_.size() == 0) return;
    auto bytes = w_.take();
    auto b = to_buffer(std::move(bytes));
    if (!first_) first_ = const_cast<std::byte*>(b.data());  // unique, writable storage we just made
    chain_.append(std::move(b));
    w_ = WireWriter{};
  }
  WireWriter w_;
  buf::Chain chain_;
  std::byte* first_ = nullptr;
};

Reply respond(buf::Chain c) {
  Reply r;
  r.kind = Reply::Kind::respond;
  r.chain = std::move(c);
  return r;
}

Reply close_reply(std::string why) {
  Reply r;
  r.kind = Reply::Kind::close;
  r.reason = std::move(why);
  return r;
}


// ---------------------------------------------------------------- Fetch state

struct FetchPartitionReq {
  std::int32_t partition = 0;
  std::int64_t fetch_offset = 0;
  std::int32_t max_bytes = 0;
  std::shared_ptr<Partition> p;
};
struct FetchTopicReq {
  std::string name;
  std::vector<FetchPartitionReq> partitions;
};
struct FetchReq {
  std::int16_t version = 0;
  std::int32_t correlation_id = 0;
  std::int32_t max_wait_ms = 0;
  std::int32_t min_bytes = 0;
  std::int32_t max_bytes = 0x7fffffff;
  std::vector<FetchTopicReq> topics;
};

struct PartitionRead {
  std::int16_t error = 0;
  std::int64_t hw = -1;
  std::int64_t log_start = -1;
  Partition::ReadResult data;
};

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
        r.error = err::unknown_topic_or_partition;
        continue;
      }
      r.hw = pr.p->high_watermark();
      r.log_start = pr.p->log_start_offset();
      if (pr.fetch_offset < r.log_start || pr.fetch_offset > r.hw) {
        r.error = err::offset_out_of_range;
        continue;
      }
      if (pr.fetch_offset == r.hw || budget <= 0 || pr.max_bytes <= 0) continue;
      auto limit = static_cast<std::uint32_t>(std::min<std::int64_t>(pr.max_bytes, budget));
      r.data = pr.p->read(pr.fetch_offset, limit);
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

buf::Chain encode_fetch(const FetchReq& req, const std::vector<std::vector<PartitionRead>>& reads,
                        Metrics& metrics) {
  FrameBuilder fb(req.correlation_id);
  auto& w = fb.w();
  const auto v = req.version;
  w.i32(0);  // throttle_time_ms
  if (v >= 7) {
    w.i16(0);  // error_code
    w.i32(0);  // session_id: no fetch sessions
  }
  w.i32(static_cast<std::int32_t>(req.topics.size()));
  std::uint64_t record_bytes = 0;
  for (std::size_t ti = 0; ti < req.topics.size(); ++ti) {
    auto& t = req.topics[ti];
    fb.w().string(t.name);
    fb.w().i32(static_cast<std::int32_t>(t.partitions.size()));
    for (std::size_t pi = 0; pi < t.partitions.size(); ++pi) {
      auto& r = reads[ti][pi];
      auto& ww = fb.w();
      ww.i32(t.partitions[pi].partition);
      ww.i16(r.error);
      ww.i64(r.hw);
      ww.i64(r.hw);  // last_stable_offset = HW: no transactions
      if (v >= 5) ww.i64(r.log_start);
      ww.i32(0);  // aborted_transactions: empty (not null)
      if (v >= 11) ww.i32(-1);  // preferred_read_replica
      ww.i32(static_cast<std::int32_t>(r.data.bytes));
      for (auto& reg : r.data.regions) fb.region(reg);
      record_bytes += r.data.bytes;
    }
  }
  metrics.on_fetch_bytes(record_bytes);
  return fb.finish();
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
    std::weak_ptr<FetchWait> weak = weak_from_this();
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
  void send(const std::vector<std::vector<PartitionRead>>& reads) {
    finished = true;
    metrics->fetch_waiting(-1);
    auto d = std::move(done);
    d(respond(encode_fetch(req, reads, *metrics)));
  }
};

}  // namespace

buf::Buffer to_buffer(std::vector<std::byte>&& bytes) {
  auto* v = new std::vector<std::byte>(std::move(bytes));
  return buf::Buffer::wrap(v->data(), v->size(), [v](std::byte*, std::size_t) { delete v; });
}

RequestHandler::RequestHandler(const Config& cfg, TopicRegistry& topics, Metrics& metrics, AdminThread& admin)
    : cfg_(cfg), topics_(topics), metrics_(metrics), admin_(admin) {
  if (const char* every = std::getenv("NOCOPY_FAULT_DROP_PRODUCE_RESPONSE_EVERY")) {
    drop_produce_every_ = std::strtoull(every, nullptr, 10);
    if (drop_produce_every_) spdlog::warn("fault injection on: every {}th produce response is dropped", drop_produce_every_);
  }
}

void RequestHandler::handle(std::span<std::byte> frame, net::EventLoop& loop, Done done) {
  WireReader r(frame);
  Header h;
  h.api_key = r.i16();
  h.api_version = r.i16();
  h.correlation_id = r.i32();
  r.nullable_string();  // client_id
  if (r.failed()) return done(close_reply("truncated request header"));
  metrics_.on_request(h.api_key, frame.size() + 4);

  const ApiRange* range = find_range(h.api_key, groups_ != nullptr);
  if (!range) return done(close_reply(fmt::format("unknown API key {}", h.api_key)));
  if (h.api_key == api::api_versions) {
    if (h.api_version >= 3) r.skip_tagged_fields();
    return api_versions(h, frame.subspan(r.position()), done);
  }
  if (h.api_version < range->min || h.api_version > range->max)
    return done(close_reply(fmt::format("unsupported version {} of {}", h.api_version, api_name(h.api_key))));

  auto body_pos = r.position();
  if (groups_ && GroupsService::handles(h.api_key)) {
    auto key = h.api_key;
    return groups_->handle(frame, "", loop, [this, key, d = std::move(done)](std::optional<buf::Chain> c) {
      if (!c) return d(close_reply("malformed group request"));
      metrics_.on_response(key, c->length());
      d(respond(std::move(*c)));
    });
  }
  auto wrapped = [this, key = h.api_key, d = std::move(done)](Reply rep) mutable {
    if (rep.kind == Reply::Kind::respond) metrics_.on_response(key, rep.chain.length());
    d(std::move(rep));
  };
  Done cb = std::move(wrapped);
  switch (h.api_key) {
    case api::metadata: return metadata(h, frame.subspan(body_pos), loop, cb);
    case api::produce: return produce(h, frame.subspan(body_pos), loop, cb);
    case api::fetch: return fetch(h, frame.subspan(body_pos), loop, cb);
    case api::list_offsets: return list_offsets(h, frame.subspan(body_pos), cb);
    case api::create_topics: return create_topics(h, frame.subspan(body_pos), loop, cb);
    case api::delete_topics: return delete_topics(h, frame.subspan(body_pos), loop, cb);
    case api::find_coordinator: return find_coordinator(h, frame.subspan(body_pos), cb);
    case api::init_producer_id: return init_producer_id(h, frame.subspan(body_pos), cb);
    default: return cb(close_reply("unhandled API"));
  }
}

// ---------------------------------------------------------------- ApiVersions

void RequestHandler::api_versions(const Header& h, std::span<const std::byte>, Done& done) {
  FrameBuilder fb(h.correlation_id);  // response header v0, always
  auto& w = fb.w();
  const bool known = h.api_version >= 0 && h.api_version <= 3;
  const bool flexible = known && h.api_version >= 3;
  w.i16(known ? err::none : err::unsupported_version);
  const auto n = std::size(kApis) + (groups_ ? std::size(kGroupApis) : 0);
  if (flexible)
    w.uvarint(static_cast<std::uint32_t>(n + 1));
  else
    w.i32(static_cast<std::int32_t>(n));
  auto put = [&](const ApiRange& a) {
    w.i16(a.key);
    w.i16(a.min);
    w.i16(a.max);
    if (flexible) w.uvarint(0);
  };
  for (auto& a : kApis) put(a);
  if (groups_)
    for (auto& a : kGroupApis) put(a);
  if (known && h.api_version >= 1) w.i32(0);  // throttle_time_ms
  if (flexible) w.uvarint(0);
  auto chain = fb.finish();
  metrics_.on_response(h.api_key, chain.length());
  done(respond(std::move(chain)));
}

// ------------------------------------------------------------------- Metadata

void RequestHandler::metadata(const Header& h, std::span<const std::byte> body, net::EventLoop& loop, Done& done) {
  WireReader r(body);
  const auto v = h.api_version;
  auto n = r.array_len();
  bool all = (v == 0 && n == 0) || n < 0;
  std::vector<std::string> names;
  for (std::int32_t i = 0; i < n && !r.failed(); ++i) names.emplace_back(r.string());
  bool allow_auto = true;
  if (v >= 4) allow_auto = r.boolean();
  if (r.failed()) return done(close_reply("malformed Metadata request"));

  auto encode = [this, h, all, names](net::EventLoop&) {
    FrameBuilder fb(h.correlation_id);
    auto& w = fb.w();
    const auto v = h.api_version;
    if (v >= 3) w.i32(0);
    auto adv = cfg_.advertised_address();
    w.i32(1);
    w.i32(cfg_.node_id);
    w.string(adv.host);
    w.i32(adv.port);
    if (v >= 1) w.nullable_string(std::nullopt);  // rack
    if (v >= 2) w.nullable_string("nocopy");       // cluster_id
    if (v >= 1) w.i32(cfg_.node_id);               // controller_id
    auto put_topic = [&](std::int16_t error, std::string_view name, const Topic* t) {
      w.i16(error);
      w.string(name);
      if (v >= 1) w.boolean(name == kOffsetsTopic);
      if (!t) {
        w.i32(0);
        return;
      }
      w.i32(static_cast<std::int32_t>(t->partitions.size()));
      for (std::size_t i = 0; i < t->partitions.size(); ++i) {
        w.i16(0);
        w.i32(static_cast<std::int32_t>(i));
        w.i32(cfg_.node_id);
        w.i32(1);
        w.i32(cfg_.node_id);  // replicas
        w.i32(1);
        w.i32(cfg_.node_id);  // isr
        if (v >= 5) w.i32(0);  // offline replicas
      }
    };
    if (all) {
      auto list = topics_.list();
      std::erase_if(list, [](const auto& t) { return t->name == kOffsetsTopic; });
      w.i32(static_cast<std::int32_t>(list.size()));
      for (auto& t : list) put_topic(err::none, t->name, t.get());
    } else {
      w.i32(static_cast<std::int32_t>(names.size()));
      for (auto& name : names) {
        if (!is_legal_topic_name(name)) {
          put_topic(err::invalid_topic, name, nullptr);
          continue;
        }
        auto t = topics_.find(name);
        put_topic(t ? err::none : err::unknown_topic_or_partition, name, t.get());
      }
    }
    return respond(fb.finish());
  };

  std::vector<std::string> to_create;
  if (!all && allow_auto && cfg_.auto_create_topics)
    for (auto& name : names)
      if (is_legal_topic_name(name) && !topics_.find(name)) to_create.push_back(name);
  if (to_create.empty()) return done(encode(loop));

  admin_.submit([this, to_create, encode, &loop, d = std::move(done)]() mutable {
    for (auto& name : to_create) topics_.create(name, cfg_.default_partitions);
    loop.post([encode, &loop, d = std::move(d)]() mutable { d(encode(loop)); });
  });
}

// -------------------------------------------------------------------- Produce

namespace {
struct ProducePartitionResult {
  std::int32_t partition = 0;
  std::int16_t error = 0;
  std::int64_t base_offset = -1;
  std::int64_t log_append_time = -1;
  std::int64_t log_start = 0;
};
struct ProduceTopicResult {
  std::string name;
  std::vector<ProducePartitionResult> partitions;
};

buf::Chain encode_produce(std::int16_t v, std::int32_t correlation_id, const std::vector<ProduceTopicResult>& res) {
  FrameBuilder fb(correlation_id);
  auto& w = fb.w();
  w.i32(static_cast<std::int32_t>(res.size()));
  for (auto& t : res) {
    w.string(t.name);
    w.i32(static_cast<std::int32_t>(t.partitions.size()));
    for (auto& p : t.partitions) {
      w.i32(p.partition);
      w.i16(p.error);
      w.i64(p.base_offset);
      if (v >= 2) w.i64(p.log_append_time);
      if (v >= 5) w.i64(p.log_start);
    }
  }
  if (v >= 1) w.i32(0);  // throttle_time_ms
  return fb.finish();
}
}  // namespace

void RequestHandler::produce(const Header& h, std::span<std::byte> body, net::EventLoop& loop, Done& done) {
  WireReader r(body);
  const auto v = h.api_version;
  if (v >= 3) r.nullable_string();  // transactional_id
  auto acks = r.i16();
  r.i32();  // timeout_ms
  auto nt = r.array_len();
  std::vector<ProduceTopicResult> res;
  std::vector<std::pair<std::shared_ptr<Partition>, std::int64_t>> to_flush;
  for (std::int32_t ti = 0; ti < nt && !r.failed(); ++ti) {
    auto& tr = res.emplace_back();
    tr.name = std::string(r.string());
    auto np = r.array_len();
    for (std::int32_t pi = 0; pi < np && !r.failed(); ++pi) {
      auto& pr = tr.partitions.emplace_back();
      pr.partition = r.i32();
      auto pos = r.position();
      auto records = r.nullable_bytes();
      if (r.failed()) break;
      if (v < 3) {
        pr.error = err::unsupported_version;
        continue;
      }
      if (acks != 0 && acks != 1 && acks != -1) {
        pr.error = err::invalid_required_acks;
        continue;
      }
      if (!is_legal_topic_name(tr.name) || tr.name == kOffsetsTopic) {
        pr.error = err::invalid_topic;
        continue;
      }
      auto part = topics_.find(tr.name, pr.partition);
      if (!part) {
        pr.error = err::unknown_topic_or_partition;
        continue;
      }
      pr.log_start = part->log_start_offset();
      if (!records || records->empty()) {
        pr.error = err::invalid_record;
        continue;
      }
      if (records->size() > static_cast<std::size_t>(cfg_.max_message_bytes) + 12) {
        pr.error = err::message_too_large;
        continue;
      }
      // The records live in the (writable) request frame: patch in place.
      auto mut = body.subspan(pos + 4, records->size());
      auto ar = part->append(mut);
      pr.error = ar.error;
      if (ar.error == err::none) {
        pr.base_offset = ar.base_offset;
        pr.log_append_time = ar.log_append_time;
        metrics_.on_produce(mut.size());
        if (acks == -1 && cfg_.flush != FlushMode::never) to_flush.emplace_back(part, ar.last_offset);
      }
    }
  }
  if (r.failed()) return done(close_reply("malformed Produce request"));
  if (drop_produce_every_ && (produce_count_.fetch_add(1) + 1) % drop_produce_every_ == 0) {
    spdlog::warn("fault injection: produce appended, response dropped (connection closed)");
    return done(close_reply("fault injection: dropped produce response"));
  }
  for (auto& t : res)
    for (auto& p : t.partitions)
      if (p.error) {
        metrics_.on_produce_error();
        spdlog::debug("produce {}-{}: error {}", t.name, p.partition, p.error);
      }

  if (acks == 0) {
    Reply none;
    none.kind = Reply::Kind::none;
    return done(std::move(none));
  }
  if (to_flush.empty()) return done(respond(encode_produce(v, h.correlation_id, res)));

  // acks=-1 with a syncing policy: answer once every partition's flushed
  // offset passed what we appended. The flusher notifies; we never sync here.
  struct Pending {
    std::size_t left;
    std::vector<ProduceTopicResult> res;
    Done done;
    std::int16_t v;
    std::int32_t corr;
  };
  auto pending = std::make_shared<Pending>(Pending{to_flush.size(), std::move(res), std::move(done), v, h.correlation_id});
  metrics_.produce_waiting(1);
  for (auto& [part, last] : to_flush) {
    part->on_flushed(last, &loop, [pending, this] {
      if (--pending->left == 0) {
        metrics_.produce_waiting(-1);
        pending->done(respond(encode_produce(pending->v, pending->corr, pending->res)));
      }
    });
  }
}

// ---------------------------------------------------------------------- Fetch

void RequestHandler::fetch(const Header& h, std::span<const std::byte> body, net::EventLoop& loop, Done& done) {
  WireReader r(body);
  const auto v = h.api_version;
  FetchReq req;
  req.version = v;
  req.correlation_id = h.correlation_id;
  r.i32();  // replica_id
  req.max_wait_ms = r.i32();
  req.min_bytes = r.i32();
  if (v >= 3) req.max_bytes = r.i32();
  if (v >= 4) r.i8();  // isolation_level
  if (v >= 7) {
    r.i32();  // session_id
    r.i32();  // session_epoch
  }
  auto nt = r.array_len();
  for (std::int32_t ti = 0; ti < nt && !r.failed(); ++ti) {
    auto& t = req.topics.emplace_back();
    t.name = std::string(r.string());
    auto np = r.array_len();
    for (std::int32_t pi = 0; pi < np && !r.failed(); ++pi) {
      auto& p = t.partitions.emplace_back();
      p.partition = r.i32();
      if (v >= 9) r.i32();  // current_leader_epoch
      p.fetch_offset = r.i64();
      if (v >= 5) r.i64();  // log_start_offset (followers only)
      p.max_bytes = r.i32();
      p.p = topics_.find(t.name, p.partition);
    }
  }
  if (v >= 7) {
    auto nf = r.array_len();
    for (std::int32_t i = 0; i < nf && !r.failed(); ++i) {
      r.string();
      auto np = r.array_len();
      for (std::int32_t j = 0; j < np && !r.failed(); ++j) r.i32();
    }
  }
  if (v >= 11) r.string();  // rack_id
  if (r.failed()) return done(close_reply("malformed Fetch request"));

  std::vector<std::vector<PartitionRead>> reads;
  auto total = read_all(req, reads);
  bool any_error = false;
  for (auto& t : reads)
    for (auto& p : t)
      if (p.error) any_error = true;
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

// ---------------------------------------------------------------- ListOffsets

void RequestHandler::list_offsets(const Header& h, std::span<const std::byte> body, Done& done) {
  WireReader r(body);
  const auto v = h.api_version;
  r.i32();  // replica_id
  if (v >= 2) r.i8();  // isolation_level
  FrameBuilder fb(h.correlation_id);
  auto& w = fb.w();
  if (v >= 2) w.i32(0);
  auto nt = r.array_len();
  w.i32(std::max(nt, 0));
  for (std::int32_t ti = 0; ti < nt && !r.failed(); ++ti) {
    auto name = r.string();
    w.string(name);
    auto np = r.array_len();
    w.i32(std::max(np, 0));
    for (std::int32_t pi = 0; pi < np && !r.failed(); ++pi) {
      auto partition = r.i32();
      auto ts = r.i64();
      w.i32(partition);
      auto p = topics_.find(name, partition);
      if (!p) {
        w.i16(err::unknown_topic_or_partition);
        w.i64(-1);
        w.i64(-1);
        continue;
      }
      std::int64_t off;
      if (ts == -1)
        off = p->high_watermark();
      else if (ts == -2)
        off = p->log_start_offset();
      else
        off = p->offset_for_timestamp(ts);
      w.i16(err::none);
      w.i64(ts < 0 ? -1 : (off >= 0 ? ts : -1));
      w.i64(off);
    }
  }
  if (r.failed()) return done(close_reply("malformed ListOffsets request"));
  done(respond(fb.finish()));
}

// ------------------------------------------------------------ FindCoordinator

// This single broker coordinates every group. (librdkafka also needs
// FindCoordinator v0 advertised before it sends LZ4-compressed batches.)
ProducerIdAllocator& RequestHandler::producer_ids() {
  std::call_once(pids_once_, [this] {
    const auto path = cfg_.data_dir / "producer_ids";
    std::int64_t next = 0;
    if (std::ifstream in(path); in) in >> next;
    pids_ = std::make_unique<ProducerIdAllocator>(std::max<std::int64_t>(next, 0), [path](std::int64_t until) {
      // Durable before any id of the new block is handed out: temp file,
      // fsync, rename. Once per 1000 ids, so its cost on a reactor is rare.
      const auto tmp = path.string() + ".tmp";
      io::File f = io::File::open(tmp, io::File::Mode::truncate_rw);
      const std::string text = std::to_string(until) + "\n";
      if (auto w = f.pwrite_full(std::as_bytes(std::span(text.data(), text.size())), 0); !w)
        throw std::runtime_error(w.error().message());
      if (auto d = f.fdatasync(); !d) throw std::runtime_error(d.error().message());
      std::filesystem::rename(tmp, path);
    });
  });
  return *pids_;
}

void RequestHandler::init_producer_id(const Header& h, std::span<const std::byte> body, Done& done) {
  WireReader r(body);
  kafka::InitProducerIdRequest req;
  if (auto t = r.nullable_string()) req.transactional_id = std::string(*t);
  req.transaction_timeout_ms = r.i32();
  if (r.failed()) return done(close_reply("malformed InitProducerId request"));
  const kafka::InitProducerIdResponse res = producer_ids().init_producer_id(req);
  FrameBuilder fb(h.correlation_id);
  auto& w = fb.w();
  w.i32(res.throttle_time_ms);
  w.i16(res.error_code);
  w.i64(res.producer_id);
  w.i16(res.producer_epoch);
  done(respond(fb.finish()));
}

void RequestHandler::find_coordinator(const Header& h, std::span<const std::byte> body, Done& done) {
  WireReader r(body);
  r.string();  // key
  if (h.api_version >= 1) r.i8();  // key_type
  if (r.failed()) return done(close_reply("malformed FindCoordinator request"));
  FrameBuilder fb(h.correlation_id);
  auto& w = fb.w();
  auto adv = cfg_.advertised_address();
  if (h.api_version >= 1) w.i32(0);
  w.i16(err::none);
  if (h.api_version >= 1) w.nullable_string(std::nullopt);
  w.i32(cfg_.node_id);
  w.string(adv.host);
  w.i32(adv.port);
  done(respond(fb.finish()));
}

// --------------------------------------------------------- CreateTopics/Delete

void RequestHandler::create_topics(const Header& h, std::span<const std::byte> body, net::EventLoop& loop,
                                   Done& done) {
  WireReader r(body);
  const auto v = h.api_version;
  struct Item {
    std::string name;
    std::int32_t partitions;
    std::int16_t rf;
    bool has_assignments;
  };
  std::vector<Item> items;
  auto nt = r.array_len();
  for (std::int32_t i = 0; i < nt && !r.failed(); ++i) {
    Item it;
    it.name = std::string(r.string());
    it.partitions = r.i32();
    it.rf = r.i16();
    auto na = r.array_len();
    it.has_assignments = na > 0;
    for (std::int32_t a = 0; a < na && !r.failed(); ++a) {
      r.i32();
      auto nb = r.array_len();
      for (std::int32_t b = 0; b < nb && !r.failed(); ++b) r.i32();
    }
    if (it.has_assignments) it.partitions = na;
    auto nc = r.array_len();
    for (std::int32_t c = 0; c < nc && !r.failed(); ++c) {
      r.string();
      r.nullable_string();
    }
    items.push_back(std::move(it));
  }
  r.i32();  // timeout_ms
  bool validate_only = v >= 1 ? r.boolean() : false;
  if (r.failed()) return done(close_reply("malformed CreateTopics request"));

  admin_.submit([this, items, validate_only, v, corr = h.correlation_id, &loop, d = std::move(done)]() mutable {
    FrameBuilder fb(corr);
    auto& w = fb.w();
    if (v >= 2) w.i32(0);
    w.i32(static_cast<std::int32_t>(items.size()));
    for (auto& it : items) {
      std::int16_t code = err::none;
      std::string msg;
      auto parts = it.partitions == -1 ? cfg_.default_partitions : it.partitions;
      if (!is_legal_topic_name(it.name)) {
        code = err::invalid_topic;
        msg = "illegal topic name";
      } else if (it.rf != -1 && it.rf != 1) {
        code = err::invalid_replication_factor;
        msg = "replication factor must be 1 (single broker)";
      } else if (validate_only) {
        code = topics_.find(it.name) ? err::topic_already_exists : (parts <= 0 ? err::invalid_partitions : err::none);
      } else {
        code = topics_.create(it.name, parts, &msg);
      }
      w.string(it.name);
      w.i16(code);
      if (v >= 1) w.nullable_string(code ? std::optional<std::string_view>(msg) : std::nullopt);
    }
    auto reply = respond(fb.finish());
    loop.post([d = std::move(d), rep = std::make_shared<Reply>(std::move(reply))]() mutable { d(std::move(*rep)); });
  });
}

void RequestHandler::delete_topics(const Header& h, std::span<const std::byte> body, net::EventLoop& loop,
                                   Done& done) {
  WireReader r(body);
  std::vector<std::string> names;
  auto n = r.array_len();
  for (std::int32_t i = 0; i < n && !r.failed(); ++i) names.emplace_back(r.string());
  r.i32();
  if (r.failed()) return done(close_reply("malformed DeleteTopics request"));
  admin_.submit([this, names, v = h.api_version, corr = h.correlation_id, &loop, d = std::move(done)]() mutable {
    FrameBuilder fb(corr);
    auto& w = fb.w();
    if (v >= 1) w.i32(0);
    w.i32(static_cast<std::int32_t>(names.size()));
    for (auto& name : names) {
      w.string(name);
      w.i16(topics_.remove(name));
    }
    auto reply = respond(fb.finish());
    loop.post([d = std::move(d), rep = std::make_shared<Reply>(std::move(reply))]() mutable { d(std::move(*rep)); });
  });
}

}  // namespace nocopy::broker
