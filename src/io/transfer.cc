#include "io/transfer.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "io/fd.h"
#include "io/mmap_write_sender.h"
#include "io/msg_zerocopy_sender.h"
#include "io/read_write_sender.h"
#include "io/sendfile_sender.h"
#include "io/splice_sender.h"
#include "io/uring.h"
#include "io/uring_send_zc_sender.h"
#include "io/uring_splice_sender.h"

#ifndef SO_ZEROCOPY
#define SO_ZEROCOPY 60
#endif

namespace nocopy::io {

std::unique_ptr<FileSender> make_sender(Strategy s, const SenderOptions& opts) {
  switch (s) {
    case Strategy::read_write: return std::make_unique<ReadWriteSender>(opts.chunk_size);
    case Strategy::sendfile: return std::make_unique<SendfileSender>();
    case Strategy::mmap_write: return std::make_unique<MmapWriteSender>(opts.chunk_size);
    case Strategy::splice: return std::make_unique<SpliceSender>(opts.pipe_size);
    case Strategy::msg_zerocopy: return std::make_unique<MsgZeroCopySender>(opts);
    case Strategy::uring_splice: return std::make_unique<UringSpliceSender>(opts);
    case Strategy::uring_send_zc: return std::make_unique<UringSendZcSender>(opts);
    case Strategy::copy_file_range:
    case Strategy::direct_io:
      throw std::invalid_argument(std::string(to_string(s)) + " is a file -> file strategy only");
  }
  throw std::invalid_argument("unknown strategy");
}

Availability probe(Strategy s) {
  std::string why;
  switch (s) {
    case Strategy::uring_splice:
      if (!uring_supports(IORING_OP_SPLICE, &why)) return {false, why};
      return {};
    case Strategy::uring_send_zc:
      if (!uring_supports(IORING_OP_SEND_ZC, &why)) return {false, why};
      return {};
    case Strategy::msg_zerocopy: {
      // SO_ZEROCOPY on a fresh TCP socket: EOPNOTSUPP/ENOPROTOOPT before 4.14.
      Fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
      if (!s) return {false, fmt::format("socket: {}", std::strerror(errno))};
      const int one = 1;
      if (::setsockopt(s.get(), SOL_SOCKET, SO_ZEROCOPY, &one, sizeof one) != 0) {
        return {false, fmt::format("setsockopt(SO_ZEROCOPY): {}", std::strerror(errno))};
      }
      return {};
    }
    case Strategy::copy_file_range:
    case Strategy::direct_io: return {true, "file -> file only"};
    default: return {};
  }
}

}  // namespace nocopy::io
