// The `nocopy bench transfer|copy|small` command line (CLI11).
//
// add_bench_command() registers the three subcommands under `bench`; their
// callbacks parse, validate, run, print the table and write --json/--svg.
// A bad argument throws CLI::ValidationError (non-zero exit with a message);
// a setup failure (unwritable data dir ...) propagates as std::exception.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "bench/options.h"

namespace nocopy::bench {

void add_bench_command(CLI::App& parent);

// Parses `args` (e.g. {"transfer", "--sizes", "4K"}) exactly as the command
// line would, without running anything. Throws CLI::ParseError for syntax
// errors and std::invalid_argument for invalid values.
Options parse_bench_args(const std::vector<std::string>& args);

}  // namespace nocopy::bench
