// Payload: the bytes `nocopy perf produce` puts in every message value, and
// how `nocopy perf consume` reads them back.
//
// Layout (little-endian, 24-byte header, then filler up to the message size):
//
//   | offset | size | field                                              |
//   |--------|------|----------------------------------------------------|
//   | 0      | 4    | magic 0x4E435046 ("NCPF")                          |
//   | 4      | 4    | run id: random per `perf produce` run              |
//   | 8      | 8    | sequence number, dense from 0 within one run       |
//   | 16     | 8    | produce timestamp, CLOCK_REALTIME nanoseconds      |
//   | 24     | ...  | filler bytes (not checked)                         |
//
// The consumer uses (run id, sequence) to count missing and duplicated
// messages, and the timestamp for end-to-end latency. CLOCK_REALTIME is used
// because producer and consumer are different processes.
//
// Thread-safety: pure functions over caller-owned memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace nocopy::perf {

inline constexpr std::uint32_t kPayloadMagic = 0x4E435046;
inline constexpr std::size_t kPayloadHeaderSize = 24;

struct PayloadHeader {
  std::uint32_t run_id = 0;
  std::uint64_t sequence = 0;
  std::uint64_t timestamp_ns = 0;
};

// Writes the header into the first kPayloadHeaderSize bytes of `out`, which
// must be at least that long (precondition). Filler bytes are left as they are.
void encode_payload_header(const PayloadHeader& h, std::span<std::byte> out);

// Reads a header back; nullopt if `in` is too short or the magic is wrong
// (a message this tool did not write).
std::optional<PayloadHeader> decode_payload_header(std::span<const std::byte> in);

// Wall-clock nanoseconds (CLOCK_REALTIME), the timestamp put in payloads.
std::uint64_t realtime_ns();
// Monotonic nanoseconds, for intervals measured inside one process.
std::uint64_t monotonic_ns();

}  // namespace nocopy::perf
