#include "log/log_error.h"

namespace nocopy::log {

const char* to_string(LogErrc e) noexcept {
  switch (e) {
    case LogErrc::corrupt_message: return "corrupt_message";
    case LogErrc::invalid_record: return "invalid_record";
    case LogErrc::message_too_large: return "message_too_large";
    case LogErrc::record_list_too_large: return "record_list_too_large";
    case LogErrc::offset_out_of_range: return "offset_out_of_range";
    case LogErrc::storage_error: return "storage_error";
    case LogErrc::closed: return "closed";
  }
  return "unknown";
}

std::int16_t LogError::kafka_error_code() const noexcept {
  switch (kind) {
    case LogErrc::corrupt_message: return 2;         // CORRUPT_MESSAGE
    case LogErrc::invalid_record: return 87;         // INVALID_RECORD
    case LogErrc::message_too_large: return 10;      // MESSAGE_TOO_LARGE
    case LogErrc::record_list_too_large: return 18;  // RECORD_LIST_TOO_LARGE
    case LogErrc::offset_out_of_range: return 1;     // OFFSET_OUT_OF_RANGE
    case LogErrc::storage_error: return 56;          // KAFKA_STORAGE_ERROR
    case LogErrc::closed: return 56;
  }
  return -1;
}

std::string LogError::to_string() const {
  return std::string(log::to_string(kind)) + ": " + message;
}

}  // namespace nocopy::log
