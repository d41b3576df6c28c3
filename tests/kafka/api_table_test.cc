// The API table generated from the request descriptions: ordered, unique,
// consistent with the generated codecs, and every advertised version of
// every API decodes through decode_request() -- the broker's dispatch --
// while versions outside the range are UNSUPPORTED_VERSION. The request
// types come from the generated RequestBody variant, so an API added to the
// descriptions is checked here without editing this file.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <variant>

#include "kafka/codec.h"
#include "kafka/request.h"
#include "samples.h"
#include "test_util.h"

namespace nocopy::kafka {
namespace {

using test::to_hex;

TEST(ApiTable, OrderedUniqueAndInsideTheDescribedVersions) {
  std::set<std::int16_t> keys;
  std::int16_t last = -1;
  for (const ApiInfo& a : supported_apis()) {
    const auto key = static_cast<std::int16_t>(a.key);
    EXPECT_GT(key, last) << a.name;
    last = key;
    EXPECT_TRUE(keys.insert(key).second) << a.name;
    EXPECT_LE(a.min_version, a.max_version) << a.name;
    EXPECT_LE(a.min_version, a.implemented_min) << a.name;
    EXPECT_LE(a.implemented_min, a.max_version) << a.name;
    EXPECT_EQ(find_api(key), &a);
    EXPECT_EQ(api_label(key), a.label);
  }
  EXPECT_EQ(static_cast<int>(keys.size()), kApiCount);
  EXPECT_EQ(std::variant_size_v<RequestBody>, static_cast<std::size_t>(kApiCount) + 1);
}

// A filled-in request: the generated sample() where the codec is generated,
// the hand-written samples otherwise.
template <class Req>
Req request_at(std::int16_t v) {
  Req m{};
  if constexpr (requires { sample(m, v, 0); }) sample(m, v, 0);
  else m = test::sample<Req>();
  return m;
}

template <class Req>
void check_every_version(int& checked) {
  const ApiInfo* a = find_api(static_cast<std::int16_t>(Req::kApiKey));
  ASSERT_NE(a, nullptr);
  if constexpr (requires { Req::kFlexibleFrom; }) {
    // Generated codecs: the table's range lies inside the described one and
    // the flexible versions agree.
    EXPECT_GE(a->min_version, Req::kMinVersion) << a->name;
    EXPECT_LE(a->max_version, Req::kMaxVersion) << a->name;
    EXPECT_EQ(a->flexible_from, Req::kFlexibleFrom >= 0 ? Req::kFlexibleFrom : 32767) << a->name;
  }
  for (std::int16_t v = a->min_version; v <= a->max_version; ++v) {
    SCOPED_TRACE(std::string(a->name) + " v" + std::to_string(v));
    const Req m = request_at<Req>(v);
    auto frame = encode_request(7, v, m);
    std::span<const std::byte> body(frame.data() + 4, frame.size() - 4);
    DecodedRequest d = decode_request(body);
    ASSERT_EQ(d.status, RequestStatus::ok) << decode_error_name(d.error);
    ASSERT_TRUE(std::holds_alternative<Req>(d.body));
    EXPECT_EQ(to_hex(encode_request(7, v, std::get<Req>(d.body))), to_hex(frame));
    ++checked;
  }
  // Just outside the advertised range: not decoded, UNSUPPORTED_VERSION.
  for (int v : {a->min_version - 1, a->max_version + 1}) {
    if (v < 0) continue;
    auto frame = encode_request(7, static_cast<std::int16_t>(v), Req{});
    DecodedRequest d = decode_request(std::span<const std::byte>(frame).subspan(4));
    EXPECT_EQ(d.status, RequestStatus::unsupported_version) << a->name << " v" << v;
    EXPECT_TRUE(d.header_ok);
  }
}

template <std::size_t... I>
int check_all(std::index_sequence<I...>) {
  int checked = 0;
  // Alternative 0 is std::monostate.
  (check_every_version<std::variant_alternative_t<I + 1, RequestBody>>(checked), ...);
  return checked;
}

TEST(ApiTable, EveryAdvertisedVersionOfEveryApiDecodes) {
  int expected = 0;
  for (const ApiInfo& a : supported_apis()) expected += a.max_version - a.min_version + 1;
  EXPECT_EQ(check_all(std::make_index_sequence<std::variant_size_v<RequestBody> - 1>{}), expected);
}

TEST(ApiTable, ApiVersionsAdvertisesTheTable) {
  ApiVersionsResponse r = make_api_versions_response(3);
  ASSERT_EQ(r.api_keys.size(), supported_apis().size());
  for (std::size_t i = 0; i < r.api_keys.size(); ++i) {
    const ApiInfo& a = supported_apis()[i];
    EXPECT_EQ(r.api_keys[i].api_key, static_cast<std::int16_t>(a.key));
    EXPECT_EQ(r.api_keys[i].min_version, a.min_version);
    EXPECT_EQ(r.api_keys[i].max_version, a.max_version);
  }
  // Unknown API keys are unknown_api (the broker closes), not unsupported.
  auto frame = test::from_hex("03e8" "0000" "00000007" "ffff");
  DecodedRequest d = decode_request(frame);
  EXPECT_EQ(d.status, RequestStatus::unknown_api);
}

}  // namespace
}  // namespace nocopy::kafka
