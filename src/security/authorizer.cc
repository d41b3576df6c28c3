#include "security/authorizer.h"

#include <algorithm>
#include <mutex>

#include <spdlog/spdlog.h>

#include "security/acl_file.h"

namespace nocopy::security {

namespace {

bool covers(const AclBinding& b, ResourceType type, const std::string& name) {
  if (b.resource_type != type) return false;
  if (b.pattern_type == PatternType::literal) return b.resource_name == name || b.resource_name == kWildcard;
  return b.pattern_type == PatternType::prefixed && name.starts_with(b.resource_name);
}

// Does an ALLOW binding for `granted` also grant `wanted`?
bool grants(AclOperation granted, AclOperation wanted) {
  using O = AclOperation;
  if (granted == O::all || granted == wanted) return true;
  if (wanted == O::describe)
    return granted == O::read || granted == O::write || granted == O::remove || granted == O::alter;
  if (wanted == O::describe_configs) return granted == O::alter_configs;
  return false;
}

// Each filter reports every binding it matches, even one another filter of
// the same request also matches (as Kafka); then all of them are erased.
std::vector<std::vector<AclBinding>> match_and_erase(std::set<AclBinding>& acls, const std::vector<AclFilter>& filters) {
  std::vector<std::vector<AclBinding>> out;
  for (const auto& f : filters) {
    auto& matched = out.emplace_back();
    for (const auto& b : acls)
      if (f.matches(b)) matched.push_back(b);
  }
  for (const auto& matched : out)
    for (const auto& b : matched) acls.erase(b);
  return out;
}

}  // namespace

Authorizer::Authorizer(Options opts) : opts_(std::move(opts)) {
  if (opts_.shared) {
    bool first = true;
    opts_.shared->subscribe([this, first](const SharedDocument::Text& text) mutable {
      if (!first) return on_shared(text);
      first = false;
      auto acls = text ? parse_acl_text(*text, "shared ACLs") : std::set<AclBinding>{};  // throws out of subscribe
      std::unique_lock lk(mu_);
      acls_ = std::move(acls);
    });
  } else if (!opts_.file.empty()) {
    acls_ = load_acl_file(opts_.file);
  }
}

void Authorizer::on_shared(const SharedDocument::Text& text) {
  std::set<AclBinding> acls;
  try {
    if (text) acls = parse_acl_text(*text, "shared ACLs");
  } catch (const std::exception& e) {
    spdlog::error("authorizer: ignoring a malformed ACL set ({}); the previous {} binding(s) stay in force", e.what(),
                  size());
    return;
  }
  std::unique_lock lk(mu_);
  acls_ = std::move(acls);
}

void Authorizer::update_shared(const std::function<bool(std::set<AclBinding>&)>& edit) {
  opts_.shared->update([&](const SharedDocument::Text& current) -> SharedDocument::Text {
    auto acls = current ? parse_acl_text(*current, "shared ACLs") : std::set<AclBinding>{};
    if (!edit(acls) && current) return std::nullopt;
    return acl_text(acls);
  });
}

bool Authorizer::is_super_user(const std::string& principal) const {
  return std::find(opts_.super_users.begin(), opts_.super_users.end(), principal) != opts_.super_users.end();
}

bool Authorizer::authorize(const std::string& principal, const std::string& host, AclOperation op, ResourceType type,
                           const std::string& name) const {
  if (!opts_.enabled || is_super_user(principal)) return true;
  std::shared_lock lk(mu_);
  bool any_binding = false, allowed = false;
  for (const auto& b : acls_) {
    if (!covers(b, type, name)) continue;
    any_binding = true;
    if (b.principal != principal && b.principal != kWildcardPrincipal) continue;
    if (b.host != host && b.host != kWildcard) continue;
    if (b.permission == AclPermission::deny && (b.operation == op || b.operation == AclOperation::all)) return false;
    if (b.permission == AclPermission::allow && grants(b.operation, op)) allowed = true;
  }
  if (allowed) return true;
  return !any_binding && opts_.allow_everyone_if_no_acl_found;
}

bool Authorizer::authorize_any(const std::string& principal, const std::string& host, AclOperation op,
                               ResourceType type) const {
  if (!opts_.enabled || is_super_user(principal)) return true;
  std::shared_lock lk(mu_);
  bool allowed = false;
  for (const auto& b : acls_) {
    if (b.resource_type != type) continue;
    if (b.principal != principal && b.principal != kWildcardPrincipal) continue;
    if (b.host != host && b.host != kWildcard) continue;
    if (b.permission == AclPermission::deny && b.pattern_type == PatternType::literal &&
        b.resource_name == kWildcard && (b.operation == op || b.operation == AclOperation::all))
      return false;
    if (b.permission == AclPermission::allow && grants(b.operation, op)) allowed = true;
  }
  return allowed;
}

std::vector<AclBinding> Authorizer::describe(const AclFilter& f) const {
  std::shared_lock lk(mu_);
  std::vector<AclBinding> out;
  for (const auto& b : acls_)
    if (f.matches(b)) out.push_back(b);
  return out;
}

void Authorizer::save_locked() const {
  if (!opts_.file.empty()) save_acl_file(opts_.file, acls_);
}

void Authorizer::create(const std::vector<AclBinding>& bindings) {
  if (opts_.shared) {
    update_shared([&](std::set<AclBinding>& acls) {
      const auto before = acls.size();
      acls.insert(bindings.begin(), bindings.end());
      return acls.size() != before;
    });
    return;
  }
  std::unique_lock lk(mu_);
  auto before = acls_;
  acls_.insert(bindings.begin(), bindings.end());
  try {
    save_locked();
  } catch (...) {
    acls_ = std::move(before);
    throw;
  }
}

std::vector<std::vector<AclBinding>> Authorizer::remove(const std::vector<AclFilter>& filters) {
  if (opts_.shared) {
    std::vector<std::vector<AclBinding>> out;
    update_shared([&](std::set<AclBinding>& acls) {
      out = match_and_erase(acls, filters);
      for (const auto& m : out)
        if (!m.empty()) return true;
      return false;
    });
    return out;
  }
  std::unique_lock lk(mu_);
  auto before = acls_;
  auto out = match_and_erase(acls_, filters);
  try {
    save_locked();
  } catch (...) {
    acls_ = std::move(before);
    throw;
  }
  return out;
}

std::size_t Authorizer::size() const {
  std::shared_lock lk(mu_);
  return acls_.size();
}

}  // namespace nocopy::security
