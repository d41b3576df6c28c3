#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <mutex>
#include <thread>

#include "broker/admin_thread.h"
#include "kafka/api_key.h"
#include "kafka/error_code.h"
#include "kafka/reader.h"
#include "kafka/writer.h"
#include "broker/metrics.h"
#include "broker/request_handler.h"
#include "broker/topic_registry.h"
#include "broker_test_util.h"
#include "log/record_batch.h"
#include "net/event_loop.h"
#include "test_node.h"

namespace nocopy::broker {
namespace {

using testing::frame;

constexpr std::int16_t A(kafka::ApiKey k) { return static_cast<std::int16_t>(k); }

class HandlerTest : public testing::NodeTest {
 protected:
  HandlerTest() {
    cfg.max_message_bytes = 10000;
    topics.recover();
  }
  ~HandlerTest() override {
    if (loop_thread.joinable()) {
      loop.stop();
      loop_thread.join();
    }
    admin.stop();
  }

  // Calls handle() on the test thread (loop not running): synchronous paths only.
  Reply call(std::vector<std::byte> f) {
    std::optional<Reply> out;
    handler.handle(f, loop, [&](Reply r) { out = std::move(r); });
    EXPECT_TRUE(out.has_value()) << "handler did not answer synchronously";
    return out ? std::move(*out) : Reply{};
  }
  // Calls handle() on the running loop thread; the future completes with the reply.
  std::future<Reply> call_async(std::vector<std::byte> f) {
    if (!loop_thread.joinable()) loop_thread = std::thread([this] { loop.run(); });
    auto p = std::make_shared<std::promise<Reply>>();
    auto fut = p->get_future();
    auto fr = std::make_shared<std::vector<std::byte>>(std::move(f));
    loop.post([this, p, fr] { handler.handle(*fr, loop, [p](Reply r) { p->set_value(std::move(r)); }); });
    return fut;
  }

  static std::string bytes_of(const Reply& r) {
    auto s = r.chain.to_string_copy();
    EXPECT_TRUE(s.has_value());
    return s ? *s : std::string{};
  }
  static kafka::Reader body_reader(const std::string& s) {
    // size prefix + correlation id
    return kafka::Reader(std::as_bytes(std::span(s.data(), s.size())).subspan(8));
  }

  std::vector<std::byte> produce_frame(const std::string& topic, std::int32_t part, std::vector<std::byte> batch,
                                       std::int16_t acks = 1, std::int32_t timeout_ms = 1000) {
    return produce_frame_n(topic, {{part, std::move(batch)}}, acks, timeout_ms);
  }
  // One topic, several (partition, batch) entries.
  std::vector<std::byte> produce_frame_n(const std::string& topic,
                                         std::vector<std::pair<std::int32_t, std::vector<std::byte>>> parts,
                                         std::int16_t acks, std::int32_t timeout_ms) {
    kafka::Writer w;
    w.nullable_string(std::nullopt);
    w.i16(acks);
    w.i32(timeout_ms);
    w.i32(1);
    w.string(topic);
    w.i32(static_cast<std::int32_t>(parts.size()));
    for (auto& [part, batch] : parts) {
      w.i32(part);
      w.i32(static_cast<std::int32_t>(batch.size()));
      w.raw(batch);
    }
    return frame(A(kafka::ApiKey::produce), 7, 42, w.take_buffer());
  }
  struct PartitionAnswer {
    std::int32_t partition;
    std::int16_t error;
    std::int64_t base_offset;
  };
  std::vector<PartitionAnswer> produce_results(const Reply& r) {
    auto s = bytes_of(r);
    auto rd = body_reader(s);
    std::vector<PartitionAnswer> out;
    EXPECT_EQ(rd.array_length(), 1);
    rd.string();
    auto n = rd.array_length();
    for (std::int32_t i = 0; i < n && rd.ok(); ++i) {
      PartitionAnswer a;
      a.partition = rd.i32();
      a.error = rd.i16();
      a.base_offset = rd.i64();
      rd.i64();  // log_append_time
      rd.i64();  // log_start_offset
      out.push_back(a);
    }
    EXPECT_TRUE(rd.ok());
    return out;
  }
  std::vector<std::byte> fetch_frame(const std::string& topic, std::int64_t offset, std::int32_t max_wait,
                                     std::int32_t min_bytes = 1) {
    kafka::Writer w;
    w.i32(-1);
    w.i32(max_wait);
    w.i32(min_bytes);
    w.i32(1 << 20);
    w.i8(0);
    w.i32(1);
    w.string(topic);
    w.i32(1);
    w.i32(0);
    w.i64(offset);
    w.i32(1 << 20);
    return frame(A(kafka::ApiKey::fetch), 4, 7, w.take_buffer());
  }
  // -> (error, base_offset)
  std::pair<std::int16_t, std::int64_t> produce_result(const Reply& r) {
    auto s = bytes_of(r);
    auto rd = body_reader(s);
    EXPECT_EQ(rd.array_length(), 1);
    rd.string();
    EXPECT_EQ(rd.array_length(), 1);
    rd.i32();
    auto err = rd.i16();
    auto base = rd.i64();
    return {err, base};
  }
  struct FetchResult {
    std::int16_t error;
    std::int64_t hw;
    std::string records;
  };
  FetchResult fetch_result(const Reply& r) {
    auto s = bytes_of(r);
    auto rd = body_reader(s);
    rd.i32();  // throttle
    EXPECT_EQ(rd.array_length(), 1);
    rd.string();
    EXPECT_EQ(rd.array_length(), 1);
    rd.i32();
    FetchResult fr;
    fr.error = rd.i16();
    fr.hw = rd.i64();
    rd.i64();  // lso
    rd.array_length();
    auto recs = rd.nullable_bytes();
    EXPECT_TRUE(rd.ok());
    if (recs) fr.records.assign(reinterpret_cast<const char*>(recs->data()), recs->size());
    return fr;
  }

  Metrics metrics{io::Strategy::sendfile};
  TopicRegistry topics{cfg, &metrics};
  AdminThread admin;
  RequestHandler handler{cfg, topics, metrics, admin};
  net::EventLoop loop;
  std::thread loop_thread;
};

TEST_F(HandlerTest, ApiVersionsV0AndV3AdvertiseOldMinimums) {
  for (std::int16_t v : {0, 3}) {
    std::vector<std::byte> body;
    if (v == 3) {
      kafka::Writer w(true);
      w.uvarint(0);  // header tagged fields
      w.string("client");
      w.string("1.0");
      w.uvarint(0);
      body = w.take_buffer();
    }
    auto s = bytes_of(call(frame(A(kafka::ApiKey::api_versions), v, 1, body)));
    auto r = body_reader(s);  // response header v0 even for v3: no tagged byte
    EXPECT_EQ(r.i16(), kafka::to_wire(kafka::ErrorCode::none));
    r.set_flexible(v == 3);
    auto n = r.array_length();
    bool produce0 = false, fetch4 = false, api0 = false;
    for (int i = 0; i < n; ++i) {
      auto key = r.i16(), min = r.i16(), max = r.i16();
      if (v == 3) r.skip_tagged_fields();
      if (key == A(kafka::ApiKey::produce)) produce0 = min == 0 && max == 13;
      if (key == A(kafka::ApiKey::fetch)) fetch4 = min == 4 && max == 18;
      if (key == A(kafka::ApiKey::api_versions)) api0 = min == 0;
    }
    EXPECT_TRUE(produce0 && fetch4 && api0) << "version " << v;
    EXPECT_TRUE(r.ok());
  }
}

TEST_F(HandlerTest, UnknownApiVersionsVersionAnswersError35) {
  auto s = bytes_of(call(frame(A(kafka::ApiKey::api_versions), 77, 1, {})));
  auto r = body_reader(s);
  EXPECT_EQ(r.i16(), kafka::to_wire(kafka::ErrorCode::unsupported_version));
  EXPECT_GT(r.array_length(), 0);
}

TEST_F(HandlerTest, UnknownApiAndBadVersionsClose) {
  EXPECT_EQ(call(frame(999, 0, 1, {})).kind, Reply::Kind::close);
  EXPECT_EQ(call(frame(A(kafka::ApiKey::metadata), 42, 1, {})).kind, Reply::Kind::close);
  std::vector<std::byte> truncated{std::byte{0}, std::byte{3}};
  EXPECT_EQ(call(truncated).kind, Reply::Kind::close);
}

TEST_F(HandlerTest, ProduceThenFetchServesFileRegions) {
  ASSERT_EQ(topics.create("t", 1), kafka::to_wire(kafka::ErrorCode::none));
  auto batch = log::BatchBuilder().timestamp(1000).add("k1", "v1").add("k2", "v2").build();
  auto [err, base] = produce_result(call(produce_frame("t", 0, batch)));
  EXPECT_EQ(err, kafka::to_wire(kafka::ErrorCode::none));
  EXPECT_EQ(base, 0);
  auto batch2 = log::BatchBuilder().timestamp(2000).add("k3", "v3").build();
  EXPECT_EQ(produce_result(call(produce_frame("t", 0, batch2))).second, 2);

  auto reply = call(fetch_frame("t", 0, 0));
  ASSERT_EQ(reply.kind, Reply::Kind::respond);
  // The record bytes are file regions, not memory: the zero-copy path.
  std::uint64_t file_bytes = 0;
  for (auto& seg : reply.chain.segments())
    if (buf::is_file(seg)) file_bytes += buf::length_of(seg);
  EXPECT_EQ(file_bytes, batch.size() + batch2.size());
  auto fr = fetch_result(reply);
  EXPECT_EQ(fr.error, kafka::to_wire(kafka::ErrorCode::none));
  EXPECT_EQ(fr.hw, 3);
  ASSERT_EQ(fr.records.size(), batch.size() + batch2.size());
  auto recs = log::parse_records(std::as_bytes(std::span(fr.records.data(), batch.size())));
  ASSERT_TRUE(recs);
  ASSERT_EQ(recs->size(), 2u);
  EXPECT_EQ(*(*recs)[1].value, "v2");
  EXPECT_EQ(log::load_be64(reinterpret_cast<const std::byte*>(fr.records.data() + batch.size())), 2);
}

TEST_F(HandlerTest, ProduceErrors) {
  ASSERT_EQ(topics.create("t", 1), kafka::to_wire(kafka::ErrorCode::none));
  auto batch = log::BatchBuilder().add("k", "v").build();
  batch.back() ^= std::byte{1};
  EXPECT_EQ(produce_result(call(produce_frame("t", 0, batch))).first, kafka::to_wire(kafka::ErrorCode::corrupt_message));
  auto big = log::BatchBuilder().add("k", std::string(20000, 'x')).build();
  EXPECT_EQ(produce_result(call(produce_frame("t", 0, big))).first, kafka::to_wire(kafka::ErrorCode::message_too_large));
  auto ok = log::BatchBuilder().add("k", "v").build();
  EXPECT_EQ(produce_result(call(produce_frame("missing", 0, ok))).first, kafka::to_wire(kafka::ErrorCode::unknown_topic_or_partition));
  EXPECT_EQ(produce_result(call(produce_frame("t", 5, ok))).first, kafka::to_wire(kafka::ErrorCode::unknown_topic_or_partition));
  EXPECT_EQ(produce_result(call(produce_frame("../x", 0, ok))).first, kafka::to_wire(kafka::ErrorCode::invalid_topic_exception));
  // Two batches in one partition's records: INVALID_RECORD.
  auto two = ok;
  two.insert(two.end(), ok.begin(), ok.end());
  EXPECT_EQ(produce_result(call(produce_frame("t", 0, two))).first, kafka::to_wire(kafka::ErrorCode::invalid_record));
  // Nothing of the above was stored.
  EXPECT_EQ(topics.find("t", 0)->high_watermark(), 0);
  EXPECT_EQ(call(produce_frame("t", 0, ok, 0)).kind, Reply::Kind::none);  // acks=0: no response
  EXPECT_EQ(topics.find("t", 0)->high_watermark(), 1);
}

TEST_F(HandlerTest, FetchOutOfRangeAndUnknown) {
  ASSERT_EQ(topics.create("t", 1), kafka::to_wire(kafka::ErrorCode::none));
  EXPECT_EQ(fetch_result(call(fetch_frame("t", 5, 0))).error, kafka::to_wire(kafka::ErrorCode::offset_out_of_range));
  EXPECT_EQ(fetch_result(call(fetch_frame("nope", 0, 0))).error, kafka::to_wire(kafka::ErrorCode::unknown_topic_or_partition));
}

TEST_F(HandlerTest, LongPollWakesOnAppend) {
  ASSERT_EQ(topics.create("t", 1), kafka::to_wire(kafka::ErrorCode::none));
  auto t0 = std::chrono::steady_clock::now();
  auto fut = call_async(fetch_frame("t", 0, 10000));
  EXPECT_EQ(fut.wait_for(std::chrono::milliseconds(100)), std::future_status::timeout) << "answered before data";
  auto batch = log::BatchBuilder().add("k", "v").build();
  auto pr = call_async(produce_frame("t", 0, batch));
  ASSERT_EQ(fut.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(waited, std::chrono::seconds(5));
  auto fr = fetch_result(fut.get());
  EXPECT_EQ(fr.error, kafka::to_wire(kafka::ErrorCode::none));
  EXPECT_EQ(fr.records.size(), batch.size());
  EXPECT_EQ(produce_result(pr.get()).first, kafka::to_wire(kafka::ErrorCode::none));
}

TEST_F(HandlerTest, LongPollTimesOutEmpty) {
  ASSERT_EQ(topics.create("t", 1), kafka::to_wire(kafka::ErrorCode::none));
  auto t0 = std::chrono::steady_clock::now();
  auto fut = call_async(fetch_frame("t", 0, 150));
  ASSERT_EQ(fut.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(145));
  auto fr = fetch_result(fut.get());
  EXPECT_EQ(fr.error, kafka::to_wire(kafka::ErrorCode::none));
  EXPECT_TRUE(fr.records.empty());
}

TEST_F(HandlerTest, MetadataAutoCreatesOnTheAdminThread) {
  kafka::Writer w;
  w.i32(2);
  w.string("auto");
  w.string("../bad");
  w.boolean(true);
  auto fut = call_async(frame(A(kafka::ApiKey::metadata), 4, 3, w.take_buffer()));
  ASSERT_EQ(fut.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  auto s = bytes_of(fut.get());
  auto r = body_reader(s);
  r.i32();                      // throttle
  EXPECT_EQ(r.array_length(), 1);  // brokers
  EXPECT_EQ(r.i32(), 0);
  EXPECT_EQ(r.string(), "127.0.0.1");
  EXPECT_EQ(r.i32(), 9999);
  r.nullable_string();
  r.nullable_string();
  EXPECT_EQ(r.i32(), 0);  // controller
  EXPECT_EQ(r.array_length(), 2);
  EXPECT_EQ(r.i16(), kafka::to_wire(kafka::ErrorCode::none));
  EXPECT_EQ(r.string(), "auto");
  EXPECT_TRUE(topics.find("auto"));
  EXPECT_TRUE(std::filesystem::exists(cfg.data_dir / "auto-0"));
}

TEST_F(HandlerTest, RegistryRecoversAndRejectsIllegalNames) {
  ASSERT_EQ(topics.create("keep", 3), kafka::to_wire(kafka::ErrorCode::none));
  EXPECT_EQ(topics.create("keep", 3), kafka::to_wire(kafka::ErrorCode::topic_already_exists));
  EXPECT_EQ(topics.create("../escape", 1), kafka::to_wire(kafka::ErrorCode::invalid_topic_exception));
  EXPECT_EQ(topics.create("a/b", 1), kafka::to_wire(kafka::ErrorCode::invalid_topic_exception));
  EXPECT_EQ(topics.create("zero", 0), kafka::to_wire(kafka::ErrorCode::invalid_partitions));
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "escape-0"));
  auto batch = log::BatchBuilder().add("k", "v").build();
  ASSERT_EQ(topics.find("keep", 2)->append(batch).error, kafka::to_wire(kafka::ErrorCode::none));
  for (auto& p : topics.all_partitions()) p->close();

  TopicRegistry again(cfg, &metrics);
  EXPECT_EQ(again.recover(), 1u);
  auto t = again.find("keep");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->partitions.size(), 3u);
  EXPECT_EQ(again.find("keep", 2)->high_watermark(), 1);
  EXPECT_EQ(again.remove("keep"), kafka::to_wire(kafka::ErrorCode::none));
  EXPECT_FALSE(std::filesystem::exists(cfg.data_dir / "keep-0"));
  EXPECT_EQ(again.remove("keep"), kafka::to_wire(kafka::ErrorCode::unknown_topic_or_partition));
}

// ---------------------------------------------------------------- acks=-1

// A flusher stand-in: hands each flush request's completion to the test.
struct HeldFlushes {
  std::mutex mu;
  std::vector<std::function<void(std::int16_t)>> held;
  std::promise<void> first;
  bool signalled = false;

  Partition::FlushNotifier notifier() {
    return [this](std::int64_t, std::function<void(std::int16_t)> complete) {
      std::lock_guard lock(mu);
      held.push_back(std::move(complete));
      if (!signalled) {
        signalled = true;
        first.set_value();
      }
    };
  }
  void complete_all(std::int16_t error) {
    std::vector<std::function<void(std::int16_t)>> fs;
    {
      std::lock_guard lock(mu);
      fs.swap(held);
    }
    for (auto& f : fs) f(error);
  }
};

TEST_F(HandlerTest, AcksAllWaitsForTheFlushNotification) {
  cfg.flush = FlushMode::every;
  ASSERT_EQ(topics.create("t", 1), kafka::to_wire(kafka::ErrorCode::none));
  HeldFlushes flushes;
  topics.find("t", 0)->set_flush_notifier_for_testing(flushes.notifier());
  auto fut = call_async(produce_frame("t", 0, log::BatchBuilder().add("k", "v").build(), -1, 10000));
  ASSERT_EQ(flushes.first.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(fut.wait_for(std::chrono::milliseconds(100)), std::future_status::timeout) << "answered before the flush";
  flushes.complete_all(0);
  ASSERT_EQ(fut.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  auto [err, base] = produce_result(fut.get());
  EXPECT_EQ(err, kafka::to_wire(kafka::ErrorCode::none));
  EXPECT_EQ(base, 0);
}

TEST_F(HandlerTest, AcksAllTimesOutWhenTheFlushDoesNotReportInTime) {
  cfg.flush = FlushMode::every;
  ASSERT_EQ(topics.create("t", 2), kafka::to_wire(kafka::ErrorCode::none));
  HeldFlushes slow;
  topics.find("t", 1)->set_flush_notifier_for_testing(slow.notifier());  // partition 0: the real flusher
  auto calls = std::make_shared<std::atomic<int>>(0);
  auto p = std::make_shared<std::promise<Reply>>();
  auto fut = p->get_future();
  auto f = std::make_shared<std::vector<std::byte>>(produce_frame_n(
      "t", {{0, log::BatchBuilder().add("a", "1").build()}, {1, log::BatchBuilder().add("b", "2").build()}}, -1, 200));
  loop_thread = std::thread([this] { loop.run(); });
  const auto t0 = std::chrono::steady_clock::now();
  loop.post([this, f, p, calls] {
    handler.handle(*f, loop, [p, calls](Reply r) {
      if (calls->fetch_add(1) == 0) p->set_value(std::move(r));
    });
  });
  ASSERT_EQ(fut.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(195));
  auto answers = produce_results(fut.get());
  ASSERT_EQ(answers.size(), 2u);
  EXPECT_EQ(answers[0].partition, 0);
  EXPECT_EQ(answers[0].error, kafka::to_wire(kafka::ErrorCode::none));
  EXPECT_EQ(answers[0].base_offset, 0);
  EXPECT_EQ(answers[1].partition, 1);
  EXPECT_EQ(answers[1].error, kafka::to_wire(kafka::ErrorCode::request_timed_out));
  // The data stays appended, as in Kafka.
  EXPECT_EQ(topics.find("t", 1)->high_watermark(), 1);
  // A late flush report does not answer a second time.
  slow.complete_all(0);
  std::promise<void> drained;
  loop.post([&] { drained.set_value(); });
  drained.get_future().wait();
  EXPECT_EQ(calls->load(), 1);
}

TEST_F(HandlerTest, AcksAllAnswersStorageErrorWhenTheFlushFails) {
  cfg.flush = FlushMode::every;
  ASSERT_EQ(topics.create("t", 1), kafka::to_wire(kafka::ErrorCode::none));
  HeldFlushes failing;
  topics.find("t", 0)->set_flush_notifier_for_testing(failing.notifier());
  auto fut = call_async(produce_frame("t", 0, log::BatchBuilder().add("k", "v").build(), -1, 10000));
  ASSERT_EQ(failing.first.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
  failing.complete_all(kafka::to_wire(kafka::ErrorCode::kafka_storage_error));
  ASSERT_EQ(fut.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  auto [err, base] = produce_result(fut.get());
  EXPECT_EQ(err, 56);
  EXPECT_EQ(base, -1);
}

TEST_F(HandlerTest, AcksAllWithTheRealFlusherSucceeds) {
  cfg.flush = FlushMode::every;
  ASSERT_EQ(topics.create("t", 1), kafka::to_wire(kafka::ErrorCode::none));
  auto fut = call_async(produce_frame("t", 0, log::BatchBuilder().add("k", "v").build(), -1, 10000));
  ASSERT_EQ(fut.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  auto [err, base] = produce_result(fut.get());
  EXPECT_EQ(err, kafka::to_wire(kafka::ErrorCode::none));
  EXPECT_EQ(base, 0);
  EXPECT_GE(topics.find("t", 0)->flushed_offset(), 1);
}

}  // namespace
}  // namespace nocopy::broker
