// Mutation test of the broker's live request path: real client frames (the
// kafka fuzz corpus: every API/version plus kcat/librdkafka captures) are
// mutated at random -- byte flips, corrupted length and count fields,
// truncation, splices of two frames -- and handed to RequestHandler. Every
// frame must be answered exactly once (respond, no response, or close), and
// nothing may crash or trip ASan/UBSan. RequestHandler decodes with
// kafka::decode_request, the function the libFuzzer target fuzzes; this test
// covers what the handlers then do with the decoded requests.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <random>
#include <thread>

#include "broker/admin_thread.h"
#include "kafka/error_code.h"
#include "broker/groups_service.h"
#include "broker/metrics.h"
#include "broker/request_handler.h"
#include "broker/topic_registry.h"
#include "broker_test_util.h"
#include "net/event_loop.h"

namespace nocopy::broker {
namespace {

std::vector<std::vector<std::byte>> load_seeds() {
  const auto dir = std::filesystem::path(NOCOPY_SOURCE_DIR) / "fuzz" / "corpus" / "request_decoder";
  std::vector<std::vector<std::byte>> seeds;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    // CreateTopics and CreatePartitions may legally ask for up to 100,000
    // partitions: a mutated count turns into minutes of file creation, not a
    // parser test (a 30,000-iteration run hit one in 20 runs).
    const auto name = e.path().filename().string();
    if (name.starts_with("CreateTopics") || name.starts_with("CreatePartitions")) continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<std::byte> b(s.size());
    std::memcpy(b.data(), s.data(), s.size());
    if (b.size() >= 8) seeds.push_back(std::move(b));
  }
  return seeds;
}

void put_be32(std::vector<std::byte>& f, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) f[at + static_cast<std::size_t>(i)] = static_cast<std::byte>(v >> (24 - 8 * i));
}

std::vector<std::byte> mutate(std::vector<std::byte> f, const std::vector<std::vector<std::byte>>& seeds,
                              std::mt19937_64& rng) {
  const int n = 1 + static_cast<int>(rng() % 4);
  for (int i = 0; i < n && !f.empty(); ++i) {
    const std::size_t at = rng() % f.size();
    switch (rng() % 6) {
      case 0:  // flip a byte
        f[at] ^= static_cast<std::byte>(1 + rng() % 255);
        break;
      case 1: {  // an int32 length/count field made huge, negative or off by one
        if (f.size() < 4) break;
        const std::size_t p = rng() % (f.size() - 3);
        static constexpr std::uint32_t kNasty[] = {0x7fffffffu, 0xffffffffu, 0x80000000u, 0xfffffffeu, 0x00010000u, 0};
        put_be32(f, p, kNasty[rng() % std::size(kNasty)]);
        break;
      }
      case 2:  // truncate
        f.resize(at);
        break;
      case 3: {  // splice the tail of another frame
        const auto& o = seeds[rng() % seeds.size()];
        const std::size_t from = rng() % o.size();
        f.resize(at);
        f.insert(f.end(), o.begin() + static_cast<std::ptrdiff_t>(from), o.end());
        break;
      }
      case 4:  // keep header, random version
        if (f.size() >= 4) f[3] = static_cast<std::byte>(rng() % 16);
        break;
      default:  // garbage insertion
        for (int k = 0; k < 8; ++k) f.insert(f.begin() + static_cast<std::ptrdiff_t>(at), static_cast<std::byte>(rng()));
        break;
    }
  }
  return f;
}

TEST(RequestMutation, MutatedClientFramesAreAllAnsweredWithoutCrashing) {
  testing::TempDir dir;
  Config cfg;
  cfg.data_dir = dir.path() / "data";
  cfg.listen = HostPort::parse("127.0.0.1:9999");
  cfg.max_message_bytes = 1 << 20;
  Metrics metrics{io::Strategy::sendfile};
  TopicRegistry topics{cfg, &metrics};
  topics.recover();
  ASSERT_EQ(topics.create("alpha", 2), kafka::to_wire(kafka::ErrorCode::none));
  AdminThread admin;
  cfg.group_initial_rebalance_delay_ms = 0;
  RequestHandler handler{cfg, topics, metrics, admin};
  GroupsService groups(cfg, topics);
  handler.set_groups(&groups);
  handler.set_draining();  // long polls answer at once: a mutated max_wait_ms must not stall the test
  net::EventLoop loop;
  std::thread loop_thread([&] { loop.run(); });

  const auto seeds = load_seeds();
  ASSERT_GT(seeds.size(), 50u);
#if defined(__SANITIZE_ADDRESS__)
  const int iterations = 5000;
#else
  const int iterations = 30000;
#endif
  // NOCOPY_MUTATION_SEED replays a failed run (its seed is in the trace).
  const char* seed_env = std::getenv("NOCOPY_MUTATION_SEED");
  const std::uint64_t seed = seed_env ? std::strtoull(seed_env, nullptr, 10) : std::random_device{}();
  std::mt19937_64 rng(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));
  int answered = 0, closed = 0, group_frames = 0, skipped = 0;
  for (int i = 0; i < iterations; ++i) {
    auto f = std::make_shared<std::vector<std::byte>>(mutate(seeds[rng() % seeds.size()], seeds, rng));
    const int api = f->size() >= 2 ? (static_cast<int>((*f)[0]) << 8 | static_cast<int>((*f)[1])) : -1;
    if (api == 19 || api == 37) {  // a flipped api key made it CreateTopics/CreatePartitions: see load_seeds
      ++skipped;
      continue;
    }
    auto p = std::make_shared<std::promise<Reply::Kind>>();
    auto fut = p->get_future();
    auto calls = std::make_shared<std::atomic<int>>(0);
    loop.post([&, f, p, calls] {
      handler.handle(*f, loop, [p, calls](Reply r) {
        if (calls->fetch_add(1) == 0) p->set_value(r.kind);
      });
    });
    // Group requests may legitimately wait (a JoinGroup waits for the other
    // members up to its rebalance timeout, which a mutation can make huge):
    // those only have to be survived; everything else must be answered.
    if (api >= 8 && api <= 16 && api != 10) {
      ++group_frames;
      continue;
    }
    if (fut.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
      ADD_FAILURE() << "frame " << i << " (api " << api << ", " << f->size() << " bytes) never answered";
      break;  // the clean-up below still runs (no terminate on a joinable thread)
    }
    if (fut.get() == Reply::Kind::close) ++closed; else ++answered;
  }
  // Let late duplicate answers (a handler calling done twice) show up.
  std::promise<void> flushed;
  loop.post([&] { flushed.set_value(); });
  flushed.get_future().wait();
  groups.stop();
  loop.stop();
  loop_thread.join();
  admin.stop();
  if (HasFailure()) return;
  EXPECT_EQ(answered + closed + group_frames + skipped, iterations);
  EXPECT_LT(skipped, iterations / 100);
  EXPECT_GT(group_frames, 0);
  EXPECT_GT(closed, 0);    // some mutations must be refused...
  EXPECT_GT(answered, 0);  // ...and some still decode into answerable requests
}

}  // namespace
}  // namespace nocopy::broker
