#include "io/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include <fmt/format.h>

namespace nocopy::io {

File File::open(const std::filesystem::path& path, Mode mode, int extra_flags) {
  int flags = O_CLOEXEC | extra_flags;
  switch (mode) {
    case Mode::read: flags |= O_RDONLY; break;
    case Mode::read_write: flags |= O_RDWR; break;
    case Mode::create_rw: flags |= O_RDWR | O_CREAT; break;
    case Mode::truncate_rw: flags |= O_RDWR | O_CREAT | O_TRUNC; break;
  }
  int fd;
  do {
    fd = ::open(path.c_str(), flags, 0644);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    const int e = errno;
    if (e == EINVAL && (extra_flags & O_DIRECT)) {
      throw std::system_error(e, std::system_category(),
                              fmt::format("open {}: the filesystem refuses O_DIRECT", path.string()));
    }
    throw std::system_error(e, std::system_category(), fmt::format("open {}", path.string()));
  }
  Fd owner(fd);
  struct stat st{};
  if (::fstat(fd, &st) != 0) {
    throw std::system_error(errno, std::system_category(), fmt::format("fstat {}", path.string()));
  }
  if (S_ISDIR(st.st_mode)) {
    throw std::system_error(EISDIR, std::system_category(),
                            fmt::format("open {}: is a directory, not a file", path.string()));
  }
  return File(std::move(owner), path);
}

Result<std::uint64_t> File::size() const {
  struct stat st{};
  if (::fstat(fd_.get(), &st) != 0) return fail(errno, "fstat", path_.string());
  return static_cast<std::uint64_t>(st.st_size);
}

Result<void> File::truncate(std::uint64_t size) const {
  int rc;
  do {
    rc = ::ftruncate(fd_.get(), static_cast<off_t>(size));
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) return fail(errno, "ftruncate", path_.string());
  return {};
}

Result<void> File::fallocate(std::uint64_t offset, std::uint64_t len) const {
  int rc;
  do {
    // posix_fallocate returns the error number instead of setting errno.
    rc = ::posix_fallocate(fd_.get(), static_cast<off_t>(offset), static_cast<off_t>(len));
  } while (rc == EINTR);
  if (rc != 0) return fail(rc, "fallocate", path_.string());
  return {};
}

namespace {
Result<void> fallocate_mode(int fd, int mode, std::uint64_t offset, std::uint64_t len, const char* what,
                            const std::filesystem::path& path) {
  int rc;
  do {
    rc = ::fallocate(fd, mode, static_cast<off_t>(offset), static_cast<off_t>(len));
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) return fail(errno, what, path.string());
  return {};
}
}  // namespace

Result<void> File::reserve(std::uint64_t offset, std::uint64_t len) const {
  return fallocate_mode(fd_.get(), FALLOC_FL_KEEP_SIZE, offset, len, "fallocate(KEEP_SIZE)", path_);
}

Result<void> File::release_reserved(std::uint64_t size, std::uint64_t reserved_end) const {
  if (auto r = truncate(size); !r) return r;
  const std::uint64_t page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  const std::uint64_t from = (size + page - 1) / page * page;
  if (reserved_end <= from) return {};
  auto r = fallocate_mode(fd_.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, from, reserved_end - from,
                          "fallocate(PUNCH_HOLE)", path_);
  if (!r && r.error().err == EOPNOTSUPP) return {};  // nothing reserved there on such a filesystem
  return r;
}

Result<void> File::fdatasync() const {
  int rc;
  do {
    rc = ::fdatasync(fd_.get());
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) return fail(errno, "fdatasync", path_.string());
  return {};
}

Result<void> File::fadvise(std::uint64_t offset, std::uint64_t len, int advice) const {
  const int rc = ::posix_fadvise(fd_.get(), static_cast<off_t>(offset), static_cast<off_t>(len), advice);
  if (rc != 0) return fail(rc, "fadvise", path_.string());
  return {};
}

Result<void> File::sync_range(std::uint64_t offset, std::uint64_t len, unsigned flags) const {
  int rc;
  do {
    rc = ::sync_file_range(fd_.get(), static_cast<off_t>(offset), static_cast<off_t>(len), flags);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) return fail(errno, "sync_file_range", path_.string());
  return {};
}

Result<std::size_t> File::pread_full(std::span<std::byte> dst, std::uint64_t offset) const {
  std::size_t done = 0;
  while (done < dst.size()) {
    const ssize_t n = ::pread(fd_.get(), dst.data() + done, dst.size() - done,
                              static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(errno, "pread", path_.string());
    }
    if (n == 0) break;  // end of file
    done += static_cast<std::size_t>(n);
  }
  return done;
}

Result<void> File::pwrite_rest(std::span<const std::byte> src, std::uint64_t offset, ssize_t first) const {
  std::size_t done = 0;
  for (ssize_t n = first;;) {
    if (n < 0) {
      if (errno != EINTR) return fail(errno, "pwrite", path_.string());
    } else if (n == 0) {
      if (src.empty()) return {};
      return fail(EIO, "pwrite", fmt::format("{}: wrote 0 bytes", path_.string()));
    } else {
      done += static_cast<std::size_t>(n);
      if (done >= src.size()) return {};
    }
    n = ::pwrite(fd_.get(), src.data() + done, src.size() - done, static_cast<off_t>(offset + done));
  }
}

}  // namespace nocopy::io
