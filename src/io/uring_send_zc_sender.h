// Strategy::uring_send_zc -- IORING_OP_SEND_ZC from an mmap'd window of the
// file (or, via send_memory_some(), from caller memory).
//
// Each SEND_ZC produces a result CQE (bytes sent, or -errno) and, when its
// flags carry IORING_CQE_F_MORE, a later notification CQE
// (IORING_CQE_F_NOTIF) once the kernel no longer reads the memory. The
// window's (or owner's) reference is held until that notification: memory is
// never released before its completion. A short send is requeued here for
// the rest. On a non-blocking socket the send is issued with MSG_DONTWAIT and
// -EAGAIN returns would_block. Completions arriving later are reaped by every
// send_some(), by reap() and by drain(). Notifications are not tied to the
// socket's descriptor: closing a socket with sends in flight is safe, their
// notifications still arrive on the ring and release the memory then (a
// server's event loop watches completion_fd(), see net::ZeroCopyCompletions).
// Truncated source: ENODATA as mmap_write.
//
// Without IORING_OP_SEND_ZC (or io_uring), every call goes through a
// MmapWriteSender (plain send() from the mapping): fallback_reason() says
// why, counters().fallbacks counts the calls.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>

#include "io/mapped_source.h"
#include "io/mapping.h"
#include "io/mmap_write_sender.h"
#include "io/transfer.h"
#include "io/uring.h"

namespace nocopy::io {

class UringSendZcSender final : public FileSender {
 public:
  explicit UringSendZcSender(const SenderOptions& opts = {});

  Result<Progress> send_some(int file_fd, off_t offset, std::size_t len, int sock_fd) override;
  // Sends caller memory; `owner` is held until the kernel's notification.
  Result<Progress> send_memory_some(std::span<const std::byte> data, std::shared_ptr<const void> owner, int sock_fd);

  // Reaps every CQE the ring holds (for all sockets: the ring is per sender,
  // not per socket; `sock_fd` is ignored). Never blocks.
  Result<std::size_t> reap(int sock_fd) override;
  Result<void> drain(int sock_fd, int timeout_ms = 5000) override;
  Strategy strategy() const override { return Strategy::uring_send_zc; }
  const char* fallback_reason() const override { return fallback_reason_.c_str(); }
  // Sends of every socket still waiting for their notification
  // (outstanding(sock) is 0: notifications are not tracked per socket).
  using FileSender::outstanding;
  std::size_t outstanding() const noexcept { return held_.size(); }
  // The ring's descriptor (-1 in fallback mode): it polls readable (EPOLLIN)
  // while CQEs wait, so an event loop can call reap() exactly when
  // notifications arrived instead of only on the next send. Valid while this
  // sender lives.
  int completion_fd() const override;

 private:
  Result<Progress> fallback_send(int file_fd, off_t offset, std::size_t len, int sock_fd);
  // Handles one CQE; returns true (and *res) if it is the result of `want_id`.
  bool handle(io_uring_cqe* cqe, std::uint64_t want_id, int* res);

  std::size_t chunk_;
  std::unique_ptr<Uring> ring_;
  std::unique_ptr<MmapWriteSender> fallback_;
  std::string fallback_reason_;
  bool report_usage_ = true;
  std::uint64_t next_id_ = 1;
  std::unordered_map<std::uint64_t, std::shared_ptr<const void>> held_;  // waiting for notif
  MappedSource source_;
};

}  // namespace nocopy::io
