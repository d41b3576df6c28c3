#include "bench/report.h"

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <system_error>

#include <fmt/format.h>

#include "bench/units.h"

namespace nocopy::bench {

namespace {

const char* cache_name(CacheMode c) { return c == CacheMode::cold ? "cold" : "warm"; }

const Technique* find_technique(const BenchResult& r, const std::string& name) {
  for (const auto& t : r.options.techniques) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

std::string per_gib(double v) {
  if (v == 0) return "0";
  if (v >= 1000) return fmt::format("{:.0f}", v);
  if (v >= 10) return fmt::format("{:.1f}", v);
  return fmt::format("{:.2f}", v);
}

// Two decimals hide a real but slow row (3 MB/s is not "0.00").
std::string gbps_text(double v) {
  if (v >= 0.1 || v == 0) return fmt::format("{:.2f}", v);
  return fmt::format("{:.4f}", v);
}

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace

std::string format_table(const BenchResult& r) {
  const Options& o = r.options;
  std::string out;
  out += fmt::format("nocopy bench {}: {} cache, {} interleaved run(s), chunk {}, pipe {}, recv buffer {}\n",
                     workload_name(o.workload), cache_name(o.cache), o.runs, format_size(o.chunk),
                     format_size(o.pipe_size), format_size(o.recv_buffer));
  out += fmt::format("machine: {} | {} | {} CPUs | sender CPU {} receiver CPU {}\n", r.kernel, r.cpu_model,
                     r.online_cpus, r.sender_cpu, r.receiver_cpu);
  out += fmt::format("data: {} ({} bytes{})\n", r.data_file, r.data_file_size,
                     r.data_file_created ? ", written by this run" : ", reused");
  const bool small = o.workload == Workload::small;
  const bool socket = o.workload != Workload::copy;
  for (const auto size : o.sizes) {
    std::uint64_t count = 0;
    for (const auto& s : r.samples) {
      if (s.size == size) {
        count = s.transfers;
        break;
      }
    }
    out += "\n";
    if (small) {
      out += fmt::format("== messages of {} at scattered offsets, {} per sample\n", format_size(size), count);
    } else {
      out += fmt::format("== {} per transfer x {} per sample\n", format_size(size), count);
    }
    out += fmt::format("{:<16} {:>22} {:>6} {:>13} {:>13} {:>15} {:>12} {:>8} {:>6} {:>4}  {:<20}{}\n", "technique",
                       "GB/s median [min-max]", "x sf", "snd usr/sys", socket ? "rcv usr/sys" : "",
                       "vcsw/ivcsw", "syscalls", socket ? "rcv sys" : "", "copy", "fb",
                       "seeds: CPU cp/ctx sw", small ? "  msgs/s" : "");
    out += fmt::format("{:<16} {:>22} {:>6} {:>13} {:>13} {:>15} {:>12} {:>8} {:>6} {:>4}\n", "", "", "",
                       "CPU s/GiB", socket ? "CPU s/GiB" : "", "per GiB", "per GiB", socket ? "calls/GiB" : "",
                       "B/B", "");
    for (const auto& row : r.rows) {
      if (row.size != size) continue;
      const Technique* t = find_technique(r, row.technique);
      const SeedTheory th = t != nullptr ? seed_theory(*t) : SeedTheory{};
      if (row.status != Sample::Status::ok) {
        out += fmt::format("{:<16} {}: {}\n", row.technique, to_string(row.status), row.note);
        continue;
      }
      const std::string theory =
          *th.cpu_copies != '\0' ? fmt::format("{} / {}", th.cpu_copies, th.context_switches) : std::string("-");
      out += fmt::format(
          "{:<16} {:>22} {:>6} {:>13} {:>13} {:>15} {:>12} {:>8} {:>6} {:>4}  {:<20}{}\n", row.technique,
          fmt::format("{} [{}-{}]", gbps_text(row.gbps.median), gbps_text(row.gbps.min), gbps_text(row.gbps.max)),
          row.ratio_to_sendfile > 0 ? fmt::format("{:.2f}", row.ratio_to_sendfile) : std::string("-"),
          fmt::format("{:.3f}/{:.3f}", row.sender_user_per_gib, row.sender_sys_per_gib),
          socket ? fmt::format("{:.3f}/{:.3f}", row.receiver_user_per_gib, row.receiver_sys_per_gib) : std::string(),
          fmt::format("{}/{}", per_gib(row.vcsw_per_gib), per_gib(row.ivcsw_per_gib)), per_gib(row.syscalls_per_gib),
          socket ? per_gib(row.receiver_syscalls_per_gib) : std::string(), fmt::format("{:.2f}", row.copied_per_byte),
          row.fallbacks, theory, small ? fmt::format("  {:.0f}", row.msgs_per_s.median) : std::string());
      if (!row.note.empty()) out += fmt::format("{:<16}   note: {}\n", "", row.note);
      if (row.zc_completions > 0) {
        out += fmt::format("{:<16}   zero-copy completions: {}, reported copied by the kernel: {} ({:.0f}%)\n", "",
                           row.zc_completions, row.zc_copied,
                           100.0 * static_cast<double>(row.zc_copied) / static_cast<double>(row.zc_completions));
      }
    }
  }
  out += fmt::format(
      "\nx sf: median throughput / sendfile's in the same run. copy B/B: bytes the CPU copied through user space\n"
      "per byte moved (io counters). seeds: the seeds' theoretical CPU copies / context switches per transfer.\n"
      "vcsw/ivcsw: voluntary/involuntary context switches of sender + receiver threads. wall time {:.1f} s\n",
      r.wall_seconds);
  return out;
}

nlohmann::json to_json(const BenchResult& r) {
  using nlohmann::json;
  const Options& o = r.options;
  json j;
  j["command"] = r.command_line;
  j["workload"] = workload_name(o.workload);
  j["machine"] = {{"kernel", r.kernel}, {"cpu_model", r.cpu_model}, {"online_cpus", r.online_cpus},
                  {"sender_cpu", r.sender_cpu}, {"receiver_cpu", r.receiver_cpu}};
  json techniques = json::array();
  for (const auto& t : o.techniques) techniques.push_back(t.name);
  j["options"] = {{"techniques", techniques},
                  {"sizes", o.sizes},
                  {"cache", cache_name(o.cache)},
                  {"runs", o.runs},
                  {"chunk", o.chunk},
                  {"pipe_size", o.pipe_size},
                  {"recv_buffer", o.recv_buffer},
                  {"pin", o.pin},
                  {"verify", o.verify}};
  j["data_file"] = {{"path", r.data_file}, {"size", r.data_file_size}, {"created", r.data_file_created}};
  j["wall_seconds"] = r.wall_seconds;
  auto cpu = [](const CpuUsage& c) {
    return json{{"user_s", c.user_s}, {"sys_s", c.sys_s}, {"voluntary_switches", c.voluntary_switches},
                {"involuntary_switches", c.involuntary_switches}};
  };
  json samples = json::array();
  for (const auto& s : r.samples) {
    samples.push_back({{"technique", s.technique},
                       {"strategy", s.strategy},
                       {"size", s.size},
                       {"run", s.run},
                       {"status", to_string(s.status)},
                       {"note", s.note},
                       {"bytes_requested", s.bytes_requested},
                       {"bytes_sent", s.bytes_sent},
                       {"bytes_received", s.bytes_received},
                       {"transfers", s.transfers},
                       {"seconds", s.seconds},
                       {"gbps", s.gbps()},
                       {"sender", cpu(s.sender)},
                       {"receiver", cpu(s.receiver)},
                       {"receiver_syscalls", s.receiver_syscalls},
                       {"verified", s.verified},
                       {"counters",
                        {{"syscalls", s.counters.syscalls},
                         {"bytes_copied_user", s.counters.bytes_copied_user},
                         {"bytes_zero_copy", s.counters.bytes_zero_copy},
                         {"fallbacks", s.counters.fallbacks},
                         {"zc_completions", s.counters.zc_completions},
                         {"zc_copied", s.counters.zc_copied}}}});
  }
  j["samples"] = std::move(samples);
  json rows = json::array();
  for (const auto& row : r.rows) {
    rows.push_back({{"technique", row.technique},
                    {"strategy", row.strategy},
                    {"size", row.size},
                    {"status", to_string(row.status)},
                    {"note", row.note},
                    {"gbps", {{"median", row.gbps.median}, {"min", row.gbps.min}, {"max", row.gbps.max}}},
                    {"msgs_per_s", row.msgs_per_s.median},
                    {"ratio_to_sendfile", row.ratio_to_sendfile},
                    {"sender_cpu_s_per_gib", {{"user", row.sender_user_per_gib}, {"sys", row.sender_sys_per_gib}}},
                    {"receiver_cpu_s_per_gib",
                     {{"user", row.receiver_user_per_gib}, {"sys", row.receiver_sys_per_gib}}},
                    {"context_switches_per_gib", {{"voluntary", row.vcsw_per_gib}, {"involuntary", row.ivcsw_per_gib}}},
                    {"syscalls_per_gib", row.syscalls_per_gib},
                    {"receiver_syscalls_per_gib", row.receiver_syscalls_per_gib},
                    {"copied_per_byte", row.copied_per_byte},
                    {"fallbacks", row.fallbacks},
                    {"zc_completions", row.zc_completions},
                    {"zc_copied", row.zc_copied}});
  }
  j["rows"] = std::move(rows);
  return j;
}

namespace {

constexpr int kLabelW = 130, kPanelW = 360, kGap = 60, kBarH = 16, kRowH = 24, kTop = 50, kBlockGap = 50;

// One technique's bars at height `y`: throughput (median, min-max whisker)
// at x_tp, CPU per GiB stacked by sender/receiver user/sys at x_cpu.
std::string svg_row(const Row& row, int y, int x_tp, int x_cpu, double max_gbps, double max_cpu) {
  std::string body;
  const auto sx = [&](double v) { return static_cast<double>(kPanelW) * v / max_gbps; };
  body += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{:.1f}\" height=\"{}\" class=\"tp\"/>\n", x_tp, y,
                      sx(row.gbps.median), kBarH);
  body += fmt::format(
      "<line x1=\"{0:.1f}\" x2=\"{1:.1f}\" y1=\"{2}\" y2=\"{2}\" class=\"wh\"/>"
      "<line x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{3}\" y2=\"{4}\" class=\"wh\"/>"
      "<line x1=\"{1:.1f}\" x2=\"{1:.1f}\" y1=\"{3}\" y2=\"{4}\" class=\"wh\"/>\n",
      x_tp + sx(row.gbps.min), x_tp + sx(row.gbps.max), y + kBarH / 2, y + 3, y + kBarH - 3);
  body += fmt::format("<text x=\"{:.1f}\" y=\"{}\">{}</text>\n", x_tp + sx(row.gbps.max) + 4, y + 12,
                      gbps_text(row.gbps.median));
  const double parts[4] = {row.sender_user_per_gib, row.sender_sys_per_gib, row.receiver_user_per_gib,
                           row.receiver_sys_per_gib};
  static constexpr const char* kCls[4] = {"su", "ss", "ru", "rs"};
  double x = x_cpu;
  for (int i = 0; i < 4; ++i) {
    const double w = static_cast<double>(kPanelW) * parts[i] / max_cpu;
    if (w > 0) body += fmt::format("<rect x=\"{:.1f}\" y=\"{}\" width=\"{:.1f}\" height=\"{}\" class=\"{}\"/>\n", x, y, w, kBarH, kCls[i]);
    x += w;
  }
  body += fmt::format("<text x=\"{:.1f}\" y=\"{}\">{:.2f}</text>\n", x + 4, y + 12,
                      parts[0] + parts[1] + parts[2] + parts[3]);
  return body;
}

}  // namespace

std::string render_svg(const BenchResult& r) {
  const Options& o = r.options;
  const int width = kLabelW + 2 * kPanelW + kGap + 40;
  std::string body;
  int y = kTop;
  for (const auto size : o.sizes) {
    std::vector<const Row*> rows;
    double max_gbps = 0, max_cpu = 0;
    for (const auto& row : r.rows) {
      if (row.size != size) continue;
      rows.push_back(&row);
      if (row.status != Sample::Status::ok) continue;
      max_gbps = std::max(max_gbps, row.gbps.max);
      max_cpu = std::max(max_cpu, row.sender_user_per_gib + row.sender_sys_per_gib + row.receiver_user_per_gib +
                                      row.receiver_sys_per_gib);
    }
    if (max_gbps <= 0) max_gbps = 1;
    if (max_cpu <= 0) max_cpu = 1;
    const int x_tp = kLabelW;
    const int x_cpu = kLabelW + kPanelW + kGap;
    body += fmt::format(
        "<text x=\"{}\" y=\"{}\" class=\"h\">{} — throughput, GB/s (median, min–max)</text>\n"
        "<text x=\"{}\" y=\"{}\" class=\"h\">CPU seconds per GiB moved</text>\n",
        x_tp, y - 12, xml_escape(format_size(size)), x_cpu, y - 12);
    const int top = y;
    for (const Row* row : rows) {
      body += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n", kLabelW - 8, y + 12,
                          xml_escape(row->technique));
      if (row->status != Sample::Status::ok) {
        body += fmt::format("<text x=\"{}\" y=\"{}\" class=\"na\">{}: {}</text>\n", x_tp + 4, y + 12,
                            to_string(row->status), xml_escape(row->note.substr(0, 80)));
        y += kRowH;
        continue;
      }
      body += svg_row(*row, y, x_tp, x_cpu, max_gbps, max_cpu);
      y += kRowH;
    }
    body += fmt::format("<line x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\" class=\"ax\"/>"
                        "<line x1=\"{3}\" x2=\"{3}\" y1=\"{1}\" y2=\"{2}\" class=\"ax\"/>\n",
                        x_tp, top - 4, y, x_cpu);
    y += kBlockGap;
  }
  const int legend_y = y - kBlockGap + 20;
  static constexpr const char* kLegend[4][2] = {
      {"su", "sender user"}, {"ss", "sender sys"}, {"ru", "receiver user"}, {"rs", "receiver sys"}};
  for (int i = 0; i < 4; ++i) {
    const int lx = kLabelW + kPanelW + kGap + i * 95;
    body += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"12\" height=\"12\" class=\"{}\"/><text x=\"{}\" y=\"{}\">{}</text>\n",
                        lx, legend_y, kLegend[i][0], lx + 16, legend_y + 11, kLegend[i][1]);
  }
  const int height = legend_y + 40;
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n"
      "<style>.h{{font-weight:bold}} .tp{{fill:#4878a8}} .wh{{stroke:#222;stroke-width:1}} "
      ".su{{fill:#e0a040}} .ss{{fill:#c05020}} .ru{{fill:#80c080}} .rs{{fill:#308030}} "
      ".ax{{stroke:#888}} .na{{fill:#a00;font-style:italic}}</style>\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"10\" y=\"20\" class=\"h\">nocopy bench {2}: {3} cache, {4} runs, {5}</text>\n",
      width, height, workload_name(o.workload), cache_name(o.cache), o.runs, xml_escape(r.kernel));
  svg += body;
  svg += "</svg>\n";
  return svg;
}

void write_text_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw std::system_error(errno, std::generic_category(), "open " + path.string());
  out << text;
  out.close();
  if (!out) throw std::system_error(errno, std::generic_category(), "write " + path.string());
}

}  // namespace nocopy::bench
