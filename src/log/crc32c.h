// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of
// Kafka RecordBatch v2 (bytes 21..end of a batch).
//
// crc32c() picks the SSE4.2 `crc32` instruction when the CPU has it (checked
// once at run time) and otherwise a table-driven, slicing-by-8 software
// implementation. The hardware path runs three independent streams (the
// instruction has a 3-cycle latency and a 1-cycle throughput) and splices
// them with one carry-less multiply each (PCLMULQDQ) when the CPU has it, or
// with shift tables for fixed stream lengths when not. All variants are
// exposed for tests and benchmarks.
//
// Thread-safety: all functions are pure and may be called from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace nocopy::log {

// Extends `crc` (0 for a fresh checksum; pass a previous result to continue)
// over `data`. crc32c("123456789") == 0xE3069283.
std::uint32_t crc32c(std::span<const std::byte> data, std::uint32_t crc = 0) noexcept;

std::uint32_t crc32c_software(std::span<const std::byte> data, std::uint32_t crc = 0) noexcept;
// Precondition: crc32c_hardware_available().
std::uint32_t crc32c_hardware(std::span<const std::byte> data, std::uint32_t crc = 0) noexcept;
// The SSE4.2 path that splices streams with shift tables (what
// crc32c_hardware() uses on CPUs without PCLMULQDQ). Precondition as above.
std::uint32_t crc32c_hardware_tables(std::span<const std::byte> data, std::uint32_t crc = 0) noexcept;
bool crc32c_hardware_available() noexcept;

}  // namespace nocopy::log
