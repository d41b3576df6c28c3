// ChainSender::send_some through an io::ByteSink (TLS): see chain_sender.h.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>

#include "buf/chain_sender.h"

namespace nocopy::buf {

namespace {
constexpr std::size_t kReadChunk = 64 * 1024;
constexpr std::uint64_t kMaxFileSend = 1u << 30;
}  // namespace

io::Result<io::Progress> ChainSender::send_region_to(io::ByteSink& sink, const FileRegion& region) {
  if (sink.can_send_file()) {
    ++memory_.syscalls;
    auto r = sink.send_file(region.file->fd(), static_cast<off_t>(region.offset),
                            static_cast<std::size_t>(std::min(region.length, kMaxFileSend)));
    if (r) memory_.bytes_zero_copy += r->bytes;
    return r;
  }
  thread_local std::unique_ptr<std::byte[]> scratch;
  if (!scratch) scratch = std::make_unique<std::byte[]>(kReadChunk);
  const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(region.length, kReadChunk));
  ssize_t n;
  do {
    ++memory_.syscalls;
    n = ::pread(region.file->fd(), scratch.get(), want, static_cast<off_t>(region.offset));
  } while (n < 0 && errno == EINTR);
  if (n < 0) return io::fail(errno, "pread");
  if (n == 0) return io::fail(ENODATA, "pread", "file shorter than its region");
  // Write all that was read unless the sink blocks (what it did not accept
  // is read again next time).
  const auto got = static_cast<std::size_t>(n);
  io::Progress step;
  while (step.bytes < got) {
    auto r = sink.write(std::span<const std::byte>(scratch.get() + step.bytes, got - step.bytes));
    if (!r) return r;
    step.bytes += r->bytes;
    if (r->would_block || r->bytes == 0) {
      step.would_block = r->would_block;
      break;
    }
  }
  memory_.bytes_copied_user += step.bytes;
  return step;
}

io::Result<io::Progress> ChainSender::send_some(io::ByteSink& sink, Chain& chain) {
  io::Progress total;
  while (!chain.empty()) {
    const Segment& front = chain.front();
    io::Progress step;
    if (is_file(front)) {
      auto r = send_region_to(sink, std::get<FileRegion>(front));
      if (!r) return std::unexpected(std::move(r.error()));
      step = *r;
    } else {
      const Buffer& b = std::get<Buffer>(front);
      ++memory_.syscalls;
      auto r = sink.write(std::span<const std::byte>(b.data(), b.size()));
      if (!r) return std::unexpected(std::move(r.error()));
      step = *r;
      memory_.bytes_copied_user += step.bytes;
    }
    if (step.bytes == 0 && !step.would_block) return io::fail(EIO, "send_some", "sink made no progress");
    chain.trim_front(step.bytes);
    total.bytes += step.bytes;
    if (step.would_block) {
      total.would_block = true;
      return total;
    }
  }
  return total;
}

}  // namespace nocopy::buf
