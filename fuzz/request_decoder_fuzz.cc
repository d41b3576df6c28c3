// libFuzzer target: decode_request() over arbitrary frames (header + body,
// every API and version) -- the exact function the broker's live request
// path (broker::RequestHandler::handle) calls once per frame. Properties
// checked beyond "no crash / no UB":
// - a frame that decodes re-encodes, and that encoding decodes to a request
//   whose encoding is byte-identical (encode is a fixed point after decode);
// - Produce records views stay inside the input frame (the broker patches
//   baseOffset through them);
// - what the broker then encodes from it: a Fetch response with one splice
//   point per requested partition has a size prefix counting the spliced
//   bytes and ordered splice offsets inside the buffer; an unsupported
//   ApiVersions version gets a v0-layout answer that decodes.
// RequestHandler itself cannot be built here (clang-14 cannot compile
// libstdc++'s <expected>, which the broker's I/O layers use); it is driven
// with mutated client frames by tests/broker/request_mutation_test.cc.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <variant>

#include "kafka/api_versions.h"
#include "kafka/codec.h"
#include "kafka/error_code.h"
#include "kafka/messages.h"
#include "kafka/request.h"

using namespace nocopy::kafka;

namespace {

void check(bool cond) {
  if (!cond) std::abort();
}

std::vector<std::byte> reencode(const DecodedRequest& d) {
  return std::visit(
      [&](const auto& body) -> std::vector<std::byte> {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          return {};
        } else {
          return encode_request(d.header.correlation_id, d.header.api_version, body, d.header.client_id);
        }
      },
      d.body);
}

// Mirrors the broker's encode_fetch: every partition's records are a splice.
void check_fetch_response(const RequestHeader& h, const FetchRequest& req) {
  FetchResponse res;
  std::int32_t index = 0;
  std::uint64_t spliced = 0;
  for (const auto& t : req.topics) {
    auto& rt = res.responses.emplace_back();
    rt.topic = t.topic;
    rt.topic_id = t.topic_id;
    for (const auto& p : t.partitions) {
      auto& rp = rt.partitions.emplace_back();
      rp.partition_index = p.partition;
      rp.high_watermark = p.fetch_offset;
      rp.records.splice_index = index++;
      rp.records.splice_length = static_cast<std::uint32_t>(p.partition_max_bytes) & 0xffffu;
      spliced += rp.records.splice_length;
    }
  }
  EncodedResponse enc = encode_response(h.correlation_id, h.api_version, res);
  check(enc.bytes.size() >= 8);
  std::uint32_t prefix = 0;
  for (int i = 0; i < 4; ++i) prefix = (prefix << 8) | std::to_integer<std::uint32_t>(enc.bytes[static_cast<std::size_t>(i)]);
  check(prefix + 4u == enc.total_size());
  check(enc.total_size() == enc.bytes.size() + spliced);
  check(enc.splices.size() == static_cast<std::size_t>(index));
  std::size_t last = 0;
  for (std::size_t i = 0; i < enc.splices.size(); ++i) {
    check(enc.splices[i].index == i && enc.splices[i].offset >= last && enc.splices[i].offset <= enc.bytes.size());
    last = enc.splices[i].offset;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::byte> frame(reinterpret_cast<const std::byte*>(data), size);
  DecodedRequest d = decode_request(frame);
  if (d.status == RequestStatus::unsupported_version &&
      d.header.api_key == static_cast<std::int16_t>(ApiKey::api_versions)) {
    check(d.header_ok);
    EncodedResponse enc = encode_response(d.header.correlation_id, d.header.api_version,
                                          make_api_versions_response(d.header.api_version));
    ApiVersionsResponse back;
    std::int32_t corr = 0;
    check(decode_response(std::span<const std::byte>(enc.bytes).subspan(4), 0, corr, back) == DecodeError::none);
    check(corr == d.header.correlation_id && back.error_code == to_wire(ErrorCode::unsupported_version));
  }
  if (d.status != RequestStatus::ok) {
    check(std::holds_alternative<std::monostate>(d.body));
    return 0;
  }
  if (const auto* f = std::get_if<FetchRequest>(&d.body)) check_fetch_response(d.header, *f);
  if (const auto* p = std::get_if<ProduceRequest>(&d.body)) {
    for (const auto& t : p->topics) {
      for (const auto& part : t.partitions) {
        const auto& b = part.records.bytes;
        if (!b.empty()) check(b.data() >= frame.data() && b.data() + b.size() <= frame.data() + frame.size());
      }
    }
  }
  std::vector<std::byte> once = reencode(d);
  check(once.size() >= 4);
  DecodedRequest d2 = decode_request(std::span(once).subspan(4));
  check(d2.status == RequestStatus::ok);
  check(d2.body.index() == d.body.index());
  std::vector<std::byte> twice = reencode(d2);
  check(once == twice);
  return 0;
}
