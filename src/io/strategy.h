// The copy techniques nocopy implements, by name.
#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace nocopy::io {

enum class Strategy {
  read_write,       // read() into a user buffer, write() it out: the 4-copy path
  mmap_write,       // mmap the file, write() from the mapping
  sendfile,         // sendfile(2): page cache -> socket, no user copy
  splice,           // file -> pipe -> socket with splice(2); pipe reused
  uring_splice,     // IORING_OP_SPLICE pairs through io_uring
  uring_send_zc,    // IORING_OP_SEND_ZC from a mapping (notif before reuse)
  msg_zerocopy,     // send(MSG_ZEROCOPY) from a mapping; completions on the error queue
  copy_file_range,  // file -> file only
  direct_io,        // file -> file only: O_DIRECT with aligned buffers
};

std::string_view to_string(Strategy s);
std::optional<Strategy> parse_strategy(std::string_view name);

// Whether a FileSender of strategy `s` keeps references after send_some()
// returned, released only by completions reaped later (msg_zerocopy,
// uring_send_zc): its user must call reap()/drain() (io/transfer.h).
bool has_completions(Strategy s);

// Strategies valid for file -> socket and file -> file transfer.
std::span<const Strategy> socket_strategies();
std::span<const Strategy> file_copy_strategies();

}  // namespace nocopy::io
