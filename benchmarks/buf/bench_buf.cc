// bench_buf: what building, slicing and sending buf::Chains costs.
//
//   build-buf/benchmarks/buf/bench_buf --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true   (one line)
//
// Figures: docs/benchmarks.md; how to read them: docs/architecture-buf.md.
#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <netinet/in.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "buf/chain.h"
#include "buf/chain_sender.h"
#include "io/fd.h"
#include "io/file.h"
#include "io/sigpipe_guard.h"

namespace {

using nocopy::buf::Buffer;
using nocopy::buf::Chain;
using nocopy::buf::ChainSender;
using nocopy::buf::ChainSenderOptions;
using nocopy::buf::FileRegion;
namespace io = nocopy::io;

[[noreturn]] void die(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

// A 16 MiB file with known bytes, unlinked at exit; regions keep it open.
std::shared_ptr<const io::File> bench_file() {
  static std::shared_ptr<const io::File> file = [] {
    std::string path =
        (std::filesystem::temp_directory_path() / "nocopy-bench-buf-XXXXXX").string();
    const int fd = ::mkstemp(path.data());
    if (fd < 0) die("mkstemp");
    ::unlink(path.c_str());
    io::File f(io::Fd(fd), path);
    std::string block(1 << 20, 'k');
    for (int i = 0; i < 16; ++i) {
      auto r = f.pwrite_full(std::as_bytes(std::span(block.data(), block.size())),
                             static_cast<std::uint64_t>(i) << 20);
      if (!r) throw std::runtime_error(r.error().message());
    }
    return std::make_shared<const io::File>(std::move(f));
  }();
  return file;
}

// A Kafka-like fetch response: one small header, then N record-batch regions.
Chain kafka_response(const std::shared_ptr<const io::File>& file, int regions) {
  Buffer hdr = Buffer::allocate(64);
  std::memset(hdr.mutable_data(), 0, hdr.size());
  Chain c;
  c.append(std::move(hdr));
  for (int i = 0; i < regions; ++i) {
    c.append(FileRegion{file, static_cast<std::uint64_t>(i) * 16384 + 61, 16000});
  }
  return c;
}

void BM_BuildKafkaResponse(benchmark::State& state) {
  const auto file = bench_file();
  const int n = static_cast<int>(state.range(0));
  for (auto _ : state) {
    Chain c = kafka_response(file, n);
    benchmark::DoNotOptimize(c.length());
  }
  state.counters["segments"] = n + 1;
}
BENCHMARK(BM_BuildKafkaResponse)->Arg(1)->Arg(8)->Arg(64);

void BM_SliceKafkaResponse(benchmark::State& state) {
  const auto file = bench_file();
  const Chain c = kafka_response(file, static_cast<int>(state.range(0)));
  const std::uint64_t off = 30, len = c.length() - 7000 - off;
  for (auto _ : state) {
    Chain s = c.slice(off, len);  // narrows the first/last segment, shares the rest
    benchmark::DoNotOptimize(s.length());
  }
}
BENCHMARK(BM_SliceKafkaResponse)->Arg(1)->Arg(8)->Arg(64);

void BM_SplitKafkaResponse(benchmark::State& state) {
  const auto file = bench_file();
  const Chain c = kafka_response(file, static_cast<int>(state.range(0)));
  for (auto _ : state) {
    Chain rest = c.share();
    Chain front = rest.split(rest.length() / 2);
    benchmark::DoNotOptimize(front.length());
  }
}
BENCHMARK(BM_SplitKafkaResponse)->Arg(1)->Arg(8)->Arg(64);

void BM_PrependHeader(benchmark::State& state) {
  // Building a response back to front: the size prefix goes in last.
  const auto file = bench_file();
  for (auto _ : state) {
    Chain c;
    for (int i = 0; i < 8; ++i)
      c.append(FileRegion{file, static_cast<std::uint64_t>(i) * 4096, 4096});
    c.prepend(Buffer::allocate(40));
    c.prepend(Buffer::allocate(4));
    benchmark::DoNotOptimize(c.length());
  }
}
BENCHMARK(BM_PrependHeader);

// --- sending over loopback TCP --------------------------------------------

// A connected loopback pair whose receiving end is drained by a thread.
class DrainedSocket {
 public:
  DrainedSocket() {
    io::Fd lst(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(lst.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) die("bind");
    if (::listen(lst.get(), 1) != 0) die("listen");
    socklen_t al = sizeof a;
    ::getsockname(lst.get(), reinterpret_cast<sockaddr*>(&a), &al);
    client_ = io::Fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (::connect(client_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) die("connect");
    server_ = io::Fd(::accept4(lst.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!server_) die("accept4");
    drain_ = std::thread([fd = server_.get()] {
      std::vector<char> buf(1 << 18);
      while (::recv(fd, buf.data(), buf.size(), 0) > 0) {
      }
    });
  }
  ~DrainedSocket() {
    ::shutdown(client_.get(), SHUT_WR);
    drain_.join();
  }
  int fd() const { return client_.get(); }

 private:
  io::Fd client_, server_;
  std::thread drain_;
};

// Memory-only chains: ChainSender::send_some vs a bare writev loop over the
// same bytes. Args: segments, bytes per segment.
struct MemoryPayload {
  Buffer pool;
  Chain chain;
  std::vector<iovec> iov;
  MemoryPayload(int segments, int size)
      : pool(Buffer::allocate(static_cast<std::size_t>(segments) * size)) {
    std::memset(pool.mutable_data(), 'm', pool.size());
    for (int i = 0; i < segments; ++i) {
      const std::size_t off = static_cast<std::size_t>(i) * size;
      chain.append(pool.slice(off, static_cast<std::size_t>(size)));
      iov.push_back(
          iovec{const_cast<std::byte*>(pool.data()) + off, static_cast<std::size_t>(size)});
    }
  }
};

// The bare loop ChainSender's memory path is measured against: writev (or,
// with use_sendmsg, sendmsg + MSG_NOSIGNAL, which is what ChainSender calls)
// over a pre-built iovec array, advancing through it on partial writes.
void raw_gather_loop(benchmark::State& state, bool use_sendmsg) {
  MemoryPayload p(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  DrainedSocket sock;
  std::vector<iovec> iov;
  for (auto _ : state) {
    iov = p.iov;  // the loop advances through its own copy
    std::size_t first = 0;
    while (first < iov.size()) {
      const std::size_t cnt = std::min<std::size_t>(iov.size() - first, IOV_MAX);
      ssize_t n;
      if (use_sendmsg) {
        msghdr msg{};
        msg.msg_iov = iov.data() + first;
        msg.msg_iovlen = cnt;
        n = ::sendmsg(sock.fd(), &msg, MSG_NOSIGNAL);
      } else {
        n = ::writev(sock.fd(), iov.data() + first, static_cast<int>(cnt));
      }
      if (n < 0) {
        if (errno == EINTR) continue;
        state.SkipWithError("writev/sendmsg failed");
        return;
      }
      while (n > 0) {
        if (static_cast<std::size_t>(n) >= iov[first].iov_len) {
          n -= static_cast<ssize_t>(iov[first].iov_len);
          ++first;
        } else {
          iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + n;
          iov[first].iov_len -= static_cast<std::size_t>(n);
          n = 0;
        }
      }
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(p.pool.size()));
}

void BM_RawWritev(benchmark::State& state) { raw_gather_loop(state, false); }
void BM_RawSendmsg(benchmark::State& state) { raw_gather_loop(state, true); }

void BM_ChainSendMemory(benchmark::State& state) {
  MemoryPayload p(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  DrainedSocket sock;
  ChainSender sender;
  for (auto _ : state) {
    Chain c = p.chain.share();  // sending consumes the chain; sharing is part of the cost
    auto r = sender.send_some(sock.fd(), c);
    if (!r) {
      state.SkipWithError(r.error().message().c_str());
      return;
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(p.pool.size()));
  state.counters["syscalls/iter"] = benchmark::Counter(
      static_cast<double>(sender.memory_counters().syscalls), benchmark::Counter::kAvgIterations);
}

// The share() part of BM_ChainSendMemory alone (one refcount per segment).
void BM_ShareMemoryChain(benchmark::State& state) {
  MemoryPayload p(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  for (auto _ : state) {
    Chain c = p.chain.share();
    benchmark::DoNotOptimize(c.length());
  }
}

#define MEMORY_ARGS \
  ->Args({1, 4096})->Args({16, 1024})->Args({64, 1024})->Args({256, 256})->Args({2048, 64})
BENCHMARK(BM_RawWritev) MEMORY_ARGS;
BENCHMARK(BM_RawSendmsg) MEMORY_ARGS;
BENCHMARK(BM_ChainSendMemory) MEMORY_ARGS;
BENCHMARK(BM_ShareMemoryChain) MEMORY_ARGS;

// Header + N file regions: ChainSender (sendmsg + sendfile) vs a bare
// write(header) + sendfile loop over the same regions. Arg: regions of 16000 B.
void BM_RawHeaderSendfile(benchmark::State& state) {
  const auto file = bench_file();
  const int n = static_cast<int>(state.range(0));
  DrainedSocket sock;
  char hdr[64] = {};
  for (auto _ : state) {
    for (std::size_t done = 0; done < sizeof hdr;) {
      const ssize_t w = ::send(sock.fd(), hdr + done, sizeof hdr - done, MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        state.SkipWithError("send failed");
        return;
      }
      done += static_cast<std::size_t>(w);
    }
    for (int i = 0; i < n; ++i) {
      off_t off = static_cast<off_t>(i) * 16384 + 61;
      std::size_t left = 16000;
      while (left > 0) {
        const ssize_t w = ::sendfile(sock.fd(), file->fd(), &off, left);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
          state.SkipWithError("sendfile failed");
          return;
        }
        left -= static_cast<std::size_t>(w);
      }
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * (64 + 16000LL * n));
}

void BM_ChainSendHeaderRegions(benchmark::State& state) {
  const auto file = bench_file();
  const int n = static_cast<int>(state.range(0));
  DrainedSocket sock;
  ChainSender sender(ChainSenderOptions{io::Strategy::sendfile, {}});
  for (auto _ : state) {
    Chain c = kafka_response(file, n);
    auto r = sender.send_some(sock.fd(), c);
    if (!r) {
      state.SkipWithError(r.error().message().c_str());
      return;
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * (64 + 16000LL * n));
}

BENCHMARK(BM_RawHeaderSendfile)->Arg(1)->Arg(8);
BENCHMARK(BM_ChainSendHeaderRegions)->Arg(1)->Arg(8)->ArgName("regions");

}  // namespace

int main(int argc, char** argv) {
  // SIG_IGN through io, so its SigpipeGuard skips the two rt_sigprocmask
  // calls it otherwise makes around every sendfile/splice (a server does the
  // same at startup); the bare loops below then pay the same signal cost.
  io::ignore_sigpipe_process_wide();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
