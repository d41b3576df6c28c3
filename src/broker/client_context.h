// ClientContext: what the broker knows about the connection a request came
// on -- the listener (its security protocol and the address advertised to
// it), the authenticated principal and the peer's host. Made by the Broker
// per connection; requests handled without a connection (tests) use
// ClientContext{} (the configured advertised address, User:ANONYMOUS).
#pragma once

#include <cstddef>
#include <string>

#include "broker/config.h"
#include "security/listener_spec.h"

namespace nocopy::broker {

struct ClientContext {
  std::size_t listener = 0;
  security::SecurityProtocol protocol = security::SecurityProtocol::plaintext;
  HostPort advertised{"", 0};  // empty host: Config::advertised_address()
  std::string principal = "User:ANONYMOUS";
  std::string host = "127.0.0.1";  // the peer's address
};

}  // namespace nocopy::broker
