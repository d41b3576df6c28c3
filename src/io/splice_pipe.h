// The pipe between file and socket of the splice strategies (SpliceSender,
// UringSpliceSender; internal to src/io), created once with the asked
// capacity and reused, and the file bytes it holds.
//
// Bytes left in the pipe when the socket would block are kept (they cannot
// be un-read) and go out first on the next call for the same file at the
// offset where they belong (KeptPosition); a call for another file or offset
// discards them by replacing the pipe.
#pragma once

#include <sys/types.h>

#include <cstddef>

#include "io/counters.h"
#include "io/kept_position.h"
#include "io/pipe.h"

namespace nocopy::io::detail {

class SplicePipe {
 public:
  explicit SplicePipe(std::size_t size) : size_(size) {}

  // Makes the pipe ready for a call sending `fd` from `offset`: created on
  // first use, replaced when it holds bytes that call does not continue.
  // Throws std::system_error when a pipe cannot be created.
  void prepare(int fd, off_t offset, Counters& counters);
  // The socket would block with the pipe's bytes belonging at `at` of `fd`.
  void keep(int fd, off_t at, Counters& counters) { kept_.remember(fd, at, counters); }
  // A call sent everything it was asked, from `offset` to `end`; bytes still
  // in the pipe (spliced by an earlier, longer call) continue at `end`.
  void sent_up_to(off_t end) {
    if (held_ > 0) kept_.move_to(end);
  }
  // A failed pipe -> socket splice: what the pipe holds is garbage now.
  void discard() {
    held_ = 0;
    pipe_ = Pipe();
  }
  void filled(std::size_t n) { held_ = n; }
  void drained(std::size_t n) { held_ -= n; }

  const Pipe& pipe() const noexcept { return pipe_; }
  std::size_t held() const noexcept { return held_; }

 private:
  std::size_t size_;
  Pipe pipe_;
  std::size_t held_ = 0;  // the file's bytes at the kept position
  KeptPosition kept_;
};

}  // namespace nocopy::io::detail
