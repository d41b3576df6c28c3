#include "broker/topic_config.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <system_error>

namespace nocopy::broker {

namespace {

constexpr std::int64_t kLongMax = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kIntMax = std::numeric_limits<std::int32_t>::max();
constexpr const char* kHeader = "# nocopy topic config v1";

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::optional<std::int64_t> parse_long(std::string_view s) {
  s = trim(s);
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<double> parse_double(std::string_view s) {
  s = trim(s);
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

struct Range {
  std::int64_t lo;
  std::int64_t hi;
  const char* kind;  // "long" / "int"
};

std::optional<Range> numeric_range(std::string_view name) {
  if (name == "retention.ms" || name == "retention.bytes") return Range{-1, kLongMax, "long"};
  // Kafka allows 14; this log needs room for its smallest useful segment.
  if (name == "segment.bytes") return Range{1024, kIntMax, "int"};
  if (name == "max.message.bytes") return Range{0, kIntMax, "int"};
  if (name == "flush.ms") return Range{0, kLongMax, "long"};
  if (name == "flush.messages") return Range{1, kLongMax, "long"};
  if (name == "delete.retention.ms" || name == "min.compaction.lag.ms") return Range{0, kLongMax, "long"};
  if (name == "max.compaction.lag.ms") return Range{1, kLongMax, "long"};
  if (name == "message.timestamp.before.max.ms" || name == "message.timestamp.after.max.ms")
    return Range{0, kLongMax, "long"};
  if (name == "min.insync.replicas") return Range{1, kIntMax, "int"};
  return std::nullopt;
}

// Configs the log runs with one value only: accepted when they ask for it.
struct Fixed {
  const char* name;
  const char* value;
  const char* why;
};
constexpr Fixed kFixed[] = {
    {"compression.type", "producer", "batches are stored as the producer compressed them"},
    {"segment.ms", "604800000", "the segment roll age is fixed"},
    {"index.interval.bytes", "4096", "the index interval is fixed"},
    {"segment.index.bytes", "10485760", "the index size is fixed"},
};

[[noreturn]] void throw_errno(const char* call, const std::filesystem::path& p) {
  throw std::system_error(errno, std::generic_category(), std::string(call) + " " + p.string());
}

void fsync_path(const std::filesystem::path& p, int flags) {
  int fd;
  do fd = ::open(p.c_str(), flags | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) throw_errno("open", p);
  if (::fsync(fd) != 0) {
    int e = errno;
    ::close(fd);
    errno = e;
    throw_errno("fsync", p);
  }
  ::close(fd);
}

}  // namespace

std::vector<std::string> TopicConfig::names() {
  std::vector<std::string> out = {"cleanup.policy",        "delete.retention.ms",   "flush.messages",
                                  "flush.ms",              "max.compaction.lag.ms", "max.message.bytes",
                                  "message.timestamp.after.max.ms", "message.timestamp.before.max.ms",
                                  "message.timestamp.type",
                                  "min.cleanable.dirty.ratio", "min.compaction.lag.ms", "min.insync.replicas",
                                  "retention.bytes",
                                  "retention.ms",          "segment.bytes"};
  for (const auto& f : kFixed) out.emplace_back(f.name);
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<std::string> TopicConfig::check(std::string_view name, std::string_view value) {
  const std::string n(name);
  if (name == "cleanup.policy") return Config::check_policy(trim(value));
  if (name == "message.timestamp.type") return Config::check_timestamp_type(trim(value));
  if (name == "min.cleanable.dirty.ratio") {
    auto v = parse_double(value);
    if (!v) return "invalid value '" + std::string(value) + "' for configuration " + n + ": expected a double";
    if (!(*v >= 0 && *v <= 1)) return "invalid value " + std::string(trim(value)) + " for configuration " + n + ": must be 0..1";
    return std::nullopt;
  }
  if (auto r = numeric_range(name)) {
    auto v = parse_long(value);
    if (!v) return "invalid value '" + std::string(value) + "' for configuration " + n + ": expected a " + r->kind;
    if (*v < r->lo || *v > r->hi)
      return "invalid value " + std::to_string(*v) + " for configuration " + n + ": must be " +
             std::to_string(r->lo) + ".." + std::to_string(r->hi);
    if (name == "flush.messages" && *v != 1 && *v != kLongMax)
      return "invalid value " + std::to_string(*v) + " for configuration flush.messages: nocopy syncs every batch "
             "(1) or by time only (9223372036854775807)";
    return std::nullopt;
  }
  for (const auto& f : kFixed) {
    if (name != f.name) continue;
    if (trim(value) == f.value) return std::nullopt;
    return "invalid value '" + std::string(value) + "' for configuration " + n + ": only " + f.value +
           " is supported (" + f.why + ")";
  }
  return "unknown topic configuration " + n;
}

Config TopicConfig::apply(const Config& base, const Overrides& overrides) {
  Config c = base;
  for (const auto& [name, value] : overrides)
    if (auto err = check(name, value)) throw std::invalid_argument(*err);
  auto get = [&](const char* name) -> std::optional<std::int64_t> {
    auto it = overrides.find(name);
    if (it == overrides.end()) return std::nullopt;
    return parse_long(it->second);
  };
  if (auto v = get("retention.ms")) c.retention_ms = *v;
  if (auto v = get("retention.bytes")) c.retention_bytes = *v;
  if (auto v = get("segment.bytes")) c.segment_bytes = static_cast<std::uint64_t>(*v);
  if (auto v = get("max.message.bytes")) c.max_message_bytes = static_cast<std::int32_t>(*v);
  if (auto v = get("min.insync.replicas")) c.min_insync_replicas = static_cast<std::int32_t>(*v);
  if (auto it = overrides.find("cleanup.policy"); it != overrides.end()) c.cleanup_policy = std::string(trim(it->second));
  if (auto v = get("delete.retention.ms")) c.delete_retention_ms = *v;
  if (auto v = get("min.compaction.lag.ms")) c.min_compaction_lag_ms = *v;
  if (auto v = get("max.compaction.lag.ms")) c.max_compaction_lag_ms = *v;
  if (auto v = get("message.timestamp.before.max.ms")) c.message_timestamp_before_max_ms = *v;
  if (auto v = get("message.timestamp.after.max.ms")) c.message_timestamp_after_max_ms = *v;
  if (auto it = overrides.find("message.timestamp.type"); it != overrides.end())
    c.message_timestamp_type = std::string(trim(it->second));
  if (auto it = overrides.find("min.cleanable.dirty.ratio"); it != overrides.end())
    c.min_cleanable_dirty_ratio = *parse_double(it->second);
  auto messages = get("flush.messages");
  auto ms = get("flush.ms");
  if (messages || ms) {
    // The broker's policy in Kafka's terms, then the overrides on top.
    std::int64_t m = base.flush == FlushMode::every ? 1 : kLongMax;
    std::int64_t t = base.flush == FlushMode::interval ? static_cast<std::int64_t>(base.flush_interval_ms) : kLongMax;
    if (messages) m = *messages;
    if (ms) t = *ms;
    if (m == 1 || t == 0) {
      c.flush = FlushMode::every;
    } else if (t != kLongMax) {
      c.flush = FlushMode::interval;
      c.flush_interval_ms = static_cast<std::uint32_t>(std::min<std::int64_t>(t, std::numeric_limits<std::uint32_t>::max()));
    } else {
      c.flush = FlushMode::never;
    }
  }
  return c;
}

void TopicConfig::save(const std::filesystem::path& dir, const Overrides& overrides) {
  const auto file = dir / kFileName;
  if (overrides.empty()) {
    std::error_code ec;
    if (std::filesystem::remove(file, ec)) fsync_path(dir, O_RDONLY | O_DIRECTORY);
    if (ec) throw std::system_error(ec, "unlink " + file.string());
    return;
  }
  std::string text = std::string(kHeader) + "\n";
  for (const auto& [name, value] : overrides) text += name + "=" + std::string(trim(value)) + "\n";
  // PartitionLog removes leftover *.tmp files when it opens the directory.
  const auto tmp = dir / (std::string(kFileName) + ".tmp");
  int fd;
  do fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) throw_errno("open", tmp);
  std::size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = n < 0 ? errno : EIO;  // 0 bytes on a regular file: treat as an I/O error
      ::close(fd);
      errno = e;
      throw_errno("write", tmp);
    }
    off += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    int e = errno;
    ::close(fd);
    errno = e;
    throw_errno("fsync", tmp);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), file.c_str()) != 0) throw_errno("rename", file);
  fsync_path(dir, O_RDONLY | O_DIRECTORY);
}

TopicConfig::Overrides TopicConfig::load(const std::filesystem::path& dir) {
  const auto file = dir / kFileName;
  std::error_code ec;
  if (!std::filesystem::exists(file, ec) && !ec) return {};
  std::ifstream in(file);
  if (!in) throw std::runtime_error("cannot read " + file.string());
  Overrides out;
  std::string line;
  std::size_t lineno = 0;
  bool header = false;
  while (std::getline(in, line)) {
    ++lineno;
    std::string_view l = trim(line);
    if (lineno == 1) {
      if (l != kHeader) throw std::runtime_error(file.string() + ": not a nocopy topic config (bad first line)");
      header = true;
      continue;
    }
    if (l.empty()) continue;
    auto eq = l.find('=');
    if (eq == std::string_view::npos || eq == 0)
      throw std::runtime_error(file.string() + ":" + std::to_string(lineno) + ": expected name=value");
    std::string name(trim(l.substr(0, eq)));
    std::string value(trim(l.substr(eq + 1)));
    if (auto err = check(name, value))
      throw std::runtime_error(file.string() + ":" + std::to_string(lineno) + ": " + *err);
    out[name] = value;
  }
  if (in.bad()) throw std::runtime_error("cannot read " + file.string());
  if (!header) throw std::runtime_error(file.string() + ": empty (no header line)");
  return out;
}

}  // namespace nocopy::broker
