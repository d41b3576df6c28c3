// Where bytes a sender kept after EAGAIN continue (internal to src/io).
//
// ReadWriteSender keeps the unsent tail of its buffer; SpliceSender and
// UringSpliceSender the bytes already spliced into their pipe (they cannot
// be un-read). Kept bytes go out first only on a call that continues the
// same file at the same offset: the same descriptor and offset and, since a
// descriptor may have been closed and its number reused, the same device and
// inode (one fstat, counted in the sender's Counters).
#pragma once

#include <sys/types.h>

#include "io/counters.h"

namespace nocopy::io::detail {

class KeptPosition {
 public:
  // Records that the kept bytes are the bytes of the file open as `fd` from
  // `at`. False when fstat fails: then no call continues them.
  bool remember(int fd, off_t at, Counters& counters);
  // Whether a call for `fd` at `offset` continues the kept bytes.
  bool continued_by(int fd, off_t offset, Counters& counters) const;
  // The kept bytes now start at `at` of the same file.
  void move_to(off_t at) { offset_ = at; }

 private:
  int fd_ = -1;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  off_t offset_ = 0;
};

}  // namespace nocopy::io::detail
