#include "log/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <nmmintrin.h>
#include <immintrin.h>
#include <wmmintrin.h>
#define NOCOPY_CRC32C_X86 1
#endif

namespace nocopy::log {
namespace {

constexpr std::uint32_t kPoly = 0x82F63B78u;  // reflected Castagnoli

// tables[k][b]: CRC of byte b followed by k zero bytes (slicing-by-8).
using Tables = std::array<std::array<std::uint32_t, 256>, 8>;

constexpr Tables make_tables() {
  Tables t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1u) ? (c >> 1) ^ kPoly : c >> 1;
    t[0][i] = c;
  }
  for (std::uint32_t i = 0; i < 256; ++i) {
    for (std::size_t k = 1; k < 8; ++k) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xFFu];
  }
  return t;
}

constexpr Tables kTables = make_tables();

// Software CRC of the raw register `crc` over `n` zero bytes: the linear
// operator used to splice independently computed streams together.
std::uint32_t shift_zeros_slow(std::uint32_t crc, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) crc = (crc >> 8) ^ kTables[0][crc & 0xFFu];
  return crc;
}

// shift(x) == shift_zeros_slow(x, N) for every x, as four byte-indexed tables
// (the operator is linear over GF(2), so it is the XOR of its values on the
// bytes of x).
struct ShiftTable {
  std::array<std::array<std::uint32_t, 256>, 4> t{};
  explicit ShiftTable(std::size_t n) {
    std::array<std::uint32_t, 32> basis{};
    for (int b = 0; b < 32; ++b) basis[b] = shift_zeros_slow(1u << b, n);
    for (int k = 0; k < 4; ++k) {
      for (std::uint32_t v = 0; v < 256; ++v) {
        std::uint32_t r = 0;
        for (int b = 0; b < 8; ++b) {
          if ((v >> b) & 1u) r ^= basis[8 * k + b];
        }
        t[k][v] = r;
      }
    }
  }
  std::uint32_t operator()(std::uint32_t x) const noexcept {
    return t[0][x & 0xFF] ^ t[1][(x >> 8) & 0xFF] ^ t[2][(x >> 16) & 0xFF] ^ t[3][x >> 24];
  }
};

#if NOCOPY_CRC32C_X86
constexpr std::size_t kLong = 8192;  // bytes per stream in the long 3-way loop
constexpr std::size_t kShort = 256;  // ... in the short one

const ShiftTable& shift_long() {
  static const ShiftTable t(kLong);
  return t;
}
const ShiftTable& shift_short() {
  static const ShiftTable t(kShort);
  return t;
}

// One word of three crc32 streams: the 8 bytes at p, p+block and p+2 block.
__attribute__((target("sse4.2"), always_inline)) inline void word_3way(const unsigned char* p, std::size_t block,
                                                                       std::uint64_t& c0, std::uint64_t& c1,
                                                                       std::uint64_t& c2) {
  std::uint64_t a, b, d;
  std::memcpy(&a, p, 8);
  std::memcpy(&b, p + block, 8);
  std::memcpy(&d, p + 2 * block, 8);
  c0 = _mm_crc32_u64(c0, a);
  c1 = _mm_crc32_u64(c1, b);
  c2 = _mm_crc32_u64(c2, d);
}

// Runs three crc32 streams over [p, p+block), [p+block, p+2 block) and
// [p+2 block, p+3 block) (block a multiple of 8); c1 and c2 start at 0. The
// caller splices the three registers.
__attribute__((target("sse4.2"), always_inline)) inline void streams_3way(const unsigned char* p, std::size_t block,
                                                                          std::uint64_t& c0, std::uint64_t& c1,
                                                                          std::uint64_t& c2) {
  const unsigned char* end = p + block;
  do {
    word_3way(p, block, c0, c1, c2);
    p += 8;
  } while (p < end);
}

// The crc32 instruction over what the wide loops leave: 8 bytes at a time,
// then byte by byte.
__attribute__((target("sse4.2"), always_inline)) inline std::uint32_t crc_tail(const unsigned char* p,
                                                                                std::size_t n, std::uint64_t c) {
  while (n >= 8) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    c = _mm_crc32_u64(c, v);
    p += 8;
    n -= 8;
  }
  while (n > 0) {
    c = _mm_crc32_u8(static_cast<std::uint32_t>(c), *p++);
    --n;
  }
  return static_cast<std::uint32_t>(c);
}

// Three independent crc32 streams hide the instruction's 3-cycle latency;
// their results are spliced with the shift tables.
__attribute__((target("sse4.2"))) std::uint64_t crc_3way(const unsigned char*& p, std::size_t& n,
                                                         std::uint64_t c0, std::size_t block,
                                                         const ShiftTable& shift) {
  while (n >= 3 * block) {
    std::uint64_t c1 = 0, c2 = 0;
    streams_3way(p, block, c0, c1, c2);
    c0 = shift(static_cast<std::uint32_t>(c0)) ^ c1;
    c0 = shift(static_cast<std::uint32_t>(c0)) ^ c2;
    p += 3 * block;
    n -= 3 * block;
  }
  return c0;
}

// --- combining streams with a carry-less multiply ---------------------------
//
// Notation: a 32-bit CRC register r holds the polynomial sum r_i x^(31-i)
// (bit 0 is the highest power: the "reflected" layout), and the crc32
// instruction computes crc32_u64(r, v) = (r x^32 + v) x^32 mod P, with the 64
// data bits v_k standing for v_k x^(63-k). Running a stream over n zero bytes
// multiplies its register by x^(8n) mod P. A carry-less product of two
// registers a, b read back in the 64-bit layout is a*b*x, so
// crc32_u64(0, clmul(a, x^(8n-33) mod P)) == a * x^(8n) mod P: one multiply
// and one crc32 instead of the 4-table lookup above, and it works for any n.
//
// kMaxBlock bounds the bytes per stream of one 3-way round; shift constants
// exist for every multiple of 8 bytes up to 2 * kMaxBlock.
constexpr std::size_t kMaxBlock = 8192;
constexpr std::size_t kMinBlock = 64;  // below 3 * kMinBlock bytes one stream is as fast

// kXPow[m] = x^(64m - 33) mod P (reflected), m in [1, 2 * kMaxBlock / 8].
using ShiftConstants = std::array<std::uint32_t, 2 * kMaxBlock / 8 + 1>;
constexpr ShiftConstants make_shift_constants() {
  ShiftConstants k{};
  std::uint32_t r = 1;  // x^31
  k[1] = r;
  for (std::size_t m = 2; m < k.size(); ++m) {
    for (int i = 0; i < 64; ++i) r = (r >> 1) ^ ((r & 1u) != 0 ? kPoly : 0u);  // times x
    k[m] = r;
  }
  return k;
}
// Computed at compile time: no initialization guard on the hot path.
constexpr ShiftConstants kShiftConstants = make_shift_constants();
const ShiftConstants& shift_constants() { return kShiftConstants; }

// a * x^(8 * bytes) mod P. Precondition: bytes is a multiple of 8 in [8, 2 * kMaxBlock].
__attribute__((target("sse4.2,pclmul"))) inline std::uint64_t shift_clmul(std::uint64_t a, std::size_t bytes,
                                                                          const ShiftConstants& k) {
  __m128i prod = _mm_clmulepi64_si128(_mm_cvtsi64_si128(static_cast<long long>(a)),
                                      _mm_cvtsi32_si128(static_cast<int>(k[bytes / 8])), 0);
  return _mm_crc32_u64(0, static_cast<std::uint64_t>(_mm_cvtsi128_si64(prod)));
}

// One 3-way round over 3 * block bytes; streams 1 and 2 start from 0 and
// the three registers are spliced with two independent multiplies.
__attribute__((target("sse4.2,pclmul"))) inline std::uint64_t round_3way_clmul(const unsigned char* p,
                                                                               std::size_t block,
                                                                               std::uint64_t c0,
                                                                               const ShiftConstants& k) {
  std::uint64_t c1 = 0, c2 = 0;
  streams_3way(p, block, c0, c1, c2);
  return shift_clmul(c0, 2 * block, k) ^ shift_clmul(c1, block, k) ^ c2;
}

__attribute__((target("sse4.2,pclmul"))) std::uint32_t crc_clmul(const unsigned char* p, std::size_t n,
                                                                 std::uint32_t crc) {
  const ShiftConstants& k = shift_constants();
  std::uint64_t c = crc;
  while (n >= 3 * kMaxBlock) {
    c = round_3way_clmul(p, kMaxBlock, c, k);
    p += 3 * kMaxBlock;
    n -= 3 * kMaxBlock;
  }
  if (n >= 3 * kMinBlock) {
    // One round sized to what is left: at most 23 bytes remain after it.
    const std::size_t block = n / 24 * 8;
    c = round_3way_clmul(p, block, c, k);
    p += 3 * block;
    n -= 3 * block;
  }
  return crc_tail(p, n, c);
}

// --- folding 256-bit lanes with VPCLMULQDQ ---------------------------------
//
// For long inputs the crc32 instruction (8 bytes per cycle at best) is
// outrun by folding: keep 128 bytes of message in four 256-bit registers
// (eight 16-byte chunks) and, for each further 128 bytes, replace every
// chunk R by a 16-byte value congruent to R * x^(8*128) mod P, XORed with
// the chunk 128 bytes later. With R = L x^64 + H (L: its first 8 bytes) and
// the carry-less product reading back as a*b*x^33 (same layout as above):
//   R x^(8d) == clmul(L, x^(8d+31) mod P) ^ clmul(H, x^(8d-33) mod P).
// At the end the chunks are folded into one (d = 16) and the crc32
// instruction reduces those 16 bytes and the tail; the initial register is
// XORed into the first 4 bytes (the same thing for a reflected CRC).

// x^e mod P, reflected (bit 0 = x^31). Precondition: e >= 31.
constexpr std::uint32_t xpow_mod(unsigned e) {
  std::uint32_t r = 1;  // x^31
  for (unsigned i = 31; i < e; ++i) r = (r >> 1) ^ ((r & 1u) != 0 ? kPoly : 0u);
  return r;
}
constexpr std::uint64_t kFold128L = xpow_mod(8 * 128 + 31), kFold128H = xpow_mod(8 * 128 - 33);
constexpr std::uint64_t kFold16L = xpow_mod(8 * 16 + 31), kFold16H = xpow_mod(8 * 16 - 33);

__attribute__((target("avx2,vpclmulqdq,pclmul,sse4.2"))) inline __m128i fold16(__m128i r, __m128i k) {
  return _mm_xor_si128(_mm_clmulepi64_si128(r, k, 0x00), _mm_clmulepi64_si128(r, k, 0x11));
}

__attribute__((target("avx2,vpclmulqdq,pclmul,sse4.2"))) inline __m256i load256(const unsigned char* q) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q));
}

// Two chunks R (one per 128-bit lane) moved 128 bytes on and XORed with the data there.
__attribute__((target("avx2,vpclmulqdq,pclmul,sse4.2"))) inline __m256i fold128(__m256i y, __m256i k,
                                                                               const unsigned char* q) {
  return _mm256_xor_si256(
      _mm256_xor_si256(_mm256_clmulepi64_epi128(y, k, 0x00), _mm256_clmulepi64_epi128(y, k, 0x11)), load256(q));
}

// The eight 16-byte chunks of y0..y3, in message order, folded one into the
// next and reduced by the crc32 instruction: the register after them.
__attribute__((target("avx2,vpclmulqdq,pclmul,sse4.2"))) inline std::uint32_t reduce_chunks(__m256i y0, __m256i y1,
                                                                                           __m256i y2, __m256i y3) {
  const __m128i k16 = _mm_set_epi64x(static_cast<long long>(kFold16H), static_cast<long long>(kFold16L));
  __m128i r = _mm256_castsi256_si128(y0);
  r = _mm_xor_si128(fold16(r, k16), _mm256_extracti128_si256(y0, 1));
  r = _mm_xor_si128(fold16(r, k16), _mm256_castsi256_si128(y1));
  r = _mm_xor_si128(fold16(r, k16), _mm256_extracti128_si256(y1, 1));
  r = _mm_xor_si128(fold16(r, k16), _mm256_castsi256_si128(y2));
  r = _mm_xor_si128(fold16(r, k16), _mm256_extracti128_si256(y2, 1));
  r = _mm_xor_si128(fold16(r, k16), _mm256_castsi256_si128(y3));
  r = _mm_xor_si128(fold16(r, k16), _mm256_extracti128_si256(y3, 1));
  std::uint64_t c = _mm_crc32_u64(0, static_cast<std::uint64_t>(_mm_cvtsi128_si64(r)));
  c = _mm_crc32_u64(c, static_cast<std::uint64_t>(_mm_extract_epi64(r, 1)));
  return static_cast<std::uint32_t>(c);
}

// Folding alone is no faster than three crc32 streams on every core (AMD
// Zen 3 issues a 256-bit carry-less multiply about every other cycle), but
// the two use different execution units. A fused round therefore folds a
// first part of its bytes while three crc32 streams run over the rest, in
// the same loop, and splices the four registers at the end: a round of
// `iters` iterations folds 128 * iters bytes while three crc32 streams of
// 8 * W * iters bytes each run beside it. W sets the split: how
// many crc32 words per 128 folded bytes keep both units busy. Measured on
// the Zen 3 these figures come from (bench_log's BM_Crc32c/impl:3):
// W = 8 is 17 % faster than 5 on 16 KiB.
template <std::size_t W>
__attribute__((target("avx2,vpclmulqdq,pclmul,sse4.2"))) std::uint32_t fused_round(const unsigned char* p,
                                                                                   std::size_t iters,
                                                                                   std::uint32_t crc,
                                                                                   const ShiftConstants& k) {
  const __m256i k128 = _mm256_set_epi64x(static_cast<long long>(kFold128H), static_cast<long long>(kFold128L),
                                         static_cast<long long>(kFold128H), static_cast<long long>(kFold128L));
  const std::size_t block = 8 * W * iters;
  const unsigned char* f = p;
  const unsigned char* s = p + 128 * iters;
  __m256i y0 = _mm256_xor_si256(load256(f), _mm256_zextsi128_si256(_mm_cvtsi32_si128(static_cast<int>(crc))));
  __m256i y1 = load256(f + 32), y2 = load256(f + 64), y3 = load256(f + 96);
  f += 128;
  std::uint64_t c0 = 0, c1 = 0, c2 = 0;
  for (std::size_t it = 0; it < iters; ++it) {
    if (it + 1 < iters) {
      y0 = fold128(y0, k128, f);
      y1 = fold128(y1, k128, f + 32);
      y2 = fold128(y2, k128, f + 64);
      y3 = fold128(y3, k128, f + 96);
      f += 128;
    }
    for (std::size_t w = 0; w < W; ++w, s += 8) word_3way(s, block, c0, c1, c2);
  }
  const std::uint64_t folded = reduce_chunks(y0, y1, y2, y3);
  return static_cast<std::uint32_t>(shift_clmul(folded, 3 * block, k) ^ shift_clmul(c0, 2 * block, k) ^
                                    shift_clmul(c1, block, k) ^ c2);
}

// Fused rounds of width W over as much of [p, p+n) as they cover; the
// longest round is the longest whose splice distances have shift constants.
template <std::size_t W>
__attribute__((target("avx2,vpclmulqdq,pclmul,sse4.2"))) std::uint32_t fused_rounds(const unsigned char*& p,
                                                                                    std::size_t& n,
                                                                                    std::uint32_t crc) {
  constexpr std::size_t kPerIter = 128 + 3 * 8 * W;
  constexpr std::size_t kMaxIters = 2 * kMaxBlock / (3 * 8 * W);
  const ShiftConstants& k = shift_constants();
  while (n >= kPerIter) {
    const std::size_t iters = std::min(kMaxIters, n / kPerIter);
    crc = fused_round<W>(p, iters, crc, k);
    p += iters * kPerIter;
    n -= iters * kPerIter;
  }
  return crc;
}

// Below this, three crc32 streams alone: fused rounds on short inputs were
// a little faster in BM_Crc32c, but slower inside the append benchmark
// (1 KiB: 0.91 -> 0.86 of raw pwrite), where the fold's and the splices'
// constants are cold after every pwrite.
constexpr std::size_t kFuseMin = 7936;

__attribute__((target("avx2,vpclmulqdq,pclmul,sse4.2"))) std::uint32_t crc_vpclmul(const unsigned char* p,
                                                                                   std::size_t n,
                                                                                   std::uint32_t crc) {
  if (n >= kFuseMin) crc = fused_rounds<8>(p, n, crc);
  return crc_clmul(p, n, crc);
}

__attribute__((target("sse4.2"))) std::uint32_t crc_sse42(const unsigned char* p, std::size_t n,
                                                          std::uint32_t crc) {
  std::uint64_t c = crc;
  // Align to 8 bytes so the 64-bit loads below are aligned (faster on older cores).
  while (n > 0 && (reinterpret_cast<std::uintptr_t>(p) & 7u) != 0) {
    c = _mm_crc32_u8(static_cast<std::uint32_t>(c), *p++);
    --n;
  }
  c = crc_3way(p, n, c, kLong, shift_long());
  c = crc_3way(p, n, c, kShort, shift_short());
  return crc_tail(p, n, c);
}

bool detect_sse42() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0) return false;
  return (ecx & bit_SSE4_2) != 0;
}

bool detect_vpclmul() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("sse4.2") && __builtin_cpu_supports("pclmul") &&
         __builtin_cpu_supports("avx2") && __builtin_cpu_supports("vpclmulqdq");
}

bool detect_pclmul() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0) return false;
  return (ecx & bit_SSE4_2) != 0 && (ecx & bit_PCLMUL) != 0;
}
#endif

}  // namespace

std::uint32_t crc32c_software(std::span<const std::byte> data, std::uint32_t crc) noexcept {
  auto p = reinterpret_cast<const unsigned char*>(data.data());
  std::size_t n = data.size();
  std::uint32_t c = ~crc;
  while (n >= 8) {
    std::uint32_t lo;
    std::uint32_t hi;
    std::memcpy(&lo, p, 4);
    std::memcpy(&hi, p + 4, 4);
    // Little-endian host assumed (x86-64, aarch64): byte 0 is the low byte.
    lo ^= c;
    c = kTables[7][lo & 0xFF] ^ kTables[6][(lo >> 8) & 0xFF] ^ kTables[5][(lo >> 16) & 0xFF] ^
        kTables[4][lo >> 24] ^ kTables[3][hi & 0xFF] ^ kTables[2][(hi >> 8) & 0xFF] ^
        kTables[1][(hi >> 16) & 0xFF] ^ kTables[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) c = (c >> 8) ^ kTables[0][(c ^ *p++) & 0xFFu];
  return ~c;
}

bool crc32c_supported(Crc32cImpl impl) noexcept {
#if NOCOPY_CRC32C_X86
  static const bool sse42 = detect_sse42();
  static const bool clmul = detect_pclmul();
  static const bool vpclmul = detect_vpclmul();
  switch (impl) {
    case Crc32cImpl::software: return true;
    case Crc32cImpl::sse42_tables: return sse42;
    case Crc32cImpl::sse42_clmul: return clmul;
    case Crc32cImpl::vpclmul_fold: return vpclmul;
  }
  return false;
#else
  return impl == Crc32cImpl::software;
#endif
}

std::uint32_t crc32c_with(Crc32cImpl impl, std::span<const std::byte> data, std::uint32_t crc) noexcept {
#if NOCOPY_CRC32C_X86
  auto p = reinterpret_cast<const unsigned char*>(data.data());
  switch (impl) {
    case Crc32cImpl::software: break;
    case Crc32cImpl::sse42_tables: return ~crc_sse42(p, data.size(), ~crc);
    case Crc32cImpl::sse42_clmul: return ~crc_clmul(p, data.size(), ~crc);
    case Crc32cImpl::vpclmul_fold: return ~crc_vpclmul(p, data.size(), ~crc);
  }
#else
  (void)impl;
#endif
  return crc32c_software(data, crc);
}

Crc32cImpl crc32c_best_hardware() noexcept {
  for (Crc32cImpl i : {Crc32cImpl::vpclmul_fold, Crc32cImpl::sse42_clmul, Crc32cImpl::sse42_tables}) {
    if (crc32c_supported(i)) return i;
  }
  return Crc32cImpl::software;
}

std::uint32_t crc32c_hardware(std::span<const std::byte> data, std::uint32_t crc) noexcept {
  static const Crc32cImpl best = crc32c_best_hardware();
  return crc32c_with(best, data, crc);
}

bool crc32c_hardware_available() noexcept { return crc32c_supported(Crc32cImpl::sse42_tables); }

namespace {
// Resolved once (CPU features do not change): one guarded static and one
// indirect call per checksum instead of a chain of calls and a switch.
using CrcFn = std::uint32_t (*)(const unsigned char*, std::size_t, std::uint32_t);
std::uint32_t software_raw(const unsigned char* p, std::size_t n, std::uint32_t crc) {
  return ~crc32c_software({reinterpret_cast<const std::byte*>(p), n}, ~crc);
}
CrcFn pick_crc() {
#if NOCOPY_CRC32C_X86
  switch (crc32c_best_hardware()) {
    case Crc32cImpl::vpclmul_fold: return crc_vpclmul;
    case Crc32cImpl::sse42_clmul: return crc_clmul;
    case Crc32cImpl::sse42_tables: return crc_sse42;
    case Crc32cImpl::software: break;
  }
#endif
  return software_raw;
}
}  // namespace

namespace {

// a(x) * b(x) modulo the polynomial, both in the reflected bit order (bit
// 31 is x^0), as zlib's multmodp.
std::uint32_t mult_mod_p(std::uint32_t a, std::uint32_t b) noexcept {
  std::uint32_t m = 1u << 31;
  std::uint32_t p = 0;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1)) == 0) break;
    }
    m >>= 1;
    b = (b & 1u) ? (b >> 1) ^ kPoly : b >> 1;
  }
  return p;
}

// x^(2^k) modulo the polynomial for k = 0..63 (x^1 = bit 30).
std::array<std::uint32_t, 64> make_x2n() noexcept {
  std::array<std::uint32_t, 64> t{};
  std::uint32_t p = 1u << 30;
  for (auto& e : t) {
    e = p;
    p = mult_mod_p(p, p);
  }
  return t;
}

}  // namespace

std::uint32_t crc32c_combine(std::uint32_t crc_a, std::uint32_t crc_b, std::uint64_t len_b) noexcept {
  static const std::array<std::uint32_t, 64> kX2n = make_x2n();
  // x^(8 len_b): the bits of len_b select powers x^(2^(k+3)).
  std::uint32_t x = 1u << 31;  // x^0
  for (unsigned k = 3; len_b != 0; len_b >>= 1, ++k)
    if (len_b & 1u) x = mult_mod_p(kX2n[k & 63], x);
  return mult_mod_p(x, crc_a) ^ crc_b;
}

std::uint32_t crc32c(std::span<const std::byte> data, std::uint32_t crc) noexcept {
  // A function-local static, so that static initializers elsewhere may checksum too.
  static const CrcFn kCrc = pick_crc();
  return ~kCrc(reinterpret_cast<const unsigned char*>(data.data()), data.size(), ~crc);
}

}  // namespace nocopy::log
