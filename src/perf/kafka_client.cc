#include "perf/kafka_client.h"

#include <atomic>
#include <optional>
#include <spdlog/spdlog.h>

#include <stdexcept>
#include <thread>

#include "perf/payload.h"

namespace nocopy::perf {
namespace {

// Set when a client was configured with -X debug=...: its lines are what the
// user asked to see, so they go to stderr whatever the log level.
std::atomic<bool> g_debug_requested{false};

void log_cb(const rd_kafka_t*, int level, const char* fac, const char* buf) {
  if (g_debug_requested.load(std::memory_order_relaxed))
    spdlog::info("rdkafka {} {}", fac, buf);
  else if (level <= 3)
    spdlog::debug("rdkafka {} {}", fac, buf);  // errors are reported by the caller, with context
  else
    spdlog::trace("rdkafka {} {}", fac, buf);
}

std::string err_text(rd_kafka_resp_err_t e) { return rd_kafka_err2str(e); }

}  // namespace

KafkaConf make_conf(const ConfigMap& settings) {
  KafkaConf conf(rd_kafka_conf_new());
  rd_kafka_conf_set_log_cb(conf.get(), log_cb);
  if (settings.contains("debug")) g_debug_requested.store(true, std::memory_order_relaxed);
  char err[512];
  for (const auto& [k, v] : settings) {
    if (rd_kafka_conf_set(conf.get(), k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK)
      throw std::invalid_argument("librdkafka config " + k + "=" + v + ": " + err);
  }
  return conf;
}

KafkaHandle make_client(rd_kafka_type_t type, KafkaConf conf) {
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf.get(), err, sizeof err);
  if (rk == nullptr) throw std::runtime_error(std::string("rd_kafka_new: ") + err);
  conf.release();  // owned by rk now
  return KafkaHandle(rk);
}

std::pair<std::string, std::string> parse_key_value(const std::string& kv) {
  const auto eq = kv.find('=');
  if (eq == std::string::npos || eq == 0) throw std::invalid_argument("expected key=value, got '" + kv + "'");
  return {kv.substr(0, eq), kv.substr(eq + 1)};
}

int ensure_topic(rd_kafka_t* rk, const std::string& topic, int create_partitions,
                 std::chrono::milliseconds timeout) {
  const std::uint64_t deadline =
      monotonic_ns() + static_cast<std::uint64_t>(std::chrono::nanoseconds(timeout).count());
  bool create_sent = false;
  std::string last_error = "no answer";
  std::optional<KafkaTopic> rkt;
  for (;;) {
    const std::uint64_t now = monotonic_ns();
    if (now >= deadline) break;
    const int left_ms = static_cast<int>((deadline - now) / 1'000'000) + 1;
    // Create first, then ask for metadata: a metadata request from a producer
    // may auto-create the topic with the broker's default partition count,
    // after which --partitions would silently not apply.
    if (create_partitions > 0 && !create_sent) {
      create_sent = true;
      char errstr[256];
      rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(topic.c_str(), create_partitions, 1, errstr, sizeof errstr);
      if (nt == nullptr) throw std::invalid_argument(std::string("create topic: ") + errstr);
      KafkaQueue q(rd_kafka_queue_new(rk));
      rd_kafka_AdminOptions_t* opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
      rd_kafka_AdminOptions_set_operation_timeout(opts, left_ms, errstr, sizeof errstr);
      rd_kafka_AdminOptions_set_request_timeout(opts, left_ms, errstr, sizeof errstr);
      rd_kafka_CreateTopics(rk, &nt, 1, opts, q.get());
      rd_kafka_event_t* ev = rd_kafka_queue_poll(q.get(), left_ms);
      if (ev != nullptr) {
        if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
          last_error = std::string("CreateTopics: ") + rd_kafka_event_error_string(ev);
        } else if (const rd_kafka_CreateTopics_result_t* res = rd_kafka_event_CreateTopics_result(ev)) {
          size_t n = 0;
          const rd_kafka_topic_result_t** tr = rd_kafka_CreateTopics_result_topics(res, &n);
          for (size_t i = 0; i < n; ++i) {
            const auto te = rd_kafka_topic_result_error(tr[i]);
            if (te != RD_KAFKA_RESP_ERR_NO_ERROR && te != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
              last_error = std::string("CreateTopics: ") + err_text(te);
          }
        }
        rd_kafka_event_destroy(ev);
      }
      rd_kafka_AdminOptions_destroy(opts);
      rd_kafka_NewTopic_destroy(nt);
    }
    // The topic handle only after the create: making one starts a background
    // metadata lookup, which could auto-create the topic first.
    if (!rkt) rkt.emplace(rd_kafka_topic_new(rk, topic.c_str(), nullptr));
    const rd_kafka_metadata_t* md = nullptr;
    const rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt->get(), &md, left_ms);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      last_error = err_text(e);
      if (e == RD_KAFKA_RESP_ERR__TRANSPORT) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    int partitions = 0;
    rd_kafka_resp_err_t terr = RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
    for (int i = 0; i < md->topic_cnt; ++i) {
      if (topic == md->topics[i].topic) {
        terr = md->topics[i].err;
        partitions = md->topics[i].partition_cnt;
      }
    }
    rd_kafka_metadata_destroy(md);
    if (terr == RD_KAFKA_RESP_ERR_NO_ERROR && partitions > 0) {
      if (create_partitions > partitions) {
        spdlog::warn("topic '{}' already exists with {} partitions (asked for {}): using {}", topic, partitions,
                     create_partitions, partitions);
      }
      return partitions;
    }
    last_error = "topic '" + topic + "': " + err_text(terr);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  throw std::runtime_error("no usable metadata for topic '" + topic + "' within " +
                           std::to_string(timeout.count()) + " ms: " + last_error);
}

}  // namespace nocopy::perf
