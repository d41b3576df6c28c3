#include "perf/payload.h"

#include <time.h>

#include <cstring>

namespace nocopy::perf {
namespace {

void put_le(std::byte* p, std::uint64_t v, int n) {
  for (int i = 0; i < n; ++i) p[i] = static_cast<std::byte>((v >> (8 * i)) & 0xff);
}

std::uint64_t get_le(const std::byte* p, int n) {
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i) v |= static_cast<std::uint64_t>(p[i]) << (8 * i);
  return v;
}

std::uint64_t clock_ns(clockid_t id) {
  timespec ts{};
  ::clock_gettime(id, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<std::uint64_t>(ts.tv_nsec);
}

}  // namespace

void encode_payload_header(const PayloadHeader& h, std::span<std::byte> out) {
  std::byte* p = out.data();
  put_le(p, kPayloadMagic, 4);
  put_le(p + 4, h.run_id, 4);
  put_le(p + 8, h.sequence, 8);
  put_le(p + 16, h.timestamp_ns, 8);
}

std::optional<PayloadHeader> decode_payload_header(std::span<const std::byte> in) {
  if (in.size() < kPayloadHeaderSize) return std::nullopt;
  const std::byte* p = in.data();
  if (get_le(p, 4) != kPayloadMagic) return std::nullopt;
  PayloadHeader h;
  h.run_id = static_cast<std::uint32_t>(get_le(p + 4, 4));
  h.sequence = get_le(p + 8, 8);
  h.timestamp_ns = get_le(p + 16, 8);
  return h;
}

std::uint64_t realtime_ns() { return clock_ns(CLOCK_REALTIME); }
std::uint64_t monotonic_ns() { return clock_ns(CLOCK_MONOTONIC); }

}  // namespace nocopy::perf
