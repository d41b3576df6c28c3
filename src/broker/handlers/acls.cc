// ACL family: DescribeAcls, CreateAcls and DeleteAcls v0-3 (v0 has no
// pattern type: LITERAL) over the Authorizer (security/authorizer.h).
// Without an enabled authorizer they answer SECURITY_DISABLED. Describing
// needs DESCRIBE on the cluster, creating and deleting ALTER
// (CLUSTER_AUTHORIZATION_FAILED). A binding or filter Kafka would refuse
// (UNKNOWN/ANY enums where a concrete value is needed, an operation the
// resource type does not have, a principal that is not Type:name) is
// INVALID_REQUEST with the reason. Changes rewrite the ACL file (fsync) on
// the admin thread.
#include <exception>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "broker/handlers/reply.h"
#include "broker/request_handler.h"
#include "security/authorizer.h"

namespace nocopy::broker {

using namespace handlers;
using security::AclOperation;

namespace {

constexpr const char* kNoAuthorizer = "No Authorizer is configured on the broker (set authorizer = true)";

template <class F>
security::AclFilter filter_of(const F& f) {
  security::AclFilter out;
  out.resource_type = static_cast<security::ResourceType>(f.resource_type_filter);
  out.resource_name = f.resource_name_filter;
  out.pattern_type = static_cast<security::PatternType>(f.pattern_type_filter);
  out.principal = f.principal_filter;
  out.host = f.host_filter;
  out.operation = static_cast<AclOperation>(f.operation);
  out.permission = static_cast<security::AclPermission>(f.permission_type);
  return out;
}

security::AclBinding binding_of(const kafka::CreateAclsRequest::Creation& c) {
  security::AclBinding b;
  b.resource_type = static_cast<security::ResourceType>(c.resource_type);
  b.resource_name = c.resource_name;
  b.pattern_type = static_cast<security::PatternType>(c.resource_pattern_type);
  b.principal = c.principal;
  b.host = c.host;
  b.operation = static_cast<AclOperation>(c.operation);
  b.permission = static_cast<security::AclPermission>(c.permission_type);
  return b;
}

kafka::DeleteAclsResponse::MatchingAcl matching_of(const security::AclBinding& b) {
  kafka::DeleteAclsResponse::MatchingAcl m;
  m.resource_type = static_cast<std::int8_t>(b.resource_type);
  m.resource_name = b.resource_name;
  m.pattern_type = static_cast<std::int8_t>(b.pattern_type);
  m.principal = b.principal;
  m.host = b.host;
  m.operation = static_cast<std::int8_t>(b.operation);
  m.permission_type = static_cast<std::int8_t>(b.permission);
  return m;
}

// Why every entry of a request is refused at once: no enabled authorizer, or
// the principal lacks `op` on the cluster. Empty: each entry is judged alone.
struct Refusal {
  std::int16_t error_code = 0;
  std::string message;
  explicit operator bool() const { return error_code != 0; }
};

Refusal refusal(const security::Authorizer* authz, const Access& access, AclOperation op, const char* denied) {
  if (!authz || !authz->enabled()) return {code(ErrorCode::security_disabled), kNoAuthorizer};
  if (!access.cluster(op)) return {code(ErrorCode::cluster_authorization_failed), denied};
  return {};
}

// The entries of a CreateAcls or DeleteAcls request that go to the
// authorizer, each with the index of its result.
template <class T>
struct Accepted {
  std::vector<T> items;
  std::vector<std::size_t> result_at;
};

// One result in `results` per entry: refused all together, INVALID_REQUEST
// with the reason `invalid` gives for what `convert` makes of it, or accepted
// (no error yet).
template <class Results, class Entries, class Convert, class Invalid>
auto accept(Results& results, const Entries& entries, const Refusal& refused, Convert convert, Invalid invalid) {
  Accepted<decltype(convert(entries.front()))> out;
  for (const auto& e : entries) {
    auto& r = results.emplace_back();
    if (refused) {
      r.error_code = refused.error_code;
      r.error_message = refused.message;
      continue;
    }
    auto item = convert(e);
    if (auto why = invalid(item)) {
      r.error_code = code(ErrorCode::invalid_request);
      r.error_message = *why;
      continue;
    }
    out.items.push_back(std::move(item));
    out.result_at.push_back(results.size() - 1);
  }
  return out;
}

// The authorizer failed to store a change: every accepted entry gets the error.
template <class Results>
void fail_accepted(Results& results, const std::vector<std::size_t>& result_at, const std::exception& e) {
  for (auto i : result_at) {
    results[i].error_code = code(ErrorCode::unknown_server_error);
    results[i].error_message = e.what();
  }
}

}  // namespace

void RequestHandler::describe_acls(const Header& h, const kafka::DescribeAclsRequest& req, Done& done,
                                   const Access& access) {
  kafka::DescribeAclsResponse res;
  const auto f = filter_of(req);
  if (auto refused = refusal(authz_, access, AclOperation::describe, "not authorized to describe ACLs")) {
    res.error_code = refused.error_code;
    res.error_message = refused.message;
  } else if (auto why = security::invalid_filter(f)) {
    res.error_code = code(ErrorCode::invalid_request);
    res.error_message = *why;
  } else {
    // Grouped by resource pattern, as Kafka answers.
    std::map<std::tuple<std::int8_t, std::string, std::int8_t>, std::size_t> at;
    for (const auto& b : authz_->describe(f)) {
      auto key = std::make_tuple(static_cast<std::int8_t>(b.resource_type), b.resource_name,
                                 static_cast<std::int8_t>(b.pattern_type));
      auto [it, fresh] = at.emplace(key, res.resources.size());
      if (fresh) {
        auto& r = res.resources.emplace_back();
        r.resource_type = std::get<0>(key);
        r.resource_name = b.resource_name;
        r.pattern_type = std::get<2>(key);
      }
      res.resources[it->second].acls.push_back(
          {b.principal, b.host, static_cast<std::int8_t>(b.operation), static_cast<std::int8_t>(b.permission)});
    }
  }
  done(respond(encode(h, res)));
}

void RequestHandler::create_acls(const Header& h, kafka::CreateAclsRequest& req, net::EventLoop& loop, Done& done,
                                 const Access& access) {
  kafka::CreateAclsResponse res;
  auto valid = accept(res.results, req.creations,
                      refusal(authz_, access, AclOperation::alter, "not authorized to create ACLs"), binding_of,
                      [](const security::AclBinding& b) { return security::invalid_binding(b); });
  if (valid.items.empty()) return done(respond(encode(h, res)));
  admin_.submit([this, h, res = std::move(res), valid = std::move(valid), &loop, d = std::move(done)]() mutable {
    try {
      authz_->create(valid.items);
    } catch (const std::exception& e) {
      fail_accepted(res.results, valid.result_at, e);
    }
    post_reply(loop, std::move(d), respond(encode(h, res)));
  });
}

void RequestHandler::delete_acls(const Header& h, kafka::DeleteAclsRequest& req, net::EventLoop& loop, Done& done,
                                 const Access& access) {
  kafka::DeleteAclsResponse res;
  auto valid = accept(res.filter_results, req.filters,
                      refusal(authz_, access, AclOperation::alter, "not authorized to delete ACLs"),
                      [](const kafka::DeleteAclsRequest::Filter& f) { return filter_of(f); },
                      [](const security::AclFilter& f) { return security::invalid_filter(f); });
  if (valid.items.empty()) return done(respond(encode(h, res)));
  admin_.submit([this, h, res = std::move(res), valid = std::move(valid), &loop, d = std::move(done)]() mutable {
    try {
      auto removed = authz_->remove(valid.items);
      for (std::size_t i = 0; i < removed.size(); ++i)
        for (const auto& b : removed[i]) res.filter_results[valid.result_at[i]].matching_acls.push_back(matching_of(b));
    } catch (const std::exception& e) {
      fail_accepted(res.filter_results, valid.result_at, e);
    }
    post_reply(loop, std::move(d), respond(encode(h, res)));
  });
}

}  // namespace nocopy::broker
