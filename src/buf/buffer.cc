#include "buf/buffer.h"

#include <cstring>
#include <new>
#include <stdexcept>
#include <string>

namespace nocopy::buf {

namespace detail {

// One block of bytes and its reference count. allocate() places the Storage
// header and the bytes in one allocation; wrap() allocates only the header and
// remembers how to give the adopted memory back.
struct Storage {
  enum class Kind : std::uint8_t { inline_bytes, adopted, unowned };

  std::atomic<std::uint32_t> refs{1};
  Kind kind;
  std::byte* data;
  std::size_t size;
  Buffer::Deleter deleter;  // adopted only

  Storage(Kind k, std::byte* d, std::size_t n, Buffer::Deleter del = {}) noexcept
      : kind(k), data(d), size(n), deleter(std::move(del)) {}

  void add_ref() noexcept { refs.fetch_add(1, std::memory_order_relaxed); }

  // The last release frees: acq_rel so that every other holder's accesses to
  // the bytes happen before the deleter runs.
  void release() noexcept {
    if (refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    if (kind == Kind::inline_bytes) {
      this->~Storage();
      ::operator delete(static_cast<void*>(this));
      return;
    }
    if (kind == Kind::adopted && deleter) deleter(data, size);
    delete this;
  }
};

}  // namespace detail

using detail::Storage;

namespace {
// Bytes start after the header, aligned for any scalar type.
constexpr std::size_t kHeader = (sizeof(Storage) + alignof(std::max_align_t) - 1) /
                                alignof(std::max_align_t) * alignof(std::max_align_t);

[[noreturn]] void out_of_range(const char* what, std::size_t a, std::size_t b, std::size_t size) {
  throw std::out_of_range(std::string("buf::Buffer::") + what + ": [" + std::to_string(a) + ", +" +
                          std::to_string(b) + ") outside a view of " + std::to_string(size) +
                          " bytes");
}
}  // namespace

Buffer Buffer::allocate(std::size_t size) {
  void* raw = ::operator new(kHeader + size);
  auto* bytes = static_cast<std::byte*>(raw) + kHeader;
  auto* s = new (raw) Storage(Storage::Kind::inline_bytes, bytes, size);
  return Buffer(s, bytes, size);
}

Buffer Buffer::copy_of(std::span<const std::byte> bytes) {
  Buffer b = allocate(bytes.size());
  if (!bytes.empty()) std::memcpy(b.data_, bytes.data(), bytes.size());
  return b;
}

Buffer Buffer::copy_of(std::string_view bytes) {
  return copy_of(std::as_bytes(std::span<const char>(bytes.data(), bytes.size())));
}

Buffer Buffer::wrap(void* data, std::size_t size, Deleter deleter) {
  auto* bytes = static_cast<std::byte*>(data);
  Storage* s;
  try {
    s = new Storage(Storage::Kind::adopted, bytes, size, std::move(deleter));
  } catch (...) {
    // We were handed ownership: give the memory back even if we cannot adopt it.
    if (deleter) deleter(bytes, size);
    throw;
  }
  return Buffer(s, bytes, size);
}

namespace {
// Moves a container to the heap and hands its bytes to wrap(); the deleter
// owns the container. Moving a std::string keeps its heap buffer (short
// strings live inline and are copied by the move: at most 15 bytes).
template <class Container>
Buffer adopt_container(Container&& c) {
  auto* owner = new Container(std::move(c));
  auto* bytes = reinterpret_cast<std::byte*>(owner->data());
  return Buffer::wrap(bytes, owner->size(), [owner](std::byte*, std::size_t) { delete owner; });
}
}  // namespace

Buffer Buffer::adopt(std::string&& s) { return adopt_container(std::move(s)); }
Buffer Buffer::adopt(std::vector<std::byte>&& v) { return adopt_container(std::move(v)); }

Buffer Buffer::wrap_unowned(const void* data, std::size_t size) {
  // const_cast is safe: Kind::unowned storage is never writable().
  auto* bytes = static_cast<std::byte*>(const_cast<void*>(data));
  return Buffer(new Storage(Storage::Kind::unowned, bytes, size), bytes, size);
}

Buffer Buffer::share() const noexcept {
  if (storage_) storage_->add_ref();
  return Buffer(storage_, data_, size_);
}

Buffer Buffer::slice(std::size_t offset, std::size_t len) const {
  if (offset > size_ || len > size_ - offset) out_of_range("slice", offset, len, size_);
  Buffer b = share();
  b.data_ += offset;
  b.size_ = len;
  return b;
}

Buffer Buffer::clone() const { return copy_of(bytes()); }

void Buffer::unshare() {
  if (storage_ && unique() && writable()) return;
  *this = clone();
}

void Buffer::trim_front(std::size_t n) {
  if (n > size_) out_of_range("trim_front", 0, n, size_);
  data_ += n;
  size_ -= n;
}

void Buffer::trim_back(std::size_t n) {
  if (n > size_) out_of_range("trim_back", size_ - std::min(n, size_), n, size_);
  size_ -= n;
}

void Buffer::reset() noexcept {
  if (storage_) std::exchange(storage_, nullptr)->release();
  data_ = nullptr;
  size_ = 0;
}

bool Buffer::unique() const noexcept {
  return storage_ && storage_->refs.load(std::memory_order_acquire) == 1;
}

std::uint32_t Buffer::use_count() const noexcept {
  return storage_ ? storage_->refs.load(std::memory_order_acquire) : 0;
}

bool Buffer::writable() const noexcept {
  return storage_ && storage_->kind != Storage::Kind::unowned;
}

std::byte* Buffer::mutable_data() {
  if (!storage_) {
    if (size_ == 0) return data_;
    throw std::logic_error("buf::Buffer::mutable_data: no storage");
  }
  if (!writable())
    throw std::logic_error("buf::Buffer::mutable_data: storage is read-only (wrap_unowned)");
  if (!unique()) {
    throw std::logic_error("buf::Buffer::mutable_data: storage is shared by " +
                           std::to_string(use_count()) + " references; unshare() first");
  }
  return data_;
}

}  // namespace nocopy::buf
