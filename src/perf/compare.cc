#include "perf/compare.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <stdexcept>

#include "perf/broker_process.h"
#include "perf/consumer.h"
#include "perf/metrics_client.h"
#include "perf/proc_sample.h"
#include "perf/producer.h"

namespace nocopy::perf {
namespace fs = std::filesystem;

double TechniqueRound::cpu_s_per_gb() const {
  const double served = static_cast<double>(bytes_served ? bytes_served : bytes);
  return served > 0 ? cpu_s / (served / 1e9) : 0;
}
double TechniqueRound::ctx_per_gb() const {
  const double served = static_cast<double>(bytes_served ? bytes_served : bytes);
  return served > 0 ? static_cast<double>(ctx_switches) / (served / 1e9) : 0;
}
double TechniqueRound::copied_per_byte() const {
  const double served = static_cast<double>(bytes_served ? bytes_served : bytes);
  return served > 0 ? copied_user / served : 0;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void CompareOptions::validate() const {
  auto bad = [](const std::string& w) { throw std::invalid_argument(w); };
  if (strategies.empty()) bad("--strategies: give at least one");
  if (rounds < 1 || rounds > 100) bad("--rounds must be 1..100");
  if (message_size < 24) bad("--size must be >= 24");
  if (data_bytes < message_size) bad("--data-mb too small for one message");
  if (partitions < 1 || partitions > 10'000) bad("--partitions must be 1..10000");
  if (consumers < 1 || producers < 1) bad("--consumers/--producers must be >= 1");
  if (timeout_ms < 100) bad("--timeout must be >= 100 ms");
  for (const auto& f : flush_policies)
    if (f != "never" && f != "interval" && f != "every") bad("--flush-policies: never, interval or every, not " + f);
}

namespace {

struct Summary {
  double med = 0, lo = 0, hi = 0;
};
Summary summarize(const std::vector<double>& v) {
  if (v.empty()) return {};
  return {median(v), *std::min_element(v.begin(), v.end()), *std::max_element(v.begin(), v.end())};
}

class Harness {
 public:
  explicit Harness(const CompareOptions& o) : o_(o) {
    bin_ = o.broker_bin.empty() ? fs::read_symlink("/proc/self/exe").string() : o.broker_bin;
    if (o.data_dir.empty()) {
      const char* tmp = std::getenv("TMPDIR");
      std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/nocopy-perf-XXXXXX";
      if (::mkdtemp(templ.data()) == nullptr) throw std::system_error(errno, std::generic_category(), "mkdtemp");
      root_ = templ;
      owns_root_ = !o.keep_data;
    } else {
      root_ = o.data_dir;
      fs::create_directories(root_);
    }
    fs::create_directories(root_ / "data");
  }
  ~Harness() {
    broker_.stop();
    if (owns_root_) {
      std::error_code ec;
      fs::remove_all(root_, ec);
    }
  }

  // (Re)starts the broker with these settings; same data dir every time.
  void start(const std::string& strategy, const std::string& flush) {
    broker_.stop();
    for (int attempt = 0;; ++attempt) {
      port_ = pick_free_port();
      mport_ = pick_free_port();
      std::vector<std::string> argv{bin_,
                                    "broker",
                                    "--listen",
                                    "127.0.0.1:" + std::to_string(port_),
                                    "--metrics-listen",
                                    "127.0.0.1:" + std::to_string(mport_),
                                    "--data-dir",
                                    (root_ / "data").string(),
                                    "--fetch-strategy",
                                    strategy,
                                    "--flush",
                                    flush,
                                    "--default-partitions",
                                    std::to_string(o_.partitions),
                                    "--log-level",
                                    "warn"};
      argv.insert(argv.end(), o_.broker_args.begin(), o_.broker_args.end());
      broker_.start(argv, root_ / "broker.log");
      try {
        broker_.wait_listening("127.0.0.1", port_, std::chrono::milliseconds(o_.timeout_ms));
        broker_.wait_listening("127.0.0.1", mport_, std::chrono::milliseconds(o_.timeout_ms));
        spdlog::debug("broker pid {} strategy {} flush {} on :{} metrics :{}", broker_.pid(), strategy, flush, port_,
                      mport_);
        return;
      } catch (const std::runtime_error&) {
        broker_.stop();
        if (attempt >= 2) throw;  // a port race is retried; a broker that cannot start is not
      }
    }
  }

  std::string brokers() const { return "127.0.0.1:" + std::to_string(port_); }
  Metrics metrics() const {
    return Metrics::parse(http_get("127.0.0.1", mport_, "/metrics", std::chrono::milliseconds(o_.timeout_ms)));
  }
  ProcSample sample() const { return ProcSample::of(broker_.pid()); }

  ProduceCost produce(const std::string& topic, std::uint64_t messages, const std::string& flush) {
    ProduceOptions po;
    po.brokers = brokers();
    po.topic = topic;
    po.num_messages = messages;
    po.message_size = o_.message_size;
    po.partitions = o_.partitions;
    po.instances = o_.producers;
    po.acks = "1";
    po.timeout_ms = o_.timeout_ms;
    const Metrics m0 = metrics();
    const ProcSample s0 = sample();
    const ProduceResult r = ProduceWorkload(po).run();
    const ProcSample d = sample() - s0;
    const Metrics m1 = metrics();
    ProduceCost c;
    c.flush = flush;
    c.messages = r.acked;
    c.failed = r.failed;
    c.msgs_per_s = r.msgs_per_s();
    c.mb_per_s = r.mb_per_s();
    c.ack_p50_us = static_cast<double>(r.ack_latency.percentile(0.5)) / 1000.0;
    c.ack_p99_us = static_cast<double>(r.ack_latency.percentile(0.99)) / 1000.0;
    c.cpu_s = d.cpu_s();
    c.bytes_ingested = m1.sum("nocopy_produce_bytes_total") - m0.sum("nocopy_produce_bytes_total");
    if (c.bytes_ingested <= 0) c.bytes_ingested = static_cast<double>(r.bytes);
    if (r.failed > 0) throw std::runtime_error("produce to " + topic + ": " + std::to_string(r.failed) + " failed: " + r.first_error);
    return c;
  }

  TechniqueRound consume(const std::string& strategy, int round, std::uint64_t messages, std::uint64_t bytes) {
    ConsumeOptions co;
    co.brokers = brokers();
    co.topic = "compare";
    co.num_messages = messages;
    co.instances = o_.consumers;
    co.timeout_ms = o_.timeout_ms;
    co.idle_timeout_ms = o_.timeout_ms;
    const Metrics m0 = metrics();
    const ProcSample s0 = sample();
    const ConsumeResult r = run_consume(co);
    const ProcSample d = sample() - s0;
    const Metrics m1 = metrics();
    TechniqueRound t;
    t.strategy = strategy;
    t.round = round;
    t.messages = r.messages;
    t.bytes = r.bytes;
    t.delivered_all = r.messages == messages && r.missing == 0 && r.duplicates == 0 && r.bytes == bytes && r.errors == 0;
    const double served = m1.sum("nocopy_fetch_bytes_total") - m0.sum("nocopy_fetch_bytes_total");
    t.bytes_served = served > 0 ? static_cast<std::uint64_t>(served) : 0;
    t.consumer_mb_s = r.mb_per_s();
    t.cpu_s = d.cpu_s();
    t.ctx_switches = d.ctx_switches();
    t.copied_user = m1.sum("nocopy_send_bytes_copied_user_total") - m0.sum("nocopy_send_bytes_copied_user_total");
    if (!t.delivered_all)
      spdlog::error("{} round {}: got {} of {} messages, {} of {} bytes, {} missing, {} duplicates, {} errors {}",
                    strategy, round, r.messages, messages, r.bytes, bytes, r.missing, r.duplicates, r.errors,
                    r.first_error);
    return t;
  }

 private:
  const CompareOptions& o_;
  std::string bin_;
  fs::path root_;
  bool owns_root_ = false;
  BrokerProcess broker_;
  std::uint16_t port_ = 0, mport_ = 0;
};

void say(const CompareOptions& o, const std::string& line) {
  if (!o.quiet) fmt::print(stderr, "{}\n", line);
}

}  // namespace

bool CompareResult::all_delivered() const {
  if (rounds.empty()) return false;
  for (const auto& r : rounds)
    if (!r.delivered_all) return false;
  return true;
}

CompareResult run_compare(const CompareOptions& o) {
  o.validate();
  Harness h(o);
  CompareResult res;
  res.messages = std::max<std::uint64_t>(1, o.data_bytes / o.message_size);
  res.bytes = res.messages * o.message_size;

  h.start(o.strategies.front(), "never");
  say(o, fmt::format("compare: loading {} messages of {} bytes ({:.1f} MB) into 'compare'", res.messages,
                     o.message_size, static_cast<double>(res.bytes) / 1e6));
  res.load = h.produce("compare", res.messages, "never");
  say(o, fmt::format("compare: load {:.0f} msgs/s {:.1f} MB/s, broker {:.3f} CPU s/GB ingested", res.load.msgs_per_s,
                     res.load.mb_per_s, res.load.cpu_s_per_gb()));

  const std::size_t n = o.strategies.size();
  for (int round = 0; round < o.rounds; ++round) {
    for (std::size_t k = 0; k < n; ++k) {
      const std::string& s = o.strategies[(k + static_cast<std::size_t>(round)) % n];
      h.start(s, "never");  // a fresh broker process per measurement, same data dir
      TechniqueRound t = h.consume(s, round, res.messages, res.bytes);
      say(o, fmt::format("compare: round {} {:<13} {:8.1f} MB/s {:7.3f} CPU s/GB {:9.0f} ctx/GB {:6.3f} copied/B {}",
                         round, s, t.consumer_mb_s, t.cpu_s_per_gb(), t.ctx_per_gb(), t.copied_per_byte(),
                         t.delivered_all ? "ok" : "INCOMPLETE"));
      res.rounds.push_back(std::move(t));
    }
  }

  const std::uint64_t flush_msgs = std::max<std::uint64_t>(1, o.flush_bytes / o.message_size);
  for (const auto& f : o.flush_policies) {
    h.start(o.strategies.front(), f);
    ProduceCost c = h.produce("flush-" + f, flush_msgs, f);
    say(o, fmt::format("compare: flush {:<8} {:9.0f} msgs/s {:7.1f} MB/s ack p99 {:8.0f} us, {:.3f} CPU s/GB ingested",
                       f, c.msgs_per_s, c.mb_per_s, c.ack_p99_us, c.cpu_s_per_gb()));
    res.flush.push_back(std::move(c));
  }
  return res;
}

namespace {

nlohmann::json cost_json(const ProduceCost& c) {
  return {{"flush", c.flush},         {"messages", c.messages},     {"failed", c.failed},
          {"msgs_per_s", c.msgs_per_s}, {"mb_per_s", c.mb_per_s},   {"ack_p50_us", c.ack_p50_us},
          {"ack_p99_us", c.ack_p99_us}, {"broker_cpu_s", c.cpu_s},  {"bytes_ingested", c.bytes_ingested},
          {"broker_cpu_s_per_gb", c.cpu_s_per_gb()}};
}

struct Agg {
  std::string strategy;
  Summary mb_s, cpu, ctx, copied;
  bool ok = true;
};

std::vector<Agg> aggregate(const std::vector<TechniqueRound>& rounds) {
  std::vector<std::string> order;
  std::map<std::string, std::vector<const TechniqueRound*>> by;
  for (const auto& r : rounds) {
    if (!by.contains(r.strategy)) order.push_back(r.strategy);
    by[r.strategy].push_back(&r);
  }
  std::vector<Agg> out;
  for (const auto& s : order) {
    std::vector<double> mb, cpu, ctx, cp;
    Agg a;
    a.strategy = s;
    for (const auto* r : by[s]) {
      mb.push_back(r->consumer_mb_s);
      cpu.push_back(r->cpu_s_per_gb());
      ctx.push_back(r->ctx_per_gb());
      cp.push_back(r->copied_per_byte());
      a.ok = a.ok && r->delivered_all;
    }
    a.mb_s = summarize(mb);
    a.cpu = summarize(cpu);
    a.ctx = summarize(ctx);
    a.copied = summarize(cp);
    out.push_back(a);
  }
  return out;
}

nlohmann::json summary_json(const Summary& s) { return {{"median", s.med}, {"min", s.lo}, {"max", s.hi}}; }

}  // namespace

nlohmann::json CompareResult::to_json(const CompareOptions& o) const {
  nlohmann::json j;
  j["command"] = "compare";
  j["message_size"] = o.message_size;
  j["partitions"] = o.partitions;
  j["rounds"] = o.rounds;
  j["messages"] = messages;
  j["bytes"] = bytes;
  j["all_delivered"] = all_delivered();
  j["load"] = cost_json(load);
  j["techniques"] = nlohmann::json::array();
  for (const auto& a : aggregate(rounds))
    j["techniques"].push_back({{"strategy", a.strategy},
                               {"delivered_all", a.ok},
                               {"consumer_mb_s", summary_json(a.mb_s)},
                               {"broker_cpu_s_per_gb", summary_json(a.cpu)},
                               {"broker_ctx_switches_per_gb", summary_json(a.ctx)},
                               {"user_bytes_copied_per_byte", summary_json(a.copied)}});
  j["runs"] = nlohmann::json::array();
  for (const auto& r : rounds)
    j["runs"].push_back({{"strategy", r.strategy},
                         {"round", r.round},
                         {"delivered_all", r.delivered_all},
                         {"messages", r.messages},
                         {"bytes", r.bytes},
                         {"bytes_served", r.bytes_served},
                         {"consumer_mb_s", r.consumer_mb_s},
                         {"broker_cpu_s", r.cpu_s},
                         {"broker_ctx_switches", r.ctx_switches},
                         {"user_bytes_copied", r.copied_user}});
  j["flush"] = nlohmann::json::array();
  for (const auto& c : flush) j["flush"].push_back(cost_json(c));
  return j;
}

std::string CompareResult::table() const {
  std::string s = fmt::format("{} messages, {:.1f} MB per technique run; medians over rounds [min-max]\n\n", messages,
                              static_cast<double>(bytes) / 1e6);
  s += fmt::format("{:<14} {:>22} {:>22} {:>24} {:>20} {}\n", "technique", "consumer MB/s", "broker CPU s/GB",
                   "broker ctx switches/GB", "user copies/byte", "delivered");
  for (const auto& a : aggregate(rounds)) {
    s += fmt::format("{:<14} {:>8.1f} [{:>5.0f}-{:>5.0f}] {:>8.3f} [{:.3f}-{:.3f}] {:>10.0f} [{:.0f}-{:.0f}] {:>8.3f} [{:.2f}-{:.2f}] {}\n",
                     a.strategy, a.mb_s.med, a.mb_s.lo, a.mb_s.hi, a.cpu.med, a.cpu.lo, a.cpu.hi, a.ctx.med, a.ctx.lo,
                     a.ctx.hi, a.copied.med, a.copied.lo, a.copied.hi, a.ok ? "all" : "INCOMPLETE");
  }
  s += fmt::format("\n{:<10} {:>12} {:>10} {:>12} {:>12} {:>22}\n", "flush", "msgs/s", "MB/s", "ack p50 us",
                   "ack p99 us", "broker CPU s/GB in");
  s += fmt::format("{:<10} {:>12.0f} {:>10.1f} {:>12.0f} {:>12.0f} {:>22.3f}   (initial load)\n", load.flush,
                   load.msgs_per_s, load.mb_per_s, load.ack_p50_us, load.ack_p99_us, load.cpu_s_per_gb());
  for (const auto& c : flush)
    s += fmt::format("{:<10} {:>12.0f} {:>10.1f} {:>12.0f} {:>12.0f} {:>22.3f}\n", c.flush, c.msgs_per_s, c.mb_per_s,
                     c.ack_p50_us, c.ack_p99_us, c.cpu_s_per_gb());
  return s;
}

std::string CompareResult::svg() const {
  const auto aggs = aggregate(rounds);
  const char* titles[] = {"consumer MB/s (higher is better)", "broker CPU s per GB served",
                          "broker context switches per GB", "user-space bytes copied per byte"};
  auto value = [](const Agg& a, int p) {
    switch (p) {
      case 0: return a.mb_s;
      case 1: return a.cpu;
      case 2: return a.ctx;
      default: return a.copied;
    }
  };
  const char* colors[] = {"#2b6cb0", "#c05621", "#2f855a", "#6b46c1", "#b83280", "#718096", "#d69e2e", "#319795"};
  const int pw = 300, ph = 240, top = 40, left = 20;
  const int width = left + 4 * (pw + 20), height = top + ph + 80;
  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" font-family=\"sans-serif\" "
      "font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"{}\" y=\"20\" font-size=\"14\">nocopy perf compare: same broker, same {:.0f} MB, fetch technique by "
      "technique (median, whiskers min-max)</text>\n",
      width, height, left, static_cast<double>(bytes) / 1e6);
  for (int p = 0; p < 4; ++p) {
    const int x0 = left + p * (pw + 20);
    double vmax = 0;
    for (const auto& a : aggs) vmax = std::max(vmax, value(a, p).hi);
    if (vmax <= 0) vmax = 1;
    s += fmt::format("<text x=\"{}\" y=\"{}\" font-weight=\"bold\">{}</text>\n", x0, top, titles[p]);
    s += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"black\"/>\n", x0, top + ph, x0 + pw,
                     top + ph);
    const int n = static_cast<int>(aggs.size());
    const int bw = n > 0 ? std::min(50, (pw - 10) / n - 8) : 10;
    for (int i = 0; i < n; ++i) {
      const Summary v = value(aggs[static_cast<std::size_t>(i)], p);
      const double scale = (ph - 30) / vmax;
      const int bx = x0 + 10 + i * (bw + 8);
      const int bh = static_cast<int>(v.med * scale);
      s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"/>\n", bx, top + ph - bh, bw,
                       bh, colors[i % 8]);
      const int ylo = top + ph - static_cast<int>(v.lo * scale), yhi = top + ph - static_cast<int>(v.hi * scale);
      s += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"black\"/>\n", bx + bw / 2, ylo,
                       bx + bw / 2, yhi);
      s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{:.3g}</text>\n", bx + bw / 2, yhi - 4, v.med);
      s += fmt::format(
          "<text x=\"{}\" y=\"{}\" transform=\"rotate(35 {} {})\">{}</text>\n", bx, top + ph + 14, bx,
          top + ph + 14, aggs[static_cast<std::size_t>(i)].strategy);
    }
  }
  s += "</svg>\n";
  return s;
}

}  // namespace nocopy::perf
