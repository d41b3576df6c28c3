#include "app/commands.h"

#include <cstdio>

namespace nocopy::app {

void add_bench_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("bench", "(under construction)");
  cmd->callback([] {
    std::fprintf(stderr, "nocopy bench: not built yet\n");
    throw CLI::RuntimeError(2);
  });
}

}  // namespace nocopy::app
