// Output of the perf commands: a human summary (stdout), the same as JSON,
// and the progress line (stderr).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "perf/consumer.h"
#include "perf/producer.h"

namespace nocopy::perf {

nlohmann::json latency_json(const LatencyHistogram& h);  // {"count","p50_us",...,"max_us"}
nlohmann::json to_json(const ProduceOptions& o, const ProduceResult& r);
nlohmann::json to_json(const ConsumeOptions& o, const ConsumeResult& r);

std::string summary_text(const ProduceResult& r);
std::string summary_text(const ConsumeResult& r);

std::string progress_line(const ProduceProgress& p, std::size_t message_size);
std::string progress_line(const ConsumeProgress& p);

}  // namespace nocopy::perf
