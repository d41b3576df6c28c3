// TopicConfig: a topic's config overrides (Kafka's per-topic configs,
// `retention.ms=3600000` ...) -- validation, the effective broker Config they
// produce, and their file in the topic's first partition directory.
//
// Supported names and values (anything else is rejected with a message that
// says why; the broker answers INVALID_CONFIG):
//   retention.ms       long >= -1 (-1: forever)
//   retention.bytes    long >= -1 (-1: unlimited)
//   segment.bytes      int 14 .. 2147483647 (Kafka's range)
//   max.message.bytes  int 0 .. 2147483647
//   flush.messages     1 (sync every produce batch) or 9223372036854775807
//                      (no count-based sync); other counts are not
//                      implemented by the log and are rejected
//   flush.ms           long >= 0: a group-commit sync every N ms (0: every
//                      batch); 9223372036854775807: no time-based sync
//   cleanup.policy     delete | compact | compact,delete (either order)
//   delete.retention.ms, min.compaction.lag.ms  long >= 0
//   max.compaction.lag.ms  long >= 1
//   min.cleanable.dirty.ratio  double 0..1
//   compression.type   producer (batches are stored as sent)
//   message.timestamp.type  CreateTime | LogAppendTime (case-sensitive)
//   message.timestamp.before.max.ms, message.timestamp.after.max.ms  long >= 0
//   segment.ms, index.interval.bytes, segment.index.bytes: only the value
//                      the log runs with (604800000, 4096, 10485760)
// Values are trimmed of surrounding blanks and stored as given otherwise.
//
// Flush: flush.messages=1 wins (every batch synced); else a finite flush.ms
// is an interval flusher; else no application sync. A name not overridden
// takes the broker's value (FlushMode every = flush.messages 1, interval =
// flush.ms N).
//
// File: `<data_dir>/<topic>-0/topic.config`, one per topic (partition 0
// always exists while the topic does, and DeleteTopics removes it with the
// directory). Text, one `name=value` a line after a `# nocopy topic config
// v1` line. Written atomically: temp file, fsync, rename, fsync of the
// directory. No file = no overrides.
//
// Thread-safety: stateless functions; save() must not race with another
// save() for the same directory (the registry serializes them).
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/config.h"

namespace nocopy::broker {

class TopicConfig {
 public:
  using Overrides = std::map<std::string, std::string, std::less<>>;

  static constexpr const char* kFileName = "topic.config";

  // Why `name=value` cannot be applied, or nullopt when it can.
  static std::optional<std::string> check(std::string_view name, std::string_view value);
  // The names check() accepts (sorted).
  static std::vector<std::string> names();

  // `base` with every override applied. Throws std::invalid_argument with
  // the check() message of the first bad override.
  static Config apply(const Config& base, const Overrides& overrides);

  // Writes `overrides` to `dir`/topic.config atomically (an empty set removes
  // the file). Throws std::system_error naming the failed syscall.
  static void save(const std::filesystem::path& dir, const Overrides& overrides);
  // Reads `dir`/topic.config; no file = empty. Throws std::runtime_error
  // when it is unreadable, malformed, or holds a name/value check() rejects.
  static Overrides load(const std::filesystem::path& dir);
};

}  // namespace nocopy::broker
