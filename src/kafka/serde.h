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
#include <bit>
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
  void u16(std::uint16_t& x) { x = static_cast<std::uint16_t>(r_.i16()); }
  void varint(std::int32_t& x) { x = r_.varint(); }
  void varlong(std::int64_t& x) { x = r_.varlong(); }
  void f64(double& x) { x = std::bit_cast<double>(r_.i64()); }
  void uuid(Uuid& x) { x = r_.uuid(); }
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
  void nbytes(std::optional<ByteVec>& b) {
    auto x = r_.nullable_bytes();
    if (x) b.emplace(x->begin(), x->end());
    else b.reset();
  }
  // A field held as std::optional that is not nullable at this version.
  template <class T, class F>
  void nonnull(std::optional<T>& x, F&& f) {
    x.emplace();
    f(*x);
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
  bool flexible() const { return r_.flexible(); }
  // Tagged fields: f(tag, sub_decoder) decodes a known tag from a Decoder
  // bounded by the field's size and returns true; unknown tags are skipped.
  // A known tag whose value does not fill its size exactly fails.
  template <class F>
  void tagged(F&& f) {
    if (!r_.flexible()) return;
    std::uint32_t n = r_.uvarint();
    std::int64_t last = -1;
    for (std::uint32_t i = 0; i < n && r_.ok(); ++i) {
      std::uint32_t tag = r_.uvarint();
      std::uint32_t size = r_.uvarint();
      if (!r_.ok()) return;
      if (static_cast<std::int64_t>(tag) <= last) {
        r_.fail(DecodeError::bad_value);  // tags are strictly ascending
        return;
      }
      last = tag;
      if (size > r_.remaining()) {
        r_.fail(DecodeError::bad_length);
        return;
      }
      Reader sub(r_.raw(size), true);
      Decoder d(sub, v);
      if (f(tag, d) && (!sub.ok() || sub.remaining() != 0)) {
        r_.fail(sub.ok() ? DecodeError::bad_length : sub.error());
        return;
      }
    }
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
  void u16(std::uint16_t x) { w_.i16(static_cast<std::int16_t>(x)); }
  void varint(std::int32_t x) { w_.varint(x); }
  void varlong(std::int64_t x) { w_.varlong(x); }
  void f64(double x) { w_.i64(std::bit_cast<std::int64_t>(x)); }
  void uuid(const Uuid& x) { w_.uuid(x); }
  void str(const std::string& s) { w_.string(s); }
  void nstr(const std::optional<std::string>& s) {
    if (s) w_.nullable_string(std::string_view(*s));
    else w_.nullable_string(std::nullopt);
  }
  void bytes(const ByteVec& b) { w_.bytes(b); }
  void nbytes(const std::optional<ByteVec>& b) {
    if (b) w_.bytes(*b);
    else w_.nullable_bytes(std::nullopt);
  }
  // A field held as std::optional that is not nullable at this version: a
  // null value is written as the empty/default value.
  template <class T, class F>
  void nonnull(std::optional<T>& x, F&& f) {
    if (x) {
      f(*x);
    } else {
      T empty{};
      f(empty);
    }
  }
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
  bool flexible() const { return w_.flexible(); }
  void tag_count(std::uint32_t n) { w_.uvarint(n); }
  // One tagged field: tag, size, then what f writes (no splices inside).
  template <class F>
  void tag(std::uint32_t t, F&& f) {
    Writer sub(true);
    Encoder e(sub, v);
    f(e);
    w_.uvarint(t);
    w_.uvarint(static_cast<std::uint32_t>(sub.buffer().size()));
    w_.raw(sub.buffer());
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
