// A connected pair of blocking TCP sockets over 127.0.0.1, the benchmark's
// wire. Setup errors throw std::system_error naming the syscall.
#pragma once

#include "io/fd.h"

namespace nocopy::bench {

struct SocketPair {
  io::Fd sender;    // the connecting side
  io::Fd receiver;  // the accepted side
};

// Listens on 127.0.0.1 port 0 (a free port chosen by the kernel), connects,
// accepts, and closes the listener.
SocketPair make_loopback_pair();

}  // namespace nocopy::bench
