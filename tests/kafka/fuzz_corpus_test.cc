// Writes the request-decoder fuzz seed corpus (one file per API/version,
// frames without the size prefix) when NOCOPY_WRITE_FUZZ_CORPUS names a
// directory; otherwise checks that the checked-in corpus still decodes.
//   NOCOPY_WRITE_FUZZ_CORPUS=fuzz/corpus/request_decoder
//   build-kafka/tests/kafka/test_kafka --gtest_filter='FuzzCorpus.*'
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "kafka/codec.h"
#include "kafka/request.h"
#include "samples.h"

namespace nocopy::kafka {
namespace {

template <class Req>
void write_seeds(const std::filesystem::path& dir) {
  const ApiInfo* api = find_api(static_cast<std::int16_t>(Req::kApiKey));
  for (std::int16_t v = api->min_version; v <= api->max_version; ++v) {
    auto frame = encode_request(v + 1, v, test::sample<Req>());
    std::ofstream out(dir / (std::string(api->name) + "_v" + std::to_string(v)), std::ios::binary);
    out.write(reinterpret_cast<const char*>(frame.data() + 4), static_cast<std::streamsize>(frame.size() - 4));
  }
}

TEST(FuzzCorpus, SeedsDecode) {
  const char* dir = std::getenv("NOCOPY_WRITE_FUZZ_CORPUS");
  if (dir != nullptr) {
    std::filesystem::create_directories(dir);
    write_seeds<ApiVersionsRequest>(dir);
    write_seeds<MetadataRequest>(dir);
    write_seeds<ProduceRequest>(dir);
    write_seeds<FetchRequest>(dir);
    write_seeds<ListOffsetsRequest>(dir);
    write_seeds<FindCoordinatorRequest>(dir);
    write_seeds<JoinGroupRequest>(dir);
    write_seeds<HeartbeatRequest>(dir);
    write_seeds<LeaveGroupRequest>(dir);
    write_seeds<SyncGroupRequest>(dir);
    write_seeds<OffsetCommitRequest>(dir);
    write_seeds<OffsetFetchRequest>(dir);
    write_seeds<CreateTopicsRequest>(dir);
    write_seeds<DeleteTopicsRequest>(dir);
    write_seeds<DescribeGroupsRequest>(dir);
    write_seeds<ListGroupsRequest>(dir);
    write_seeds<InitProducerIdRequest>(dir);
    write_seeds<DescribeConfigsRequest>(dir);
    write_seeds<CreatePartitionsRequest>(dir);
    write_seeds<DeleteGroupsRequest>(dir);
    write_seeds<OffsetDeleteRequest>(dir);
    write_seeds<AlterConfigsRequest>(dir);
    write_seeds<IncrementalAlterConfigsRequest>(dir);
  }
  std::filesystem::path corpus = std::filesystem::path(NOCOPY_SOURCE_DIR) / "fuzz/corpus/request_decoder";
  if (!std::filesystem::exists(corpus)) GTEST_SKIP() << "no corpus at " << corpus;
  int seeds = 0;
  for (const auto& e : std::filesystem::directory_iterator(corpus)) {
    std::ifstream in(e.path(), std::ios::binary);
    std::vector<char> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto d = decode_request(std::as_bytes(std::span(raw)));
    // Seeds named after an API/version must decode; golden captures too.
    EXPECT_EQ(d.status, RequestStatus::ok) << e.path();
    ++seeds;
  }
  EXPECT_GE(seeds, 60);
}

}  // namespace
}  // namespace nocopy::kafka
