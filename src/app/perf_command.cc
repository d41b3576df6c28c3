// `nocopy perf produce|consume|compare`: the load generator.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "app/commands.h"
#include "perf/compare.h"
#include "perf/consumer.h"
#include "perf/producer.h"
#include "perf/report.h"

namespace nocopy::app {
namespace {

struct Common {
  bool json = false;
  double progress_s = 1.0;
  bool quiet = false;
  std::vector<std::string> extra;
};

void add_common(CLI::App* c, Common& o, std::string& brokers, std::string& topic, int& timeout_ms) {
  c->add_option("-b,--brokers", brokers, "bootstrap broker(s), host:port[,host:port]")->capture_default_str();
  c->add_option("-t,--topic", topic, "topic")->capture_default_str();
  c->add_option("--timeout", timeout_ms, "ms to reach the broker / get metadata / deliver before failing")
      ->capture_default_str();
  c->add_flag("--json", o.json, "print the summary as JSON on stdout");
  c->add_option("--progress-interval", o.progress_s, "seconds between progress lines on stderr (0: none)")
      ->capture_default_str();
  c->add_flag("-q,--quiet", o.quiet, "no progress line");
  c->add_option("-X", o.extra, "extra librdkafka property key=value (repeatable)");
}

perf::ConfigMap to_config(const std::vector<std::string>& kvs) {
  perf::ConfigMap m;
  for (const auto& kv : kvs) m.insert_or_assign(perf::parse_key_value(kv).first, perf::parse_key_value(kv).second);
  return m;
}

void progress_out(const std::string& line) {
  // One line, rewritten in place on a terminal; plain lines otherwise.
  if (::isatty(2))
    std::fprintf(stderr, "\r%s\033[K", line.c_str());
  else
    std::fprintf(stderr, "%s\n", line.c_str());
}

void end_progress(const Common& c) {
  if (!c.quiet && c.progress_s > 0 && ::isatty(2)) std::fprintf(stderr, "\n");
}

[[noreturn]] void fail(const std::string& what, int code) {
  std::fprintf(stderr, "nocopy perf: %s\n", what.c_str());
  throw CLI::RuntimeError(code);
}

// Runs a workload (`run` returns its result; std::invalid_argument means bad
// options: exit 2, any other exception exit 1), then prints the result as
// JSON or as the summary text.
template <class Options, class Run>
auto run_and_print(const Options& o, const Common& c, Run run) {
  decltype(run()) r;
  try {
    r = run();
    end_progress(c);
  } catch (const std::invalid_argument& e) {
    fail(e.what(), 2);
  } catch (const std::exception& e) {
    fail(e.what(), 1);
  }
  if (c.json)
    std::cout << perf::to_json(o, r).dump(2) << std::endl;
  else
    std::cout << perf::summary_text(r) << std::flush;
  return r;
}

void add_produce(CLI::App* perf) {
  auto o = std::make_shared<perf::ProduceOptions>();
  auto c = std::make_shared<Common>();
  auto* cmd = perf->add_subcommand("produce", "produce messages with librdkafka and report throughput and ack latency");
  add_common(cmd, *c, o->brokers, o->topic, o->timeout_ms);
  cmd->add_option("-n,--num-messages", o->num_messages, "messages to produce (over all instances)");
  cmd->add_option("-d,--duration", o->duration_s, "seconds to produce for (when -n is not given)");
  cmd->add_option("-s,--size", o->message_size, "message value bytes (>= 24)")->capture_default_str();
  cmd->add_option("--keys", o->keys, "distinct keys to cycle through (0: no key)")->capture_default_str();
  cmd->add_option("-p,--partitions", o->partitions, "create the topic with this many partitions if absent")
      ->capture_default_str();
  cmd->add_option("-a,--acks", o->acks, "0, 1 or all")->capture_default_str();
  cmd->add_option("-z,--compression", o->compression, "none, gzip, snappy, lz4, zstd")->capture_default_str();
  cmd->add_option("--linger-ms", o->linger_ms, "linger.ms")->capture_default_str();
  cmd->add_option("--batch-bytes", o->batch_bytes, "batch.size (bytes per partition batch)")->capture_default_str();
  cmd->add_option("--batch-messages", o->batch_messages, "batch.num.messages")->capture_default_str();
  cmd->add_option("--produce-batch", o->produce_batch,
                  "messages per rd_kafka_produce_batch call (1: rd_kafka_produce per message)")
      ->capture_default_str();
  cmd->add_option("-i,--instances", o->instances, "producer instances (threads, one rd_kafka_t each)")
      ->capture_default_str();
  cmd->add_option("-r,--rate", o->rate, "target msgs/s over all instances (0: unlimited)")->capture_default_str();
  cmd->callback([o, c] {
    const auto r = run_and_print(*o, *c, [&] {
      o->extra = to_config(c->extra);
      perf::ProduceWorkload w(*o);
      perf::ProduceProgressFn pf;
      if (!c->quiet && c->progress_s > 0)
        pf = [o](const perf::ProduceProgress& p) { progress_out(perf::progress_line(p, o->message_size)); };
      return w.run(pf, c->progress_s > 0 ? c->progress_s : 1.0);
    });
    if (r.failed > 0 || r.acked == 0) fail("produce: " + std::to_string(r.failed) + " messages failed" +
                                           (r.first_error.empty() ? "" : " (" + r.first_error + ")"), 1);
  });
}

void add_consume(CLI::App* perf) {
  auto o = std::make_shared<perf::ConsumeOptions>();
  auto c = std::make_shared<Common>();
  auto* cmd = perf->add_subcommand("consume", "consume a topic from the beginning with librdkafka; check sequence "
                                              "numbers, report throughput and end-to-end latency");
  add_common(cmd, *c, o->brokers, o->topic, o->timeout_ms);
  cmd->add_option("-n,--num-messages", o->num_messages, "messages expected; stop after this many")
      ->capture_default_str();
  cmd->add_option("-d,--duration", o->duration_s, "stop after this many seconds (0: no limit)");
  cmd->add_option("--idle-timeout", o->idle_timeout_ms, "stop after this many ms without a message")
      ->capture_default_str();
  cmd->add_option("-i,--instances", o->instances, "consumer instances (threads), partitions split among them")
      ->capture_default_str();
  cmd->add_option("--fetch-max-bytes", o->fetch_max_bytes, "fetch.max.bytes")->capture_default_str();
  cmd->add_option("--partition-fetch-bytes", o->partition_fetch_bytes, "fetch.message.max.bytes")
      ->capture_default_str();
  cmd->add_option("--queued-max-kbytes", o->queued_max_kbytes, "queued.max.messages.kbytes")->capture_default_str();
  cmd->callback([o, c] {
    const auto r = run_and_print(*o, *c, [&] {
      o->extra = to_config(c->extra);
      o->validate();
      perf::ConsumeProgressFn pf;
      if (!c->quiet && c->progress_s > 0)
        pf = [](const perf::ConsumeProgress& p) { progress_out(perf::progress_line(p)); };
      return perf::run_consume(*o, pf, c->progress_s > 0 ? c->progress_s : 1.0);
    });
    if (r.missing > 0 || r.duplicates > 0 || r.errors > 0 || r.messages == 0)
      fail("consume: " + std::to_string(r.missing) + " missing, " + std::to_string(r.duplicates) + " duplicated, " +
               std::to_string(r.errors) + " errors" + (r.first_error.empty() ? "" : " (" + r.first_error + ")"),
           1);
  });
}

void add_compare(CLI::App* perf) {
  auto o = std::make_shared<perf::CompareOptions>();
  auto json = std::make_shared<bool>(false);
  auto json_out = std::make_shared<std::string>();
  auto svg_out = std::make_shared<std::string>();
  auto data_mb = std::make_shared<double>(256);
  auto flush_mb = std::make_shared<double>(32);
  auto* cmd = perf->add_subcommand(
      "compare", "start a broker, load one topic, consume it with each fetch technique in turn (interleaved rounds); "
                 "report consumer MB/s and broker CPU, context switches and user-space copies per GB served");
  cmd->add_option("--broker-bin", o->broker_bin, "nocopy executable to run as `<bin> broker` [this one]");
  cmd->add_option("--broker-arg", o->broker_args, "extra flag for the broker (repeatable), e.g. --broker-arg=--threads=1");
  cmd->add_option("--strategies", o->strategies, "fetch strategies to compare")->delimiter(',')->capture_default_str();
  cmd->add_option("--rounds", o->rounds, "rounds; each runs every strategy once")->capture_default_str();
  cmd->add_option("--data-mb", *data_mb, "MB of messages to load and consume per run")->capture_default_str();
  cmd->add_option("-s,--size", o->message_size, "message value bytes")->capture_default_str();
  cmd->add_option("-p,--partitions", o->partitions, "partitions of the topic")->capture_default_str();
  cmd->add_option("--consumers", o->consumers, "consumer instances")->capture_default_str();
  cmd->add_option("--producers", o->producers, "producer instances")->capture_default_str();
  cmd->add_option("--flush-policies", o->flush_policies, "broker --flush policies to measure produce cost under")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--flush-mb", *flush_mb, "MB produced per flush policy (0: skip)")->capture_default_str();
  cmd->add_option("--timeout", o->timeout_ms, "ms bound for broker startup, metadata and each idle wait")
      ->capture_default_str();
  cmd->add_option("--data-dir", o->data_dir, "broker data dir [fresh temp dir, removed at the end]");
  cmd->add_flag("--keep-data", o->keep_data, "keep the temp data dir");
  cmd->add_flag("--json", *json, "print JSON on stdout instead of the table");
  cmd->add_option("--json-out", *json_out, "also write the JSON to this file");
  cmd->add_option("--svg", *svg_out, "write an SVG chart to this file");
  cmd->add_flag("-q,--quiet", o->quiet, "no per-run lines on stderr");
  cmd->callback([=] {
    perf::CompareResult r;
    try {
      if (*data_mb <= 0) throw std::invalid_argument("--data-mb must be > 0");
      o->data_bytes = static_cast<std::uint64_t>(*data_mb * 1e6);
      o->flush_bytes = static_cast<std::uint64_t>(std::max(0.0, *flush_mb) * 1e6);
      if (o->flush_bytes == 0) o->flush_policies.clear();
      o->validate();
      r = perf::run_compare(*o);
    } catch (const std::invalid_argument& e) {
      fail(e.what(), 2);
    } catch (const std::exception& e) {
      fail(e.what(), 1);
    }
    const auto j = r.to_json(*o);
    if (*json)
      std::cout << j.dump(2) << std::endl;
    else
      std::cout << r.table() << std::flush;
    if (!json_out->empty()) {
      std::ofstream f(*json_out);
      f << j.dump(2) << "\n";
      if (!f) fail("cannot write " + *json_out, 1);
    }
    if (!svg_out->empty()) {
      std::ofstream f(*svg_out);
      f << r.svg();
      if (!f) fail("cannot write " + *svg_out, 1);
    }
    if (!r.all_delivered()) fail("compare: some technique did not deliver every message", 1);
  });
}

}  // namespace

void add_perf_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("perf", "load generator on librdkafka: produce, consume, compare fetch techniques");
  cmd->require_subcommand(1);
  add_produce(cmd);
  add_consume(cmd);
  add_compare(cmd);
}

}  // namespace nocopy::app
