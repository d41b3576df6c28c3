// The Produce and Fetch codecs as they were hand-written before their
// messages were described in src/kafka/schema: the baseline bench_kafka
// compares the generated codecs with. Same Reader/Writer/Encoder/Decoder,
// same field lists; only the serde() bodies are written by hand. The
// Produce request and Fetch response cover the newest versions (Produce v13
// topic ids, Fetch v18 topic ids and tagged fields) as one would write them
// by hand: tagged fields skipped on decode, the non-default ones written on
// encode.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kafka/serde.h"

namespace nocopy::bench_hand {

using kafka::kI32;
using kafka::RecordsRef;


struct ProduceRequest {
  static constexpr std::int16_t kFlexibleFrom = 9;
  struct PartitionData {
    std::int32_t index = 0;
    RecordsRef records;
  };
  struct TopicData {
    std::string name;     // v0-12
    kafka::Uuid topic_id{};  // v13+
    std::vector<PartitionData> partitions;
  };
  std::optional<std::string> transactional_id;  // v3+
  std::int16_t acks = -1;
  std::int32_t timeout_ms = 0;
  std::vector<TopicData> topics;
};

template <class Io>
void serde(Io& io, ProduceRequest& m) {
  if (io.v >= 3) io.nstr(m.transactional_id);
  io.i16(m.acks);
  io.i32(m.timeout_ms);
  io.array(m.topics, [](auto& io2, ProduceRequest::TopicData& t) {
    if (io2.v <= 12) io2.str(t.name);
    else io2.uuid(t.topic_id);
    io2.array(t.partitions, [](auto& io3, ProduceRequest::PartitionData& p) {
      io3.i32(p.index);
      io3.records(p.records);
      io3.tags();
    });
    io2.tags();
  });
  io.tags();
}

struct ProduceResponse {
  struct PartitionResponse {
    std::int32_t index = 0;
    std::int16_t error_code = 0;
    std::int64_t base_offset = -1;
    std::int64_t log_append_time_ms = -1;  // v2+
    std::int64_t log_start_offset = -1;    // v5+
  };
  struct TopicResponse {
    std::string name;
    std::vector<PartitionResponse> partitions;
  };
  std::vector<TopicResponse> responses;
  std::int32_t throttle_time_ms = 0;  // v1+
};

template <class Io>
void serde(Io& io, ProduceResponse& m) {
  io.array(m.responses, [](auto& io2, ProduceResponse::TopicResponse& t) {
    io2.str(t.name);
    io2.array(t.partitions, [](auto& io3, ProduceResponse::PartitionResponse& p) {
      io3.i32(p.index);
      io3.i16(p.error_code);
      io3.i64(p.base_offset);
      if (io3.v >= 2) io3.i64(p.log_append_time_ms);
      if (io3.v >= 5) io3.i64(p.log_start_offset);
    });
  });
  if (io.v >= 1) io.i32(m.throttle_time_ms);
}



struct FetchRequest {
  struct Partition {
    std::int32_t partition = 0;
    std::int32_t current_leader_epoch = -1;  // v9+
    std::int64_t fetch_offset = 0;
    std::int64_t log_start_offset = -1;  // v5+
    std::int32_t partition_max_bytes = 0;
  };
  struct Topic {
    std::string topic;
    std::vector<Partition> partitions;
  };
  struct ForgottenTopic {
    std::string topic;
    std::vector<std::int32_t> partitions;
  };
  std::int32_t replica_id = -1;
  std::int32_t max_wait_ms = 0;
  std::int32_t min_bytes = 0;
  std::int32_t max_bytes = 0x7fffffff;  // v3+
  std::int8_t isolation_level = 0;      // v4+
  std::int32_t session_id = 0;          // v7+
  std::int32_t session_epoch = -1;      // v7+
  std::vector<Topic> topics;
  std::vector<ForgottenTopic> forgotten_topics_data;  // v7+
  std::string rack_id;                                // v11+
};

template <class Io>
void serde(Io& io, FetchRequest& m) {
  io.i32(m.replica_id);
  io.i32(m.max_wait_ms);
  io.i32(m.min_bytes);
  if (io.v >= 3) io.i32(m.max_bytes);
  if (io.v >= 4) io.i8(m.isolation_level);
  if (io.v >= 7) {
    io.i32(m.session_id);
    io.i32(m.session_epoch);
  }
  io.array(m.topics, [](auto& io2, FetchRequest::Topic& t) {
    io2.str(t.topic);
    io2.array(t.partitions, [](auto& io3, FetchRequest::Partition& p) {
      io3.i32(p.partition);
      if (io3.v >= 9) io3.i32(p.current_leader_epoch);
      io3.i64(p.fetch_offset);
      if (io3.v >= 5) io3.i64(p.log_start_offset);
      io3.i32(p.partition_max_bytes);
    });
  });
  if (io.v >= 7) {
    io.array(m.forgotten_topics_data, [](auto& io2, FetchRequest::ForgottenTopic& t) {
      io2.str(t.topic);
      io2.array(t.partitions, kI32);
    });
  }
  if (io.v >= 11) io.str(m.rack_id);
}

struct FetchResponse {
  static constexpr std::int16_t kFlexibleFrom = 12;
  struct AbortedTransaction {
    std::int64_t producer_id = 0;
    std::int64_t first_offset = 0;
  };
  struct EpochEndOffset {
    std::int32_t epoch = -1;
    std::int64_t end_offset = -1;
  };
  struct LeaderIdAndEpoch {
    std::int32_t leader_id = -1;
    std::int32_t leader_epoch = -1;
  };
  struct PartitionData {
    std::int32_t partition_index = 0;
    std::int16_t error_code = 0;
    std::int64_t high_watermark = -1;
    std::int64_t last_stable_offset = -1;  // v4+
    std::int64_t log_start_offset = -1;    // v5+
    EpochEndOffset diverging_epoch;        // v12+, tag 0
    LeaderIdAndEpoch current_leader;       // v12+, tag 1
    // v4+; empty (not null) when there are no transactions: librdkafka and
    // kafkajs default to read_committed.
    std::optional<std::vector<AbortedTransaction>> aborted_transactions = std::vector<AbortedTransaction>{};
    std::int32_t preferred_read_replica = -1;  // v11+
    RecordsRef records;
  };
  struct Topic {
    std::string topic;       // v4-12
    kafka::Uuid topic_id{};  // v13+
    std::vector<PartitionData> partitions;
  };
  std::int32_t throttle_time_ms = 0;
  std::int16_t error_code = 0;   // v7+
  std::int32_t session_id = 0;   // v7+
  std::vector<Topic> responses;
};

// A partition's tagged fields: decoded when known, written when not the default.
template <class Io>
void partition_tags(Io& io, FetchResponse::PartitionData& p) {
  if (!io.flexible()) return;
  if constexpr (Io::reading) {
    io.tagged([&](std::uint32_t tag, auto& t) -> bool {
      if (tag == 0) {
        t.i32(p.diverging_epoch.epoch);
        t.i64(p.diverging_epoch.end_offset);
        t.tags();
        return true;
      }
      if (tag == 1) {
        t.i32(p.current_leader.leader_id);
        t.i32(p.current_leader.leader_epoch);
        t.tags();
        return true;
      }
      return false;
    });
  } else {
    const bool diverged = p.diverging_epoch.epoch != -1 || p.diverging_epoch.end_offset != -1;
    const bool leader = p.current_leader.leader_id != -1 || p.current_leader.leader_epoch != -1;
    io.tag_count((diverged ? 1u : 0u) + (leader ? 1u : 0u));
    if (diverged)
      io.tag(0, [&](auto& t) {
        t.i32(p.diverging_epoch.epoch);
        t.i64(p.diverging_epoch.end_offset);
        t.tags();
      });
    if (leader)
      io.tag(1, [&](auto& t) {
        t.i32(p.current_leader.leader_id);
        t.i32(p.current_leader.leader_epoch);
        t.tags();
      });
  }
}

template <class Io>
void serde(Io& io, FetchResponse& m) {
  if (io.v >= 1) io.i32(m.throttle_time_ms);
  if (io.v >= 7) {
    io.i16(m.error_code);
    io.i32(m.session_id);
  }
  io.array(m.responses, [](auto& io2, FetchResponse::Topic& t) {
    if (io2.v <= 12) io2.str(t.topic);
    else io2.uuid(t.topic_id);
    io2.array(t.partitions, [](auto& io3, FetchResponse::PartitionData& p) {
      io3.i32(p.partition_index);
      io3.i16(p.error_code);
      io3.i64(p.high_watermark);
      if (io3.v >= 4) io3.i64(p.last_stable_offset);
      if (io3.v >= 5) io3.i64(p.log_start_offset);
      if (io3.v >= 4) {
        io3.narray(p.aborted_transactions, [](auto& io4, FetchResponse::AbortedTransaction& a) {
          io4.i64(a.producer_id);
          io4.i64(a.first_offset);
          io4.tags();
        });
      }
      if (io3.v >= 11) io3.i32(p.preferred_read_replica);
      io3.records(p.records);
      partition_tags(io3, p);
    });
    io2.tags();
  });
  io.tags();  // node_endpoints (v16+, tag 0) is never sent by the bench
}

}  // namespace nocopy::bench_hand
