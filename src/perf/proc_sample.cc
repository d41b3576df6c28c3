#include "perf/proc_sample.h"

#include <dirent.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>

namespace nocopy::perf {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::system_error(errno ? errno : ENOENT, std::generic_category(), "open " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

bool parse_proc_stat(std::string_view text, std::uint64_t& utime, std::uint64_t& stime) {
  const auto rparen = text.rfind(')');
  if (rparen == std::string_view::npos) return false;
  // After ") " come fields 3.. : state(3) ppid(4) ... utime(14) stime(15).
  std::string_view rest = text.substr(rparen + 1);
  int field = 2;
  std::size_t i = 0;
  bool have_u = false, have_s = false;
  while (i < rest.size()) {
    while (i < rest.size() && rest[i] == ' ') ++i;
    if (i >= rest.size()) break;
    std::size_t j = i;
    while (j < rest.size() && rest[j] != ' ' && rest[j] != '\n') ++j;
    ++field;
    if (field == 14 || field == 15) {
      std::uint64_t v = 0;
      auto [p, ec] = std::from_chars(rest.data() + i, rest.data() + j, v);
      if (ec != std::errc{} || p != rest.data() + j) return false;
      (field == 14 ? utime : stime) = v;
      (field == 14 ? have_u : have_s) = true;
      if (field == 15) break;
    }
    i = j;
    if (i < rest.size() && rest[i] == '\n') break;
  }
  return have_u && have_s;
}

std::uint64_t parse_status_field(std::string_view text, std::string_view key) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    if (line.size() > key.size() && line.substr(0, key.size()) == key && line[key.size()] == ':') {
      std::size_t i = key.size() + 1;
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
      std::uint64_t v = 0;
      std::from_chars(line.data() + i, line.data() + line.size(), v);
      return v;
    }
    pos = eol + 1;
  }
  return 0;
}

ProcSample ProcSample::of(pid_t pid) {
  const std::string base = "/proc/" + std::to_string(pid);
  ProcSample s;
  std::uint64_t ut = 0, st = 0;
  const std::string stat = slurp(base + "/stat");
  if (!parse_proc_stat(stat, ut, st)) throw std::system_error(EINVAL, std::generic_category(), "parse " + base + "/stat");
  const double hz = static_cast<double>(::sysconf(_SC_CLK_TCK));
  s.user_s = static_cast<double>(ut) / hz;
  s.system_s = static_cast<double>(st) / hz;
  s.rss_bytes = parse_status_field(slurp(base + "/status"), "VmRSS") * 1024;

  DIR* d = ::opendir((base + "/task").c_str());
  if (d == nullptr) throw std::system_error(errno, std::generic_category(), "opendir " + base + "/task");
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    try {
      const std::string status = slurp(base + "/task/" + e->d_name + "/status");
      s.voluntary_ctx += parse_status_field(status, "voluntary_ctxt_switches");
      s.involuntary_ctx += parse_status_field(status, "nonvoluntary_ctxt_switches");
      std::ifstream sched(base + "/task/" + e->d_name + "/schedstat");
      std::uint64_t on_cpu_ns = 0;
      if (sched >> on_cpu_ns) {
        s.sched_cpu_ns += on_cpu_ns;
        s.have_sched = true;
      }
    } catch (const std::system_error&) {
      // The thread exited between readdir and open: skip it.
    }
  }
  ::closedir(d);
  return s;
}

ProcSample operator-(const ProcSample& a, const ProcSample& b) {
  ProcSample d;
  d.user_s = a.user_s - b.user_s;
  d.system_s = a.system_s - b.system_s;
  d.voluntary_ctx = a.voluntary_ctx >= b.voluntary_ctx ? a.voluntary_ctx - b.voluntary_ctx : 0;
  d.involuntary_ctx = a.involuntary_ctx >= b.involuntary_ctx ? a.involuntary_ctx - b.involuntary_ctx : 0;
  d.rss_bytes = a.rss_bytes;
  d.have_sched = a.have_sched && b.have_sched;
  d.sched_cpu_ns = a.sched_cpu_ns >= b.sched_cpu_ns ? a.sched_cpu_ns - b.sched_cpu_ns : 0;
  return d;
}

}  // namespace nocopy::perf
