#include "kafka/api_key.h"

#include <array>

namespace nocopy::kafka {

namespace {

constexpr std::array<ApiInfo, kApiCount> kApis{{
#include "kafka/api_table.inc"
}};

}  // namespace

std::span<const ApiInfo> supported_apis() { return kApis; }

const ApiInfo* find_api(std::int16_t api_key) {
  for (const ApiInfo& a : kApis) {
    if (static_cast<std::int16_t>(a.key) == api_key) return &a;
  }
  return nullptr;
}

std::string_view api_label(std::int16_t api_key) {
  const ApiInfo* a = find_api(api_key);
  return a != nullptr ? a->label : std::string_view("unknown");
}

bool is_flexible(std::int16_t api_key, std::int16_t version) {
  const ApiInfo* a = find_api(api_key);
  return a != nullptr && version >= a->flexible_from;
}

int request_header_version(std::int16_t api_key, std::int16_t version) {
  return is_flexible(api_key, version) ? 2 : 1;
}

int response_header_version(std::int16_t api_key, std::int16_t version) {
  if (api_key == static_cast<std::int16_t>(ApiKey::api_versions)) return 0;
  return is_flexible(api_key, version) ? 1 : 0;
}

}  // namespace nocopy::kafka
