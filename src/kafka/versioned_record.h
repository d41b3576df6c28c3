// Stored records with a version prefix: an int16 version, then a generated
// message's body at that version (the layout of Kafka's internal records --
// __consumer_offsets keys and values -- and of nocopy's own files that are
// described in src/kafka/schema with api=-1).
//
// Pure functions over bytes. decode_versioned() refuses a version outside
// [Msg::kMinVersion, max], truncated input and -- unless `trailing_ok` --
// bytes after the body; it never reads past `bytes`.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "kafka/codec.h"
#include "kafka/reader.h"
#include "kafka/writer.h"

namespace nocopy::kafka {

template <class Msg>
constexpr bool flexible_version(std::int16_t v) {
  return Msg::kFlexibleFrom >= 0 && v >= Msg::kFlexibleFrom;
}

// Appends the version and the body to `w`.
template <class Msg>
void encode_versioned(Writer& w, std::int16_t version, const Msg& m) {
  const bool was = w.flexible();
  w.i16(version);
  w.set_flexible(flexible_version<Msg>(version));
  encode_body(w, version, m);
  w.set_flexible(was);
}

template <class Msg>
std::vector<std::byte> encode_versioned(std::int16_t version, const Msg& m) {
  Writer w;
  encode_versioned(w, version, m);
  return w.take_buffer();
}

// `version_out`, when given, receives the version the bytes carried.
template <class Msg>
std::optional<Msg> decode_versioned(std::span<const std::byte> bytes, std::int16_t max = Msg::kMaxVersion,
                                    bool trailing_ok = false, std::int16_t* version_out = nullptr) {
  Reader r(bytes);
  const std::int16_t v = r.i16();
  if (!r.ok() || v < Msg::kMinVersion || v > max) return std::nullopt;
  r.set_flexible(flexible_version<Msg>(v));
  Msg m;
  if (decode_body(r, v, m) != DecodeError::none || !r.ok()) return std::nullopt;
  if (!trailing_ok && r.remaining() != 0) return std::nullopt;
  if (version_out != nullptr) *version_out = v;
  return m;
}

}  // namespace nocopy::kafka
