#include "io/strategy.h"

#include <array>
#include <string>

namespace nocopy::io {

namespace {
constexpr std::array kAll = {
    Strategy::read_write,   Strategy::mmap_write,    Strategy::sendfile,
    Strategy::splice,       Strategy::uring_splice,  Strategy::uring_send_zc,
    Strategy::msg_zerocopy, Strategy::copy_file_range, Strategy::direct_io,
};
constexpr std::array kSocket = {
    Strategy::read_write,   Strategy::mmap_write,    Strategy::sendfile,     Strategy::splice,
    Strategy::uring_splice, Strategy::uring_send_zc, Strategy::msg_zerocopy,
};
constexpr std::array kFileCopy = {
    Strategy::read_write, Strategy::sendfile,  Strategy::splice,
    Strategy::copy_file_range, Strategy::direct_io,
};
}  // namespace

std::string_view to_string(Strategy s) {
  switch (s) {
    case Strategy::read_write: return "read_write";
    case Strategy::mmap_write: return "mmap_write";
    case Strategy::sendfile: return "sendfile";
    case Strategy::splice: return "splice";
    case Strategy::uring_splice: return "uring_splice";
    case Strategy::uring_send_zc: return "uring_send_zc";
    case Strategy::msg_zerocopy: return "msg_zerocopy";
    case Strategy::copy_file_range: return "copy_file_range";
    case Strategy::direct_io: return "direct_io";
  }
  return "unknown";
}

// Accepts the canonical names and the same with '-' for '_' ("read-write").
std::optional<Strategy> parse_strategy(std::string_view name) {
  std::string norm(name);
  for (char& c : norm) {
    if (c == '-') c = '_';
  }
  for (Strategy s : kAll) {
    if (to_string(s) == norm) return s;
  }
  return std::nullopt;
}

bool has_completions(Strategy s) { return s == Strategy::msg_zerocopy || s == Strategy::uring_send_zc; }

std::span<const Strategy> socket_strategies() { return kSocket; }
std::span<const Strategy> file_copy_strategies() { return kFileCopy; }

}  // namespace nocopy::io
