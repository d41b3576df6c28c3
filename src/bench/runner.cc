#include "bench/runner.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <stdexcept>
#include <system_error>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "bench/data_file.h"
#include "bench/loopback.h"
#include "bench/progress.h"
#include "bench/receiver.h"
#include "bench/units.h"
#include "io/fd.h"
#include "io/file_copier.h"
#include "io/transfer.h"

namespace nocopy::bench {

namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

constexpr std::size_t kRefBuffer = 64u << 20;   // memcpy reference: 2x LLC-sized and more
constexpr std::size_t kSendBuffer = 1u << 20;   // send reference: one reused 1 MiB buffer

[[noreturn]] void sys_fail(const char* call, const std::string& what) {
  throw std::system_error(errno, std::generic_category(), fmt::format("{} {}", call, what));
}

std::string read_cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(colon + 2);
    }
  }
  return "unknown";
}

// Restores the calling thread's CPU affinity when the run ends.
class AffinityGuard {
 public:
  AffinityGuard() { saved_ok_ = ::pthread_getaffinity_np(::pthread_self(), sizeof saved_, &saved_) == 0; }
  ~AffinityGuard() {
    if (saved_ok_) ::pthread_setaffinity_np(::pthread_self(), sizeof saved_, &saved_);
  }
  AffinityGuard(const AffinityGuard&) = delete;
  AffinityGuard& operator=(const AffinityGuard&) = delete;

 private:
  cpu_set_t saved_{};
  bool saved_ok_ = false;
};

// Waits until `fd` is writable (only reached when a blocking socket's sender
// still reports would_block, e.g. a strategy that makes the socket
// non-blocking itself).
io::Result<void> wait_writable(int fd) {
  pollfd p{fd, POLLOUT, 0};
  while (::poll(&p, 1, 10000) < 0) {
    if (errno != EINTR) return io::fail(errno, "poll");
  }
  return {};
}

io::Result<void> send_all(io::FileSender& s, int file_fd, off_t off, std::size_t len, int sock) {
  while (len > 0) {
    auto r = s.send_some(file_fd, off, len, sock);
    if (!r) return std::unexpected(r.error());
    off += static_cast<off_t>(r->bytes);
    len -= r->bytes;
    if (len > 0 && (r->would_block || r->bytes == 0)) {
      if (auto w = wait_writable(sock); !w) return w;
    }
  }
  return {};
}

io::Result<std::uint64_t> send_raw(int sock, const unsigned char* p, std::size_t len) {
  std::uint64_t calls = 0;
  while (len > 0) {
    const ssize_t n = ::send(sock, p, len, MSG_NOSIGNAL);
    ++calls;
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        if (auto w = wait_writable(sock); !w) return std::unexpected(w.error());
        continue;
      }
      return io::fail(errno, "send");
    }
    p += n;
    len -= static_cast<std::size_t>(n);
  }
  return calls;
}

class Bench {
 public:
  explicit Bench(const Options& o) : o_(o) {}

  BenchResult run(std::string command_line);

 private:
  struct Work {  // what one sample moves: `count` units of `len` bytes at offset(i)
    std::uint64_t count = 0;
    std::size_t len = 0;
  };

  Work work_for(std::uint64_t size) const;
  off_t unit_offset(std::uint64_t i, std::size_t len) const;
  void prepare();
  void before_sample();
  io::Availability availability(const Technique& t);
  Sample measure(const Technique& t, std::uint64_t size, int run);
  void measure_socket(const Technique& t, const Work& w, Sample& s);
  // The technique's FileSender (null for the plain-send reference, whose
  // buffer it prepares).
  std::unique_ptr<io::FileSender> make_socket_sender(const Technique& t, Sample& s);
  // Sends every unit of `w` (with `sender`, or from the reference buffer),
  // then drains zero-copy completions; returns the first error, "" if none.
  std::string send_units(io::FileSender* sender, const Work& w, int sock, Sample& s, std::uint64_t& ref_calls);
  void measure_memcpy(const Work& w, Sample& s);
  void measure_copy(const Technique& t, const Work& w, Sample& s);
  std::uint64_t expected_stream_checksum(const Work& w);
  std::uint64_t file_checksum(int fd, std::uint64_t len);

  const Options& o_;
  BenchResult res_;
  io::Fd src_;
  fs::path src_path_;
  std::uint64_t src_size_ = 0;
  fs::path dir_;
  std::vector<unsigned char> recv_buf_;
  std::vector<unsigned char> ref_src_, ref_dst_, send_buf_;
  std::map<std::string, io::Availability> avail_;
  std::vector<off_t> small_offsets_;
  fs::path dst_path_;
  io::Fd dst_;
  ProgressBar* bar_ = nullptr;
};

Bench::Work Bench::work_for(std::uint64_t size) const {
  Work w;
  w.len = static_cast<std::size_t>(size);
  if (o_.workload == Workload::small) {
    w.count = std::max<std::uint64_t>(1, std::min<std::uint64_t>(o_.messages, o_.max_bytes / size));
  } else {
    w.count = std::max<std::uint64_t>(1, (o_.min_bytes + size - 1) / size);
  }
  return w;
}

off_t Bench::unit_offset(std::uint64_t i, std::size_t len) const {
  if (o_.workload != Workload::small) return 0;
  // Scattered offsets, the same for every technique and round.
  const off_t base = small_offsets_[i % small_offsets_.size()];
  const auto span = static_cast<off_t>(src_size_ - len);
  return span > 0 ? base % (span + 1) : 0;
}

void Bench::prepare() {
  if (o_.pin) {
    res_.sender_cpu = o_.sender_cpu >= 0 ? o_.sender_cpu : nth_allowed_cpu(0);
    res_.receiver_cpu = o_.receiver_cpu >= 0 ? o_.receiver_cpu : nth_allowed_cpu(1);
    if (res_.sender_cpu >= 0 && !pin_this_thread(res_.sender_cpu)) {
      throw std::invalid_argument(fmt::format("cannot pin the sender to CPU {}", res_.sender_cpu));
    }
  }
  dir_ = o_.data_dir.empty() ? default_data_dir() : o_.data_dir;
  if (o_.file) {
    src_path_ = *o_.file;
    res_.data_file_created = false;
  } else {
    const std::uint64_t want =
        o_.workload == Workload::small ? o_.file_size : *std::max_element(o_.sizes.begin(), o_.sizes.end());
    const DataFile df = ensure_data_file(dir_, want);
    src_path_ = df.path;
    res_.data_file_created = df.created;
  }
  src_ = io::Fd(::open(src_path_.c_str(), O_RDONLY | O_CLOEXEC));
  if (!src_) sys_fail("open", src_path_.string());
  struct stat st {};
  if (::fstat(src_.get(), &st) != 0) sys_fail("fstat", src_path_.string());
  src_size_ = static_cast<std::uint64_t>(st.st_size);
  res_.data_file = src_path_.string();
  res_.data_file_size = src_size_;

  recv_buf_.assign(o_.recv_buffer, 0);  // touched now: no page faults inside samples
  if (o_.workload == Workload::small) {
    std::mt19937_64 rng(42);
    small_offsets_.resize(65536);
    for (auto& off : small_offsets_) off = static_cast<off_t>(rng() % src_size_);
  }
  if (o_.workload == Workload::copy) {
    const fs::path dst_dir = o_.file ? dir_ : src_path_.parent_path();
    std::error_code ec;
    fs::create_directories(dst_dir, ec);
    dst_path_ = dst_dir / fmt::format(".nocopy-bench-copy-{}.dst", ::getpid());
    dst_ = io::Fd(::open(dst_path_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!dst_) sys_fail("open", dst_path_.string());
  }
  if (o_.cache == CacheMode::warm) {
    // Read the file once so that every sample starts from the page cache.
    (void)::posix_fadvise(src_.get(), 0, 0, POSIX_FADV_WILLNEED);
    std::vector<unsigned char> buf(1u << 20);
    std::uint64_t off = 0;
    while (off < src_size_) {
      const ssize_t n = ::pread(src_.get(), buf.data(), buf.size(), static_cast<off_t>(off));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      off += static_cast<std::uint64_t>(n);
    }
  }
}

void Bench::before_sample() {
  if (o_.cache == CacheMode::cold) {
    // Clean pages only: the data file was fdatasync'ed when it was written.
    (void)::posix_fadvise(src_.get(), 0, 0, POSIX_FADV_DONTNEED);
  }
}

io::Availability Bench::availability(const Technique& t) {
  if (t.is_reference()) return {};
  const std::string key(io::to_string(t.strategy));
  auto it = avail_.find(key);
  if (it != avail_.end()) return it->second;
  io::Availability a;
  try {
    a = io::probe(t.strategy);
  } catch (const std::exception& e) {
    a = {false, e.what()};
  }
  avail_.emplace(key, a);
  return a;
}

Sample Bench::measure(const Technique& t, std::uint64_t size, int run) {
  Sample s;
  s.technique = t.name;
  s.strategy = t.is_reference() ? "" : std::string(io::to_string(t.strategy));
  s.size = size;
  s.run = run;
  const Work w = work_for(size);
  s.transfers = w.count;
  s.bytes_requested = w.count * w.len;
  const io::Availability a = availability(t);
  if (!a.available) {
    s.status = Sample::Status::unavailable;
    s.note = a.reason.empty() ? "not supported by this kernel" : a.reason;
    return s;
  }
  before_sample();
  try {
    if (t.kind == Technique::Kind::memcpy_ref) {
      measure_memcpy(w, s);
    } else if (o_.workload == Workload::copy) {
      measure_copy(t, w, s);
    } else {
      measure_socket(t, w, s);
    }
  } catch (const std::exception& e) {
    s.status = Sample::Status::failed;
    s.note = e.what();
  }
  if (s.status == Sample::Status::ok && s.bytes_received != s.bytes_requested) {
    s.status = Sample::Status::failed;
    if (s.note.empty()) s.note = fmt::format("moved {} of {} bytes", s.bytes_received, s.bytes_requested);
  }
  return s;
}

std::unique_ptr<io::FileSender> Bench::make_socket_sender(const Technique& t, Sample& s) {
  if (t.kind != Technique::Kind::strategy) {
    if (send_buf_.empty()) send_buf_.assign(kSendBuffer, 0x5a);
    return nullptr;
  }
  io::SenderOptions so;
  so.chunk_size = o_.chunk;
  so.pipe_size = t.pipe_size > 0 ? t.pipe_size : o_.pipe_size;
  auto sender = io::make_sender(t.strategy, so);
  if (const char* why = sender->fallback_reason(); why != nullptr && *why != '\0') {
    s.note = fmt::format("fallback: {}", why);
    s.strategy = std::string(io::to_string(sender->strategy()));
  }
  return sender;
}

std::string Bench::send_units(io::FileSender* sender, const Work& w, int sock, Sample& s, std::uint64_t& ref_calls) {
  const bool zc = sender != nullptr && io::has_completions(sender->strategy());
  for (std::uint64_t i = 0; i < w.count; ++i) {
    const off_t off = unit_offset(i, w.len);
    if (sender) {
      if (auto r = send_all(*sender, src_.get(), off, w.len, sock); !r) return r.error().message();
      s.bytes_sent += w.len;
      if (zc && (i & 63) == 63) {
        if (auto r = sender->reap(sock); !r) return r.error().message();
      }
      continue;
    }
    for (std::size_t left = w.len; left > 0;) {
      const std::size_t n = std::min(left, send_buf_.size());
      auto r = send_raw(sock, send_buf_.data(), n);
      if (!r) return r.error().message();
      ref_calls += *r;
      left -= n;
      s.bytes_sent += n;
    }
  }
  if (sender) {
    if (auto r = sender->drain(sock); !r) return r.error().message();
  }
  return {};
}

void Bench::measure_socket(const Technique& t, const Work& w, Sample& s) {
  std::unique_ptr<io::FileSender> sender = make_socket_sender(t, s);
  SocketPair pair = make_loopback_pair();
  const int sock = pair.sender.get();
  Receiver rx(std::move(pair.receiver), recv_buf_, o_.pin ? res_.receiver_cpu : -1, o_.verify,
              bar_ != nullptr ? &bar_->bytes_done() : nullptr);
  rx.wait_ready();

  std::uint64_t ref_calls = 0;
  const CpuUsage cpu0 = CpuUsage::this_thread();
  const auto t0 = Clock::now();
  const std::string error = send_units(sender.get(), w, sock, s, ref_calls);
  const CpuUsage cpu1 = CpuUsage::this_thread();
  // EOF for the receiver; SHUT_RDWR on error also unblocks it mid-stream.
  ::shutdown(sock, error.empty() ? SHUT_WR : SHUT_RDWR);
  ReceiveResult r = rx.join();

  s.sender = cpu1 - cpu0;
  s.receiver = r.cpu;
  s.receiver_syscalls = r.recv_calls;
  s.bytes_received = r.bytes;
  if (r.bytes > 0) s.seconds = std::chrono::duration<double>(r.last_byte - t0).count();
  if (sender) {
    s.counters = sender->counters();
  } else {
    s.counters.syscalls = ref_calls;
    s.counters.bytes_copied_user = 0;
  }
  if (!error.empty()) {
    s.status = Sample::Status::failed;
    s.note = error;
  } else if (!r.error.empty()) {
    s.status = Sample::Status::failed;
    s.note = r.error;
  } else if (o_.verify && t.kind == Technique::Kind::strategy) {
    s.verified = r.checksum == expected_stream_checksum(w);
    if (!s.verified) {
      s.status = Sample::Status::failed;
      s.note = "receiver checksum does not match the source";
    }
  }
}

void Bench::measure_memcpy(const Work& w, Sample& s) {
  if (ref_src_.empty()) {
    ref_src_.assign(kRefBuffer, 0x33);
    ref_dst_.assign(kRefBuffer, 0);
  }
  const CpuUsage cpu0 = CpuUsage::this_thread();
  const auto t0 = Clock::now();
  std::size_t pos = 0;
  for (std::uint64_t i = 0; i < w.count; ++i) {
    std::size_t left = w.len;
    while (left > 0) {
      const std::size_t n = std::min(left, kRefBuffer);
      if (pos + n > kRefBuffer) pos = 0;
      std::memcpy(ref_dst_.data() + pos, ref_src_.data() + pos, n);
      // Keep the compiler from proving the copy dead.
      asm volatile("" : : "r"(ref_dst_.data()) : "memory");
      pos += n;
      left -= n;
      s.bytes_sent += n;
      if (bar_ != nullptr) bar_->bytes_done().store(s.bytes_sent, std::memory_order_relaxed);
    }
  }
  const auto t1 = Clock::now();
  s.sender = CpuUsage::this_thread() - cpu0;
  s.seconds = std::chrono::duration<double>(t1 - t0).count();
  s.bytes_received = s.bytes_sent;
  s.counters.bytes_copied_user = s.bytes_sent;
}

void Bench::measure_copy(const Technique& t, const Work& w, Sample& s) {
  io::CopyOptions co;
  co.chunk_size = o_.chunk;
  co.pipe_size = t.pipe_size > 0 ? t.pipe_size : o_.pipe_size;
  io::FileCopier copier(t.strategy, co);
  if (::ftruncate(dst_.get(), 0) != 0) sys_fail("ftruncate", dst_path_.string());

  std::string error;
  int error_code = 0;
  const CpuUsage cpu0 = CpuUsage::this_thread();
  const auto t0 = Clock::now();
  for (std::uint64_t i = 0; i < w.count; ++i) {
    auto r = copier.copy(src_.get(), 0, dst_.get(), static_cast<off_t>(i * w.len), w.len);
    if (!r) {
      error = r.error().message();
      error_code = r.error().err;
      break;
    }
    s.bytes_sent += *r;
    if (bar_ != nullptr) bar_->bytes_done().store(s.bytes_sent, std::memory_order_relaxed);
  }
  if (error.empty() && o_.fsync && ::fdatasync(dst_.get()) != 0) {
    error = fmt::format("fdatasync: {}", std::strerror(errno));
  }
  const auto t1 = Clock::now();
  s.sender = CpuUsage::this_thread() - cpu0;
  s.seconds = std::chrono::duration<double>(t1 - t0).count();
  s.counters = copier.counters();
  if (const char* why = copier.fallback_reason(); why != nullptr && *why != '\0') {
    s.note = fmt::format("fallback: {}", why);
  }
  struct stat st {};
  if (::fstat(dst_.get(), &st) != 0) sys_fail("fstat", dst_path_.string());
  s.bytes_received = static_cast<std::uint64_t>(st.st_size);
  if (!error.empty()) {
    // A file system that refuses O_DIRECT lacks the technique; anything else failed.
    s.status = (t.strategy == io::Strategy::direct_io && error_code == EINVAL) ? Sample::Status::unavailable
                                                                               : Sample::Status::failed;
    s.note = error;
    if (s.status == Sample::Status::unavailable) s.bytes_received = 0;
  } else if (o_.verify) {
    // Expected: the first w.len bytes of the source, w.count times.
    StreamChecksum want;
    std::vector<unsigned char> buf(w.len);
    if (::pread(src_.get(), buf.data(), w.len, 0) != static_cast<ssize_t>(w.len)) sys_fail("pread", src_path_.string());
    for (std::uint64_t i = 0; i < w.count; ++i) want.update(buf.data(), buf.size());
    s.verified = file_checksum(dst_.get(), s.bytes_received) == want.value();
    if (!s.verified) {
      s.status = Sample::Status::failed;
      s.note = "destination checksum does not match the source";
    }
  }
  // Truncating drops the dirty pages without writing them back, so no
  // sample pays for the previous one's writeback.
  if (::ftruncate(dst_.get(), 0) != 0) sys_fail("ftruncate", dst_path_.string());
}

std::uint64_t Bench::expected_stream_checksum(const Work& w) {
  StreamChecksum c;
  std::vector<unsigned char> buf(w.len);
  for (std::uint64_t i = 0; i < w.count; ++i) {
    const off_t off = unit_offset(i, w.len);
    if (::pread(src_.get(), buf.data(), w.len, off) != static_cast<ssize_t>(w.len)) sys_fail("pread", src_path_.string());
    c.update(buf.data(), buf.size());
  }
  return c.value();
}

std::uint64_t Bench::file_checksum(int fd, std::uint64_t len) {
  StreamChecksum c;
  std::vector<unsigned char> buf(1u << 20);
  std::uint64_t off = 0;
  while (off < len) {
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), len - off));
    const ssize_t n = ::pread(fd, buf.data(), want, static_cast<off_t>(off));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    c.update(buf.data(), static_cast<std::size_t>(n));
    off += static_cast<std::uint64_t>(n);
  }
  return c.value();
}

BenchResult Bench::run(std::string command_line) {
  res_.options = o_;
  res_.command_line = std::move(command_line);
  utsname u{};
  if (::uname(&u) == 0) res_.kernel = fmt::format("{} {} {}", u.sysname, u.release, u.machine);
  res_.cpu_model = read_cpu_model();
  res_.online_cpus = static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN));
  (void)nth_allowed_cpu(0);  // snapshot the process's CPU set before pinning

  const auto start = Clock::now();
  AffinityGuard affinity;
  prepare();
  const std::size_t total = static_cast<std::size_t>(o_.runs) * o_.sizes.size() * o_.techniques.size();
  const bool show = o_.progress == 1 || (o_.progress < 0 && ::isatty(STDERR_FILENO) == 1);
  {
    ProgressBar bar(show, total);
    bar_ = &bar;
    std::size_t index = 0;
    for (int run = 0; run < o_.runs; ++run) {
      for (const auto size : o_.sizes) {
        for (const auto& t : o_.techniques) {
          const Work w = work_for(size);
          bar.begin(index++, fmt::format("{} {} run {}/{}", t.name, format_size(size), run + 1, o_.runs),
                    w.count * w.len);
          res_.samples.push_back(measure(t, size, run));
          const Sample& s = res_.samples.back();
          if (s.status == Sample::Status::failed) spdlog::warn("bench: {} {}: {}", t.name, format_size(size), s.note);
        }
      }
    }
    bar_ = nullptr;
  }
  if (!dst_path_.empty()) ::unlink(dst_path_.c_str());
  res_.rows = summarize_rows(res_.samples, o_.techniques, o_.sizes);
  res_.wall_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return std::move(res_);
}

double median_of(std::vector<double> v) { return summarize(v).median; }

}  // namespace

std::vector<Row> summarize_rows(const std::vector<Sample>& samples, const std::vector<Technique>& techniques,
                                const std::vector<std::uint64_t>& sizes) {
  std::vector<Row> rows;
  for (const auto size : sizes) {
    const std::size_t first = rows.size();
    for (const auto& t : techniques) {
      Row row;
      row.technique = t.name;
      row.size = size;
      std::vector<double> gbps, mps, su, ss, ru, rs, vcs, ivcs, sys, rsys, copied;
      for (const auto& s : samples) {
        if (s.technique != t.name || s.size != size) continue;
        row.strategy = s.strategy;
        if (s.status != Sample::Status::ok) {
          if (row.status == Sample::Status::ok || s.status == Sample::Status::unavailable) {
            row.status = s.status;
            row.note = s.note;
          }
          continue;
        }
        if (row.note.empty()) row.note = s.note;  // e.g. a fallback
        const double gib = static_cast<double>(s.bytes_received) / kGiB;
        if (gib <= 0 || s.seconds <= 0) continue;
        gbps.push_back(s.gbps());
        mps.push_back(static_cast<double>(s.transfers) / s.seconds);
        su.push_back(s.sender.user_s / gib);
        ss.push_back(s.sender.sys_s / gib);
        ru.push_back(s.receiver.user_s / gib);
        rs.push_back(s.receiver.sys_s / gib);
        vcs.push_back(static_cast<double>(s.sender.voluntary_switches + s.receiver.voluntary_switches) / gib);
        ivcs.push_back(static_cast<double>(s.sender.involuntary_switches + s.receiver.involuntary_switches) / gib);
        sys.push_back(static_cast<double>(s.counters.syscalls) / gib);
        rsys.push_back(static_cast<double>(s.receiver_syscalls) / gib);
        copied.push_back(s.bytes_sent > 0
                             ? static_cast<double>(s.counters.bytes_copied_user) / static_cast<double>(s.bytes_sent)
                             : 0.0);
        row.fallbacks += s.counters.fallbacks;
        row.zc_completions += s.counters.zc_completions;
        row.zc_copied += s.counters.zc_copied;
      }
      row.gbps = summarize(gbps);
      row.msgs_per_s = summarize(mps);
      row.sender_user_per_gib = median_of(su);
      row.sender_sys_per_gib = median_of(ss);
      row.receiver_user_per_gib = median_of(ru);
      row.receiver_sys_per_gib = median_of(rs);
      row.vcsw_per_gib = median_of(vcs);
      row.ivcsw_per_gib = median_of(ivcs);
      row.syscalls_per_gib = median_of(sys);
      row.receiver_syscalls_per_gib = median_of(rsys);
      row.copied_per_byte = median_of(copied);
      rows.push_back(std::move(row));
    }
    const Row* base = nullptr;
    for (std::size_t i = first; i < rows.size(); ++i) {
      if (rows[i].technique == "sendfile" && rows[i].status == Sample::Status::ok && rows[i].gbps.median > 0) {
        base = &rows[i];
      }
    }
    if (base != nullptr) {
      const double b = base->gbps.median;
      for (std::size_t i = first; i < rows.size(); ++i) {
        if (rows[i].status == Sample::Status::ok) rows[i].ratio_to_sendfile = rows[i].gbps.median / b;
      }
    }
  }
  return rows;
}

BenchResult run_bench(const Options& opts, std::string command_line) {
  opts.validate();
  Bench b(opts);
  return b.run(std::move(command_line));
}

}  // namespace nocopy::bench
