#include <gtest/gtest.h>

#include <stdexcept>

#include "security/listener_spec.h"
#include "security/security_config.h"

namespace nocopy::security {
namespace {

TEST(SecurityConfigTest, TwoListenersOnOnePortAreRefused) {
  SecurityConfig c;
  c.listeners = parse_listeners("PLAINTEXT://127.0.0.1:9092,SASL_PLAINTEXT://127.0.0.1:9092");
  c.sasl_mechanisms = {"PLAIN"};
  EXPECT_THROW(c.validate(), std::invalid_argument);
  c.listeners = parse_listeners("PLAINTEXT://127.0.0.1:9092,SASL_PLAINTEXT://127.0.0.1:9093");
  EXPECT_NO_THROW(c.validate());
  // Port 0 (any free port) may appear on several listeners.
  c.listeners = parse_listeners("PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0");
  EXPECT_NO_THROW(c.validate());
}

}  // namespace
}  // namespace nocopy::security
