// ACL family: DescribeAcls, CreateAcls and DeleteAcls v0-3 (v0 has no
// pattern type: LITERAL) over the Authorizer (security/authorizer.h).
// Without an enabled authorizer they answer SECURITY_DISABLED. Describing
// needs DESCRIBE on the cluster, creating and deleting ALTER
// (CLUSTER_AUTHORIZATION_FAILED). A binding or filter Kafka would refuse
// (UNKNOWN/ANY enums where a concrete value is needed, an operation the
// resource type does not have, a principal that is not Type:name) is
// INVALID_REQUEST with the reason. Changes rewrite the ACL file (fsync) on
// the admin thread.
#include <map>
#include <tuple>

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

}  // namespace

void RequestHandler::describe_acls(const Header& h, const kafka::DescribeAclsRequest& req, Done& done,
                                   const Access& access) {
  kafka::DescribeAclsResponse res;
  const auto f = filter_of(req);
  if (!authz_ || !authz_->enabled()) {
    res.error_code = code(ErrorCode::security_disabled);
    res.error_message = kNoAuthorizer;
  } else if (!access.cluster(AclOperation::describe)) {
    res.error_code = code(ErrorCode::cluster_authorization_failed);
    res.error_message = "not authorized to describe ACLs";
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
  std::int16_t refuse_all = 0;
  std::string why_all;
  if (!authz_ || !authz_->enabled()) {
    refuse_all = code(ErrorCode::security_disabled);
    why_all = kNoAuthorizer;
  } else if (!access.cluster(AclOperation::alter)) {
    refuse_all = code(ErrorCode::cluster_authorization_failed);
    why_all = "not authorized to create ACLs";
  }
  std::vector<security::AclBinding> valid;
  std::vector<std::size_t> valid_at;  // their results
  for (const auto& c : req.creations) {
    auto& r = res.results.emplace_back();
    if (refuse_all) {
      r.error_code = refuse_all;
      r.error_message = why_all;
      continue;
    }
    auto b = binding_of(c);
    if (auto why = security::invalid_binding(b)) {
      r.error_code = code(ErrorCode::invalid_request);
      r.error_message = *why;
      continue;
    }
    valid.push_back(std::move(b));
    valid_at.push_back(res.results.size() - 1);
  }
  if (valid.empty()) return done(respond(encode(h, res)));
  admin_.submit([this, h, res = std::move(res), valid = std::move(valid), valid_at = std::move(valid_at), &loop,
                 d = std::move(done)]() mutable {
    try {
      authz_->create(valid);
    } catch (const std::exception& e) {
      for (auto i : valid_at) {
        res.results[i].error_code = code(ErrorCode::unknown_server_error);
        res.results[i].error_message = e.what();
      }
    }
    post_reply(loop, std::move(d), respond(encode(h, res)));
  });
}

void RequestHandler::delete_acls(const Header& h, kafka::DeleteAclsRequest& req, net::EventLoop& loop, Done& done,
                                 const Access& access) {
  kafka::DeleteAclsResponse res;
  std::int16_t refuse_all = 0;
  std::string why_all;
  if (!authz_ || !authz_->enabled()) {
    refuse_all = code(ErrorCode::security_disabled);
    why_all = kNoAuthorizer;
  } else if (!access.cluster(AclOperation::alter)) {
    refuse_all = code(ErrorCode::cluster_authorization_failed);
    why_all = "not authorized to delete ACLs";
  }
  std::vector<security::AclFilter> valid;
  std::vector<std::size_t> valid_at;
  for (const auto& f : req.filters) {
    auto& r = res.filter_results.emplace_back();
    if (refuse_all) {
      r.error_code = refuse_all;
      r.error_message = why_all;
      continue;
    }
    auto filter = filter_of(f);
    if (auto why = security::invalid_filter(filter)) {
      r.error_code = code(ErrorCode::invalid_request);
      r.error_message = *why;
      continue;
    }
    valid.push_back(std::move(filter));
    valid_at.push_back(res.filter_results.size() - 1);
  }
  if (valid.empty()) return done(respond(encode(h, res)));
  admin_.submit([this, h, res = std::move(res), valid = std::move(valid), valid_at = std::move(valid_at), &loop,
                 d = std::move(done)]() mutable {
    try {
      auto removed = authz_->remove(valid);
      for (std::size_t i = 0; i < removed.size(); ++i)
        for (const auto& b : removed[i]) res.filter_results[valid_at[i]].matching_acls.push_back(matching_of(b));
    } catch (const std::exception& e) {
      for (auto i : valid_at) {
        res.filter_results[i].error_code = code(ErrorCode::unknown_server_error);
        res.filter_results[i].error_message = e.what();
      }
    }
    post_reply(loop, std::move(d), respond(encode(h, res)));
  });
}

}  // namespace nocopy::broker
