#include "app/commands.h"

#include <cstdio>

namespace nocopy::app {

void add_perf_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("perf", "(under construction)");
  cmd->callback([] {
    std::fprintf(stderr, "nocopy perf: not built yet\n");
    throw CLI::RuntimeError(2);
  });
}

}  // namespace nocopy::app
