// Decoder / Encoder: the two "directions" a message's field list is walked in.
//
// Every message type has one `template <class Io> void serde(Io& io, T& m)`
// that lists its fields in wire order with their version conditions, exactly
// as Kafka's JSON schema does. Walked with a Decoder it fills `m` from bytes;
// walked with an Encoder it writes `m` out. One field list per message means
// encode and decode cannot disagree, and the list reads like the schema.
//
// Decoding copies small fields (strings, group metadata bytes) into owned
// std::string / ByteVec, but never record batches: RecordsRef views the
// input buffer (see RecordsRef).
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "kafka/reader.h"
#include "kafka/writer.h"

namespace nocopy::kafka {

using ByteVec = std::vector<std::byte>;

// The `records` field of Produce requests and Fetch responses.
//
// Decoded: `bytes` views the request buffer (no copy; keep the buffer alive;
// `bytes.data() - buffer.data()` locates the batch for in-place patching).
// Encoded: either `bytes` inline, or -- when splice_index >= 0 -- only the
// length prefix plus a Writer splice point of splice_length bytes that the
// caller fills with a file region at send time.
struct RecordsRef {
  std::span<const std::byte> bytes;
  bool is_null = false;
  std::int32_t splice_index = -1;
  std::uint32_t splice_length = 0;

  std::uint64_t size() const { return splice_index >= 0 ? splice_length : bytes.size(); }
};

class Decoder {
 public:
  static constexpr bool reading = true;
  Decoder(Reader& r, std::int16_t version) : r_(r), v(version) {}

  Reader& reader() { return r_; }
  bool ok() const { return r_.ok(); }

  void i8(std::int8_t& x) { x = r_.i8(); }
  void i16(std::int16_t& x) { x = r_.i16(); }
  void i32(std::int32_t& x) { x = r_.i32(); }
  void i64(std::int64_t& x) { x = r_.i64(); }
  void boolean(bool& x) { x = r_.boolean(); }
  void str(std::string& s) { s.assign(r_.string()); }
  void nstr(std::optional<std::string>& s) {
    auto x = r_.nullable_string();
    if (x) s.emplace(*x);
    else s.reset();
  }
  void bytes(ByteVec& b) {
    auto x = r_.bytes();
    b.assign(x.begin(), x.end());
  }
  void records(RecordsRef& rec) {
    auto x = r_.nullable_bytes();
    rec = RecordsRef{};
    rec.is_null = !x.has_value();
    if (x) rec.bytes = *x;
  }
  template <class T, class F>
  void array(std::vector<T>& vec, F&& f) {
    std::int32_t n = r_.array_length();
    vec.clear();
    if (n < 0) {
      if (r_.ok()) r_.fail(DecodeError::negative_length);
      return;
    }
    fill(vec, n, f);
  }
  template <class T, class F>
  void narray(std::optional<std::vector<T>>& vec, F&& f) {
    std::int32_t n = r_.array_length();
    if (n < 0) {
      vec.reset();
      return;
    }
    vec.emplace();
    fill(*vec, n, f);
  }
  void tags() {
    if (r_.flexible()) r_.skip_tagged_fields();
  }

 private:
  template <class T, class F>
  void fill(std::vector<T>& vec, std::int32_t n, F& f) {
    // Grow as elements are actually decoded: memory stays proportional to
    // the input consumed, whatever count the (untrusted) prefix claims.
    vec.reserve(static_cast<std::size_t>(std::min<std::int32_t>(n, 64)));
    for (std::int32_t i = 0; i < n && r_.ok(); ++i) {
      vec.emplace_back();
      f(*this, vec.back());
    }
  }

  Reader& r_;

 public:
  const std::int16_t v;
};

class Encoder {
 public:
  static constexpr bool reading = false;
  Encoder(Writer& w, std::int16_t version) : w_(w), v(version) {}

  Writer& writer() { return w_; }
  bool ok() const { return true; }

  void i8(std::int8_t x) { w_.i8(x); }
  void i16(std::int16_t x) { w_.i16(x); }
  void i32(std::int32_t x) { w_.i32(x); }
  void i64(std::int64_t x) { w_.i64(x); }
  void boolean(bool x) { w_.boolean(x); }
  void str(const std::string& s) { w_.string(s); }
  void nstr(const std::optional<std::string>& s) {
    if (s) w_.nullable_string(std::string_view(*s));
    else w_.nullable_string(std::nullopt);
  }
  void bytes(const ByteVec& b) { w_.bytes(b); }
  void records(const RecordsRef& rec) {
    if (rec.splice_index >= 0) {
      if (w_.flexible()) w_.uvarint(rec.splice_length + 1);
      else w_.i32(static_cast<std::int32_t>(rec.splice_length));
      w_.splice(static_cast<std::uint32_t>(rec.splice_index), rec.splice_length);
    } else if (rec.is_null) {
      w_.nullable_bytes(std::nullopt);
    } else {
      w_.bytes(rec.bytes);
    }
  }
  template <class T, class F>
  void array(std::vector<T>& vec, F&& f) {
    w_.array_length(static_cast<std::int32_t>(vec.size()));
    for (T& e : vec) f(*this, e);
  }
  template <class T, class F>
  void narray(std::optional<std::vector<T>>& vec, F&& f) {
    if (!vec) {
      w_.array_length(-1);
      return;
    }
    array(*vec, f);
  }
  void tags() {
    if (w_.flexible()) w_.empty_tagged_fields();
  }

 private:
  Writer& w_;

 public:
  const std::int16_t v;
};

// Element helpers for arrays of primitives.
inline constexpr auto kI32 = [](auto& io, std::int32_t& x) { io.i32(x); };
inline constexpr auto kI64 = [](auto& io, std::int64_t& x) { io.i64(x); };
inline constexpr auto kStr = [](auto& io, std::string& x) { io.str(x); };

}  // namespace nocopy::kafka
