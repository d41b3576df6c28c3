// Metadata (key 3), versions 0..6.
// v0: an empty topic list means "all topics"; v1+: a null list means all
// topics and an empty list means none (MetadataRequest::all_topics()).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kafka/api_key.h"
#include "kafka/serde.h"

namespace nocopy::kafka {

struct MetadataRequest {
  static constexpr ApiKey kApiKey = ApiKey::metadata;
  struct Topic {
    std::string name;
  };
  std::optional<std::vector<Topic>> topics;  // null (v1+) = all topics
  bool allow_auto_topic_creation = true;     // v4+; earlier versions: true

  // Whether the client asks for every topic, given the request's version.
  bool all_topics(std::int16_t version) const {
    if (!topics) return true;
    return version == 0 && topics->empty();
  }
};

template <class Io>
void serde(Io& io, MetadataRequest& m) {
  auto topic = [](auto& io2, MetadataRequest::Topic& t) { io2.str(t.name); };
  if (io.v >= 1) {
    io.narray(m.topics, topic);
  } else if constexpr (Io::reading) {
    m.topics.emplace();
    io.array(*m.topics, topic);
  } else {
    std::vector<MetadataRequest::Topic> none;  // v0 cannot say null: [] = all
    io.array(m.topics ? *m.topics : none, topic);
  }
  if (io.v >= 4) io.boolean(m.allow_auto_topic_creation);
}

struct MetadataResponse {
  static constexpr ApiKey kApiKey = ApiKey::metadata;
  struct Broker {
    std::int32_t node_id = 0;
    std::string host;
    std::int32_t port = 0;
    std::optional<std::string> rack;  // v1+
  };
  struct Partition {
    std::int16_t error_code = 0;
    std::int32_t partition_index = 0;
    std::int32_t leader_id = 0;
    std::vector<std::int32_t> replica_nodes;
    std::vector<std::int32_t> isr_nodes;
    std::vector<std::int32_t> offline_replicas;  // v5+
  };
  struct Topic {
    std::int16_t error_code = 0;
    std::string name;
    bool is_internal = false;  // v1+
    std::vector<Partition> partitions;
  };
  std::int32_t throttle_time_ms = 0;  // v3+
  std::vector<Broker> brokers;
  std::optional<std::string> cluster_id;  // v2+
  std::int32_t controller_id = -1;        // v1+
  std::vector<Topic> topics;
};

template <class Io>
void serde(Io& io, MetadataResponse& m) {
  if (io.v >= 3) io.i32(m.throttle_time_ms);
  io.array(m.brokers, [](auto& io2, MetadataResponse::Broker& b) {
    io2.i32(b.node_id);
    io2.str(b.host);
    io2.i32(b.port);
    if (io2.v >= 1) io2.nstr(b.rack);
  });
  if (io.v >= 2) io.nstr(m.cluster_id);
  if (io.v >= 1) io.i32(m.controller_id);
  io.array(m.topics, [](auto& io2, MetadataResponse::Topic& t) {
    io2.i16(t.error_code);
    io2.str(t.name);
    if (io2.v >= 1) io2.boolean(t.is_internal);
    io2.array(t.partitions, [](auto& io3, MetadataResponse::Partition& p) {
      io3.i16(p.error_code);
      io3.i32(p.partition_index);
      io3.i32(p.leader_id);
      io3.array(p.replica_nodes, kI32);
      io3.array(p.isr_nodes, kI32);
      if (io3.v >= 5) io3.array(p.offline_replicas, kI32);
    });
  });
}

}  // namespace nocopy::kafka
