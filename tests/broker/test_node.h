// A broker "process" for the unit tests: registry, request handler, groups
// and a running event loop over a Config's data dir.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <span>
#include <thread>
#include <vector>

#include "broker/admin_thread.h"
#include "broker/groups_service.h"
#include "broker/metrics.h"
#include "broker/request_handler.h"
#include "broker/topic_registry.h"
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

  template <class Req>
  Reply send(std::int16_t version, const Req& req) {
    auto f = std::make_shared<std::vector<std::byte>>(kafka::encode_request(11, version, req, "unit"));
    auto p = std::make_shared<std::promise<Reply>>();
    loop.post([this, f, p] {
      handler.handle(std::span(*f).subspan(4), loop, [p](Reply r) { p->set_value(std::move(r)); });
    });
    auto fut = p->get_future();
    EXPECT_EQ(fut.wait_for(std::chrono::seconds(20)), std::future_status::ready);
    return fut.get();
  }
  // Request -> decoded response of the same API at that version.
  template <class Resp, class Req>
  Resp call(std::int16_t version, const Req& req) {
    Reply r = send(version, req);
    EXPECT_EQ(r.kind, Reply::Kind::respond) << r.reason;
    auto s = r.chain.to_string_copy();
    EXPECT_TRUE(s.has_value());
    Resp out;
    std::int32_t corr = 0;
    auto frame = std::as_bytes(std::span(s->data(), s->size())).subspan(4);
    EXPECT_EQ(kafka::decode_response(frame, version, corr, out), kafka::DecodeError::none);
    EXPECT_EQ(corr, 11);
    return out;
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

}  // namespace nocopy::broker::testing
