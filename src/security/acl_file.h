// The ACL file: every AclBinding the authorizer holds, in
// `<data_dir>/acls`. After a `# nocopy acls v1` line, one binding per line,
// tab-separated: resource type, pattern type, operation, permission (Kafka's
// names), then the resource name, principal and host in base64 (any bytes).
// save_acl_file() writes it atomically (security/atomic_file.h); a missing
// file loads as no bindings; a malformed line throws std::runtime_error
// naming the file and line (the broker then refuses to start rather than
// run with ACLs silently lost).
//
// Thread-safety: free functions; callers serialize writes of one path.
#pragma once

#include <filesystem>
#include <set>
#include <string>
#include <string_view>

#include "security/acl.h"

namespace nocopy::security {

std::set<AclBinding> load_acl_file(const std::filesystem::path& path);
void save_acl_file(const std::filesystem::path& path, const std::set<AclBinding>& acls);

// The same text without a file (what a cluster stores in etcd). parse_acl_text
// throws std::runtime_error naming `origin` and the line.
std::string acl_text(const std::set<AclBinding>& acls);
std::set<AclBinding> parse_acl_text(std::string_view text, const std::string& origin);

}  // namespace nocopy::security
