#include "security/acl_file.h"

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "security/atomic_file.h"
#include "security/scram_store.h"

namespace nocopy::security {

namespace {

constexpr const char* kHeader = "# nocopy acls v1";

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> out;
  std::size_t at = 0;
  for (;;) {
    auto tab = line.find('\t', at);
    out.push_back(line.substr(at, tab == std::string::npos ? std::string::npos : tab - at));
    if (tab == std::string::npos) return out;
    at = tab + 1;
  }
}

}  // namespace

std::set<AclBinding> parse_acl_text(std::string_view text, const std::string& origin) {
  std::set<AclBinding> acls;
  std::istringstream in{std::string(text)};
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (lineno == 1) {
      if (line != kHeader) throw std::runtime_error(origin + ":1: not a nocopy ACL file");
      continue;
    }
    if (line.empty()) continue;
    auto f = split_tabs(line);
    auto bad = [&](const std::string& why) {
      return std::runtime_error(origin + ":" + std::to_string(lineno) + ": " + why);
    };
    if (f.size() != 7) throw bad("expected 7 tab-separated fields");
    AclBinding b;
    b.resource_type = parse_resource_type(f[0]);
    b.pattern_type = parse_pattern_type(f[1]);
    b.operation = parse_operation(f[2]);
    b.permission = parse_permission(f[3]);
    auto name = base64_decode(f[4]), principal = base64_decode(f[5]), host = base64_decode(f[6]);
    if (!name || !principal || !host) throw bad("bad base64");
    b.resource_name = *name;
    b.principal = *principal;
    b.host = *host;
    if (auto why = invalid_binding(b)) throw bad(*why);
    acls.insert(std::move(b));
  }
  return acls;
}

std::string acl_text(const std::set<AclBinding>& acls) {
  std::ostringstream out;
  out << kHeader << '\n';
  for (const auto& b : acls)
    out << to_string(b.resource_type) << '\t' << to_string(b.pattern_type) << '\t' << to_string(b.operation) << '\t'
        << to_string(b.permission) << '\t' << base64_encode(b.resource_name) << '\t' << base64_encode(b.principal)
        << '\t' << base64_encode(b.host) << '\n';
  return out.str();
}

std::set<AclBinding> load_acl_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) {
    if (!std::filesystem::exists(path)) return {};
    throw std::runtime_error("cannot read " + path.string());
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw std::runtime_error("read error on " + path.string());
  return parse_acl_text(text.str(), path.string());
}

void save_acl_file(const std::filesystem::path& path, const std::set<AclBinding>& acls) {
  write_file_atomically(path, acl_text(acls), 0600);
}

}  // namespace nocopy::security
