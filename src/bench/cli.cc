#include "bench/cli.h"

#include <unistd.h>

#include <cstdio>
#include <memory>
#include <stdexcept>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "bench/report.h"
#include "bench/runner.h"
#include "bench/units.h"

namespace nocopy::bench {

namespace {

struct CliArgs {
  std::string strategies = "all";
  std::string sizes;
  std::string cache = "warm";
  int runs = 5;
  std::string chunk = "64K";
  std::string pipe = "1M";
  std::string recv = "256K";
  std::string pin = "auto";
  std::string min_bytes = "64M";
  std::string max_bytes = "256M";
  std::string file_size = "1G";
  std::uint64_t messages = 100000;
  std::string data_dir;
  std::string file;
  std::string json;
  std::string svg;
  std::string progress = "auto";
  bool verify = false;
  bool fsync = false;
  bool quiet = false;
};

const char* default_sizes(Workload w) { return w == Workload::small ? "100,1K,4K,64K,1M" : "1G"; }

void register_options(CLI::App* sub, CliArgs& a, Workload w) {
  a.sizes = default_sizes(w);
  sub->add_option("-s,--strategies", a.strategies,
                  w == Workload::copy
                      ? "comma-separated: all, read_write, sendfile, splice[:PIPE], copy_file_range, direct_io"
                      : "comma-separated: all, memcpy, send (reference rows), read_write, mmap_write, sendfile, "
                        "splice[:PIPE], uring_splice, uring_send_zc, msg_zerocopy")
      ->capture_default_str();
  sub->add_option("--sizes", a.sizes,
                  w == Workload::small ? "message sizes, e.g. 100,1K,4K (small: RocketMQ case; 1M: Kafka batches)"
                                       : "bytes per transfer, e.g. 4K,64K,1M,16M,1G")
      ->capture_default_str();
  sub->add_option("--cache", a.cache, "warm, or cold: posix_fadvise(DONTNEED) on the file before every sample")
      ->check(CLI::IsMember({"warm", "cold"}))
      ->capture_default_str();
  sub->add_option("-r,--runs", a.runs, "interleaved rounds (A B C A B C ...); figures are medians")
      ->capture_default_str();
  sub->add_option("--chunk", a.chunk, "read_write buffer and per-call cap of the mmap paths")->capture_default_str();
  sub->add_option("--pipe-size", a.pipe, "splice pipe size (F_SETPIPE_SZ) for rows without their own")
      ->capture_default_str();
  sub->add_option("--pin", a.pin, "auto (sender on the 1st allowed CPU, receiver on the 2nd), off, or S,R")
      ->capture_default_str();
  sub->add_option("--data-dir", a.data_dir, "where the generated data file is kept (default $XDG_CACHE_HOME/nocopy)");
  sub->add_option("--file", a.file, "use this existing file as the source instead of a generated one");
  sub->add_option("--json", a.json, "write every raw sample to this file");
  sub->add_option("--svg", a.svg, "write a bar chart (throughput and CPU per GiB) to this file");
  sub->add_option("--progress", a.progress, "progress bar on stderr: auto (when a TTY), always, never")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->capture_default_str();
  sub->add_flag("--verify", a.verify, "receiver checksums what it got against the source (slow; for testing)");
  sub->add_flag("-q,--quiet", a.quiet, "do not print the table");
  if (w != Workload::copy) {
    sub->add_option("--recv-buffer", a.recv, "receiver's reused buffer size")->capture_default_str();
  }
  if (w != Workload::small) {
    sub->add_option("--min-bytes", a.min_bytes, "repeat a small size until a sample moves this much")
        ->capture_default_str();
  }
  if (w == Workload::copy) {
    sub->add_flag("--fsync", a.fsync, "fdatasync the destination inside the timed region");
  }
  if (w == Workload::small) {
    sub->add_option("--messages", a.messages, "messages per sample (capped by --max-bytes)")->capture_default_str();
    sub->add_option("--max-bytes", a.max_bytes, "cap on bytes per sample")->capture_default_str();
    sub->add_option("--file-size", a.file_size, "size of the generated file the messages are scattered over")
        ->capture_default_str();
  }
}

std::uint64_t size_arg(const std::string& text, const char* flag) {
  const auto v = parse_size(text);
  if (!v) throw std::invalid_argument(fmt::format("{} '{}': expected a size such as 64K or 1M", flag, text));
  if (*v == 0) throw std::invalid_argument(fmt::format("{} 0: must be positive", flag));
  return *v;
}

int cpu_arg(const std::string& text) {
  int v = -1;
  try {
    std::size_t used = 0;
    v = std::stoi(text, &used);
    if (used != text.size()) v = -1;
  } catch (const std::exception&) {
    v = -1;
  }
  if (v < 0) throw std::invalid_argument(fmt::format("--pin '{}': expected auto, off or SENDER,RECEIVER", text));
  return v;
}

Options to_options(const CliArgs& a, Workload w) {
  Options o;
  o.workload = w;
  o.chunk = static_cast<std::size_t>(size_arg(a.chunk, "--chunk"));
  o.pipe_size = static_cast<std::size_t>(size_arg(a.pipe, "--pipe-size"));
  o.recv_buffer = static_cast<std::size_t>(size_arg(a.recv, "--recv-buffer"));
  o.techniques = parse_techniques(a.strategies, w, o.pipe_size);
  o.sizes = parse_size_list(a.sizes);
  o.cache = a.cache == "cold" ? CacheMode::cold : CacheMode::warm;
  o.runs = a.runs;
  if (a.pin == "off") {
    o.pin = false;
  } else if (a.pin != "auto") {
    const auto comma = a.pin.find(',');
    if (comma == std::string::npos) {
      throw std::invalid_argument(fmt::format("--pin '{}': expected auto, off or SENDER,RECEIVER", a.pin));
    }
    o.sender_cpu = cpu_arg(a.pin.substr(0, comma));
    o.receiver_cpu = cpu_arg(a.pin.substr(comma + 1));
    if (o.sender_cpu >= 1024 || o.receiver_cpu >= 1024) {
      throw std::invalid_argument("--pin: CPU number out of range");
    }
  }
  o.min_bytes = size_arg(a.min_bytes, "--min-bytes");
  o.max_bytes = size_arg(a.max_bytes, "--max-bytes");
  o.file_size = size_arg(a.file_size, "--file-size");
  o.messages = a.messages;
  if (!a.data_dir.empty()) o.data_dir = a.data_dir;
  if (!a.file.empty()) o.file = a.file;
  if (!a.json.empty()) o.json = a.json;
  if (!a.svg.empty()) o.svg = a.svg;
  o.progress = a.progress == "always" ? 1 : a.progress == "never" ? 0 : -1;
  o.verify = a.verify;
  o.fsync = a.fsync;
  o.quiet = a.quiet;
  o.validate();
  return o;
}

struct Registered {
  CLI::App* sub;
  Workload workload;
  std::shared_ptr<CliArgs> args;
};

std::vector<Registered> register_all(CLI::App& bench) {
  std::vector<Registered> out;
  const struct {
    const char* name;
    Workload w;
    const char* help;
  } subs[] = {
      {"transfer", Workload::transfer, "file -> TCP loopback socket, every technique (the seeds' table, measured)"},
      {"copy", Workload::copy, "file -> file: read_write, sendfile, splice, copy_file_range, direct_io"},
      {"small", Workload::small,
       "many small sends at scattered offsets (RocketMQ case) vs large batches (Kafka case)"},
  };
  for (const auto& s : subs) {
    auto args = std::make_shared<CliArgs>();
    CLI::App* sub = bench.add_subcommand(s.name, s.help);
    register_options(sub, *args, s.w);
    out.push_back({sub, s.w, args});
  }
  return out;
}

std::string command_line_of(const CLI::App* sub, Workload w) {
  std::string cmd = "nocopy bench " + workload_name(w);
  for (const auto* opt : sub->get_options()) {
    if (opt->count() == 0) continue;
    const auto& lnames = opt->get_lnames();
    if (lnames.empty() || lnames.front() == "help") continue;
    if (opt->get_type_size() == 0) {
      cmd += " --" + lnames.front();
      continue;
    }
    for (const auto& v : opt->results()) cmd += fmt::format(" --{} {}", lnames.front(), v);
  }
  return cmd;
}

void run_command(const CLI::App* sub, const CliArgs& args, Workload w) {
  Options o;
  try {
    o = to_options(args, w);
  } catch (const std::invalid_argument& e) {
    throw CLI::ValidationError(fmt::format("nocopy bench {}: {}", workload_name(w), e.what()));
  }
  const BenchResult r = run_bench(o, command_line_of(sub, w));
  if (!o.quiet) std::fputs(format_table(r).c_str(), stdout);
  if (o.json) write_text_file(*o.json, to_json(r).dump(2) + "\n");
  if (o.svg) write_text_file(*o.svg, render_svg(r));
}

}  // namespace

void add_bench_command(CLI::App& parent) {
  CLI::App* bench = parent.add_subcommand(
      "bench", "measure the copy techniques of the seeds' table on this machine (transfer, copy, small)");
  bench->require_subcommand(1);
  for (const auto& reg : register_all(*bench)) {
    CLI::App* sub = reg.sub;
    auto args = reg.args;
    const Workload w = reg.workload;
    sub->callback([sub, args, w] { run_command(sub, *args, w); });
  }
}

Options parse_bench_args(const std::vector<std::string>& args) {
  CLI::App app{"bench"};
  app.require_subcommand(1);
  const auto regs = register_all(app);
  std::vector<std::string> rev(args.rbegin(), args.rend());
  app.parse(rev);
  for (const auto& reg : regs) {
    if (reg.sub->parsed()) return to_options(*reg.args, reg.workload);
  }
  throw std::invalid_argument("no bench subcommand given");
}

}  // namespace nocopy::bench
