#include "broker/sasl_gate.h"

#include <fmt/format.h>

#include "broker/handlers/reply.h"
#include "kafka/api_key.h"
#include "kafka/request.h"

namespace nocopy::broker {

using handlers::code;
using kafka::ErrorCode;

namespace {

SaslGate::Result answer(buf::Chain c, bool then_close = false, std::string why = {}) {
  SaslGate::Result r;
  r.verdict = then_close ? SaslGate::Verdict::answer_and_close : SaslGate::Verdict::answer;
  r.response = std::move(c);
  r.reason = std::move(why);
  return r;
}

SaslGate::Result close_now(std::string why) {
  SaslGate::Result r;
  r.verdict = SaslGate::Verdict::close;
  r.reason = std::move(why);
  return r;
}

std::string as_string(const kafka::ByteVec& b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

kafka::ByteVec as_bytes(const std::string& s) {
  kafka::ByteVec v(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) v[i] = static_cast<std::byte>(s[i]);
  return v;
}

}  // namespace

bool SaslGate::begin_reauthentication() {
  if (!authenticated_ || session_lifetime_ms_ <= 0) return false;
  authenticated_ = false;
  reauthenticating_ = true;
  handshaken_ = false;
  exchange_.reset();
  return true;
}

SaslGate::Result SaslGate::on_frame(std::span<const std::byte> frame) {
  if (raw_) return on_raw_token(frame);
  kafka::DecodedRequest req = kafka::decode_request(frame);
  if (!req.header_ok) return close_now("truncated request header before authentication");
  const auto& h = req.header;
  const auto key = static_cast<kafka::ApiKey>(h.api_key);
  if (key == kafka::ApiKey::api_versions) return {Verdict::pass, {}, {}};
  if (key != kafka::ApiKey::sasl_handshake && key != kafka::ApiKey::sasl_authenticate)
    return close_now(fmt::format("{} request before SASL authentication", kafka::api_label(h.api_key)));
  if (req.status != kafka::RequestStatus::ok)
    return close_now(fmt::format("malformed or unsupported {} request", kafka::api_label(h.api_key)));

  if (auto* hs = std::get_if<kafka::SaslHandshakeRequest>(&req.body)) {
    kafka::SaslHandshakeResponse res;
    res.mechanisms = auth_.mechanisms();
    if (handshaken_) {
      res.error_code = code(ErrorCode::illegal_sasl_state);
      return answer(handlers::encode(h, res), true, "second SaslHandshake");
    }
    handshaken_ = true;
    if (reauthenticating_ && h.api_version == 0) {
      res.error_code = code(ErrorCode::illegal_sasl_state);
      return answer(handlers::encode(h, res), true, "re-authentication with a v0 SaslHandshake");
    }
    if (reauthenticating_ && hs->mechanism != mechanism_) {
      res.error_code = code(ErrorCode::unsupported_sasl_mechanism);
      return answer(handlers::encode(h, res), true,
                    fmt::format("re-authentication changes the SASL mechanism from {} to '{}'", mechanism_,
                                hs->mechanism));
    }
    exchange_ = auth_.start(hs->mechanism);
    if (!exchange_) {
      res.error_code = code(ErrorCode::unsupported_sasl_mechanism);
      return answer(handlers::encode(h, res), true, fmt::format("unsupported SASL mechanism '{}'", hs->mechanism));
    }
    mechanism_ = hs->mechanism;
    raw_ = h.api_version == 0;
    return answer(handlers::encode(h, res));
  }

  auto& au = std::get<kafka::SaslAuthenticateRequest>(req.body);
  kafka::SaslAuthenticateResponse res;
  if (!exchange_) {
    res.error_code = code(ErrorCode::illegal_sasl_state);
    res.error_message = "SaslAuthenticate before SaslHandshake";
    return answer(handlers::encode(h, res), true, "SaslAuthenticate before SaslHandshake");
  }
  auto step = exchange_->step(as_string(au.auth_bytes));
  switch (step.status) {
    case security::SaslExchange::Status::more:
      res.auth_bytes = as_bytes(step.out);
      return answer(handlers::encode(h, res));
    case security::SaslExchange::Status::done: {
      std::string principal = "User:" + exchange_->user();
      exchange_.reset();
      if (reauthenticating_ && principal != principal_) {
        res.error_code = code(ErrorCode::sasl_authentication_failed);
        res.error_message = fmt::format("Cannot change principals during re-authentication from {}: {}", principal_,
                                        principal);
        return answer(handlers::encode(h, res), true, *res.error_message);
      }
      authenticated_ = true;
      reauthenticating_ = false;
      principal_ = std::move(principal);
      res.auth_bytes = as_bytes(step.out);
      res.session_lifetime_ms = session_lifetime_ms_;  // v1+ only (the encoder drops it for v0)
      return answer(handlers::encode(h, res));
    }
    case security::SaslExchange::Status::failed: break;
  }
  res.error_code = code(ErrorCode::sasl_authentication_failed);
  res.error_message = fmt::format("Authentication failed during authentication due to invalid credentials with SASL "
                                  "mechanism {}",
                                  mechanism_);
  return answer(handlers::encode(h, res), true, fmt::format("SASL {} authentication failed: {}", mechanism_, step.error));
}

// After a v0 handshake: each frame is a bare SASL token, and so is each answer.
SaslGate::Result SaslGate::on_raw_token(std::span<const std::byte> frame) {
  auto step = exchange_->step(std::string_view(reinterpret_cast<const char*>(frame.data()), frame.size()));
  if (step.status == security::SaslExchange::Status::failed)
    return close_now(fmt::format("SASL {} authentication failed: {}", mechanism_, step.error));
  std::string out(4, '\0');
  const auto n = static_cast<std::uint32_t>(step.out.size());
  out[0] = static_cast<char>(n >> 24);
  out[1] = static_cast<char>(n >> 16);
  out[2] = static_cast<char>(n >> 8);
  out[3] = static_cast<char>(n);
  out += step.out;
  if (step.status == security::SaslExchange::Status::done) {
    authenticated_ = true;
    raw_ = false;
    principal_ = "User:" + exchange_->user();
    exchange_.reset();
  }
  buf::Chain c;
  c.append(buf::Buffer::adopt(std::move(out)));
  return answer(std::move(c));
}

}  // namespace nocopy::broker
