#include "log/index_file.h"

#include <sys/mman.h>

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
  if (capacity > *size) {
    if (auto r = file_.fallocate(0, capacity); !r) {
      throw std::system_error(r.error().err, std::system_category(), r.error().message());
    }
  }
  max_entries_ = capacity / entry_size_;
  map_len_ = capacity;
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

void IndexFile::append(const std::byte* e) noexcept {
  std::size_t n = entries_.load(std::memory_order_relaxed);
  std::memcpy(base_ + n * entry_size_, e, entry_size_);
  entries_.store(n + 1, std::memory_order_release);
}

void IndexFile::truncate_entries(std::size_t n) noexcept {
  if (n < entries_.load(std::memory_order_relaxed)) entries_.store(n, std::memory_order_release);
}

LogResult<void> IndexFile::trim() {
  if (auto r = file_.truncate(entries() * entry_size_); !r) {
    return log_fail(LogErrc::storage_error, r.error().message(), r.error().err);
  }
  max_entries_ = entries();
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
