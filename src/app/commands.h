// Subcommands of the single `nocopy` executable. Each add_*_command registers
// one CLI11 subcommand; its callback runs the command and reports failure by
// throwing CLI::RuntimeError(exit_code) so main() can exit with that code.
#pragma once

#include <CLI/CLI.hpp>

namespace nocopy::app {

void add_broker_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_perf_command(CLI::App& app);
void add_serve_command(CLI::App& app);

}  // namespace nocopy::app
