// File -> file copy, one strategy per technique (Strategy::read_write,
// sendfile, splice, copy_file_range, direct_io).
//
// copy(src, src_off, dst, dst_off, len) copies exactly `len` bytes or fails:
//  * the source ending before src_off+len is IoError{ENODATA} ("truncated");
//  * errors name the syscall ("copy_file_range: ...");
//  * it loops over short transfers and EINTR; per-call sizes stay < 2 GiB.
// Per strategy:
//  * read_write: pread/pwrite through a chunk_size user buffer;
//  * sendfile: sendfile(2) into the destination (its file position is set
//    with lseek first: sendfile writes at the current position);
//  * splice: source -> pipe -> destination, positional on both files;
//  * copy_file_range: in-kernel (reflink or page cache) copy; EXDEV, EOPNOTSUPP,
//    ENOSYS or EINVAL on the first call fall back to splice (counted in
//    counters().fallbacks, reason in fallback_reason());
//  * direct_io: both files are reopened (through /proc/self/fd) with O_DIRECT;
//    I/O goes through a buffer aligned to the filesystem's direct-I/O
//    alignment (statx STATX_DIOALIGN, else 4096); the O_DIRECT descriptors
//    are kept for the next call on the same pair of files. src_off and dst_off must be
//    multiples of it (EINVAL otherwise); the unaligned tail of `len` is
//    copied with buffered pread/pwrite. A filesystem that refuses O_DIRECT
//    (open or read returning EINVAL, e.g. older tmpfs) gives
//    IoError{EINVAL, "open"/"pread", "... refuses O_DIRECT ..."}.
// Thread-safety: one thread at a time per FileCopier.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "io/counters.h"
#include "io/error.h"
#include "io/fd.h"
#include "io/pipe.h"
#include "io/strategy.h"

namespace nocopy::io {

struct CopyOptions {
  std::size_t chunk_size = 1 << 20;  // read_write / direct_io buffer
  std::size_t pipe_size = 1 << 20;   // splice
};

class FileCopier {
 public:
  // Throws std::invalid_argument for a strategy not in file_copy_strategies().
  explicit FileCopier(Strategy s, CopyOptions opts = {});

  Result<std::uint64_t> copy(int src_fd, off_t src_off, int dst_fd, off_t dst_off, std::uint64_t len);

  // Copies a whole file to `dst` (created or truncated). Open errors throw
  // std::system_error naming the syscall and path, as File::open does.
  Result<std::uint64_t> copy_file(const std::filesystem::path& src, const std::filesystem::path& dst);

  Strategy strategy() const noexcept { return strategy_; }
  const Counters& counters() const noexcept { return counters_; }
  void reset_counters() { counters_ = {}; }
  const char* fallback_reason() const noexcept { return fallback_reason_.c_str(); }

 private:
  Result<std::uint64_t> copy_read_write(int src, off_t so, int dst, off_t d, std::uint64_t len);
  Result<std::uint64_t> copy_sendfile(int src, off_t so, int dst, off_t d, std::uint64_t len);
  Result<std::uint64_t> copy_splice(int src, off_t so, int dst, off_t d, std::uint64_t len);
  Result<std::uint64_t> copy_range(int src, off_t so, int dst, off_t d, std::uint64_t len);
  Result<std::uint64_t> copy_direct(int src, off_t so, int dst, off_t d, std::uint64_t len);
  // copy_direct's steps: `fd` opened again with O_DIRECT (through
  // /proc/self/fd); direct_ made to hold the pair (src, dst), reused while
  // both still name the same inodes; `n` bytes of `buf` written at `at` of
  // the O_DIRECT destination (src, so, dst name the copy in errors).
  Result<void> reopen_direct(int fd, int flags, Fd* out);
  Result<void> open_direct_pair(int src, int dst);
  Result<void> write_direct(const std::byte* buf, std::size_t n, off_t at, int src, off_t so, int dst);

  Strategy strategy_;
  CopyOptions opts_;
  Counters counters_;
  std::string fallback_reason_;
  Pipe pipe_;
  // direct_io: the O_DIRECT reopenings of the last (src, dst) pair, reused
  // while the caller's descriptors still name the same inodes.
  struct DirectPair {
    int src = -1, dst = -1;
    unsigned long src_ino = 0, dst_ino = 0, src_dev = 0, dst_dev = 0;
    Fd in, out;
    std::size_t align = 4096;
  };
  DirectPair direct_;
};

}  // namespace nocopy::io
