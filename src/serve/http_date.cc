#include "serve/http_date.h"

#include <cstdio>
#include <cstring>

namespace nocopy::serve {

namespace {
constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

int month_index(std::string_view m) {
  for (int i = 0; i < 12; ++i)
    if (m == kMonths[i]) return i;
  return -1;
}

bool digits(std::string_view s, int& out) {
  if (s.empty() || s.size() > 4) return false;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}

std::optional<std::time_t> make(int year, int mon, int day, int h, int m, int s) {
  if (mon < 0 || day < 1 || day > 31 || h > 23 || m > 59 || s > 60 || year < 1970) return std::nullopt;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = mon;
  tm.tm_mday = day;
  tm.tm_hour = h;
  tm.tm_min = m;
  tm.tm_sec = s;
  return ::timegm(&tm);
}

bool hms(std::string_view t, int& h, int& m, int& s) {
  return t.size() == 8 && t[2] == ':' && t[5] == ':' && digits(t.substr(0, 2), h) && digits(t.substr(3, 2), m) &&
         digits(t.substr(6, 2), s);
}
}  // namespace

std::string format_http_date(std::time_t t) {
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday], tm.tm_mday,
                kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::string format_clf_time(std::time_t t) {
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%02d/%s/%04d:%02d:%02d:%02d +0000", tm.tm_mday, kMonths[tm.tm_mon],
                tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::optional<std::time_t> parse_http_date(std::string_view s) {
  int day, year, h, m, sec;
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" (29 chars)
  if (s.size() == 29 && s[3] == ',' && s[4] == ' ' && s[7] == ' ' && s[11] == ' ' && s[16] == ' ' &&
      s.substr(25) == " GMT") {
    if (!digits(s.substr(5, 2), day) || !digits(s.substr(12, 4), year) || !hms(s.substr(17, 8), h, m, sec))
      return std::nullopt;
    return make(year, month_index(s.substr(8, 3)), day, h, m, sec);
  }
  // asctime: "Sun Nov  6 08:49:37 1994" (24 chars)
  if (s.size() == 24 && s[3] == ' ' && s[7] == ' ' && s[10] == ' ' && s[19] == ' ') {
    std::string_view d = s.substr(8, 2);
    if (d[0] == ' ') d.remove_prefix(1);
    if (!digits(d, day) || !hms(s.substr(11, 8), h, m, sec) || !digits(s.substr(20, 4), year)) return std::nullopt;
    return make(year, month_index(s.substr(4, 3)), day, h, m, sec);
  }
  // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"
  if (auto comma = s.find(", "); comma != std::string_view::npos && comma < 10) {
    std::string_view r = s.substr(comma + 2);
    if (r.size() == 22 && r[2] == '-' && r[6] == '-' && r[9] == ' ' && r.substr(18) == " GMT") {
      if (!digits(r.substr(0, 2), day) || !digits(r.substr(7, 2), year) || !hms(r.substr(10, 8), h, m, sec))
        return std::nullopt;
      year += year < 70 ? 2000 : 1900;
      return make(year, month_index(r.substr(3, 3)), day, h, m, sec);
    }
  }
  return std::nullopt;
}

}  // namespace nocopy::serve
