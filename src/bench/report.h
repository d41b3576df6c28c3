// Renderings of a BenchResult: the table (stdout), every raw sample (JSON),
// and a bar chart (SVG, hand-written: no plotting dependency).
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "bench/runner.h"

namespace nocopy::bench {

// The seeds' table with measured columns, one block per size.
std::string format_table(const BenchResult& r);

// {"command", "machine", "options", "samples": [...every raw sample...],
//  "rows": [...the table's figures...]}
nlohmann::json to_json(const BenchResult& r);

// Throughput (median bar, min-max whisker) and CPU seconds per GiB (sender
// and receiver, user and system, stacked) by technique, one panel pair per size.
std::string render_svg(const BenchResult& r);

// Writes `text` to `path` (throws std::system_error naming the path).
void write_text_file(const std::filesystem::path& path, const std::string& text);

}  // namespace nocopy::bench
