#include <gtest/gtest.h>

#include <stdexcept>
#include <toml++/toml.h>

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

TEST(SecurityConfigTest, ConnectionsMaxReauthMs) {
  SecurityConfig c;
  EXPECT_EQ(c.connections_max_reauth_ms, 0u);  // off by default, as Kafka
  c.load_toml(toml::parse("connections_max_reauth_ms = 60000"));
  EXPECT_EQ(c.connections_max_reauth_ms, 60000u);
  EXPECT_NO_THROW(c.validate());
  c.connections_max_reauth_ms = 999;  // shorter than a second: refused
  EXPECT_THROW(c.validate(), std::invalid_argument);
  EXPECT_THROW(c.load_toml(toml::parse("connections_max_reauth_ms = -1")), std::invalid_argument);
  EXPECT_THROW(c.load_toml(toml::parse("connections_max_reauth_ms = \"soon\"")), std::invalid_argument);
}

}  // namespace
}  // namespace nocopy::security
