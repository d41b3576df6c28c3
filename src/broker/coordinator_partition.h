// Which partition of an internal coordinator topic (__consumer_offsets,
// __transaction_state) owns a key, exactly as Kafka computes it:
//   Utils.abs(key.hashCode()) % partitions
// where hashCode is Java's String.hashCode over the key's UTF-16 code units
// (s[0]*31^(n-1) + ... + s[n-1], wrapping in 32 bits) and Utils.abs maps
// Integer.MIN_VALUE to 0. Keys arrive as UTF-8 (Kafka strings); each is
// decoded to code points and re-encoded as UTF-16 (surrogate pairs above
// U+FFFF); an invalid byte counts as U+FFFD, as Java's decoder replaces it.
// A Kafka client or broker therefore puts a group or transactional id in
// the same partition as this broker does.
#pragma once

#include <cstdint>
#include <string_view>

namespace nocopy::broker {

/// java.lang.String#hashCode of the string whose UTF-8 bytes are `utf8`.
std::int32_t java_string_hash(std::string_view utf8);

/// Utils.abs(java_string_hash(key)) % partitions. `partitions` must be > 0.
std::int32_t coordinator_partition(std::string_view key, std::int32_t partitions);

}  // namespace nocopy::broker
