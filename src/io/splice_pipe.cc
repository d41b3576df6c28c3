#include "io/splice_pipe.h"

namespace nocopy::io::detail {

void SplicePipe::prepare(int fd, off_t offset, Counters& counters) {
  if (!pipe_) {
    pipe_ = Pipe::create(size_);
    counters.syscalls += 3;
  }
  if (held_ > 0 && !kept_.continued_by(fd, offset, counters)) {
    pipe_ = Pipe::create(size_);  // drop stale bytes of an abandoned transfer
    counters.syscalls += 3;
    held_ = 0;
  }
}

}  // namespace nocopy::io::detail
