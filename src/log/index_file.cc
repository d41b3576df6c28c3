#include "log/index_file.h"

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include <fmt/format.h>

namespace nocopy::log {

IndexFile::IndexFile(const std::filesystem::path& path, std::size_t entry_size,
                     std::size_t capacity_bytes, bool reset)
    : file_(io::File::open(path, reset ? io::File::Mode::truncate_rw : io::File::Mode::create_rw)),
      entry_size_(entry_size) {
  auto size = file_.size();
  if (!size) throw std::system_error(size.error().err, std::system_category(), size.error().message());
  std::size_t existing = static_cast<std::size_t>(*size) / entry_size_;
  had_partial_entry_ = *size % entry_size_ != 0;
  std::size_t capacity = capacity_bytes / entry_size_ * entry_size_;
  if (capacity < existing * entry_size_) capacity = existing * entry_size_;
  reserved_ = static_cast<std::size_t>(*size);
  map_len_ = capacity;
  if (capacity > *size) {
    // Sparse up to the capacity; blocks are reserved chunk by chunk ahead of
    // the entries (the existing entries' blocks are written already).
    if (auto r = file_.truncate(capacity); !r) {
      throw std::system_error(r.error().err, std::system_category(), r.error().message());
    }
    reserved_ = existing * entry_size_;
    if (!reserve(reserved_ + entry_size_)) {
      throw std::system_error(reserve_errno_, std::system_category(),
                              fmt::format("fallocate {}", path.string()));
    }
  }
  max_entries_ = capacity / entry_size_;
  if (map_len_ > 0) {
    void* p = ::mmap(nullptr, map_len_, PROT_READ | PROT_WRITE, MAP_SHARED, file_.fd(), 0);
    if (p == MAP_FAILED) {
      throw std::system_error(errno, std::system_category(), fmt::format("mmap {}", path.string()));
    }
    base_ = static_cast<std::byte*>(p);
  }
  entries_.store(existing, std::memory_order_release);
}

IndexFile::~IndexFile() {
  if (base_ != nullptr) ::munmap(base_, map_len_);
}

bool IndexFile::reserve(std::size_t end) noexcept {
  constexpr std::size_t kFirstChunk = 4096, kMaxChunk = 1 << 20;
  // Page-aligned chunks that double with the reserved size: 4 KiB, 8 KiB, ...
  const std::size_t base = reserved_ / kFirstChunk * kFirstChunk;
  std::size_t to = std::max(base + std::clamp(base, kFirstChunk, kMaxChunk), end);
  to = (to + kFirstChunk - 1) / kFirstChunk * kFirstChunk;
  to = std::min(to, map_len_);
  if (to <= reserved_) {  // nothing left to reserve below the capacity
    reserve_errno_ = ENOSPC;
    return false;
  }
  if (auto r = file_.fallocate(reserved_, to - reserved_); !r) {
    reserve_errno_ = r.error().err;
    return false;
  }
  reserved_ = to;
  return true;
}

bool IndexFile::append(const std::byte* e) noexcept {
  std::size_t n = entries_.load(std::memory_order_relaxed);
  const std::size_t end = (n + 1) * entry_size_;
  if (end > reserved_ && !reserve(end)) [[unlikely]] return false;
  std::memcpy(base_ + n * entry_size_, e, entry_size_);
  entries_.store(n + 1, std::memory_order_release);
  return true;
}

void IndexFile::truncate_entries(std::size_t n) noexcept {
  if (n < entries_.load(std::memory_order_relaxed)) entries_.store(n, std::memory_order_release);
  // The dropped tail may be zeros a crash left in an unreserved (sparse)
  // page: reserve again from here (fallocate skips blocks already there).
  reserved_ = std::min(reserved_, n * entry_size_);
}

LogResult<void> IndexFile::trim() {
  if (auto r = file_.truncate(entries() * entry_size_); !r) {
    return log_fail(LogErrc::storage_error, r.error().message(), r.error().err);
  }
  max_entries_ = entries();
  reserved_ = std::min(reserved_, entries() * entry_size_);
  return {};
}

LogResult<void> IndexFile::flush() {
  std::size_t len = entries() * entry_size_;
  if (base_ != nullptr && len > 0 && ::msync(base_, len, MS_SYNC) != 0) {
    int e = errno;
    return log_fail(LogErrc::storage_error, fmt::format("msync {}: {}", path().string(), std::strerror(e)), e);
  }
  return {};
}

}  // namespace nocopy::log
