// Thin RAII and setup helpers over librdkafka's C API shared by the producer
// and consumer workloads.
//
// All functions here are setup-time: they throw std::runtime_error with a
// message fit for the user ("cannot reach broker ... within 5000 ms: ...").
#pragma once

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>

namespace nocopy::perf {

struct KafkaDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
  void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
  void operator()(rd_kafka_topic_t* t) const { rd_kafka_topic_destroy(t); }
  void operator()(rd_kafka_queue_t* q) const { rd_kafka_queue_destroy(q); }
};
using KafkaHandle = std::unique_ptr<rd_kafka_t, KafkaDeleter>;
using KafkaConf = std::unique_ptr<rd_kafka_conf_t, KafkaDeleter>;
using KafkaTopic = std::unique_ptr<rd_kafka_topic_t, KafkaDeleter>;
using KafkaQueue = std::unique_ptr<rd_kafka_queue_t, KafkaDeleter>;

using ConfigMap = std::map<std::string, std::string>;

// Builds a configuration from key=value pairs (later pairs win). Throws on an
// unknown property or a bad value, naming it. Routes librdkafka's own log
// lines to spdlog (debug level, errors at warn) instead of raw stderr.
KafkaConf make_conf(const ConfigMap& settings);

// Creates a client; consumes `conf`.
KafkaHandle make_client(rd_kafka_type_t type, KafkaConf conf);

// Asks the cluster for the topic's metadata. If the topic does not exist and
// create_partitions > 0, creates it (CreateTopics) with that many partitions
// and waits for it to appear. Returns the partition count. Throws if the
// broker cannot be reached, or the topic is absent, within `timeout`.
int ensure_topic(rd_kafka_t* rk, const std::string& topic, int create_partitions,
                 std::chrono::milliseconds timeout);

// Parses "key=value" (the -X option); throws std::invalid_argument otherwise.
std::pair<std::string, std::string> parse_key_value(const std::string& kv);

}  // namespace nocopy::perf
