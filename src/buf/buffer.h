// A view of refcounted byte storage: storage + offset + length.
//
// Ownership and sharing (the picture folly's IOBuf.h draws, in words):
//
//     Buffer a ──┐
//     Buffer b ──┼──> Storage { refs = 3, bytes [0 ........ capacity) , deleter }
//     Buffer c ──┘               a: [0, 100)   b = a.slice(10, 20)   c = a.share()
//
//  * Every Buffer holds one reference to its Storage. The storage's memory is
//    released (or the adopted memory's deleter is called) exactly once, when
//    the last Buffer referring to it is destroyed or reset -- in whichever
//    thread that happens.
//  * `share()` and `slice()` never copy bytes: they add a reference and return
//    a new view. `copy_of()` and `clone()` are the only calls that copy bytes,
//    and say so in their names.
//  * Buffers are move-only so that every new reference is an explicit
//    `share()`/`slice()` in the code.
//
// Mutability: a view is read-only while its storage is shared. `mutable_data()`
// is allowed only when `unique()` (this Buffer holds the only reference) and
// the storage is writable (not adopted from const memory by `wrap_unowned`);
// otherwise it throws std::logic_error. Writing through a shared slice would
// corrupt every other holder of the bytes. Call `unshare()` (which copies when
// needed) to get a writable view.
//
// Thread-safety: the reference count is atomic, so Buffers sharing one storage
// may live in and be destroyed by different threads. One Buffer object is
// used by one thread at a time. Bytes of shared storage must not be written.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nocopy::buf {

namespace detail {
struct Storage;
}

class Buffer {
 public:
  // Called once with the adopted pointer and the length given to wrap().
  using Deleter = std::move_only_function<void(std::byte* data, std::size_t size)>;

  Buffer() noexcept = default;  // empty view, no storage
  Buffer(Buffer&& o) noexcept
      : storage_(std::exchange(o.storage_, nullptr)),
        data_(std::exchange(o.data_, nullptr)),
        size_(std::exchange(o.size_, 0)) {}
  Buffer& operator=(Buffer&& o) noexcept {
    if (this != &o) {
      reset();
      storage_ = std::exchange(o.storage_, nullptr);
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }
  Buffer(const Buffer&) = delete;  // use share() -- every reference is explicit
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer() { reset(); }

  // New writable storage of `size` bytes (uninitialised), uniquely owned.
  static Buffer allocate(std::size_t size);
  // COPIES `bytes` into new storage.
  static Buffer copy_of(std::span<const std::byte> bytes);
  static Buffer copy_of(std::string_view bytes);
  // Adopts `data` (size bytes): no copy; `deleter(data, size)` runs once when
  // the last reference goes. The storage is writable (mutable_data() when unique).
  static Buffer wrap(void* data, std::size_t size, Deleter deleter);
  // Takes over a container's heap bytes without copying them (the container
  // is moved into the storage and destroyed with it). Typical use: a response
  // header encoded into a std::string. Writable when unique.
  static Buffer adopt(std::string&& s);
  static Buffer adopt(std::vector<std::byte>&& v);
  // Refers to memory the caller keeps alive and unchanged for longer than every
  // Buffer derived from it (string literals, static tables). Never writable.
  static Buffer wrap_unowned(const void* data, std::size_t size);

  // Another reference to the same bytes (no copy).
  Buffer share() const noexcept;
  // A view of [offset, offset+len) of this view, sharing storage (no copy).
  // Throws std::out_of_range when the range is not inside this view.
  Buffer slice(std::size_t offset, std::size_t len) const;
  // COPIES this view's bytes into new, uniquely owned storage.
  Buffer clone() const;
  // Makes this view writable: no-op when unique() and writable, else COPIES.
  void unshare();

  // Narrow this view (no copy). Throw std::out_of_range if n > size().
  void trim_front(std::size_t n);
  void trim_back(std::size_t n);
  // Drops the reference (the storage may be released here).
  void reset() noexcept;

  const std::byte* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  std::span<const std::byte> bytes() const noexcept { return {data_, size_}; }
  std::string_view view() const noexcept { return {reinterpret_cast<const char*>(data_), size_}; }

  // True when this Buffer holds the only reference to its storage.
  bool unique() const noexcept;
  // References to the storage (0 for an empty Buffer without storage).
  std::uint32_t use_count() const noexcept;
  bool writable() const noexcept;
  // Writable access to this view's bytes. Throws std::logic_error unless
  // unique() && writable(): see "Mutability" above.
  std::byte* mutable_data();

 private:
  Buffer(detail::Storage* s, std::byte* data, std::size_t size) noexcept
      : storage_(s), data_(data), size_(size) {}

  detail::Storage* storage_ = nullptr;
  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace nocopy::buf
