#include "bench/cli.h"

#include <gtest/gtest.h>

#include <fstream>
#include <stdexcept>

#include <CLI/CLI.hpp>

#include "temp_dir.h"

namespace nocopy::bench {
namespace {

std::vector<std::string> names(const Options& o) {
  std::vector<std::string> out;
  for (const auto& t : o.techniques) out.push_back(t.name);
  return out;
}

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST(BenchCli, TransferDefaults) {
  const Options o = parse_bench_args({"transfer"});
  EXPECT_EQ(o.workload, Workload::transfer);
  EXPECT_EQ(o.sizes, (std::vector<std::uint64_t>{1ull << 30}));
  EXPECT_EQ(o.runs, 5);
  EXPECT_EQ(o.cache, CacheMode::warm);
  EXPECT_TRUE(o.pin);
  const auto n = names(o);
  for (const char* want : {"memcpy", "send", "read_write", "mmap_write", "sendfile", "splice", "splice:64K",
                           "uring_splice", "uring_send_zc", "msg_zerocopy"}) {
    EXPECT_TRUE(has(n, want)) << want;
  }
  EXPECT_FALSE(has(n, "copy_file_range"));
}

TEST(BenchCli, TransferOptions) {
  const Options o = parse_bench_args({"transfer", "--strategies", "sendfile,splice:256K,read-write", "--sizes",
                                      "4K,64K,1M,16M,1G", "--cache", "cold", "--runs", "3", "--chunk", "128K",
                                      "--pin", "1,0", "--pipe-size", "64K"});
  EXPECT_EQ(names(o), (std::vector<std::string>{"sendfile", "splice:256K", "read_write"}));
  EXPECT_EQ(o.techniques[1].pipe_size, 256u << 10);
  EXPECT_EQ(o.sizes.size(), 5u);
  EXPECT_EQ(o.cache, CacheMode::cold);
  EXPECT_EQ(o.runs, 3);
  EXPECT_EQ(o.chunk, 128u << 10);
  EXPECT_EQ(o.pipe_size, 64u << 10);
  EXPECT_EQ(o.sender_cpu, 1);
  EXPECT_EQ(o.receiver_cpu, 0);
}

TEST(BenchCli, CopyHasFileStrategiesOnly) {
  const Options o = parse_bench_args({"copy"});
  const auto n = names(o);
  EXPECT_TRUE(has(n, "copy_file_range"));
  EXPECT_TRUE(has(n, "direct_io"));
  EXPECT_TRUE(has(n, "sendfile"));
  EXPECT_FALSE(has(n, "memcpy"));
  EXPECT_FALSE(has(n, "msg_zerocopy"));
  EXPECT_THROW(parse_bench_args({"copy", "--strategies", "msg_zerocopy"}), std::invalid_argument);
  EXPECT_THROW(parse_bench_args({"transfer", "--strategies", "copy_file_range"}), std::invalid_argument);
}

TEST(BenchCli, SmallDefaultsToSmallMessagesAndBatches) {
  const Options o = parse_bench_args({"small", "--messages", "1000"});
  EXPECT_EQ(o.workload, Workload::small);
  EXPECT_EQ(o.sizes.front(), 100u);
  EXPECT_EQ(o.sizes.back(), 1u << 20);
  EXPECT_EQ(o.messages, 1000u);
}

TEST(BenchCli, UnknownStrategyIsAnError) {
  try {
    parse_bench_args({"transfer", "--strategies", "sendfile,teleport"});
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("teleport"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("sendfile"), std::string::npos);  // lists the valid names
  }
}

TEST(BenchCli, BadValuesAreErrors) {
  EXPECT_THROW(parse_bench_args({"transfer", "--sizes", "0"}), std::invalid_argument);
  EXPECT_THROW(parse_bench_args({"transfer", "--sizes", "4K,-1"}), std::invalid_argument);
  EXPECT_THROW(parse_bench_args({"transfer", "--runs", "0"}), std::invalid_argument);
  EXPECT_THROW(parse_bench_args({"transfer", "--chunk", "0"}), std::invalid_argument);
  EXPECT_THROW(parse_bench_args({"transfer", "--pin", "x"}), std::invalid_argument);
  EXPECT_THROW(parse_bench_args({"transfer", "--strategies", "splice:0"}), std::invalid_argument);
  EXPECT_THROW(parse_bench_args({"transfer", "--strategies", "sendfile:64K"}), std::invalid_argument);
  EXPECT_THROW(parse_bench_args({"transfer", "--strategies", ","}), std::invalid_argument);
  EXPECT_THROW(parse_bench_args({"transfer", "--cache", "lukewarm"}), CLI::ParseError);
  EXPECT_THROW(parse_bench_args({"transfer", "--runs", "many"}), CLI::ParseError);
  EXPECT_THROW(parse_bench_args({"transfer", "--no-such-flag"}), CLI::ParseError);
}

TEST(BenchCli, FileMustBeAReadableRegularFile) {
  testing::TempDir dir;
  try {
    parse_bench_args({"transfer", "--file", dir.path().string()});
    FAIL() << "a directory was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("is a directory"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_bench_args({"transfer", "--file", (dir.path() / "missing").string()}), std::invalid_argument);

  const auto f = dir.path() / "f.dat";
  std::ofstream(f) << std::string(8192, 'x');
  const Options o = parse_bench_args({"transfer", "--file", f.string(), "--sizes", "4K,8K"});
  EXPECT_EQ(o.file, f);
  // Larger than the file: an error, not a short transfer.
  EXPECT_THROW(parse_bench_args({"transfer", "--file", f.string(), "--sizes", "16K"}), std::invalid_argument);
  if (::geteuid() != 0) {  // root reads anything
    std::filesystem::permissions(f, std::filesystem::perms::none);
    EXPECT_THROW(parse_bench_args({"transfer", "--file", f.string(), "--sizes", "4K"}), std::invalid_argument);
  }
}

TEST(BenchCli, OutputPathMustNotBeADirectory) {
  testing::TempDir dir;
  EXPECT_THROW(parse_bench_args({"transfer", "--json", dir.path().string()}), std::invalid_argument);
  EXPECT_THROW(parse_bench_args({"transfer", "--svg", (dir.path() / "no/such/dir.svg").string()}),
               std::invalid_argument);
  EXPECT_THROW(parse_bench_args({"transfer", "--data-dir", "/etc/hostname"}), std::invalid_argument);
}

TEST(BenchCli, CommandReportsBadArgumentsAsValidationErrors) {
  // What main() sees: a CLI::ParseError with a non-zero exit code.
  CLI::App app{"nocopy"};
  add_bench_command(app);
  try {
    app.parse(std::vector<std::string>{"teleport", "--strategies", "transfer", "bench"});  // reversed argv
    FAIL() << "no exception";
  } catch (const CLI::ParseError& e) {
    EXPECT_NE(e.get_exit_code(), 0);
    EXPECT_NE(std::string(e.what()).find("teleport"), std::string::npos) << e.what();
  }
}

TEST(BenchCli, HelpExistsForEverySubcommand) {
  for (const char* sub : {"transfer", "copy", "small"}) {
    CLI::App app{"nocopy"};
    add_bench_command(app);
    try {
      app.parse(std::vector<std::string>{"--help", sub, "bench"});
      FAIL() << sub;
    } catch (const CLI::CallForHelp& e) {
      EXPECT_EQ(e.get_exit_code(), 0);
    }
    auto* s = app.get_subcommand("bench")->get_subcommand(sub);
    const std::string help = s->help();
    EXPECT_NE(help.find("--strategies"), std::string::npos) << sub;
    EXPECT_NE(help.find("--cache"), std::string::npos) << sub;
    EXPECT_NE(help.find("--json"), std::string::npos) << sub;
  }
}

}  // namespace
}  // namespace nocopy::bench
