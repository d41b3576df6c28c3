// A sequence of byte segments, each memory (a Buffer) or a range of a file
// (a FileRegion) -- nginx's ngx_chain_t of in-memory and in-file bufs, with
// folly IOBuf / seastar temporary_buffer sharing rules for the memory part.
//
//     Chain: [ Buffer hdr(0..37) ][ FileRegion seg0 @4096+16384 ][ Buffer ... ]
//              shares storage       shares the open File           ...
//
// A Kafka fetch response is one small header Buffer followed by file regions,
// so building a chain is cheap: appending moves a segment handle into a
// vector (amortised O(1), no per-byte work), prepending is amortised O(1)
// too (slack is kept in front), and consuming from the front (what a sender
// does) is O(1) per segment.
//
// Invariants: no stored segment is empty (zero-length appends are dropped);
// length() is the sum of the segments' lengths.
//
// Copies: nothing here copies bytes except copy_to() / to_string_copy(),
// which say so (and read file regions with pread). slice()/share() share
// memory storage and narrow file regions; the segments stay read-only (see
// buf/buffer.h for when a Buffer may be written).
//
// Errors: a range outside the chain is a programming error and throws
// std::out_of_range. copy_to() is I/O and returns io::Result.
//
// Thread-safety: a Chain object is used by one thread at a time; chains that
// share storage may be used by different threads (refcounts are atomic, the
// File is only read with positional I/O).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "buf/buffer.h"
#include "buf/file_region.h"
#include "io/error.h"

namespace nocopy::buf {

using Segment = std::variant<Buffer, FileRegion>;

inline std::uint64_t length_of(const Segment& s) noexcept {
  if (const auto* b = std::get_if<Buffer>(&s)) return b->size();
  return std::get<FileRegion>(s).length;
}
inline bool is_file(const Segment& s) noexcept { return s.index() == 1; }

class Chain {
 public:
  Chain() = default;
  Chain(Chain&& o) noexcept;
  Chain& operator=(Chain&& o) noexcept;
  Chain(const Chain&) = delete;  // use share()
  Chain& operator=(const Chain&) = delete;
  ~Chain() = default;

  // Another chain referring to the same bytes: memory segments share storage,
  // file regions share the File. No byte is copied.
  Chain share() const;

  void append(Buffer b);
  void append(FileRegion r);
  void append(Chain&& c);  // moves c's segments (c is left empty)
  void prepend(Buffer b);
  void prepend(FileRegion r);
  void prepend(Chain&& c);

  std::uint64_t length() const noexcept { return length_; }
  bool empty() const noexcept { return length_ == 0; }
  std::size_t segment_count() const noexcept { return segs_.size() - head_; }
  std::span<const Segment> segments() const noexcept {
    return {segs_.data() + head_, segs_.size() - head_};
  }
  const Segment& front() const { return segs_[head_]; }  // precondition: !empty()

  // A new chain of bytes [offset, offset+len) sharing storage with this one;
  // boundary segments are narrowed. Throws std::out_of_range.
  Chain slice(std::uint64_t offset, std::uint64_t len) const;
  // Removes the first n bytes from this chain and returns them (no copy).
  // Throws std::out_of_range if n > length().
  Chain split(std::uint64_t n);
  // Drops the first / last n bytes (no copy). Throw std::out_of_range if n > length().
  void trim_front(std::uint64_t n);
  void trim_back(std::uint64_t n);
  void clear() noexcept;

  // COPIES every byte of the chain onto the end of `out`, reading file regions
  // with pread. A file shorter than a region is IoError{ENODATA, "pread"};
  // on any error `out` is left as it was.
  io::Result<void> copy_to(std::string& out) const;
  // COPIES the whole chain into a new string (see copy_to).
  io::Result<std::string> to_string_copy() const;

 private:
  void push_back(Segment s);
  void push_front(Segment s);
  Segment take_front() noexcept;  // moves the first segment out

  // Live segments are segs_[head_, size); slots before head_ hold empty
  // Buffers (released), so consuming the front never shifts the vector.
  std::vector<Segment> segs_;
  std::size_t head_ = 0;
  std::uint64_t length_ = 0;
};

}  // namespace nocopy::buf
