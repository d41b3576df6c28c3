// libFuzzer target: every codec generated from src/kafka/schema/*.msg
// (requests, responses and internal records) at every version it describes.
// Input: bytes 0-1 pick the message by its stable fuzz id (2*api for a
// request, 2*api+1 for a response, 0x8000+id for a record; an id no message
// has picks one by its value modulo their number), bytes 2-3 the version
// (big-endian, folded into the message's range), the rest is the body. Properties beyond "no crash / no UB": a body that decodes re-encodes
// to bytes that decode again and re-encode byte-identically, and no decoded
// message claims more elements than the input could hold.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "kafka/generated_registry.h"
#include "kafka/reader.h"
#include "kafka/serde.h"
#include "kafka/writer.h"

using namespace nocopy::kafka;

namespace {

void check(bool cond) {
  if (!cond) std::abort();
}

template <class Msg>
bool flexible_at(std::int16_t v) {
  return Msg::kFlexibleFrom >= 0 && v >= Msg::kFlexibleFrom;
}

template <class Msg>
std::vector<std::byte> encode(Msg& m, std::int16_t v) {
  Writer w(flexible_at<Msg>(v));
  Encoder e(w, v);
  serde(e, m);
  return w.take_buffer();
}

template <class Msg>
bool decode(std::span<const std::byte> body, std::int16_t v, Msg& out) {
  Reader r(body, flexible_at<Msg>(v));
  Decoder d(r, v);
  serde(d, out);
  return r.ok();
}

// The index of the message with fuzz id `id`, or -1.
struct Find {
  int id;
  int index = 0;
  int found = -1;
  template <class Msg>
  void operator()(const char*, int fuzz_id) {
    if (fuzz_id == id) found = index;
    ++index;
  }
};

struct Pick {
  int wanted;
  std::uint16_t raw_version;
  std::span<const std::byte> body;
  int index = 0;

  template <class Msg>
  void operator()(const char*, int) {
    if (index++ != wanted) return;
    const int span = Msg::kMaxVersion - Msg::kMinVersion + 1;
    const auto v = static_cast<std::int16_t>(Msg::kMinVersion + raw_version % span);
    Msg m;
    if (!decode(body, v, m)) return;
    std::vector<std::byte> once = encode(m, v);
    Msg back;
    check(decode(once, v, back));
    check(encode(back, v) == once);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 4) return 0;
  std::span<const std::byte> in(reinterpret_cast<const std::byte*>(data), size);
  const int id = data[0] << 8 | data[1];
  Find f{id};
  for_each_generated_message(f);
  const int wanted = f.found >= 0 ? f.found : id % kGeneratedMessageCount;
  Pick p{wanted, static_cast<std::uint16_t>(data[2] << 8 | data[3]), in.subspan(4)};
  for_each_generated_message(p);
  return 0;
}
