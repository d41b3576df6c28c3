// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of
// Kafka RecordBatch v2 (bytes 21..end of a batch).
//
// crc32c() picks the fastest implementation the CPU has (checked once at run
// time):
//  * vpclmul_fold (AVX2 + VPCLMULQDQ): inputs of 256 bytes and more are folded
//    128 bytes at a time with carry-less multiplies in 256-bit registers;
//    shorter ones and the tail go to sse42_clmul.
//  * sse42_clmul: three independent streams of the SSE4.2 crc32 instruction
//    (3-cycle latency, 1-cycle throughput) in one round sized to the input,
//    spliced with one PCLMULQDQ each.
//  * sse42_tables: the same three streams in fixed-size rounds spliced with
//    shift tables (CPUs with SSE4.2 but no PCLMULQDQ).
//  * software: table-driven slicing-by-8.
// Every implementation can be called directly for tests and benchmarks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace nocopy::log {

// Extends `crc` (0 for a fresh checksum; pass a previous result to continue)
// over `data`. crc32c("123456789") == 0xE3069283.
std::uint32_t crc32c(std::span<const std::byte> data, std::uint32_t crc = 0) noexcept;

// crc32c(A || B) from crc32c(A), crc32c(B) and B's length alone, without
// B's bytes: zlib's crc32_combine for the Castagnoli polynomial,
// O(log len_b) carry-less multiplies. Because the checksum is affine,
// crc32c(A' || B) == crc32c(A || B) ^ crc32c_combine(crc32c(A) ^ crc32c(A'),
// 0, len_b) for |A'| == |A|: the checksum of a batch whose header changed
// is updated without reading its records.
std::uint32_t crc32c_combine(std::uint32_t crc_a, std::uint32_t crc_b, std::uint64_t len_b) noexcept;

std::uint32_t crc32c_software(std::span<const std::byte> data, std::uint32_t crc = 0) noexcept;
// The best hardware implementation. Precondition: crc32c_hardware_available().
std::uint32_t crc32c_hardware(std::span<const std::byte> data, std::uint32_t crc = 0) noexcept;
bool crc32c_hardware_available() noexcept;

enum class Crc32cImpl : std::uint8_t { software, sse42_tables, sse42_clmul, vpclmul_fold };
bool crc32c_supported(Crc32cImpl impl) noexcept;
// Precondition: crc32c_supported(impl).
std::uint32_t crc32c_with(Crc32cImpl impl, std::span<const std::byte> data, std::uint32_t crc = 0) noexcept;
Crc32cImpl crc32c_best_hardware() noexcept;

}  // namespace nocopy::log
