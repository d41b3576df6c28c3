#include "broker/request_handler.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <variant>

#include "broker/batch_decompressor.h"
#include "broker/config_describer.h"
#include "broker/groups_service.h"
#include "io/file.h"
#include "kafka/api_key.h"
#include "kafka/api_versions.h"
#include "kafka/codec.h"
#include "kafka/error_code.h"
#include "kafka/request.h"
#include "kafka/topic_name.h"
#include "log/record_batch.h"
#include "net/event_loop.h"

namespace nocopy::broker {

namespace {

using kafka::ErrorCode;
constexpr std::int16_t code(ErrorCode c) { return kafka::to_wire(c); }

bool is_group_api(std::int16_t key) { return GroupsService::handles(key); }

// An encoded response as a chain: the encoded bytes (one Buffer, sliced at
// the splice points, never copied) with regions[i] inserted at splice i.
buf::Chain to_chain(kafka::EncodedResponse enc, const std::vector<std::vector<buf::FileRegion>>& regions = {}) {
  buf::Chain c;
  auto all = buf::Buffer::adopt(std::move(enc.bytes));
  std::size_t at = 0;
  for (const kafka::SplicePoint& sp : enc.splices) {
    if (sp.offset > at) c.append(all.slice(at, sp.offset - at));
    at = sp.offset;
    for (const buf::FileRegion& r : regions.at(sp.index)) c.append(r);
  }
  if (all.size() > at) c.append(all.slice(at, all.size() - at));
  return c;
}

template <class Msg>
buf::Chain encode(const kafka::RequestHeader& h, const Msg& m) {
  return to_chain(kafka::encode_response(h.correlation_id, h.api_version, m));
}

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
  kafka::RequestHeader header;
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
        r.error = code(ErrorCode::unknown_topic_or_partition);
        continue;
      }
      r.hw = pr.p->high_watermark();
      r.log_start = pr.p->log_start_offset();
      if (pr.fetch_offset < r.log_start || pr.fetch_offset > r.hw) {
        r.error = code(ErrorCode::offset_out_of_range);
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
    rt.partitions.reserve(t.partitions.size());
    for (std::size_t pi = 0; pi < t.partitions.size(); ++pi) {
      auto& r = reads[ti][pi];
      auto& rp = rt.partitions.emplace_back();
      rp.partition_index = t.partitions[pi].partition;
      rp.error_code = r.error;
      rp.high_watermark = r.hw;
      rp.last_stable_offset = r.hw;  // no transactions
      rp.log_start_offset = r.log_start;
      if (r.data.bytes > 0) {
        rp.records.splice_index = static_cast<std::int32_t>(regions.size());
        rp.records.splice_length = static_cast<std::uint32_t>(r.data.bytes);
        regions.push_back(std::move(r.data.regions));
      }
      record_bytes += r.data.bytes;
    }
  }
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

buf::Buffer to_buffer(std::vector<std::byte>&& bytes) { return buf::Buffer::adopt(std::move(bytes)); }

RequestHandler::RequestHandler(const Config& cfg, TopicRegistry& topics, Metrics& metrics, AdminThread& admin)
    : cfg_(cfg), topics_(topics), metrics_(metrics), admin_(admin) {
  if (const char* every = std::getenv("NOCOPY_FAULT_DROP_PRODUCE_RESPONSE_EVERY")) {
    drop_produce_every_ = std::strtoull(every, nullptr, 10);
    if (drop_produce_every_) spdlog::warn("fault injection on: every {}th produce response is dropped", drop_produce_every_);
  }
}

void RequestHandler::handle(std::span<std::byte> frame, net::EventLoop& loop, Done done) {
  // Group APIs go to GroupsService whole: it decodes them itself, so the
  // frame is still decoded exactly once. Only the api key is peeked here.
  if (groups_) {
    kafka::Reader peek(frame);
    const std::int16_t key = peek.i16();
    if (peek.ok() && is_group_api(key)) {
      metrics_.on_request(key, frame.size() + 4);
      return groups_->handle(frame, "", loop, [this, key, d = std::move(done)](std::optional<buf::Chain> c) {
        if (!c) return d(close_reply("malformed group request"));
        metrics_.on_response(key, c->length());
        d(respond(std::move(*c)));
      });
    }
  }

  kafka::DecodedRequest req = kafka::decode_request(frame);
  if (!req.header_ok) return done(close_reply("truncated request header"));
  const kafka::RequestHeader& h = req.header;
  metrics_.on_request(h.api_key, frame.size() + 4);

  if (req.status == kafka::RequestStatus::unknown_api || (!groups_ && is_group_api(h.api_key)))
    return done(close_reply(fmt::format("unknown API key {}", h.api_key)));
  // ApiVersions is answered whatever its version or body (KIP-511).
  if (h.api_key == static_cast<std::int16_t>(kafka::ApiKey::api_versions)) return api_versions(h, done);
  if (req.status == kafka::RequestStatus::unsupported_version)
    return done(close_reply(fmt::format("unsupported version {} of {}", h.api_version, kafka::api_label(h.api_key))));
  if (req.status != kafka::RequestStatus::ok)
    return done(close_reply(fmt::format("malformed {} request", kafka::api_label(h.api_key))));

  auto wrapped = [this, key = h.api_key, d = std::move(done)](Reply rep) mutable {
    if (rep.kind == Reply::Kind::respond) metrics_.on_response(key, rep.chain.length());
    d(std::move(rep));
  };
  Done cb = std::move(wrapped);
  std::visit(
      [&](auto& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, kafka::MetadataRequest>) metadata(h, body, loop, cb);
        else if constexpr (std::is_same_v<T, kafka::ProduceRequest>) produce(h, body, frame, loop, cb);
        else if constexpr (std::is_same_v<T, kafka::FetchRequest>) fetch(h, body, loop, cb);
        else if constexpr (std::is_same_v<T, kafka::ListOffsetsRequest>) list_offsets(h, body, cb);
        else if constexpr (std::is_same_v<T, kafka::CreateTopicsRequest>) create_topics(h, body, loop, cb);
        else if constexpr (std::is_same_v<T, kafka::DeleteTopicsRequest>) delete_topics(h, body, loop, cb);
        else if constexpr (std::is_same_v<T, kafka::FindCoordinatorRequest>) find_coordinator(h, cb);
        else if constexpr (std::is_same_v<T, kafka::InitProducerIdRequest>) init_producer_id(h, body, cb);
        else if constexpr (std::is_same_v<T, kafka::DescribeConfigsRequest>) describe_configs(h, body, cb);
        else if constexpr (std::is_same_v<T, kafka::CreatePartitionsRequest>) create_partitions(h, body, loop, cb);
        else if constexpr (std::is_same_v<T, kafka::AlterConfigsRequest>) alter_configs(h, body, loop, cb);
        else if constexpr (std::is_same_v<T, kafka::IncrementalAlterConfigsRequest>)
          incremental_alter_configs(h, body, loop, cb);
        else cb(close_reply(fmt::format("unhandled API key {}", h.api_key)));
      },
      req.body);
}

// ---------------------------------------------------------------- ApiVersions

void RequestHandler::api_versions(const Header& h, Done& done) {
  // Unsupported version: UNSUPPORTED_VERSION with ApiVersions' own range,
  // encoded in the v0 layout (encode_response does that).
  kafka::ApiVersionsResponse res = kafka::make_api_versions_response(h.api_version);
  if (!groups_) std::erase_if(res.api_keys, [](const auto& a) { return is_group_api(a.api_key); });
  auto chain = encode(h, res);
  metrics_.on_response(h.api_key, chain.length());
  done(respond(std::move(chain)));
}

// ------------------------------------------------------------------- Metadata

void RequestHandler::metadata(const Header& h, kafka::MetadataRequest& req, net::EventLoop& loop, Done& done) {
  const bool all = req.all_topics(h.api_version);
  std::vector<std::string> names;
  if (req.topics)
    for (auto& t : *req.topics) names.push_back(std::move(t.name));
  const bool allow_auto = req.allow_auto_topic_creation;

  auto encode_md = [this, h, all, names](net::EventLoop&) {
    kafka::MetadataResponse res;
    auto adv = cfg_.advertised_address();
    res.brokers.push_back({cfg_.node_id, adv.host, adv.port, std::nullopt});
    res.cluster_id = "nocopy";
    res.controller_id = cfg_.node_id;
    auto put_topic = [&](std::int16_t error, const std::string& name, const Topic* t) {
      auto& rt = res.topics.emplace_back();
      rt.error_code = error;
      rt.name = name;
      rt.is_internal = name == kOffsetsTopic;
      if (!t) return;
      rt.partitions.reserve(t->partitions.size());
      for (std::size_t i = 0; i < t->partitions.size(); ++i) {
        auto& rp = rt.partitions.emplace_back();
        rp.partition_index = static_cast<std::int32_t>(i);
        rp.leader_id = cfg_.node_id;
        rp.replica_nodes = {cfg_.node_id};
        rp.isr_nodes = {cfg_.node_id};
      }
    };
    if (all) {
      auto list = topics_.list();
      std::erase_if(list, [](const auto& t) { return t->name == kOffsetsTopic; });
      for (auto& t : list) put_topic(code(ErrorCode::none), t->name, t.get());
    } else {
      for (auto& name : names) {
        if (!kafka::is_valid_topic_name(name)) {
          put_topic(code(ErrorCode::invalid_topic_exception), name, nullptr);
          continue;
        }
        auto t = topics_.find(name);
        put_topic(code(t ? ErrorCode::none : ErrorCode::unknown_topic_or_partition), name, t.get());
      }
    }
    return respond(encode(h, res));
  };

  std::vector<std::string> to_create;
  if (!all && allow_auto && cfg_.auto_create_topics)
    for (auto& name : names)
      if (kafka::is_valid_topic_name(name) && !topics_.find(name)) to_create.push_back(name);
  if (to_create.empty()) return done(encode_md(loop));

  admin_.submit([this, to_create, encode_md, &loop, d = std::move(done)]() mutable {
    for (auto& name : to_create) topics_.create(name, cfg_.default_partitions);
    loop.post([encode_md, &loop, d = std::move(d)]() mutable { d(encode_md(loop)); });
  });
}

// -------------------------------------------------------------------- Produce

namespace {

struct FlushWaitEntry {
  std::shared_ptr<Partition> part;
  std::int64_t last = 0;
  std::size_t topic = 0;      // index in ProduceResponse::responses
  std::size_t partition = 0;  // index in that topic's partitions
};

// An acks=-1 produce waiting for its partitions' flushes, on one loop.
struct ProduceWait {
  kafka::ProduceResponse res;
  RequestHandler::Done done;
  kafka::RequestHeader h;
  net::EventLoop* loop = nullptr;
  Metrics* metrics = nullptr;
  net::EventLoop::TimerId timer = 0;
  std::vector<std::pair<std::size_t, std::size_t>> slots;  // entry -> (topic, partition) in res
  std::vector<bool> completed;
  std::size_t left = 0;
  bool answered = false;

  kafka::ProduceResponse::PartitionResponse& slot(std::size_t i) {
    return res.responses[slots[i].first].partitions[slots[i].second];
  }
  void flushed(std::size_t i, std::int16_t error) {
    if (answered || completed[i]) return;
    completed[i] = true;
    if (error != code(ErrorCode::none)) {
      slot(i).error_code = error;
      slot(i).base_offset = -1;
      slot(i).log_append_time_ms = -1;
      metrics->on_produce_error();
    }
    if (--left == 0) {
      loop->cancel(timer);
      answer();
    }
  }
  void expire() {
    if (answered) return;
    for (std::size_t i = 0; i < completed.size(); ++i) {
      if (completed[i]) continue;
      slot(i).error_code = code(ErrorCode::request_timed_out);
      metrics->on_produce_error();
    }
    answer();
  }
  void answer() {
    answered = true;
    metrics->produce_waiting(-1);
    auto d = std::move(done);
    d(respond(encode(h, res)));
  }
};

}  // namespace

void RequestHandler::produce(const Header& h, kafka::ProduceRequest& req, std::span<std::byte> frame,
                             net::EventLoop& loop, Done& done) {
  const auto v = h.api_version;
  const auto acks = req.acks;
  kafka::ProduceResponse res;
  // acks=-1 under a syncing policy: (partition, last appended offset, where
  // its answer is in `res`).
  std::vector<FlushWaitEntry> to_flush;
  res.responses.reserve(req.topics.size());
  for (auto& t : req.topics) {
    auto& tr = res.responses.emplace_back();
    tr.name = std::move(t.name);
    tr.partitions.reserve(t.partitions.size());
    // The topic's own flush policy (its override); its max.message.bytes is
    // the partition's log's to check.
    const auto tcfg = topics_.config_of(tr.name);
    for (auto& p : t.partitions) {
      auto& pr = tr.partitions.emplace_back();
      pr.index = p.index;
      pr.log_start_offset = 0;
      if (v < 3) {
        pr.error_code = code(ErrorCode::unsupported_version);
        continue;
      }
      if (acks != 0 && acks != 1 && acks != -1) {
        pr.error_code = code(ErrorCode::invalid_required_acks);
        continue;
      }
      if (!kafka::is_valid_topic_name(tr.name) || tr.name == kOffsetsTopic) {
        pr.error_code = code(ErrorCode::invalid_topic_exception);
        continue;
      }
      auto part = topics_.find(tr.name, pr.index);
      if (!part) {
        pr.error_code = code(ErrorCode::unknown_topic_or_partition);
        continue;
      }
      pr.log_start_offset = part->log_start_offset();
      const auto records = p.records.bytes;
      if (p.records.is_null || records.empty()) {
        pr.error_code = code(ErrorCode::invalid_record);
        continue;
      }
      // The records are a view into the (writable) request frame: patch in place.
      auto mut = frame.subspan(static_cast<std::size_t>(records.data() - frame.data()), records.size());
      const bool will_wait = acks == -1 && tcfg->flush != FlushMode::never;
      auto ar = part->append(mut, will_wait);
      pr.error_code = ar.error;
      if (ar.error == code(ErrorCode::none)) {
        pr.base_offset = ar.base_offset;
        pr.log_append_time_ms = ar.log_append_time;
        metrics_.on_produce(mut.size());
        if (will_wait)
          to_flush.push_back({part, ar.last_offset, res.responses.size() - 1, tr.partitions.size() - 1});
      }
    }
  }
  if (drop_produce_every_ && (produce_count_.fetch_add(1) + 1) % drop_produce_every_ == 0) {
    spdlog::warn("fault injection: produce appended, response dropped (connection closed)");
    return done(close_reply("fault injection: dropped produce response"));
  }
  for (auto& t : res.responses)
    for (auto& p : t.partitions)
      if (p.error_code) {
        metrics_.on_produce_error();
        spdlog::debug("produce {}-{}: error {}", t.name, p.index, p.error_code);
      }

  if (acks == 0) {
    Reply none;
    none.kind = Reply::Kind::none;
    return done(std::move(none));
  }
  if (to_flush.empty()) return done(respond(encode(h, res)));

  // acks=-1 with a syncing policy: answer once every partition's flushed
  // offset passed what we appended -- or at the request's timeout_ms, with
  // REQUEST_TIMED_OUT for the partitions still waiting (the data stays
  // appended, as in Kafka). A failed flush answers KAFKA_STORAGE_ERROR. The
  // flusher notifies; we never sync here. Flush callbacks and the timer all
  // run on `loop`, so ProduceWait needs no lock.
  auto wait = std::make_shared<ProduceWait>();
  wait->res = std::move(res);
  wait->done = std::move(done);
  wait->h = h;
  wait->loop = &loop;
  wait->metrics = &metrics_;
  wait->left = to_flush.size();
  wait->completed.assign(to_flush.size(), false);
  wait->slots.reserve(to_flush.size());
  for (auto& e : to_flush) wait->slots.emplace_back(e.topic, e.partition);
  metrics_.produce_waiting(1);
  wait->timer = loop.run_after(std::chrono::milliseconds(std::max<std::int32_t>(req.timeout_ms, 0)),
                               [wait] { wait->expire(); });
  for (std::size_t i = 0; i < to_flush.size(); ++i)
    to_flush[i].part->on_flushed(to_flush[i].last, &loop, [wait, i](std::int16_t error) { wait->flushed(i, error); });
}

// ---------------------------------------------------------------------- Fetch

void RequestHandler::fetch(const Header& h, kafka::FetchRequest& in, net::EventLoop& loop, Done& done) {
  FetchReq req;
  req.header = h;
  req.max_wait_ms = in.max_wait_ms;
  req.min_bytes = in.min_bytes;
  req.max_bytes = in.max_bytes;
  req.topics.reserve(in.topics.size());
  for (auto& t : in.topics) {
    auto& rt = req.topics.emplace_back();
    rt.name = std::move(t.topic);
    rt.partitions.reserve(t.partitions.size());
    for (auto& p : t.partitions)
      rt.partitions.push_back({p.partition, p.fetch_offset, p.partition_max_bytes, topics_.find(rt.name, p.partition)});
  }

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

namespace {

// The log answers a timestamp lookup inside uncompressed batches; for a
// compressed one it returns the batch's base offset. Kafka answers the first
// *record* with timestamp >= ts, so look inside that batch: read it (one
// pread of the batch -- ListOffsets by time is rare, and the batch is
// normally in the page cache) and decompress its records (BatchDecompressor).
// Anything unexpected keeps the log's answer.
std::int64_t first_record_at_or_after(const Partition& part, std::int64_t off, std::int64_t ts) {
  if (off < 0) return off;
  auto rr = part.read(off, 1);
  if (rr.error || rr.regions.empty()) return off;
  const buf::FileRegion& reg = rr.regions.front();
  std::array<std::byte, log::kBatchHeaderSize> hdr{};
  if (reg.length < hdr.size()) return off;
  auto n = reg.file->pread_full(hdr, reg.offset);
  if (!n || *n < hdr.size()) return off;
  const log::BatchHeader h = log::parse_batch_header(hdr);
  if (h.base_offset != off || h.compression() == 0 || h.log_append_time() || h.total_size() > reg.length)
    return off;
  // Bounded: no batch above 64 MiB is read or inflated past 256 MiB.
  constexpr std::uint64_t kMaxBatch = 64ull << 20;
  constexpr std::size_t kMaxRecords = 256u << 20;
  if (h.total_size() > kMaxBatch) return off;
  std::vector<std::byte> batch(h.total_size());  // COPY of one batch
  auto m = reg.file->pread_full(batch, reg.offset);
  if (!m || *m < batch.size()) return off;
  return BatchDecompressor::first_offset_at_or_after(batch, ts, kMaxRecords).value_or(off);
}

}  // namespace

void RequestHandler::list_offsets(const Header& h, const kafka::ListOffsetsRequest& req, Done& done) {
  kafka::ListOffsetsResponse res;
  res.topics.reserve(req.topics.size());
  for (auto& t : req.topics) {
    auto& rt = res.topics.emplace_back();
    rt.name = t.name;
    rt.partitions.reserve(t.partitions.size());
    for (auto& p : t.partitions) {
      auto& rp = rt.partitions.emplace_back();
      rp.partition_index = p.partition_index;
      auto part = topics_.find(t.name, p.partition_index);
      if (!part) {
        rp.error_code = code(ErrorCode::unknown_topic_or_partition);
        continue;
      }
      const std::int64_t ts = p.timestamp;
      std::int64_t off;
      if (ts == kafka::kLatestTimestamp)
        off = part->high_watermark();
      else if (ts == kafka::kEarliestTimestamp)
        off = part->log_start_offset();
      else
        off = first_record_at_or_after(*part, part->offset_for_timestamp(ts), ts);
      rp.timestamp = ts < 0 ? -1 : (off >= 0 ? ts : -1);
      rp.offset = off;
    }
  }
  done(respond(encode(h, res)));
}

// ------------------------------------------------------------ InitProducerId

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

void RequestHandler::init_producer_id(const Header& h, const kafka::InitProducerIdRequest& req, Done& done) {
  done(respond(encode(h, producer_ids().init_producer_id(req))));
}

// ------------------------------------------------------------ FindCoordinator

// This single broker coordinates every group. (librdkafka also needs
// FindCoordinator v0 advertised before it sends LZ4-compressed batches.)
void RequestHandler::find_coordinator(const Header& h, Done& done) {
  kafka::FindCoordinatorResponse res;
  auto adv = cfg_.advertised_address();
  res.node_id = cfg_.node_id;
  res.host = adv.host;
  res.port = adv.port;
  done(respond(encode(h, res)));
}

// --------------------------------------------------------- CreateTopics/Delete

void RequestHandler::create_topics(const Header& h, kafka::CreateTopicsRequest& req, net::EventLoop& loop,
                                   Done& done) {
  struct Item {
    std::string name;
    std::int32_t partitions;
    std::int16_t rf;
    TopicConfig::Overrides configs;
    std::string config_error;  // a null value or a name given twice
  };
  std::vector<Item> items;
  items.reserve(req.topics.size());
  for (auto& t : req.topics) {
    const bool has_assignments = !t.assignments.empty();
    Item it{std::move(t.name), has_assignments ? static_cast<std::int32_t>(t.assignments.size()) : t.num_partitions,
            t.replication_factor, {}, {}};
    for (auto& c : t.configs) {
      if (!c.value) {
        if (it.config_error.empty()) it.config_error = "null value for configuration " + c.name;
      } else if (!it.configs.emplace(c.name, std::move(*c.value)).second) {
        if (it.config_error.empty()) it.config_error = "configuration " + c.name + " given more than once";
      }
    }
    items.push_back(std::move(it));
  }
  const bool validate_only = req.validate_only;

  admin_.submit([this, items = std::move(items), validate_only, h, &loop, d = std::move(done)]() mutable {
    kafka::CreateTopicsResponse res;
    for (auto& it : items) {
      std::int16_t ec = code(ErrorCode::none);
      std::string msg;
      auto parts = it.partitions == -1 ? cfg_.default_partitions : it.partitions;
      if (!kafka::is_valid_topic_name(it.name)) {
        ec = code(ErrorCode::invalid_topic_exception);
        msg = "illegal topic name";
      } else if (it.rf != -1 && it.rf != 1) {
        ec = code(ErrorCode::invalid_replication_factor);
        msg = "replication factor must be 1 (single broker)";
      } else if (!it.config_error.empty()) {
        ec = code(ErrorCode::invalid_config);
        msg = it.config_error;
      } else {
        ec = topics_.create(it.name, parts, it.configs, validate_only, &msg);
      }
      auto& r = res.topics.emplace_back();
      r.name = it.name;
      r.error_code = ec;
      if (ec) r.error_message = msg;
    }
    auto reply = respond(encode(h, res));
    loop.post([d = std::move(d), rep = std::make_shared<Reply>(std::move(reply))]() mutable { d(std::move(*rep)); });
  });
}

void RequestHandler::delete_topics(const Header& h, kafka::DeleteTopicsRequest& req, net::EventLoop& loop,
                                   Done& done) {
  admin_.submit([this, names = std::move(req.topic_names), h, &loop, d = std::move(done)]() mutable {
    kafka::DeleteTopicsResponse res;
    for (auto& name : names) res.responses.push_back({name, topics_.remove(name)});
    auto reply = respond(encode(h, res));
    loop.post([d = std::move(d), rep = std::make_shared<Reply>(std::move(reply))]() mutable { d(std::move(*rep)); });
  });
}

// ------------------------------------------------------------ DescribeConfigs

void RequestHandler::describe_configs(const Header& h, const kafka::DescribeConfigsRequest& req, Done& done) {
  done(respond(encode(h, ConfigDescriber(cfg_, topics_).describe(req, h.api_version))));
}

// ------------------------------------------- AlterConfigs / IncrementalAlter

namespace {

std::int16_t refuse(ErrorCode e, std::string* message, std::string text) {
  if (message) *message = std::move(text);
  return kafka::to_wire(e);
}

// cleanup.policy is Kafka's only list-typed topic config nocopy knows.
bool is_list_config(const std::string& name) { return name == "cleanup.policy"; }

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    auto comma = s.find(',', start);
    if (comma == std::string::npos) comma = s.size();
    auto item = s.substr(start, comma - start);
    while (!item.empty() && item.front() == ' ') item.erase(0, 1);
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (!item.empty()) out.push_back(item);
    start = comma + 1;
  }
  return out;
}

}  // namespace

template <class Resp>
void RequestHandler::alter(const Header& h, std::vector<AlterItem> items, bool validate_only, net::EventLoop& loop,
                           Done& done) {
  admin_.submit([this, items = std::move(items), validate_only, h, &loop, d = std::move(done)]() mutable {
    Resp res;
    for (auto& it : items) {
      auto& r = res.responses.emplace_back();
      r.resource_type = it.type;
      r.resource_name = it.name;
      std::string msg;
      switch (static_cast<kafka::ConfigResourceType>(it.type)) {
        case kafka::ConfigResourceType::topic:
          r.error_code = topics_.alter_config(it.name, it.edit, validate_only, &msg);
          break;
        case kafka::ConfigResourceType::broker:
          r.error_code = refuse(ErrorCode::invalid_request, &msg,
                                "broker configs are read-only in nocopy (set them with flags or the TOML file)");
          break;
        default:
          r.error_code = refuse(ErrorCode::invalid_request, &msg, "unsupported resource type " + std::to_string(it.type));
          break;
      }
      if (r.error_code) r.error_message = msg;
    }
    auto reply = respond(encode(h, res));
    loop.post([d = std::move(d), rep = std::make_shared<Reply>(std::move(reply))]() mutable { d(std::move(*rep)); });
  });
}

void RequestHandler::alter_configs(const Header& h, kafka::AlterConfigsRequest& req, net::EventLoop& loop,
                                   Done& done) {
  std::vector<AlterItem> items;
  for (auto& r : req.resources) {
    AlterItem it{r.resource_type, std::move(r.resource_name), {}};
    it.edit = [configs = std::move(r.configs)](TopicConfig::Overrides& o, std::string* message) -> std::int16_t {
      TopicConfig::Overrides next;  // replaces the whole set
      for (const auto& c : configs) {
        if (!c.value) return refuse(ErrorCode::invalid_config, message, "null value for configuration " + c.name);
        if (!next.emplace(c.name, *c.value).second)
          return refuse(ErrorCode::invalid_request, message, "configuration " + c.name + " given more than once");
      }
      o = std::move(next);
      return 0;
    };
    items.push_back(std::move(it));
  }
  alter<kafka::AlterConfigsResponse>(h, std::move(items), req.validate_only, loop, done);
}

void RequestHandler::incremental_alter_configs(const Header& h, kafka::IncrementalAlterConfigsRequest& req,
                                               net::EventLoop& loop, Done& done) {
  std::vector<AlterItem> items;
  for (auto& r : req.resources) {
    AlterItem it{r.resource_type, std::move(r.resource_name), {}};
    it.edit = [ops = std::move(r.configs)](TopicConfig::Overrides& o, std::string* message) -> std::int16_t {
      std::map<std::string, int> seen;
      for (const auto& c : ops)
        if (++seen[c.name] > 1)
          return refuse(ErrorCode::invalid_request, message, "configuration " + c.name + " given more than once");
      for (const auto& c : ops) {
        switch (static_cast<kafka::AlterConfigOp>(c.config_operation)) {
          case kafka::AlterConfigOp::set:
            if (!c.value) return refuse(ErrorCode::invalid_config, message, "null value for configuration " + c.name);
            o[c.name] = *c.value;
            break;
          case kafka::AlterConfigOp::delete_:
            o.erase(c.name);
            break;
          case kafka::AlterConfigOp::append:
          case kafka::AlterConfigOp::subtract: {
            if (!is_list_config(c.name))
              return refuse(ErrorCode::invalid_request, message,
                            "APPEND/SUBTRACT apply to list configurations only, not " + c.name);
            if (!c.value) return refuse(ErrorCode::invalid_config, message, "null value for configuration " + c.name);
            auto cur = o.find(c.name);
            auto list = split_list(cur != o.end() ? cur->second : "delete");
            for (const auto& v : split_list(*c.value)) {
              auto at = std::find(list.begin(), list.end(), v);
              if (static_cast<kafka::AlterConfigOp>(c.config_operation) == kafka::AlterConfigOp::append) {
                if (at == list.end()) list.push_back(v);
              } else if (at != list.end()) {
                list.erase(at);
              }
            }
            std::string joined;
            for (const auto& v : list) joined += (joined.empty() ? "" : ",") + v;
            o[c.name] = joined;  // validated by the registry (only "delete" is implemented)
            break;
          }
          default:
            return refuse(ErrorCode::invalid_request, message,
                          "unknown config operation " + std::to_string(c.config_operation) + " for " + c.name);
        }
      }
      return 0;
    };
    items.push_back(std::move(it));
  }
  alter<kafka::IncrementalAlterConfigsResponse>(h, std::move(items), req.validate_only, loop, done);
}

// ----------------------------------------------------------- CreatePartitions

void RequestHandler::create_partitions(const Header& h, kafka::CreatePartitionsRequest& req, net::EventLoop& loop,
                                       Done& done) {
  struct Item {
    std::string name;
    std::int32_t count = 0;
    std::int16_t error = 0;  // decided here (request-level checks)
    std::string message;
    std::int64_t assignments = -1;  // -1: null (the broker's choice)
  };
  std::vector<Item> items;
  items.reserve(req.topics.size());
  for (auto& t : req.topics) {
    Item it{std::move(t.name), t.count, 0, {}, -1};
    // Single broker: an assignment, if given, names exactly this broker
    // once per new partition. An empty list counts as none (kafkajs sends
    // [] when the caller gives no assignments).
    if (t.assignments && !t.assignments->empty()) {
      it.assignments = static_cast<std::int64_t>(t.assignments->size());
      for (const auto& a : *t.assignments) {
        if (a.broker_ids.size() != 1 || a.broker_ids[0] != cfg_.node_id) {
          it.error = code(ErrorCode::invalid_replica_assignment);
          it.message = "every new partition must be assigned to broker " + std::to_string(cfg_.node_id) + " only";
        }
      }
    }
    items.push_back(std::move(it));
  }
  // A topic named twice is an error for each mention (Kafka).
  for (auto& a : items) {
    const auto n = std::count_if(items.begin(), items.end(), [&](const Item& b) { return b.name == a.name; });
    if (n > 1) {
      a.error = code(ErrorCode::invalid_request);
      a.message = "duplicate topic in the request";
    }
  }
  const bool validate_only = req.validate_only;
  admin_.submit([this, items = std::move(items), validate_only, h, &loop, d = std::move(done)]() mutable {
    kafka::CreatePartitionsResponse res;
    for (auto& it : items) {
      auto& r = res.results.emplace_back();
      r.name = it.name;
      std::string msg = std::move(it.message);
      if (it.error == 0 && it.name == kOffsetsTopic) {
        it.error = code(ErrorCode::invalid_request);
        msg = "the internal topic's partition count is fixed";
      }
      if (it.error == 0 && it.assignments >= 0) {
        // Assignments, when given, cover exactly the new partitions.
        auto t = topics_.find(it.name);
        if (t && it.count > static_cast<std::int32_t>(t->partitions.size()) &&
            it.assignments != it.count - static_cast<std::int64_t>(t->partitions.size())) {
          it.error = code(ErrorCode::invalid_replica_assignment);
          msg = "got " + std::to_string(it.assignments) + " assignments for " +
                std::to_string(it.count - static_cast<std::int64_t>(t->partitions.size())) + " new partitions";
        }
      }
      if (it.error == 0) it.error = topics_.add_partitions(it.name, it.count, validate_only, &msg);
      r.error_code = it.error;
      if (it.error) r.error_message = msg;
    }
    auto reply = respond(encode(h, res));
    loop.post([d = std::move(d), rep = std::make_shared<Reply>(std::move(reply))]() mutable { d(std::move(*rep)); });
  });
}

}  // namespace nocopy::broker
