// A broker "process" for the unit tests: registry, request handler, groups
// and a running event loop over a Config's data dir.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "broker/admin_thread.h"
#include "broker/groups_service.h"
#include "broker/metrics.h"
#include "broker/request_handler.h"
#include "broker/topic_registry.h"
#include "broker_test_util.h"
#include "kafka/codec.h"
#include "kafka/messages.h"
#include "net/event_loop.h"

namespace nocopy::broker::testing {

// One broker "process": registry, handler, groups and a running loop over
// cfg.data_dir. Destroying it is a clean shutdown.
struct Node {
  explicit Node(const Config& c) : cfg(c) {
    topics.recover();
    groups = std::make_unique<GroupsService>(cfg, topics);
    handler.set_groups(groups.get());
    loop_thread = std::thread([this] { loop.run(); });
  }
  ~Node() {
    groups->stop();
    loop.stop();
    loop_thread.join();
    admin.stop();
    for (auto& p : topics.all_partitions()) {
      p->flush();
      p->close();
    }
  }

  // Hands `req` to the handler on the loop thread; the future holds its reply.
  template <class Req>
  std::future<Reply> post(std::int16_t version, const Req& req) {
    auto f = std::make_shared<std::vector<std::byte>>(kafka::encode_request(11, version, req, "unit"));
    auto p = std::make_shared<std::promise<Reply>>();
    loop.post([this, f, p] {
      handler.handle(std::span(*f).subspan(4), loop, [p](Reply r) { p->set_value(std::move(r)); });
    });
    return p->get_future();
  }
  template <class Req>
  Reply send(std::int16_t version, const Req& req) {
    auto fut = post(version, req);
    EXPECT_EQ(fut.wait_for(std::chrono::seconds(20)), std::future_status::ready);
    return fut.get();
  }
  // A reply to a request of correlation id 11 -> its response at that version.
  template <class Resp>
  static Resp decode(std::int16_t version, const Reply& r) {
    EXPECT_EQ(r.kind, Reply::Kind::respond) << r.reason;
    auto s = r.chain.to_string_copy();
    EXPECT_TRUE(s.has_value());
    Resp out;
    if (!s) return out;
    std::int32_t corr = 0;
    auto frame = std::as_bytes(std::span(s->data(), s->size())).subspan(4);
    EXPECT_EQ(kafka::decode_response(frame, version, corr, out), kafka::DecodeError::none);
    EXPECT_EQ(corr, 11);
    return out;
  }
  // Request -> decoded response of the same API at that version.
  template <class Resp, class Req>
  Resp call(std::int16_t version, const Req& req) {
    return decode<Resp>(version, send(version, req));
  }

  const Config& cfg;
  Metrics metrics{io::Strategy::sendfile};
  TopicRegistry topics{cfg, &metrics};
  AdminThread admin;
  RequestHandler handler{cfg, topics, metrics, admin};
  std::unique_ptr<GroupsService> groups;
  net::EventLoop loop;
  std::thread loop_thread;
};

// A Produce request (acks 1, 1 s timeout) of `records` for one partition of
// `topic`; `topic_id` names the topic at v13+.
inline kafka::ProduceRequest produce_request(const std::string& topic, std::int32_t partition,
                                             std::span<const std::byte> records, const kafka::Uuid& topic_id = {}) {
  kafka::ProduceRequest r;
  r.acks = 1;
  r.timeout_ms = 1000;
  auto& t = r.topics.emplace_back();
  t.name = topic;
  t.topic_id = topic_id;
  auto& p = t.partitions.emplace_back();
  p.index = partition;
  p.records.bytes = records;
  return r;
}

// A test with a temporary data dir and a Config over it for Nodes: listener
// 127.0.0.1:9999, no initial rebalance delay.
class NodeTest : public ::testing::Test {
 protected:
  NodeTest() {
    cfg.data_dir = dir.path() / "data";
    cfg.listen = HostPort::parse("127.0.0.1:9999");
    cfg.group_initial_rebalance_delay_ms = 0;
  }
  TempDir dir;
  Config cfg;
};

}  // namespace nocopy::broker::testing
