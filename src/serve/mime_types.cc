#include "serve/mime_types.h"

#include <array>
#include <utility>

namespace nocopy::serve {

namespace {
constexpr std::array<std::pair<std::string_view, std::string_view>, 40> kTypes{{
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"json", "application/json"},
    {"txt", "text/plain; charset=utf-8"},
    {"md", "text/markdown; charset=utf-8"},
    {"csv", "text/csv; charset=utf-8"},
    {"xml", "application/xml"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"avif", "image/avif"},
    {"ico", "image/x-icon"},
    {"bmp", "image/bmp"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"ttf", "font/ttf"},
    {"otf", "font/otf"},
    {"pdf", "application/pdf"},
    {"zip", "application/zip"},
    {"gz", "application/gzip"},
    {"tgz", "application/gzip"},
    {"tar", "application/x-tar"},
    {"zst", "application/zstd"},
    {"xz", "application/x-xz"},
    {"wasm", "application/wasm"},
    {"mp4", "video/mp4"},
    {"webm", "video/webm"},
    {"mp3", "audio/mpeg"},
    {"ogg", "audio/ogg"},
    {"wav", "audio/wav"},
    {"iso", "application/x-iso9660-image"},
    {"bin", "application/octet-stream"},
    {"log", "text/plain; charset=utf-8"},
    {"c", "text/plain; charset=utf-8"},
}};
}  // namespace

std::string_view content_type_for(std::string_view filename) {
  auto slash = filename.rfind('/');
  if (slash != std::string_view::npos) filename.remove_prefix(slash + 1);
  auto dot = filename.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return "application/octet-stream";
  std::string_view ext = filename.substr(dot + 1);
  if (ext.size() > 8) return "application/octet-stream";
  char lower[8];
  for (std::size_t i = 0; i < ext.size(); ++i) {
    char c = ext[i];
    lower[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c | 0x20) : c;
  }
  std::string_view e(lower, ext.size());
  for (const auto& [k, v] : kTypes)
    if (k == e) return v;
  return "application/octet-stream";
}

}  // namespace nocopy::serve
