// ApiVersions through the RequestHandler: Kafka's checks of the request's
// software names (v3+) and of the cluster and node it names (v5, KIP-1242).
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "kafka/api_key.h"
#include "kafka/api_versions.h"
#include "kafka/error_code.h"
#include "test_node.h"

namespace nocopy::broker {
namespace {

using kafka::ErrorCode;
using testing::Node;

class ApiVersionsTest : public testing::NodeTest {
 protected:
  ApiVersionsTest() { cfg.node_id = 7; }

  static kafka::ApiVersionsRequest named(std::optional<std::string> cluster, std::int32_t node) {
    kafka::ApiVersionsRequest r;
    r.client_software_name = "apache-kafka-java";
    r.client_software_version = "4.4.0";
    r.cluster_id = std::move(cluster);
    r.node_id = node;
    return r;
  }
};

// The advertised range of `key` in an answer, {-1, -1} when absent.
std::pair<int, int> range_of(const kafka::ApiVersionsResponse& r, kafka::ApiKey key) {
  for (const auto& a : r.api_keys)
    if (a.api_key == static_cast<std::int16_t>(key)) return {a.min_version, a.max_version};
  return {-1, -1};
}

TEST_F(ApiVersionsTest, V5NamingThisClusterAndNodeIsAnswered) {
  Node n(cfg);
  auto res = n.call<kafka::ApiVersionsResponse>(5, named("nocopy", 7));
  EXPECT_EQ(res.error_code, kafka::to_wire(ErrorCode::none));
  EXPECT_EQ(range_of(res, kafka::ApiKey::api_versions), std::make_pair(0, 5));
  EXPECT_EQ(range_of(res, kafka::ApiKey::delete_groups).first, 0);
}

TEST_F(ApiVersionsTest, V5NamingNeitherIsAnswered) {
  Node n(cfg);
  auto res = n.call<kafka::ApiVersionsResponse>(5, named(std::nullopt, -1));
  EXPECT_EQ(res.error_code, kafka::to_wire(ErrorCode::none));
  EXPECT_FALSE(res.api_keys.empty());
}

TEST_F(ApiVersionsTest, V5NamingAnotherClusterOrNodeIsRebootstrapRequired) {
  Node n(cfg);
  for (auto [cluster, node] : {std::pair<std::string, int>{"other", 7}, {"nocopy", 8}, {"", 7}}) {
    auto res = n.call<kafka::ApiVersionsResponse>(5, named(cluster, node));
    EXPECT_EQ(res.error_code, kafka::to_wire(ErrorCode::rebootstrap_required)) << cluster << "/" << node;
    EXPECT_TRUE(res.api_keys.empty()) << "an error answer lists no APIs";
  }
}

TEST_F(ApiVersionsTest, V5NamingOnlyOneIsInvalidRequest) {
  Node n(cfg);
  for (auto req : {named("nocopy", -1), named(std::nullopt, 7)}) {
    auto res = n.call<kafka::ApiVersionsResponse>(5, req);
    EXPECT_EQ(res.error_code, kafka::to_wire(ErrorCode::invalid_request));
    EXPECT_TRUE(res.api_keys.empty());
  }
}

TEST_F(ApiVersionsTest, SoftwareNamesOutsideKafkasAlphabetAreInvalidRequest) {
  Node n(cfg);
  for (std::int16_t v : {3, 4, 5}) {
    for (auto [name, version] : {std::pair<std::string, std::string>{"", "1.0"},
                                 {"kcat", ""},
                                 {"-kcat", "1.0"},
                                 {"kcat", "1.0."},
                                 {"kc at", "1.0"},
                                 {"kcat", "1.0+deb"}}) {
      kafka::ApiVersionsRequest req = named(std::nullopt, -1);
      req.client_software_name = name;
      req.client_software_version = version;
      auto res = n.call<kafka::ApiVersionsResponse>(v, req);
      EXPECT_EQ(res.error_code, kafka::to_wire(ErrorCode::invalid_request)) << v << " '" << name << "' '" << version << "'";
    }
    kafka::ApiVersionsRequest ok = named(std::nullopt, -1);
    ok.client_software_name = "a";
    ok.client_software_version = "2.0.2-RC1.x";
    EXPECT_EQ(n.call<kafka::ApiVersionsResponse>(v, ok).error_code, kafka::to_wire(ErrorCode::none)) << v;
  }
  // v0-v2 carry no names: an empty body is answered.
  EXPECT_EQ(n.call<kafka::ApiVersionsResponse>(2, kafka::ApiVersionsRequest{}).error_code, 0);
}

TEST(ApiVersionsCheck, OrderIsKafkas) {
  // Both checks fail: the pairing one (isValid's first test) answers.
  kafka::ApiVersionsRequest r;
  r.cluster_id = "x";
  EXPECT_EQ(kafka::check_api_versions_request(r, 5, "nocopy", 0), ErrorCode::invalid_request);
  // Valid names, another cluster: REBOOTSTRAP_REQUIRED; below v5 the fields
  // do not exist and are not looked at.
  r.client_software_name = "n";
  r.client_software_version = "1";
  r.node_id = 0;
  EXPECT_EQ(kafka::check_api_versions_request(r, 5, "nocopy", 0), ErrorCode::rebootstrap_required);
  EXPECT_EQ(kafka::check_api_versions_request(r, 4, "nocopy", 0), ErrorCode::none);
  EXPECT_EQ(kafka::error_name(ErrorCode::rebootstrap_required), "REBOOTSTRAP_REQUIRED");
}

}  // namespace
}  // namespace nocopy::broker
