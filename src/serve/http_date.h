// HTTP dates (RFC 9110 5.6.7) and the common-log-format timestamp.
#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace nocopy::serve {

// "Sun, 06 Nov 1994 08:49:37 GMT"
std::string format_http_date(std::time_t t);
// Accepts IMF-fixdate, RFC 850 ("Sunday, 06-Nov-94 08:49:37 GMT") and
// asctime ("Sun Nov  6 08:49:37 1994"); nullopt if none matches.
std::optional<std::time_t> parse_http_date(std::string_view s);
// "21/Nov/2026:06:00:35 +0000" (UTC)
std::string format_clf_time(std::time_t t);

}  // namespace nocopy::serve
