// nocopy: one executable, one subcommand per tool.
#include <cstdio>
#include <exception>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "app/commands.h"
#include "io/sigpipe_guard.h"

int main(int argc, char** argv) {
  // Every socket write uses MSG_NOSIGNAL, but sendfile/splice cannot take it
  // and a peer that went away must not kill the process. Ignoring SIGPIPE
  // through io also lets io's per-call SigpipeGuard skip its two syscalls.
  nocopy::io::ignore_sigpipe_process_wide();

  CLI::App app{
      "nocopy: a zero-copy I/O library, a Kafka-compatible broker, and the benchmarks that\n"
      "measure which copy technique wins where."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "nocopy 0.1.0");
  nocopy::app::add_broker_command(app);
  nocopy::app::add_bench_command(app);
  nocopy::app::add_perf_command(app);
  nocopy::app::add_serve_command(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
  return 0;
}
