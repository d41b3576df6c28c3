#include "io/transfer.h"

#include <stdexcept>
#include <string>

#include "io/read_write_sender.h"
#include "io/mmap_write_sender.h"
#include "io/msg_zerocopy_sender.h"
#include "io/sendfile_sender.h"
#include "io/splice_sender.h"

namespace nocopy::io {

std::unique_ptr<FileSender> make_sender(Strategy s, const SenderOptions& opts) {
  switch (s) {
    case Strategy::read_write: return std::make_unique<ReadWriteSender>(opts.chunk_size);
    case Strategy::sendfile: return std::make_unique<SendfileSender>();
    case Strategy::mmap_write: return std::make_unique<MmapWriteSender>(opts.chunk_size);
    case Strategy::splice: return std::make_unique<SpliceSender>(opts.pipe_size);
    case Strategy::msg_zerocopy: return std::make_unique<MsgZeroCopySender>(opts);
    case Strategy::copy_file_range:
    case Strategy::direct_io:
      throw std::invalid_argument(std::string(to_string(s)) + " is a file -> file strategy only");
    default: break;
  }
  throw std::invalid_argument(std::string(to_string(s)) + ": not implemented yet");
}

Availability probe(Strategy s) {
  switch (s) {
    case Strategy::read_write:
    case Strategy::sendfile:
    case Strategy::mmap_write:
    case Strategy::splice:
    case Strategy::msg_zerocopy: return {};
    default: return {false, "not implemented yet"};
  }
}

}  // namespace nocopy::io
