#include "io/file_copier.h"

#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <stdexcept>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "io/fd.h"
#include "io/file.h"
#include "io/syscall_util.h"

namespace nocopy::io {

namespace {

std::string copy_where(int src, off_t so, int dst, off_t d) {
  return fmt::format("fd {} offset {} -> fd {} offset {}", src, so, dst, d);
}

// Alignment O_DIRECT needs on `fd` (offsets, lengths, memory).
std::size_t dio_alignment(int fd) {
#ifdef STATX_DIOALIGN
  struct statx sx{};
  if (::statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) == 0 && (sx.stx_mask & STATX_DIOALIGN) &&
      sx.stx_dio_offset_align > 0) {
    return std::max<std::size_t>({sx.stx_dio_offset_align, sx.stx_dio_mem_align, 512});
  }
#else
  (void)fd;
#endif
  return 4096;
}

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};

}  // namespace

FileCopier::FileCopier(Strategy s, CopyOptions opts) : strategy_(s), opts_(opts) {
  const auto ok = file_copy_strategies();
  if (std::find(ok.begin(), ok.end(), s) == ok.end()) {
    throw std::invalid_argument(fmt::format("{} is not a file -> file copy strategy", to_string(s)));
  }
  opts_.chunk_size = std::max<std::size_t>(opts_.chunk_size, 4096) / 4096 * 4096;
}

Result<std::uint64_t> FileCopier::copy(int src, off_t so, int dst, off_t d, std::uint64_t len) {
  if (len == 0) return 0;
  switch (strategy_) {
    case Strategy::read_write: return copy_read_write(src, so, dst, d, len);
    case Strategy::sendfile: return copy_sendfile(src, so, dst, d, len);
    case Strategy::splice: return copy_splice(src, so, dst, d, len);
    case Strategy::copy_file_range: return copy_range(src, so, dst, d, len);
    case Strategy::direct_io: return copy_direct(src, so, dst, d, len);
    default: break;
  }
  return fail(EINVAL, "copy", "not a file copy strategy");
}

Result<std::uint64_t> FileCopier::copy_file(const std::filesystem::path& src, const std::filesystem::path& dst) {
  File in = File::open(src, File::Mode::read);
  File out = File::open(dst, File::Mode::truncate_rw);
  auto size = in.size();
  if (!size) return std::unexpected(size.error());
  return copy(in.fd(), 0, out.fd(), 0, *size);
}

Result<std::uint64_t> FileCopier::copy_read_write(int src, off_t so, int dst, off_t d, std::uint64_t len) {
  std::unique_ptr<std::byte[]> buf = std::make_unique_for_overwrite<std::byte[]>(opts_.chunk_size);
  std::uint64_t done = 0;
  while (done < len) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(len - done, opts_.chunk_size));
    const ssize_t n = ::pread(src, buf.get(), want, so + static_cast<off_t>(done));
    ++counters_.syscalls;
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(errno, "pread", copy_where(src, so + static_cast<off_t>(done), dst, d));
    }
    if (n == 0) return std::unexpected(detail::truncated("pread", src, so + done, so + len));
    counters_.bytes_copied_user += static_cast<std::uint64_t>(n);
    for (std::size_t w = 0; w < static_cast<std::size_t>(n);) {
      const ssize_t m = ::pwrite(dst, buf.get() + w, static_cast<std::size_t>(n) - w,
                                 d + static_cast<off_t>(done + w));
      ++counters_.syscalls;
      if (m < 0) {
        if (errno == EINTR) continue;
        return fail(errno, "pwrite", copy_where(src, so, dst, d + static_cast<off_t>(done + w)));
      }
      if (m == 0) return fail(EIO, "pwrite", "wrote 0 bytes");
      w += static_cast<std::size_t>(m);
    }
    done += static_cast<std::uint64_t>(n);
  }
  return done;
}

Result<std::uint64_t> FileCopier::copy_sendfile(int src, off_t so, int dst, off_t d, std::uint64_t len) {
  ++counters_.syscalls;
  if (::lseek(dst, d, SEEK_SET) < 0) return fail(errno, "lseek", copy_where(src, so, dst, d));
  off_t off = so;
  std::uint64_t done = 0;
  while (done < len) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(len - done, detail::kMaxPerCall));
    const ssize_t n = ::sendfile(dst, src, &off, want);
    ++counters_.syscalls;
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(errno, "sendfile", copy_where(src, off, dst, d + static_cast<off_t>(done)));
    }
    if (n == 0) return std::unexpected(detail::truncated("sendfile", src, static_cast<std::uint64_t>(off), so + len));
    done += static_cast<std::uint64_t>(n);
    counters_.bytes_zero_copy += static_cast<std::uint64_t>(n);
  }
  return done;
}

Result<std::uint64_t> FileCopier::copy_splice(int src, off_t so, int dst, off_t d, std::uint64_t len) {
  if (!pipe_) {
    pipe_ = Pipe::create(opts_.pipe_size);
    counters_.syscalls += 3;
  }
  std::uint64_t done = 0;
  while (done < len) {
    loff_t in_off = so + static_cast<off_t>(done);
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(len - done, pipe_.capacity()));
    const ssize_t n = ::splice(src, &in_off, pipe_.write_fd(), nullptr, want, SPLICE_F_MOVE);
    ++counters_.syscalls;
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(errno, "splice", copy_where(src, so + static_cast<off_t>(done), dst, d) + " (file -> pipe)");
    }
    if (n == 0) return std::unexpected(detail::truncated("splice", src, so + done, so + len));
    for (std::size_t left = static_cast<std::size_t>(n); left > 0;) {
      loff_t out_off = d + static_cast<off_t>(done);
      const ssize_t m = ::splice(pipe_.read_fd(), nullptr, dst, &out_off, left, SPLICE_F_MOVE);
      ++counters_.syscalls;
      if (m < 0) {
        if (errno == EINTR) continue;
        const int e = errno;
        pipe_ = Pipe();  // holds bytes that belong nowhere now
        return fail(e, "splice", copy_where(src, so, dst, d + static_cast<off_t>(done)) + " (pipe -> file)");
      }
      if (m == 0) {
        pipe_ = Pipe();
        return fail(EIO, "splice", "pipe -> file moved 0 bytes");
      }
      left -= static_cast<std::size_t>(m);
      done += static_cast<std::uint64_t>(m);
      counters_.bytes_zero_copy += static_cast<std::uint64_t>(m);
    }
  }
  return done;
}

Result<std::uint64_t> FileCopier::copy_range(int src, off_t so, int dst, off_t d, std::uint64_t len) {
  std::uint64_t done = 0;
  while (done < len) {
    loff_t in = so + static_cast<off_t>(done), out = d + static_cast<off_t>(done);
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(len - done, detail::kMaxPerCall));
    const ssize_t n = ::copy_file_range(src, &in, dst, &out, want, 0);
    ++counters_.syscalls;
    if (n < 0) {
      const int e = errno;
      if (e == EINTR) continue;
      if (done == 0 && (e == EXDEV || e == EOPNOTSUPP || e == ENOSYS || e == EINVAL)) {
        // Not supported between these files: do it with splice instead.
        fallback_reason_ = fmt::format("copy_file_range: {}; using splice", ::strerrordesc_np(e));
        spdlog::debug("io: {}", fallback_reason_);
        ++counters_.fallbacks;
        return copy_splice(src, so, dst, d, len);
      }
      return fail(e, "copy_file_range", copy_where(src, in, dst, out));
    }
    if (n == 0) return std::unexpected(detail::truncated("copy_file_range", src, so + done, so + len));
    done += static_cast<std::uint64_t>(n);
    counters_.bytes_zero_copy += static_cast<std::uint64_t>(n);
  }
  return done;
}

Result<void> FileCopier::reopen_direct(int fd, int flags, Fd* out) {
  const std::string proc = fmt::format("/proc/self/fd/{}", fd);
  int r;
  do {
    r = ::open(proc.c_str(), flags | O_DIRECT | O_CLOEXEC);
  } while (r < 0 && errno == EINTR);
  ++counters_.syscalls;
  if (r < 0) {
    const int e = errno;
    if (e == EINVAL) {
      return fail(e, "open", fmt::format("fd {}: the filesystem refuses O_DIRECT", fd));
    }
    return fail(e, "open", fmt::format("{} with O_DIRECT", proc));
  }
  out->reset(r);
  return {};
}

Result<void> FileCopier::open_direct_pair(int src, int dst) {
  struct stat sst{}, dst_st{};
  counters_.syscalls += 2;
  if (::fstat(src, &sst) != 0) return fail(errno, "fstat", fmt::format("fd {}", src));
  if (::fstat(dst, &dst_st) != 0) return fail(errno, "fstat", fmt::format("fd {}", dst));
  if (S_ISDIR(sst.st_mode)) return fail(EISDIR, "open", fmt::format("fd {} is a directory", src));
  const bool same = direct_.in && direct_.src == src && direct_.dst == dst && direct_.src_ino == sst.st_ino &&
                    direct_.src_dev == sst.st_dev && direct_.dst_ino == dst_st.st_ino && direct_.dst_dev == dst_st.st_dev;
  if (same) return {};
  direct_ = DirectPair{};
  Fd in, out;
  if (auto r = reopen_direct(src, O_RDONLY, &in); !r) return r;
  if (auto r = reopen_direct(dst, O_WRONLY, &out); !r) return r;
  direct_.align = std::max(dio_alignment(in.get()), dio_alignment(out.get()));
  direct_.src = src;
  direct_.dst = dst;
  direct_.src_ino = sst.st_ino;
  direct_.src_dev = sst.st_dev;
  direct_.dst_ino = dst_st.st_ino;
  direct_.dst_dev = dst_st.st_dev;
  direct_.in = std::move(in);
  direct_.out = std::move(out);
  return {};
}

Result<void> FileCopier::write_direct(const std::byte* buf, std::size_t n, off_t at, int src, off_t so, int dst) {
  for (std::size_t w = 0; w < n;) {
    const ssize_t m = ::pwrite(direct_.out.get(), buf + w, n - w, at + static_cast<off_t>(w));
    ++counters_.syscalls;
    if (m < 0) {
      if (errno == EINTR) continue;
      return fail(errno, "pwrite", copy_where(src, so, dst, at + static_cast<off_t>(w)) + " (O_DIRECT)");
    }
    if (m == 0) return fail(EIO, "pwrite", "wrote 0 bytes");
    w += static_cast<std::size_t>(m);
  }
  return {};
}

Result<std::uint64_t> FileCopier::copy_direct(int src, off_t so, int dst, off_t d, std::uint64_t len) {
  if (auto r = open_direct_pair(src, dst); !r) return std::unexpected(r.error());
  const int in = direct_.in.get();
  const std::size_t align = direct_.align;
  if (so % static_cast<off_t>(align) != 0 || d % static_cast<off_t>(align) != 0) {
    return fail(EINVAL, "direct_io",
                fmt::format("offsets {} and {} must be multiples of the O_DIRECT alignment {}", so, d, align));
  }
  const std::size_t chunk = std::max(align, opts_.chunk_size / align * align);
  std::unique_ptr<std::byte, FreeDeleter> buf(static_cast<std::byte*>(std::aligned_alloc(align, chunk)));
  if (!buf) return fail(ENOMEM, "aligned_alloc");

  const std::uint64_t aligned_len = len / align * align;
  std::uint64_t done = 0;
  while (done < aligned_len) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(aligned_len - done, chunk));
    const ssize_t n = ::pread(in, buf.get(), want, so + static_cast<off_t>(done));
    ++counters_.syscalls;
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EINVAL) return fail(EINVAL, "pread", "O_DIRECT read refused: the filesystem refuses O_DIRECT");
      return fail(errno, "pread", copy_where(src, so + static_cast<off_t>(done), dst, d) + " (O_DIRECT)");
    }
    if (n == 0) return std::unexpected(detail::truncated("pread", src, so + done, so + len));
    counters_.bytes_copied_user += static_cast<std::uint64_t>(n);
    // A short O_DIRECT read means end of file: a partial block is not
    // written with O_DIRECT (length must be aligned) but below, buffered.
    const std::size_t whole = static_cast<std::size_t>(n) / align * align;
    if (auto w = write_direct(buf.get(), whole, d + static_cast<off_t>(done), src, so, dst); !w)
      return std::unexpected(w.error());
    done += whole;
    if (whole < static_cast<std::size_t>(n) || static_cast<std::size_t>(n) < want) break;  // EOF inside
  }
  // The unaligned tail (and anything after a short read): buffered I/O on the
  // caller's descriptors.
  if (done < len) {
    auto r = copy_read_write(src, so + static_cast<off_t>(done), dst, d + static_cast<off_t>(done), len - done);
    if (!r) return std::unexpected(r.error());
    done += *r;
  }
  return done;
}

}  // namespace nocopy::io
