#include "app/commands.h"

#include <cstdio>

namespace nocopy::app {

void add_serve_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("serve", "(under construction)");
  cmd->callback([] {
    std::fprintf(stderr, "nocopy serve: not built yet\n");
    throw CLI::RuntimeError(2);
  });
}

}  // namespace nocopy::app
