// `nocopy bench transfer|copy|small`: the command line lives in bench/cli.h.
#include "app/commands.h"
#include "bench/cli.h"

namespace nocopy::app {

void add_bench_command(CLI::App& app) { bench::add_bench_command(app); }

}  // namespace nocopy::app
