// A regular file opened for reading and/or writing.
//
// Setup calls (open, create, fallocate) throw std::system_error naming the
// syscall and the path. Data-path calls return io::Result.
// Thread-safety: const member functions may be called concurrently (they use
// positional I/O); the object itself is not reassigned concurrently.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <span>

#include "io/error.h"
#include "io/fd.h"

namespace nocopy::io {

class File {
 public:
  enum class Mode { read, read_write, create_rw /* O_CREAT, keeps content */, truncate_rw };

  static File open(const std::filesystem::path& path, Mode mode = Mode::read, int extra_flags = 0);
  // Adopts an already-open descriptor.
  explicit File(Fd fd, std::filesystem::path path = {}) : fd_(std::move(fd)), path_(std::move(path)) {}
  File() = default;

  int fd() const noexcept { return fd_.get(); }
  const std::filesystem::path& path() const noexcept { return path_; }

  Result<std::uint64_t> size() const;                                       // fstat
  Result<void> truncate(std::uint64_t size) const;                          // ftruncate
  Result<void> fallocate(std::uint64_t offset, std::uint64_t len) const;    // posix_fallocate semantics
  // Allocates the blocks (page-cache pages on tmpfs) of [offset, offset+len)
  // without changing the file's size (fallocate FALLOC_FL_KEEP_SIZE), so later
  // writes there allocate nothing. Not emulated: EOPNOTSUPP where the
  // filesystem cannot; ENOSPC leaves the size and the contents as they were.
  Result<void> reserve(std::uint64_t offset, std::uint64_t len) const;
  // Frees what reserve() allocated past `size`, the file's current size, up
  // to `reserved_end`; the size and every byte of the file stay. Filesystems
  // differ: ext4 frees blocks past the end on ftruncate even to the same size
  // but ignores a hole punched there; tmpfs the other way round. So this
  // does both (the hole from the first page boundary at or after `size`).
  Result<void> release_reserved(std::uint64_t size, std::uint64_t reserved_end) const;
  Result<void> fdatasync() const;
  Result<void> fadvise(std::uint64_t offset, std::uint64_t len, int advice) const;
  // sync_file_range(2) over [offset, offset+len) with `flags`
  // (SYNC_FILE_RANGE_WRITE and friends): writeback of data pages only, no
  // metadata and no device cache flush -- a hint about when to write, never
  // a durability guarantee (fdatasync is that).
  Result<void> sync_range(std::uint64_t offset, std::uint64_t len, unsigned flags) const;

  // Positional I/O looping over short transfers and EINTR. pread_full stops
  // early only at end of file (returns the bytes read).
  Result<std::size_t> pread_full(std::span<std::byte> dst, std::uint64_t offset) const;
  // The whole-transfer case, by far the common one, is inline: a log append
  // returns from the kernel straight into its caller, one cold return fewer.
  Result<void> pwrite_full(std::span<const std::byte> src, std::uint64_t offset) const {
    const ssize_t n = ::pwrite(fd_.get(), src.data(), src.size(), static_cast<off_t>(offset));
    if (static_cast<std::size_t>(n) == src.size() && n >= 0) [[likely]] return {};
    return pwrite_rest(src, offset, n);
  }

 private:
  // pwrite_full after a first pwrite returned `first` (short, 0 or -1/errno).
  Result<void> pwrite_rest(std::span<const std::byte> src, std::uint64_t offset, ssize_t first) const;

  Fd fd_;
  std::filesystem::path path_;
};

}  // namespace nocopy::io
