// SaslGate: the pre-authentication gate and KIP-368 re-authentication, fed
// raw request frames (PLAIN through Cyrus SASL against an in-memory store).
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "broker/sasl_gate.h"
#include "broker_test_util.h"
#include "kafka/reader.h"
#include "kafka/writer.h"
#include "security/scram_store.h"
#include "security/sasl_server.h"

namespace nocopy::broker {
namespace {

using testing::frame;

constexpr std::int16_t kHandshake = 17;
constexpr std::int16_t kAuthenticate = 36;

struct AuthAnswer {
  std::int16_t error = -1;
  std::string message;
  std::int64_t session_lifetime_ms = -1;
};

class SaslGateTest : public ::testing::Test {
 protected:
  SaslGateTest() {
    for (const char* user : {"alice", "bob"})
      store_.upsert(user, security::credential_from_password(security::ScramMechanism::sha256,
                                                             std::string(user) + "-pw", 4096));
    auth_ = std::make_unique<security::SaslAuthenticator>(store_, std::vector<std::string>{"PLAIN", "SCRAM-SHA-256"});
  }

  static std::vector<std::byte> handshake(const std::string& mechanism, std::int16_t version = 1) {
    kafka::Writer w;
    w.string(mechanism);
    return frame(kHandshake, version, 1, w.take_buffer());
  }

  static std::vector<std::byte> plain(const std::string& user, const std::string& password,
                                      std::int16_t version = 1) {
    std::string token = std::string(1, '\0') + user + std::string(1, '\0') + password;
    kafka::Writer w;
    w.bytes(std::as_bytes(std::span(token.data(), token.size())));
    return frame(kAuthenticate, version, 2, w.take_buffer());
  }

  static std::string body_of(const SaslGate::Result& r) {
    auto s = r.response.to_string_copy();
    EXPECT_TRUE(s.has_value());
    return s->substr(8);  // size prefix, correlation id
  }

  static std::int16_t handshake_error(const SaslGate::Result& r) {
    auto b = body_of(r);
    kafka::Reader rd(std::as_bytes(std::span(b.data(), b.size())));
    return rd.i16();
  }

  static AuthAnswer auth_answer(const SaslGate::Result& r, std::int16_t version) {
    auto b = body_of(r);
    kafka::Reader rd(std::as_bytes(std::span(b.data(), b.size())));
    AuthAnswer a;
    a.error = rd.i16();
    a.message = std::string(rd.nullable_string().value_or(""));
    rd.bytes();
    if (version >= 1) a.session_lifetime_ms = rd.i64();
    EXPECT_TRUE(rd.ok());
    return a;
  }

  // A complete PLAIN login; returns the SaslAuthenticate answer.
  AuthAnswer login(SaslGate& g, const std::string& user, std::int16_t version = 1) {
    auto h = g.on_frame(handshake("PLAIN"));
    EXPECT_EQ(h.verdict, SaslGate::Verdict::answer);
    EXPECT_EQ(handshake_error(h), 0);
    auto a = g.on_frame(plain(user, user + "-pw", version));
    EXPECT_EQ(a.verdict, SaslGate::Verdict::answer) << a.reason;
    return auth_answer(a, version);
  }

  security::ScramStore store_;
  std::unique_ptr<security::SaslAuthenticator> auth_;
};

TEST_F(SaslGateTest, WithoutLifetimeSessionsDoNotEndAndReauthenticationIsRefused) {
  SaslGate g(*auth_);
  auto a = login(g, "alice");
  EXPECT_EQ(a.error, 0);
  EXPECT_EQ(a.session_lifetime_ms, 0);
  EXPECT_TRUE(g.authenticated());
  EXPECT_FALSE(g.begin_reauthentication());
  EXPECT_TRUE(g.authenticated());
  EXPECT_EQ(g.principal(), "User:alice");
}

TEST_F(SaslGateTest, LifetimeIsAnsweredFromV1AndReauthenticationKeepsThePrincipal) {
  SaslGate g(*auth_, 3000);
  auto a = login(g, "alice");
  EXPECT_EQ(a.error, 0);
  EXPECT_EQ(a.session_lifetime_ms, 3000);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(g.begin_reauthentication());
    EXPECT_FALSE(g.authenticated());
    EXPECT_TRUE(g.reauthenticating());
    auto again = login(g, "alice");
    EXPECT_EQ(again.error, 0) << again.message;
    EXPECT_EQ(again.session_lifetime_ms, 3000);
    EXPECT_TRUE(g.authenticated());
    EXPECT_FALSE(g.reauthenticating());
    EXPECT_EQ(g.principal(), "User:alice");
  }
}

TEST_F(SaslGateTest, ReauthenticationAsAnotherUserFailsAndCloses) {
  SaslGate g(*auth_, 3000);
  login(g, "alice");
  ASSERT_TRUE(g.begin_reauthentication());
  EXPECT_EQ(g.on_frame(handshake("PLAIN")).verdict, SaslGate::Verdict::answer);
  auto r = g.on_frame(plain("bob", "bob-pw"));
  EXPECT_EQ(r.verdict, SaslGate::Verdict::answer_and_close);
  auto a = auth_answer(r, 1);
  EXPECT_EQ(a.error, 58);  // SASL_AUTHENTICATION_FAILED
  EXPECT_NE(a.message.find("Cannot change principals"), std::string::npos) << a.message;
  EXPECT_FALSE(g.authenticated());
}

TEST_F(SaslGateTest, ReauthenticationWithAWrongPasswordFailsAndCloses) {
  SaslGate g(*auth_, 3000);
  login(g, "alice");
  ASSERT_TRUE(g.begin_reauthentication());
  EXPECT_EQ(g.on_frame(handshake("PLAIN")).verdict, SaslGate::Verdict::answer);
  auto r = g.on_frame(plain("alice", "wrong"));
  EXPECT_EQ(r.verdict, SaslGate::Verdict::answer_and_close);
  EXPECT_EQ(auth_answer(r, 1).error, 58);
}

TEST_F(SaslGateTest, ReauthenticationMustKeepTheMechanismAndUseV1) {
  SaslGate other(*auth_, 3000);
  login(other, "alice");
  ASSERT_TRUE(other.begin_reauthentication());
  auto r = other.on_frame(handshake("SCRAM-SHA-256"));
  EXPECT_EQ(r.verdict, SaslGate::Verdict::answer_and_close);
  EXPECT_EQ(handshake_error(r), 33);  // UNSUPPORTED_SASL_MECHANISM

  SaslGate v0(*auth_, 3000);
  login(v0, "alice");
  ASSERT_TRUE(v0.begin_reauthentication());
  r = v0.on_frame(handshake("PLAIN", 0));
  EXPECT_EQ(r.verdict, SaslGate::Verdict::answer_and_close);
  EXPECT_EQ(handshake_error(r), 34);  // ILLEGAL_SASL_STATE
}

TEST_F(SaslGateTest, OtherRequestsDuringReauthenticationClose) {
  SaslGate g(*auth_, 3000);
  login(g, "alice");
  ASSERT_TRUE(g.begin_reauthentication());
  kafka::Writer w;
  w.i32(0);  // Metadata v1: no topics
  EXPECT_EQ(g.on_frame(frame(3, 1, 5, w.take_buffer())).verdict, SaslGate::Verdict::close);
}

}  // namespace
}  // namespace nocopy::broker
