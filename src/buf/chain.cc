#include "buf/chain.h"

#include <cerrno>
#include <stdexcept>
#include <utility>

namespace nocopy::buf {

namespace {

[[noreturn]] void out_of_range(const char* what, std::uint64_t off, std::uint64_t len,
                               std::uint64_t size) {
  throw std::out_of_range(std::string("buf::Chain::") + what + ": [" + std::to_string(off) + ", +" +
                          std::to_string(len) + ") outside a chain of " + std::to_string(size) +
                          " bytes");
}

// [off, off+len) of one segment, sharing its storage / file.
Segment narrowed(const Segment& s, std::uint64_t off, std::uint64_t len) {
  if (const auto* b = std::get_if<Buffer>(&s)) {
    return b->slice(static_cast<std::size_t>(off), static_cast<std::size_t>(len));
  }
  const auto& r = std::get<FileRegion>(s);
  return FileRegion{r.file, r.offset + off, len};
}

Segment shared(const Segment& s) {
  if (const auto* b = std::get_if<Buffer>(&s)) return b->share();
  return std::get<FileRegion>(s);
}

void drop_front(Segment& s, std::uint64_t n) {
  if (auto* b = std::get_if<Buffer>(&s)) {
    b->trim_front(static_cast<std::size_t>(n));
    return;
  }
  auto& r = std::get<FileRegion>(s);
  r.offset += n;
  r.length -= n;
}

void drop_back(Segment& s, std::uint64_t n) {
  if (auto* b = std::get_if<Buffer>(&s)) {
    b->trim_back(static_cast<std::size_t>(n));
    return;
  }
  std::get<FileRegion>(s).length -= n;
}

}  // namespace

Chain::Chain(Chain&& o) noexcept
    : segs_(std::move(o.segs_)),
      head_(std::exchange(o.head_, 0)),
      length_(std::exchange(o.length_, 0)) {
  o.segs_.clear();
}

Chain& Chain::operator=(Chain&& o) noexcept {
  if (this != &o) {
    segs_ = std::move(o.segs_);
    o.segs_.clear();
    head_ = std::exchange(o.head_, 0);
    length_ = std::exchange(o.length_, 0);
  }
  return *this;
}

Chain Chain::share() const {
  Chain c;
  c.segs_.reserve(segment_count());
  for (const Segment& s : segments()) c.push_back(shared(s));
  return c;
}

void Chain::push_back(Segment s) {
  // A front-consumed vector that is full: reuse the dead front slots when they
  // are at least half of it (amortised O(1)), else let the vector grow.
  if (head_ > 0 && segs_.size() == segs_.capacity() && head_ * 2 >= segs_.size()) {
    std::move(segs_.begin() + static_cast<std::ptrdiff_t>(head_), segs_.end(), segs_.begin());
    segs_.resize(segs_.size() - head_);
    head_ = 0;
  }
  length_ += length_of(s);
  segs_.push_back(std::move(s));
}

void Chain::push_front(Segment s) {
  if (head_ == 0) {
    // Open slack in front, proportional to the chain, so repeated prepends
    // are amortised O(1).
    const std::size_t live = segs_.size();
    const std::size_t slack = std::max<std::size_t>(4, live);
    std::vector<Segment> grown;
    grown.reserve(slack + live + 4);
    grown.resize(slack);
    for (Segment& x : segs_) grown.push_back(std::move(x));
    segs_ = std::move(grown);
    head_ = slack;
  }
  length_ += length_of(s);
  segs_[--head_] = std::move(s);
}

Segment Chain::take_front() noexcept {
  Segment s = std::move(segs_[head_]);
  length_ -= length_of(s);
  segs_[head_] = Buffer{};  // a moved-from FileRegion still has a length
  if (++head_ == segs_.size()) {
    segs_.clear();
    head_ = 0;
  }
  return s;
}

void Chain::append(Buffer b) {
  if (!b.empty()) push_back(std::move(b));
}

void Chain::append(FileRegion r) {
  if (r.length != 0) push_back(std::move(r));
}

void Chain::append(Chain&& c) {
  if (&c == this || c.empty()) return;
  if (empty()) {
    *this = std::move(c);
    return;
  }
  segs_.reserve(segs_.size() + c.segment_count());
  for (std::size_t i = c.head_; i < c.segs_.size(); ++i) push_back(std::move(c.segs_[i]));
  c.clear();
}

void Chain::prepend(Buffer b) {
  if (!b.empty()) push_front(std::move(b));
}

void Chain::prepend(FileRegion r) {
  if (r.length != 0) push_front(std::move(r));
}

void Chain::prepend(Chain&& c) {
  if (&c == this || c.empty()) return;
  if (empty()) {
    *this = std::move(c);
    return;
  }
  for (std::size_t i = c.segs_.size(); i-- > c.head_;) push_front(std::move(c.segs_[i]));
  c.clear();
}

Chain Chain::slice(std::uint64_t offset, std::uint64_t len) const {
  if (offset > length_ || len > length_ - offset) out_of_range("slice", offset, len, length_);
  Chain out;
  for (const Segment& s : segments()) {
    if (len == 0) break;
    const std::uint64_t n = length_of(s);
    if (offset >= n) {
      offset -= n;
      continue;
    }
    const std::uint64_t take = std::min(n - offset, len);
    out.push_back(take == n ? shared(s) : narrowed(s, offset, take));
    len -= take;
    offset = 0;
  }
  return out;
}

Chain Chain::split(std::uint64_t n) {
  if (n > length_) out_of_range("split", 0, n, length_);
  Chain out;
  if (n == length_) {
    std::swap(out, *this);
    return out;
  }
  while (n > 0) {
    Segment& s = segs_[head_];
    const std::uint64_t len = length_of(s);
    if (len <= n) {
      out.push_back(take_front());
      n -= len;
    } else {
      out.push_back(narrowed(s, 0, n));
      drop_front(s, n);
      length_ -= n;
      n = 0;
    }
  }
  return out;
}

void Chain::trim_front(std::uint64_t n) {
  if (n > length_) out_of_range("trim_front", 0, n, length_);
  while (n > 0) {
    Segment& s = segs_[head_];
    const std::uint64_t len = length_of(s);
    if (len <= n) {
      length_ -= len;
      segs_[head_] = Buffer{};  // releases the reference
      if (++head_ == segs_.size()) {
        segs_.clear();
        head_ = 0;
      }
      n -= len;
    } else {
      drop_front(s, n);
      length_ -= n;
      n = 0;
    }
  }
}

void Chain::trim_back(std::uint64_t n) {
  if (n > length_) out_of_range("trim_back", length_ - std::min(n, length_), n, length_);
  while (n > 0) {
    Segment& s = segs_.back();
    const std::uint64_t len = length_of(s);
    if (len <= n) {
      segs_.pop_back();
      length_ -= len;
      n -= len;
      if (segs_.size() == head_) {
        segs_.clear();
        head_ = 0;
      }
    } else {
      drop_back(s, n);
      length_ -= n;
      n = 0;
    }
  }
}

void Chain::clear() noexcept {
  segs_.clear();
  head_ = 0;
  length_ = 0;
}

io::Result<void> Chain::copy_to(std::string& out) const {
  const std::size_t start = out.size();
  out.reserve(start + length_);
  for (const Segment& s : segments()) {
    if (const auto* b = std::get_if<Buffer>(&s)) {
      out.append(b->view());
      continue;
    }
    const auto& r = std::get<FileRegion>(s);
    const std::size_t at = out.size();
    out.resize(at + r.length);
    auto dst = std::as_writable_bytes(std::span<char>(out.data() + at, r.length));
    auto got = r.file->pread_full(dst, r.offset);
    if (!got || *got != r.length) {
      out.resize(start);
      if (!got) return std::unexpected(std::move(got.error()));
      return io::fail(ENODATA, "pread",
                      "file truncated: " + r.file->path().string() + " has fewer than " +
                          std::to_string(r.offset + r.length) + " bytes");
    }
  }
  return {};
}

io::Result<std::string> Chain::to_string_copy() const {
  std::string s;
  if (auto r = copy_to(s); !r) return std::unexpected(std::move(r.error()));
  return s;
}

}  // namespace nocopy::buf
