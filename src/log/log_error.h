// Errors of the log layer: a kind that maps onto a Kafka error code, the
// errno of a failed syscall when there was one, and a precise reason.
#pragma once

#include <cstdint>
#include <expected>
#include <string>

namespace nocopy::log {

enum class LogErrc : std::uint8_t {
  corrupt_message,        // bad CRC, size fields inconsistent, truncated batch   -> 2
  invalid_record,         // not magic 2, lastOffsetDelta+1 != recordsCount, ...   -> 87
  message_too_large,      // one batch over max_message_bytes                      -> 10
  record_list_too_large,  // the request does not fit in one segment               -> 18
  offset_out_of_range,    // read() below log start or above log end               -> 1
  storage_error,          // a syscall failed (ENOSPC, EIO, EFBIG); see sys_errno  -> 56
  closed,                 // the log was closed                                    -> 56
};

struct LogError {
  LogErrc kind = LogErrc::storage_error;
  int sys_errno = 0;     // errno for storage_error, else 0
  std::string message;   // "batch 2 at byte 1180: CRC mismatch (stored 0x..., computed 0x...)"

  // The Kafka protocol error code for this error (e.g. CORRUPT_MESSAGE = 2).
  std::int16_t kafka_error_code() const noexcept;
  // "corrupt_message: <message>"
  std::string to_string() const;
};

const char* to_string(LogErrc e) noexcept;

template <class T>
using LogResult = std::expected<T, LogError>;

inline std::unexpected<LogError> log_fail(LogErrc kind, std::string message, int sys_errno = 0) {
  return std::unexpected<LogError>(LogError{kind, sys_errno, std::move(message)});
}

}  // namespace nocopy::log
