// Cost per send_some() call of every file -> socket strategy over loopback,
// for 4 KiB, 64 KiB and 1 MiB sends (a receiver thread drains the socket),
// next to a bare sendfile loop (raw syscalls, no library) in the same run.
//
//   build-io/benchmarks/io/bench_io --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true   (one command line)
//
// "sendfile_lib" runs with SIGPIPE ignored process-wide (as the broker and
// the HTTP server do: no per-call SigpipeGuard); "sendfile_lib_guarded" with
// the default disposition (two rt_sigprocmask calls per send_some).
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>

#include "io/file.h"
#include "io/sigpipe_guard.h"
#include "io/socket.h"
#include "io/transfer.h"

namespace {

using namespace nocopy::io;

constexpr std::size_t kFileSize = 64 << 20;

// A 64 MiB file in the page cache, shared by every benchmark.
const File& source_file() {
  static File f = [] {
    auto path = std::filesystem::temp_directory_path() / ("nocopy-bench-io-" + std::to_string(::getpid()));
    File out = File::open(path, File::Mode::truncate_rw);
    std::vector<std::byte> buf(1 << 20);
    for (std::size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<std::byte>(i * 131);
    for (std::size_t off = 0; off < kFileSize; off += buf.size()) {
      if (!out.pwrite_full(buf, off)) std::abort();
    }
    std::filesystem::remove(path);  // unlinked; the descriptor keeps it alive
    return out;
  }();
  return f;
}

// A loopback connection whose server side is drained by a thread.
class DrainedConnection {
 public:
  DrainedConnection() : pair_(connected_pair()) {
    thread_ = std::thread([fd = pair_.server.fd(), this] {
      std::vector<char> buf(1 << 20);
      while (true) {
        const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        received_ += static_cast<std::uint64_t>(n);
      }
    });
  }
  ~DrainedConnection() {
    ::shutdown(pair_.client.fd(), SHUT_WR);
    thread_.join();
  }
  int fd() const { return pair_.client.fd(); }

 private:
  SocketPair pair_;
  std::thread thread_;
  std::atomic<std::uint64_t> received_{0};
};

void set_sigpipe_mode(bool ignored) {
  if (ignored) {
    ignore_sigpipe_process_wide();
  } else if (sigpipe_ignored_process_wide()) {
    restore_sigpipe_default();
  }
}

void report(benchmark::State& state, std::size_t size, const Counters* c) {
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * size));
  if (c != nullptr && state.iterations() > 0) {
    const double it = static_cast<double>(state.iterations());
    state.counters["syscalls/call"] = static_cast<double>(c->syscalls) / it;
    state.counters["fallbacks"] = static_cast<double>(c->fallbacks);
  }
}

// The library path: one send_some per iteration on a blocking socket.
void BM_strategy(benchmark::State& state, Strategy s, bool sigpipe_ignored) {
  set_sigpipe_mode(sigpipe_ignored);
  const std::size_t size = static_cast<std::size_t>(state.range(0));
  const int fd = source_file().fd();
  DrainedConnection conn;
  auto sender = make_sender(s);
  off_t off = 0;
  for (auto _ : state) {
    auto r = sender->send_some(fd, off, size, conn.fd());
    if (!r || r->bytes != size) {
      state.SkipWithError(r ? "short send" : r.error().message().c_str());
      break;
    }
    off += static_cast<off_t>(size);
    if (off + static_cast<off_t>(size) > static_cast<off_t>(kFileSize)) off = 0;
  }
  (void)sender->drain(conn.fd());
  report(state, size, &sender->counters());
  if (sender->fallback_reason()[0] != '\0') state.SetLabel(sender->fallback_reason());
}

// No library: the plain syscall loop a C programmer would write.
void BM_bare_sendfile(benchmark::State& state) {
  set_sigpipe_mode(true);
  const std::size_t size = static_cast<std::size_t>(state.range(0));
  const int fd = source_file().fd();
  DrainedConnection conn;
  off_t off = 0;
  for (auto _ : state) {
    off_t o = off;
    std::size_t left = size;
    while (left > 0) {
      const ssize_t n = ::sendfile(conn.fd(), fd, &o, left);
      if (n <= 0) {
        if (n < 0 && errno == EINTR) continue;
        state.SkipWithError("sendfile failed");
        return;
      }
      left -= static_cast<std::size_t>(n);
    }
    off += static_cast<off_t>(size);
    if (off + static_cast<off_t>(size) > static_cast<off_t>(kFileSize)) off = 0;
  }
  report(state, size, nullptr);
}

// CPU time of the sending thread (the default) is the cost per call: on a
// shared, loaded machine wall time mostly measures the scheduler.
// Paired A/B: every iteration makes one bare sendfile call sequence and one
// library send_some of the same size (order alternating), each timed on its
// own with CLOCK_MONOTONIC; the medians of the per-call samples are robust to
// preemption on a loaded machine, and both see the same machine state.
void BM_sendfile_paired(benchmark::State& state) {
  set_sigpipe_mode(true);
  const std::size_t size = static_cast<std::size_t>(state.range(0));
  const int fd = source_file().fd();
  DrainedConnection conn;
  auto sender = make_sender(Strategy::sendfile);
  std::vector<double> bare, lib;
  off_t off = 0;
  auto now = [] {
    timespec ts;
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
  };
  auto next = [&] {
    off += static_cast<off_t>(size);
    if (off + static_cast<off_t>(size) > static_cast<off_t>(kFileSize)) off = 0;
  };
  auto run_bare = [&] {
    off_t o = off;
    std::size_t left = size;
    while (left > 0) {
      const ssize_t n = ::sendfile(conn.fd(), fd, &o, left);
      if (n <= 0) {
        if (n < 0 && errno == EINTR) continue;
        return false;
      }
      left -= static_cast<std::size_t>(n);
    }
    return true;
  };
  auto run_lib = [&] {
    auto r = sender->send_some(fd, off, size, conn.fd());
    return r && r->bytes == size;
  };
  bool bare_first = true;
  for (auto _ : state) {
    for (int k = 0; k < 2; ++k) {
      const bool do_bare = (k == 0) == bare_first;
      const double t0 = now();
      const bool ok = do_bare ? run_bare() : run_lib();
      const double t1 = now();
      if (!ok) {
        state.SkipWithError("send failed");
        return;
      }
      (do_bare ? bare : lib).push_back(t1 - t0);
      next();
    }
    bare_first = !bare_first;
  }
  auto median = [](std::vector<double>& v) {
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
    return v[v.size() / 2];
  };
  if (!bare.empty()) {
    const double b = median(bare), l = median(lib);
    state.counters["bare_ns"] = b;
    state.counters["lib_ns"] = l;
    state.counters["lib_over_bare"] = l / b;
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * 2 * size));
}

void sizes(benchmark::internal::Benchmark* b) { b->Arg(4 << 10)->Arg(64 << 10)->Arg(1 << 20); }

// Bare and library sendfile first, interleaved by size, so they see the same
// machine state; then every strategy.
BENCHMARK(BM_sendfile_paired)->Apply(sizes);
BENCHMARK(BM_bare_sendfile)->Apply(sizes);
BENCHMARK_CAPTURE(BM_strategy, sendfile_lib, Strategy::sendfile, true)->Apply(sizes);
BENCHMARK_CAPTURE(BM_strategy, sendfile_lib_guarded, Strategy::sendfile, false)->Apply(sizes);
BENCHMARK_CAPTURE(BM_strategy, read_write, Strategy::read_write, true)->Apply(sizes);
BENCHMARK_CAPTURE(BM_strategy, mmap_write, Strategy::mmap_write, true)->Apply(sizes);
BENCHMARK_CAPTURE(BM_strategy, splice, Strategy::splice, true)->Apply(sizes);
BENCHMARK_CAPTURE(BM_strategy, uring_splice, Strategy::uring_splice, true)->Apply(sizes);
BENCHMARK_CAPTURE(BM_strategy, uring_send_zc, Strategy::uring_send_zc, true)->Apply(sizes);
BENCHMARK_CAPTURE(BM_strategy, msg_zerocopy, Strategy::msg_zerocopy, true)->Apply(sizes);

}  // namespace

BENCHMARK_MAIN();
