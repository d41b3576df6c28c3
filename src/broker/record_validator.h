// RecordValidator: the per-record checks Kafka's LogValidator makes on a
// produced batch before it is appended, answered as Kafka answers them
// (Produce v8+ carries them in record_errors and error_message):
//
//   * a record without a key in a compacted topic: INVALID_RECORD, record
//     error "Compacted topic cannot accept message without key in topic
//     partition <topic>-<partition>.";
//   * with message.timestamp.type=CreateTime, a record timestamp more than
//     before_max_ms before or after_max_ms after the broker's clock:
//     INVALID_TIMESTAMP, record error "Timestamp <ts> of message with offset
//     <index> is out of range. The timestamp should be within [<lo>, <hi>]".
//
// Every record is checked and every failing one listed (its index in the
// batch); a record with both faults lists the key's. One timestamp error
// makes the answer INVALID_TIMESTAMP ("One or more records have been
// rejected due to invalid timestamp"), else INVALID_RECORD ("One or more
// records have been rejected due to <n> record errors in total, and only
// showing the first three errors at most: [RecordError(batchIndex=<i>,
// message='<m>'), ...]").
//
// Cost: nothing is read past the batch header unless the topic compacts or
// the header's timestamps fall outside the range (or the lower bound is
// finite): the header's maxTimestamp stands for the records' as the log's
// time index takes it. A compressed batch that must be read is decompressed
// into a copy (BatchDecompressor, at most `max_out` bytes); one that cannot
// be is left to the log. Stateless, thread-safe; the input is untrusted and
// CRC-valid or not, a malformed records section is left to the log.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "kafka/error_code.h"

namespace nocopy::broker {

struct RecordRules {
  bool compacted = false;                         // cleanup.policy includes compact
  bool create_time = true;                        // message.timestamp.type=CreateTime
  std::int64_t before_max_ms = INT64_MAX;         // message.timestamp.before.max.ms
  std::int64_t after_max_ms = 3600000;            // message.timestamp.after.max.ms
  std::size_t max_out = std::size_t{256} << 20;   // decompression bound
};

struct RecordVerdict {
  struct Error {
    std::int32_t batch_index = 0;
    std::string message;
  };
  kafka::ErrorCode error = kafka::ErrorCode::none;
  std::vector<Error> errors;  // every refused record, in batch order
  std::string message;        // the partition's error_message
};

// `batch`: one whole RecordBatch v2 as produced; `topic`/`partition` name it
// in messages; `now_ms`: the broker's wall clock.
RecordVerdict validate_records(std::span<const std::byte> batch, const std::string& topic, std::int32_t partition,
                               const RecordRules& rules, std::int64_t now_ms);

}  // namespace nocopy::broker
