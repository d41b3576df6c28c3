// Helpers shared by the request handlers of src/broker/handlers/: turning an
// encoded response into a Reply, and handing a Reply built on the admin
// thread back to the request's loop. Internal to the broker layer.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "broker/request_handler.h"
#include "buf/chain.h"
#include "kafka/codec.h"
#include "kafka/error_code.h"
#include "kafka/request.h"
#include "kafka/request_header.h"
#include "net/event_loop.h"

namespace nocopy::broker::handlers {

using kafka::ErrorCode;
constexpr std::int16_t code(ErrorCode c) { return kafka::to_wire(c); }

// The cluster id every broker answers (Metadata, DescribeCluster) and checks
// ApiVersions v5 against.
inline constexpr const char* kClusterId = "nocopy";

// An encoded response as a chain: the encoded bytes (one Buffer, sliced at
// the splice points, never copied) with regions[i] inserted at splice i.
buf::Chain to_chain(kafka::EncodedResponse enc, const std::vector<std::vector<buf::FileRegion>>& regions = {});

template <class Msg>
buf::Chain encode(const kafka::RequestHeader& h, const Msg& m) {
  return to_chain(kafka::encode_response(h.correlation_id, h.api_version, m));
}

inline Reply respond(buf::Chain c) {
  Reply r;
  r.kind = Reply::Kind::respond;
  r.chain = std::move(c);
  return r;
}

inline Reply close_reply(std::string why) {
  Reply r;
  r.kind = Reply::Kind::close;
  r.reason = std::move(why);
  return r;
}

// From the admin thread: answers `d` with `reply` on `loop`'s thread.
inline void post_reply(net::EventLoop& loop, RequestHandler::Done d, Reply reply) {
  loop.post([d = std::move(d), rep = std::make_shared<Reply>(std::move(reply))]() mutable { d(std::move(*rep)); });
}

}  // namespace nocopy::broker::handlers
