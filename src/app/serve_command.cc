// `nocopy serve [DIR]`: static files over HTTP/1.1 (see src/serve/file_server.h).
#include <pthread.h>
#include <sys/resource.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <thread>

#include <spdlog/spdlog.h>

#include "app/commands.h"
#include "io/strategy.h"
#include "io/transfer.h"
#include "serve/file_server.h"

namespace nocopy::app {

namespace {

struct ServeArgs {
  std::string dir = ".";
  std::string listen = "127.0.0.1:8080";
  std::size_t threads = 0;
  std::string transfer = "sendfile";
  bool list = false;
  bool no_access_log = false;
  std::string access_log;
  std::size_t max_connections = 10'000;
  double header_timeout_s = 10;
  double keepalive_timeout_s = 75;
  std::size_t max_request_line = 8192;
  std::size_t max_header_bytes = 16384;
  std::size_t max_pipelined = 16;
  std::string port_file;
  bool verbose = false;
};

// Lets 10,000+ connections (each with one open file per queued response) fit.
void raise_nofile_limit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    (void)::setrlimit(RLIMIT_NOFILE, &rl);
  }
}

void run_serve(const ServeArgs& a) {
  if (a.verbose) spdlog::set_level(spdlog::level::debug);
  auto strategy = io::parse_strategy(a.transfer);
  if (!strategy) throw CLI::ValidationError("--transfer", "unknown technique '" + a.transfer + "'");
  bool ok = false;
  for (io::Strategy s : io::socket_strategies()) ok = ok || s == *strategy;
  if (!ok) throw CLI::ValidationError("--transfer", a.transfer + " is not a file -> socket technique");
  if (auto av = io::probe(*strategy); !av.available)
    throw CLI::ValidationError("--transfer", a.transfer + " unavailable: " + av.reason);

  serve::ServeOptions o;
  o.root = a.dir;
  o.listen = a.listen;
  o.threads = a.threads ? a.threads : std::max(1u, std::thread::hardware_concurrency());
  o.transfer = *strategy;
  o.list = a.list;
  o.access_log = !a.no_access_log;
  o.access_log_path = a.access_log;
  o.max_connections = a.max_connections;
  o.header_timeout = std::chrono::milliseconds(static_cast<long>(a.header_timeout_s * 1000));
  o.keepalive_timeout = std::chrono::milliseconds(static_cast<long>(a.keepalive_timeout_s * 1000));
  o.limits.max_request_line = a.max_request_line;
  o.limits.max_header_bytes = a.max_header_bytes;
  o.max_pipelined = a.max_pipelined;

  raise_nofile_limit();
  // Block the stop signals before any thread starts, so only sigwait sees them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  serve::FileServer server(o);
  server.start();
  spdlog::info("nocopy serve: {} on http://{}:{} ({} thread{}, transfer={}, access log {})", a.dir,
               a.listen.substr(0, a.listen.rfind(':')), server.port(), o.threads, o.threads == 1 ? "" : "s",
               io::to_string(*strategy), o.access_log ? (a.access_log.empty() ? "stdout" : a.access_log) : "off");
  if (!a.port_file.empty()) {
    // Written to a temp name and renamed, so a reader never sees a partial file.
    std::string tmp = a.port_file + ".tmp";
    {
      std::ofstream f(tmp);
      f << server.port() << "\n";
    }
    std::rename(tmp.c_str(), a.port_file.c_str());
  }
  int sig = 0;
  sigwait(&set, &sig);
  spdlog::info("nocopy serve: signal {}, finishing in-flight responses", sig);
  server.stop(std::chrono::milliseconds(5000));
  auto st = server.stats();
  spdlog::info("nocopy serve: {} connections, {} requests, {} rejected over the limit", st.pool.accepted, st.requests,
               st.pool.rejected);
}

}  // namespace

void add_serve_command(CLI::App& app) {
  auto args = std::make_shared<ServeArgs>();
  auto* cmd = app.add_subcommand(
      "serve", "Serve static files over HTTP/1.1 (GET/HEAD, keep-alive, ranges) with zero-copy file transfer");
  cmd->add_option("dir", args->dir, "Directory to serve")->capture_default_str();
  cmd->add_option("-l,--listen", args->listen, "Address to listen on (host:port; port 0 = any free port)")
      ->capture_default_str();
  cmd->add_option("-t,--threads", args->threads, "Reactor threads (0 = one per core)")->capture_default_str();
  cmd->add_option("--transfer", args->transfer,
                  "File -> socket technique: sendfile|splice|mmap_write|read_write|uring_splice|"
                  "uring_send_zc|msg_zerocopy")
      ->capture_default_str();
  cmd->add_flag("--list", args->list, "List directories without index.html (default: 403)");
  cmd->add_flag("--no-access-log", args->no_access_log, "Do not write the access log");
  cmd->add_option("--access-log", args->access_log, "Access log file (default: stdout)");
  cmd->add_option("--max-connections", args->max_connections, "Open connections allowed at once")
      ->capture_default_str();
  cmd->add_option("--header-timeout", args->header_timeout_s,
                  "Seconds a request head may take to arrive (slowloris defence)")
      ->capture_default_str();
  cmd->add_option("--keepalive-timeout", args->keepalive_timeout_s, "Seconds an idle connection is kept")
      ->capture_default_str();
  cmd->add_option("--max-request-line", args->max_request_line, "Longest request line (else 414)")
      ->capture_default_str();
  cmd->add_option("--max-header-bytes", args->max_header_bytes, "Largest header block (else 431)")
      ->capture_default_str();
  cmd->add_option("--max-pipelined", args->max_pipelined, "Queued responses per connection before reading pauses")
      ->capture_default_str();
  cmd->add_option("--port-file", args->port_file, "Write the bound port to this file once listening");
  cmd->add_flag("-v,--verbose", args->verbose, "Debug logging");
  cmd->callback([args] { run_serve(*args); });
}

}  // namespace nocopy::app
