// One tiny real run of every subcommand, through the same entry point as the
// command line, with the JSON it writes checked for sanity.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <fstream>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "bench/cli.h"
#include "bench/data_file.h"
#include "bench/report.h"
#include "bench/runner.h"
#include "temp_dir.h"

namespace nocopy::bench {
namespace {

using nlohmann::json;

json run_and_read_json(const std::vector<std::string>& args, const testing::TempDir& dir) {
  std::vector<std::string> full = args;
  const auto json_path = dir.path() / "out.json";
  const auto svg_path = dir.path() / "out.svg";
  full.insert(full.end(), {"--data-dir", (dir.path() / "data").string(), "--json", json_path.string(), "--svg",
                           svg_path.string(), "--progress", "never", "--quiet", "--runs", "1"});
  // Through CLI11 exactly as `nocopy bench ...` (argv reversed for CLI::App::parse).
  CLI::App app{"nocopy"};
  add_bench_command(app);
  std::vector<std::string> argv{"bench"};
  argv.insert(argv.end(), full.begin(), full.end());
  std::vector<std::string> rev(argv.rbegin(), argv.rend());
  app.parse(rev);

  std::ifstream svg(svg_path);
  std::string svg_text((std::istreambuf_iterator<char>(svg)), std::istreambuf_iterator<char>());
  EXPECT_EQ(svg_text.rfind("<svg", 0), 0u);
  EXPECT_NE(svg_text.find("</svg>"), std::string::npos);

  std::ifstream in(json_path);
  return json::parse(in);
}

// Checks every sample; returns the techniques that ran ok.
std::set<std::string> check_samples(const json& j, bool socket) {
  std::set<std::string> ok;
  EXPECT_FALSE(j.at("samples").empty());
  for (const auto& s : j.at("samples")) {
    const std::string name = s.at("technique");
    const std::string status = s.at("status");
    if (status == "unavailable") {
      // Reported with a reason, never as a zero-throughput row.
      EXPECT_FALSE(s.at("note").get<std::string>().empty()) << name;
      EXPECT_EQ(s.at("bytes_received"), 0u) << name;
      continue;
    }
    EXPECT_EQ(status, "ok") << name << ": " << s.at("note");
    if (status != "ok") continue;
    ok.insert(name);
    const auto requested = s.at("bytes_requested").get<std::uint64_t>();
    EXPECT_GT(requested, 0u);
    EXPECT_EQ(s.at("bytes_sent").get<std::uint64_t>(), requested) << name;
    EXPECT_EQ(s.at("bytes_received").get<std::uint64_t>(), requested) << name;
    EXPECT_EQ(requested, s.at("transfers").get<std::uint64_t>() * s.at("size").get<std::uint64_t>()) << name;
    EXPECT_GT(s.at("seconds").get<double>(), 0.0) << name;
    EXPECT_GT(s.at("gbps").get<double>(), 0.0) << name;
    const auto& c = s.at("counters");
    if (name == "memcpy") {
      EXPECT_EQ(c.at("bytes_copied_user").get<std::uint64_t>(), requested);
      continue;
    }
    EXPECT_GT(c.at("syscalls").get<std::uint64_t>(), 0u) << name;
    if (socket) {
      EXPECT_GT(s.at("receiver_syscalls").get<std::uint64_t>(), 0u) << name;
    }
    if (name != "send") {
      EXPECT_TRUE(s.at("verified").get<bool>()) << name;
    }
    if (name == "read_write") {
      EXPECT_EQ(c.at("bytes_copied_user").get<std::uint64_t>(), requested);
      EXPECT_EQ(c.at("bytes_zero_copy").get<std::uint64_t>(), 0u);
    }
    if (name == "sendfile" || name == "splice" || name == "copy_file_range") {
      EXPECT_EQ(c.at("bytes_copied_user").get<std::uint64_t>(), 0u) << name;
      EXPECT_EQ(c.at("bytes_zero_copy").get<std::uint64_t>(), requested) << name;
    }
  }
  return ok;
}

TEST(BenchRun, TransferTinyRun) {
  testing::TempDir dir;
  const json j = run_and_read_json(
      {"transfer", "--sizes", "4K,64K", "--min-bytes", "64K", "--verify", "--chunk", "16K"}, dir);
  EXPECT_EQ(j.at("workload"), "transfer");
  const auto ok = check_samples(j, true);
  for (const char* must : {"memcpy", "send", "read_write", "sendfile"}) EXPECT_TRUE(ok.count(must)) << must;
  // Every requested (technique, size) pair is in the table, available or not.
  EXPECT_EQ(j.at("rows").size(), 2 * j.at("options").at("techniques").size());
  for (const auto& row : j.at("rows")) {
    if (row.at("technique") == "sendfile" && row.at("status") == "ok") {
      EXPECT_DOUBLE_EQ(row.at("ratio_to_sendfile").get<double>(), 1.0);
    }
  }
}

TEST(BenchRun, CopyTinyRun) {
  testing::TempDir dir;
  const json j = run_and_read_json({"copy", "--sizes", "8K", "--min-bytes", "32K", "--verify"}, dir);
  EXPECT_EQ(j.at("workload"), "copy");
  const auto ok = check_samples(j, false);
  for (const char* must : {"read_write", "sendfile", "splice", "copy_file_range"}) {
    EXPECT_TRUE(ok.count(must)) << must;
  }
}

TEST(BenchRun, SmallTinyRun) {
  testing::TempDir dir;
  const json j = run_and_read_json({"small", "--sizes", "100,4K", "--messages", "200", "--file-size", "1M",
                                    "--strategies", "send,read_write,mmap_write,sendfile,splice", "--verify"},
                                   dir);
  EXPECT_EQ(j.at("workload"), "small");
  const auto ok = check_samples(j, true);
  for (const char* must : {"send", "read_write", "sendfile"}) EXPECT_TRUE(ok.count(must)) << must;
  for (const auto& s : j.at("samples")) EXPECT_EQ(s.at("transfers"), 200u);
}

TEST(BenchRun, ColdCacheRunWorks) {
  testing::TempDir dir;
  const json j = run_and_read_json(
      {"transfer", "--sizes", "64K", "--min-bytes", "64K", "--cache", "cold", "--strategies", "sendfile,read_write",
       "--verify"},
      dir);
  EXPECT_EQ(j.at("options").at("cache"), "cold");
  const auto ok = check_samples(j, true);
  EXPECT_EQ(ok.size(), 2u);
}

TEST(BenchRun, UnavailableStrategyIsReportedNotZero) {
  BenchResult r;
  r.options.techniques = {{Technique::Kind::strategy, io::Strategy::msg_zerocopy, 0, "msg_zerocopy"}};
  r.options.sizes = {4096};
  Sample s;
  s.technique = "msg_zerocopy";
  s.size = 4096;
  s.status = Sample::Status::unavailable;
  s.note = "SO_ZEROCOPY: not supported";
  r.samples = {s};
  r.rows = summarize_rows(r.samples, r.options.techniques, r.options.sizes);
  const std::string table = format_table(r);
  EXPECT_NE(table.find("unavailable: SO_ZEROCOPY: not supported"), std::string::npos) << table;
  EXPECT_EQ(table.find("0.00 ["), std::string::npos) << table;
}

TEST(BenchRun, RowsAreMediansPerGiB) {
  std::vector<Technique> techs = {{Technique::Kind::strategy, io::Strategy::sendfile, 0, "sendfile"},
                                  {Technique::Kind::strategy, io::Strategy::read_write, 0, "read_write"}};
  std::vector<Sample> samples;
  const double secs[3] = {1.0, 0.5, 0.25};  // 1 GiB each: 1.07, 2.15, 4.29 GB/s
  for (int run = 0; run < 3; ++run) {
    for (const auto& t : techs) {
      Sample s;
      s.technique = t.name;
      s.size = 1ull << 30;
      s.run = run;
      s.bytes_requested = s.bytes_sent = s.bytes_received = 1ull << 30;
      s.seconds = t.name == "sendfile" ? secs[run] : 2 * secs[run];
      s.sender.sys_s = 0.1 * (run + 1);
      s.counters.syscalls = 100 * static_cast<std::uint64_t>(run + 1);
      s.counters.bytes_copied_user = t.name == "read_write" ? s.bytes_sent : 0;
      samples.push_back(s);
    }
  }
  const auto rows = summarize_rows(samples, techs, {1ull << 30});
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_NEAR(rows[0].gbps.median, 1.073741824 * 2, 1e-9);
  EXPECT_NEAR(rows[0].gbps.min, 1.073741824, 1e-9);
  EXPECT_NEAR(rows[0].gbps.max, 1.073741824 * 4, 1e-9);
  EXPECT_DOUBLE_EQ(rows[0].ratio_to_sendfile, 1.0);
  EXPECT_NEAR(rows[1].ratio_to_sendfile, 0.5, 1e-12);
  EXPECT_NEAR(rows[0].sender_sys_per_gib, 0.2, 1e-12);
  EXPECT_NEAR(rows[0].syscalls_per_gib, 200, 1e-9);
  EXPECT_DOUBLE_EQ(rows[0].copied_per_byte, 0.0);
  EXPECT_DOUBLE_EQ(rows[1].copied_per_byte, 1.0);
}

TEST(DataFile, CreatedOnceThenReusedAndRewrittenWhenWrongSize) {
  testing::TempDir dir;
  const DataFile a = ensure_data_file(dir.path(), 12345);
  EXPECT_TRUE(a.created);
  EXPECT_EQ(std::filesystem::file_size(a.path), 12345u);
  struct stat st1 {};
  ASSERT_EQ(::stat(a.path.c_str(), &st1), 0);
  const DataFile b = ensure_data_file(dir.path(), 12345);
  EXPECT_FALSE(b.created);
  EXPECT_EQ(b.path, a.path);
  std::filesystem::resize_file(a.path, 100);
  const DataFile c = ensure_data_file(dir.path(), 12345);
  EXPECT_TRUE(c.created);
  EXPECT_EQ(std::filesystem::file_size(c.path), 12345u);
  // Content is the documented generator: checksum of the file == computed.
  std::ifstream in(c.path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  StreamChecksum sum;
  sum.update(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  EXPECT_EQ(sum.value(), expected_checksum(0, 12345));
}

}  // namespace
}  // namespace nocopy::bench
