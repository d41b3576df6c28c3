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

#include "security/acl.h"

namespace nocopy::security {

std::set<AclBinding> load_acl_file(const std::filesystem::path& path);
void save_acl_file(const std::filesystem::path& path, const std::set<AclBinding>& acls);

}  // namespace nocopy::security
