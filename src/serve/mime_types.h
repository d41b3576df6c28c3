// Content-Type from a file name's extension (case-insensitive), like nginx's
// mime.types; "application/octet-stream" when unknown.
#pragma once

#include <string_view>

namespace nocopy::serve {

std::string_view content_type_for(std::string_view filename);

}  // namespace nocopy::serve
