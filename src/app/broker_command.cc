#include "app/commands.h"

#include <cstdio>

namespace nocopy::app {

void add_broker_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("broker", "(under construction)");
  cmd->callback([] {
    std::fprintf(stderr, "nocopy broker: not built yet\n");
    throw CLI::RuntimeError(2);
  });
}

}  // namespace nocopy::app
