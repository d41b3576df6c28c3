// libFuzzer target: decode_request() over arbitrary frames (header + body,
// every API and version). Properties checked beyond "no crash / no UB":
// - a frame that decodes re-encodes, and that encoding decodes to a request
//   whose encoding is byte-identical (encode is a fixed point after decode);
// - Produce records views stay inside the input frame.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <variant>

#include "kafka/codec.h"
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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::byte> frame(reinterpret_cast<const std::byte*>(data), size);
  DecodedRequest d = decode_request(frame);
  if (d.status != RequestStatus::ok) {
    check(std::holds_alternative<std::monostate>(d.body));
    return 0;
  }
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
