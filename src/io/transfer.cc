#include "io/transfer.h"

#include <stdexcept>
#include <string>

#include "io/read_write_sender.h"
#include "io/mmap_write_sender.h"
#include "io/msg_zerocopy_sender.h"
#include "io/sendfile_sender.h"
#include "io/splice_sender.h"
#include "io/uring.h"
#include "io/uring_send_zc_sender.h"
#include "io/uring_splice_sender.h"

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
    default: return {};
  }
}

}  // namespace nocopy::io
