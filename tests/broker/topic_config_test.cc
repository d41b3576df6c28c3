// Per-topic configs: TopicConfig (validation, effective Config, its file),
// TopicRegistry (create with overrides, restart, corrupt file) and the
// CreateTopics / DescribeConfigs / Produce paths through the RequestHandler.
#include "broker/topic_config.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "broker/config_describer.h"
#include "broker/metrics.h"
#include "broker/topic_registry.h"
#include "broker_test_util.h"
#include "kafka/error_code.h"
#include "log/record_batch.h"
#include "test_node.h"

namespace nocopy::broker {
namespace {

using kafka::ErrorCode;
using kafka::to_wire;
using testing::Node;
using testing::slurp;

TEST(TopicConfigCheck, AcceptsWhatTheBrokerImplements) {
  for (auto [n, v] : std::vector<std::pair<const char*, const char*>>{{"retention.ms", "-1"},
                                                                      {"retention.ms", "3600000"},
                                                                      {"retention.bytes", "1048576"},
                                                                      {"retention.bytes", " -1 "},
                                                                      {"segment.bytes", "1024"},
                                                                      {"segment.bytes", "2147483647"},
                                                                      {"max.message.bytes", "0"},
                                                                      {"flush.messages", "1"},
                                                                      {"flush.messages", "9223372036854775807"},
                                                                      {"flush.ms", "0"},
                                                                      {"flush.ms", "1000"},
                                                                      {"cleanup.policy", "delete"},
                                                                      {"compression.type", "producer"},
                                                                      {"message.timestamp.type", "CreateTime"},
                                                                      {"message.timestamp.type", "LogAppendTime"},
                                                                      {"message.timestamp.before.max.ms", "0"},
                                                                      {"message.timestamp.after.max.ms", "9223372036854775807"},
                                                                      {"segment.ms", "604800000"}}) {
    auto err = TopicConfig::check(n, v);
    EXPECT_FALSE(err.has_value()) << n << "=" << v << ": " << err.value_or("");
  }
}

TEST(TopicConfigCheck, RejectsUnknownNamesAndBadValuesWithAReason) {
  struct Case {
    const char* name;
    const char* value;
    const char* says;
  };
  for (auto c : std::vector<Case>{{"no.such.config", "1", "unknown topic configuration no.such.config"},
                                  {"min.insync.replicas", "0", "must be 1.."},
                                  {"retention.ms", "abc", "expected a long"},
                                  {"retention.ms", "", "expected a long"},
                                  {"retention.ms", "12x", "expected a long"},
                                  {"retention.ms", "-2", "must be -1.."},
                                  {"retention.ms", "99999999999999999999", "expected a long"},
                                  {"retention.bytes", "-5", "must be -1.."},
                                  {"segment.bytes", "1023", "must be 1024..2147483647"},
                                  {"segment.bytes", "2147483648", "must be 1024..2147483647"},
                                  {"max.message.bytes", "-1", "must be 0.."},
                                  {"flush.messages", "0", "must be 1.."},
                                  {"flush.messages", "1000", "syncs every batch"},
                                  {"flush.ms", "-1", "must be 0.."},
                                  {"cleanup.policy", "compress", "expected delete, compact or compact,delete"},
                                  {"cleanup.policy", "compact,compact", "given twice"},
                                  {"cleanup.policy", "", "expected delete, compact"},
                                  {"min.cleanable.dirty.ratio", "1.5", "must be 0..1"},
                                  {"min.cleanable.dirty.ratio", "half", "expected a double"},
                                  {"delete.retention.ms", "-1", "must be 0.."},
                                  {"min.compaction.lag.ms", "-1", "must be 0.."},
                                  {"max.compaction.lag.ms", "0", "must be 1.."},
                                  {"compression.type", "zstd", "only producer"},
                                  {"message.timestamp.type", "logappendtime", "must be one of: CreateTime, LogAppendTime"},
                                  {"message.timestamp.after.max.ms", "-1", "must be 0.."},
                                  {"message.timestamp.before.max.ms", "soon", "expected a long"},
                                  {"segment.ms", "1000", "only 604800000"}}) {
    auto err = TopicConfig::check(c.name, c.value);
    ASSERT_TRUE(err.has_value()) << c.name << "=" << c.value;
    EXPECT_NE(err->find(c.says), std::string::npos) << *err;
    EXPECT_NE(err->find(c.name), std::string::npos) << *err;
  }
}

TEST(TopicConfigApply, OverridesChangeOnlyTheirFields) {
  Config base;
  base.flush = FlushMode::never;
  auto c = TopicConfig::apply(base, {{"retention.ms", "1000"},
                                     {"retention.bytes", "2048"},
                                     {"segment.bytes", "65536"},
                                     {"max.message.bytes", "5000"}});
  EXPECT_EQ(c.retention_ms, 1000);
  EXPECT_EQ(c.retention_bytes, 2048);
  EXPECT_EQ(c.segment_bytes, 65536u);
  EXPECT_EQ(c.max_message_bytes, 5000);
  EXPECT_EQ(c.flush, FlushMode::never);
  EXPECT_EQ(c.data_dir, base.data_dir);
  EXPECT_THROW(TopicConfig::apply(base, {{"retention.ms", "x"}}), std::invalid_argument);
  EXPECT_THROW(TopicConfig::apply(base, {{"bogus", "1"}}), std::invalid_argument);
}

TEST(TopicConfigApply, CompactionConfigs) {
  Config base;
  EXPECT_FALSE(base.compacts());
  EXPECT_TRUE(base.deletes());
  auto c = TopicConfig::apply(base, {{"cleanup.policy", "compact"},
                                     {"delete.retention.ms", "5000"},
                                     {"min.compaction.lag.ms", "10"},
                                     {"max.compaction.lag.ms", "20000"},
                                     {"min.cleanable.dirty.ratio", "0.25"}});
  EXPECT_TRUE(c.compacts());
  EXPECT_FALSE(c.deletes());
  EXPECT_EQ(c.delete_retention_ms, 5000);
  EXPECT_EQ(c.min_compaction_lag_ms, 10);
  EXPECT_EQ(c.max_compaction_lag_ms, 20000);
  EXPECT_DOUBLE_EQ(c.min_cleanable_dirty_ratio, 0.25);
  for (const char* both : {"compact,delete", "delete,compact", " compact , delete "}) {
    auto b = TopicConfig::apply(base, {{"cleanup.policy", both}});
    EXPECT_TRUE(b.compacts()) << both;
    EXPECT_TRUE(b.deletes()) << both;
  }
}

TEST(TopicConfigApply, FlushPolicyFromFlushMessagesAndFlushMs) {
  Config never;
  never.flush = FlushMode::never;
  EXPECT_EQ(TopicConfig::apply(never, {{"flush.messages", "1"}}).flush, FlushMode::every);
  auto iv = TopicConfig::apply(never, {{"flush.ms", "250"}});
  EXPECT_EQ(iv.flush, FlushMode::interval);
  EXPECT_EQ(iv.flush_interval_ms, 250u);
  EXPECT_EQ(TopicConfig::apply(never, {{"flush.ms", "0"}}).flush, FlushMode::every);
  // flush.messages=1 wins over an interval.
  EXPECT_EQ(TopicConfig::apply(never, {{"flush.messages", "1"}, {"flush.ms", "250"}}).flush, FlushMode::every);

  Config every;
  every.flush = FlushMode::every;
  // Turning the broker's every-batch sync off for one topic.
  EXPECT_EQ(TopicConfig::apply(every, {{"flush.messages", "9223372036854775807"}}).flush, FlushMode::never);
  Config interval;
  interval.flush = FlushMode::interval;
  interval.flush_interval_ms = 7;
  EXPECT_EQ(TopicConfig::apply(interval, {{"flush.ms", "9223372036854775807"}}).flush, FlushMode::never);
  auto keep = TopicConfig::apply(interval, {{"flush.messages", "9223372036854775807"}});
  EXPECT_EQ(keep.flush, FlushMode::interval);
  EXPECT_EQ(keep.flush_interval_ms, 7u);
}

class TopicConfigFileTest : public ::testing::Test {
 protected:
  testing::TempDir dir;
};

TEST_F(TopicConfigFileTest, SaveLoadRoundTripAndRemove) {
  EXPECT_TRUE(TopicConfig::load(dir.path()).empty());  // no file
  TopicConfig::Overrides o{{"retention.ms", "1000"}, {"cleanup.policy", "delete"}};
  TopicConfig::save(dir.path(), o);
  EXPECT_EQ(TopicConfig::load(dir.path()), o);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "topic.config.tmp"));
  EXPECT_EQ(slurp(dir.path() / "topic.config"),
            "# nocopy topic config v1\ncleanup.policy=delete\nretention.ms=1000\n");
  TopicConfig::save(dir.path(), {{"segment.bytes", "4096"}});
  EXPECT_EQ(TopicConfig::load(dir.path()), (TopicConfig::Overrides{{"segment.bytes", "4096"}}));
  TopicConfig::save(dir.path(), {});
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "topic.config"));
  EXPECT_TRUE(TopicConfig::load(dir.path()).empty());
}

TEST_F(TopicConfigFileTest, CorruptFilesThrowWithTheFileName) {
  for (const char* text : {"", "garbage\n", "# nocopy topic config v1\nretention.ms\n",
                           "# nocopy topic config v1\nretention.ms=soon\n", "# nocopy topic config v1\nx.y=1\n",
                           "# nocopy topic config v1\n=1\n"}) {
    {
      std::ofstream out(dir.path() / "topic.config", std::ios::trunc);
      out << text;
    }
    try {
      TopicConfig::load(dir.path());
      ADD_FAILURE() << "accepted: " << text;
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find("topic.config"), std::string::npos) << e.what();
    }
  }
}

TEST_F(TopicConfigFileTest, SaveIntoAMissingDirectoryNamesTheSyscall) {
  try {
    TopicConfig::save(dir.path() / "missing", {{"retention.ms", "1"}});
    ADD_FAILURE() << "saved into a missing directory";
  } catch (const std::system_error& e) {
    EXPECT_NE(std::string(e.what()).find("open"), std::string::npos) << e.what();
  }
}

class TopicRegistryConfigTest : public ::testing::Test {
 protected:
  TopicRegistryConfigTest() { cfg.data_dir = dir.path() / "data"; }
  testing::TempDir dir;
  Config cfg;
  Metrics metrics{io::Strategy::sendfile};
  static void close_all(TopicRegistry& r) {
    for (auto& p : r.all_partitions()) p->close();
  }
};

TEST_F(TopicRegistryConfigTest, CreateAppliesPersistsAndRestartRestores) {
  cfg.retention_ms = 86400000;
  {
    TopicRegistry r(cfg, &metrics);
    r.recover();
    std::string msg;
    ASSERT_EQ(r.create("t", 2, {{"retention.ms", "1000"}, {"segment.bytes", "1048576"}}, false, &msg), 0) << msg;
    ASSERT_EQ(r.create("plain", 1), 0);
    auto t = r.find("t");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->config->retention_ms, 1000);
    EXPECT_EQ(t->config->segment_bytes, 1048576u);
    EXPECT_EQ(r.config_of("t")->retention_ms, 1000);
    EXPECT_EQ(r.config_of("plain")->retention_ms, 86400000);
    EXPECT_EQ(r.config_of("nope")->retention_ms, 86400000);
    EXPECT_TRUE(std::filesystem::exists(cfg.data_dir / "t-0" / "topic.config"));
    EXPECT_FALSE(std::filesystem::exists(cfg.data_dir / "t-1" / "topic.config"));  // one per topic
    EXPECT_FALSE(std::filesystem::exists(cfg.data_dir / "plain-0" / "topic.config"));
    // New partitions run with the topic's config too.
    ASSERT_EQ(r.add_partitions("t", 3, false), 0);
    EXPECT_EQ(r.find("t")->partitions.size(), 3u);
    EXPECT_EQ(r.find("t")->config->retention_ms, 1000);
    close_all(r);
  }
  TopicRegistry r(cfg, &metrics);
  EXPECT_EQ(r.recover(), 2u);
  auto t = r.find("t");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->overrides, (TopicConfig::Overrides{{"retention.ms", "1000"}, {"segment.bytes", "1048576"}}));
  EXPECT_EQ(t->config->retention_ms, 1000);
  EXPECT_EQ(t->config->segment_bytes, 1048576u);
  EXPECT_EQ(t->partitions.size(), 3u);
  EXPECT_TRUE(r.find("plain")->overrides.empty());
  EXPECT_EQ(r.find("plain")->config->retention_ms, 86400000);
  close_all(r);
}

TEST_F(TopicRegistryConfigTest, InvalidConfigCreatesNothing) {
  TopicRegistry r(cfg, &metrics);
  r.recover();
  std::string msg;
  EXPECT_EQ(r.create("t", 1, {{"retention.ms", "1000"}, {"retention.bytes", "lots"}}, false, &msg),
            to_wire(ErrorCode::invalid_config));
  EXPECT_NE(msg.find("retention.bytes"), std::string::npos) << msg;
  EXPECT_EQ(r.create("t", 1, {{"unknown.thing", "1"}}, false, &msg), to_wire(ErrorCode::invalid_config));
  EXPECT_NE(msg.find("unknown.thing"), std::string::npos) << msg;
  EXPECT_FALSE(r.find("t"));
  EXPECT_FALSE(std::filesystem::exists(cfg.data_dir / "t-0"));
  // validate_only: checks pass, nothing is created.
  EXPECT_EQ(r.create("t", 1, {{"retention.ms", "1000"}}, true, &msg), 0) << msg;
  EXPECT_FALSE(r.find("t"));
  EXPECT_FALSE(std::filesystem::exists(cfg.data_dir / "t-0"));
  EXPECT_EQ(r.create("t", 1, {{"retention.ms", "-7"}}, true, &msg), to_wire(ErrorCode::invalid_config));
}

TEST_F(TopicRegistryConfigTest, CorruptConfigFileFallsBackToBrokerDefaults) {
  {
    TopicRegistry r(cfg, &metrics);
    r.recover();
    ASSERT_EQ(r.create("t", 1, {{"retention.ms", "1000"}}, false), 0);
    auto batch = log::BatchBuilder().timestamp(1).add(std::string("k"), std::string("v")).build();
    ASSERT_EQ(r.find("t", 0)->append(batch).error, 0);
    close_all(r);
  }
  {
    std::ofstream out(cfg.data_dir / "t-0" / "topic.config", std::ios::trunc);
    out << "\x01\x02 not a config";
  }
  TopicRegistry r(cfg, &metrics);
  EXPECT_EQ(r.recover(), 1u);
  auto t = r.find("t");
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->overrides.empty());
  EXPECT_EQ(t->config->retention_ms, cfg.retention_ms);
  EXPECT_EQ(t->partitions[0]->high_watermark(), 1);  // the data is still there
  close_all(r);
}

TEST_F(TopicRegistryConfigTest, PartitionKeepsItsConfigAfterTheTopicIsGone) {
  TopicRegistry r(cfg, &metrics);
  r.recover();
  ASSERT_EQ(r.create("t", 1, {{"max.message.bytes", "100"}}, false), 0);
  auto p = r.find("t", 0);
  ASSERT_EQ(r.remove("t"), 0);
  EXPECT_FALSE(r.find("t"));
  // The partition's Config (max.message.bytes=100) is still alive: a batch
  // over it is refused (ASan would flag a dangling Config).
  std::string big(500, 'x');
  auto batch = log::BatchBuilder().timestamp(1).add(std::string("k"), big).build();
  EXPECT_NE(p->append(batch).error, 0);
}

// ---------------------------------------------------------------- via the wire

class TopicConfigApisTest : public testing::NodeTest {};

kafka::CreateTopicsRequest create_req(std::string name, std::vector<kafka::CreateTopicsRequest::Config> configs,
                                      bool validate_only = false) {
  kafka::CreateTopicsRequest req;
  auto& t = req.topics.emplace_back();
  t.name = std::move(name);
  t.num_partitions = 2;
  t.replication_factor = 1;
  t.configs = std::move(configs);
  req.validate_only = validate_only;
  return req;
}

TEST_F(TopicConfigApisTest, CreateTopicsHonoursConfigsAtEveryVersion) {
  Node n(cfg);
  for (std::int16_t v = 0; v <= 7; ++v) {
    SCOPED_TRACE("v" + std::to_string(v));
    const std::string name = "ok" + std::to_string(v);
    auto res = n.call<kafka::CreateTopicsResponse>(
        v, create_req(name, {{"retention.ms", "123456"}, {"max.message.bytes", "2000"}}));
    ASSERT_EQ(res.topics.size(), 1u);
    EXPECT_EQ(res.topics[0].error_code, 0);
    auto t = n.topics.find(name);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->config->retention_ms, 123456);
    EXPECT_EQ(t->config->max_message_bytes, 2000);

    const std::string bad = "bad" + std::to_string(v);
    res = n.call<kafka::CreateTopicsResponse>(v, create_req(bad, {{"retention.ms", "1"}, {"cleanup.policy", "compacted"}}));
    EXPECT_EQ(res.topics[0].error_code, to_wire(ErrorCode::invalid_config));
    if (v >= 1) {
      ASSERT_TRUE(res.topics[0].error_message.has_value());
      EXPECT_NE(res.topics[0].error_message->find("cleanup.policy"), std::string::npos);
    }
    EXPECT_FALSE(n.topics.find(bad));
    EXPECT_FALSE(std::filesystem::exists(cfg.data_dir / (bad + "-0")));
  }
  // A null value and a name given twice.
  auto res = n.call<kafka::CreateTopicsResponse>(4, create_req("nullv", {{"retention.ms", std::nullopt}}));
  EXPECT_EQ(res.topics[0].error_code, to_wire(ErrorCode::invalid_config));
  res = n.call<kafka::CreateTopicsResponse>(4, create_req("twice", {{"retention.ms", "1"}, {"retention.ms", "2"}}));
  EXPECT_EQ(res.topics[0].error_code, to_wire(ErrorCode::invalid_config));
  EXPECT_FALSE(n.topics.find("nullv"));
  EXPECT_FALSE(n.topics.find("twice"));
  // validate_only validates the configs and creates nothing.
  res = n.call<kafka::CreateTopicsResponse>(4, create_req("vo", {{"segment.bytes", "1"}}, true));
  EXPECT_EQ(res.topics[0].error_code, to_wire(ErrorCode::invalid_config));
  res = n.call<kafka::CreateTopicsResponse>(4, create_req("vo", {{"segment.bytes", "100000"}}, true));
  EXPECT_EQ(res.topics[0].error_code, 0);
  EXPECT_FALSE(n.topics.find("vo"));
  EXPECT_FALSE(std::filesystem::exists(cfg.data_dir / "vo-0"));
}

TEST_F(TopicConfigApisTest, ProduceUsesTheTopicsMaxMessageBytes) {
  Node n(cfg);
  auto res = n.call<kafka::CreateTopicsResponse>(4, create_req("small", {{"max.message.bytes", "200"}}));
  ASSERT_EQ(res.topics[0].error_code, 0);
  ASSERT_EQ(n.topics.create("big", 1), 0);
  std::string value(1000, 'v');
  for (const char* topic : {"small", "big"}) {
    auto batch = log::BatchBuilder().timestamp(1).add(std::string("k"), value).build();
    auto pr = n.call<kafka::ProduceResponse>(7, testing::produce_request(topic, 0, batch));
    ASSERT_EQ(pr.responses.size(), 1u);
    EXPECT_EQ(pr.responses[0].partitions[0].error_code,
              std::string(topic) == "small" ? to_wire(ErrorCode::message_too_large) : 0)
        << topic;
  }
}

TEST_F(TopicConfigApisTest, DescribeConfigsReportsTheCompactionConfigs) {
  cfg.cleaner_threads = 2;
  Node n(cfg);
  auto cr = n.call<kafka::CreateTopicsResponse>(
      4, create_req("c", {{"cleanup.policy", "compact"}, {"min.cleanable.dirty.ratio", "0.1"}}));
  ASSERT_EQ(cr.topics[0].error_code, 0);
  kafka::DescribeConfigsRequest req;
  req.resources = {{2, "c", std::nullopt}, {4, "0", std::nullopt}};
  auto res = n.call<kafka::DescribeConfigsResponse>(3, req);
  ASSERT_EQ(res.results.size(), 2u);
  auto find = [&](std::size_t r, const std::string& name) -> const kafka::DescribeConfigsResponse::Config* {
    for (const auto& c : res.results[r].configs)
      if (c.name == name) return &c;
    return nullptr;
  };
  struct Want {
    std::size_t resource;
    const char* name;
    const char* value;
    std::int8_t source;
    std::int8_t type;
  };
  for (const auto& w : std::vector<Want>{{0, "cleanup.policy", "compact", 1, 7},
                                         {0, "min.cleanable.dirty.ratio", "0.1", 1, 6},
                                         {0, "delete.retention.ms", "86400000", 5, 5},
                                         {0, "min.compaction.lag.ms", "0", 5, 5},
                                         {0, "max.compaction.lag.ms", "9223372036854775807", 5, 5},
                                         {1, "log.cleanup.policy", "delete", 5, 7},
                                         {1, "log.cleaner.threads", "2", 4, 3},
                                         {1, "log.cleaner.min.cleanable.ratio", "0.5", 5, 6},
                                         {1, "log.cleaner.delete.retention.ms", "86400000", 5, 5},
                                         {1, "log.cleaner.io.max.bytes.per.second", "1.7976931348623157e+308", 5, 6}}) {
    const auto* c = find(w.resource, w.name);
    ASSERT_NE(c, nullptr) << w.name;
    EXPECT_EQ(c->value, w.value) << w.name;
    EXPECT_EQ(c->config_source, w.source) << w.name;
    EXPECT_EQ(c->config_type, w.type) << w.name;
  }
}

TEST_F(TopicConfigApisTest, DescribeConfigsReportsOverridesAsDynamicTopicConfig) {
  cfg.retention_ms = 3600000;  // the broker's static value: the synonym after the override
  Node n(cfg);
  auto cr = n.call<kafka::CreateTopicsResponse>(4, create_req("t", {{"retention.ms", "1000"}, {"segment.bytes", "65536"}}));
  ASSERT_EQ(cr.topics[0].error_code, 0);
  kafka::DescribeConfigsRequest req;
  req.resources = {{2, "t", std::nullopt}};
  req.include_synonyms = true;
  for (std::int16_t v = 0; v <= 4; ++v) {
    SCOPED_TRACE("v" + std::to_string(v));
    auto res = n.call<kafka::DescribeConfigsResponse>(v, req);
    ASSERT_EQ(res.results.size(), 1u);
    ASSERT_EQ(res.results[0].error_code, 0);
    auto find = [&](const std::string& name) -> const kafka::DescribeConfigsResponse::Config* {
      for (const auto& c : res.results[0].configs)
        if (c.name == name) return &c;
      return nullptr;
    };
    const auto* ret = find("retention.ms");
    ASSERT_NE(ret, nullptr);
    EXPECT_EQ(ret->value, "1000");
    EXPECT_FALSE(ret->is_default);
    EXPECT_FALSE(ret->read_only);
    const auto* seg = find("segment.bytes");
    ASSERT_NE(seg, nullptr);
    EXPECT_EQ(seg->value, "65536");
    const auto* rb = find("retention.bytes");  // not overridden
    ASSERT_NE(rb, nullptr);
    EXPECT_EQ(rb->value, "-1");
    if (v == 0) {
      EXPECT_TRUE(rb->is_default);
      continue;
    }
    EXPECT_EQ(ret->config_source, 1);  // DYNAMIC_TOPIC_CONFIG
    EXPECT_EQ(seg->config_source, 1);
    EXPECT_EQ(rb->config_source, 5);   // DEFAULT_CONFIG
    ASSERT_EQ(ret->synonyms.size(), 3u);
    EXPECT_EQ(ret->synonyms[0].name, "retention.ms");
    EXPECT_EQ(ret->synonyms[0].value, "1000");
    EXPECT_EQ(ret->synonyms[0].source, 1);
    EXPECT_EQ(ret->synonyms[1].name, "log.retention.ms");
    EXPECT_EQ(ret->synonyms[1].value, "3600000");
    EXPECT_EQ(ret->synonyms[1].source, 4);  // STATIC_BROKER_CONFIG
    EXPECT_EQ(ret->synonyms[2].name, "log.retention.ms");
    EXPECT_EQ(ret->synonyms[2].source, 5);
    ASSERT_EQ(seg->synonyms.size(), 2u);
    EXPECT_EQ(seg->synonyms[0].source, 1);
    EXPECT_EQ(seg->synonyms[1].name, "log.segment.bytes");
    EXPECT_EQ(seg->synonyms[1].source, 5);
  }
  // Another topic still reports the broker's values.
  ASSERT_EQ(n.topics.create("u", 1), 0);
  req.resources = {{2, "u", std::vector<std::string>{"retention.ms"}}};
  auto res = n.call<kafka::DescribeConfigsResponse>(1, req);
  ASSERT_EQ(res.results[0].configs.size(), 1u);
  EXPECT_EQ(res.results[0].configs[0].value, "3600000");
  EXPECT_EQ(res.results[0].configs[0].config_source, 4);
}

kafka::IncrementalAlterConfigsRequest incr(std::string topic,
                                           std::vector<kafka::IncrementalAlterConfigsRequest::Config> ops,
                                           bool validate_only = false) {
  kafka::IncrementalAlterConfigsRequest req;
  req.resources.push_back({2, std::move(topic), std::move(ops)});
  req.validate_only = validate_only;
  return req;
}

// APPEND and SUBTRACT on the list config cleanup.policy, then DELETE back to `before`.
void check_cleanup_policy_list_ops(Node& n, const TopicConfig::Overrides& before) {
  using Op = kafka::AlterConfigOp;
  auto op = [](Op o) { return static_cast<std::int8_t>(o); };
  // APPEND of a value already in the list is a no-op (stores "delete").
  auto res = n.call<kafka::IncrementalAlterConfigsResponse>(1, incr("t", {{"cleanup.policy", op(Op::append), "delete"}}));
  EXPECT_EQ(res.responses[0].error_code, 0);
  EXPECT_EQ(n.topics.find("t")->overrides.at("cleanup.policy"), "delete");
  // APPEND compact: both policies; SUBTRACT delete: compact alone.
  res = n.call<kafka::IncrementalAlterConfigsResponse>(1, incr("t", {{"cleanup.policy", op(Op::append), "compact"}}));
  EXPECT_EQ(res.responses[0].error_code, 0);
  EXPECT_EQ(n.topics.find("t")->overrides.at("cleanup.policy"), "delete,compact");
  EXPECT_TRUE(n.topics.find("t")->config->compacts());
  res = n.call<kafka::IncrementalAlterConfigsResponse>(1, incr("t", {{"cleanup.policy", op(Op::subtract), "delete"}}));
  EXPECT_EQ(res.responses[0].error_code, 0);
  EXPECT_EQ(n.topics.find("t")->overrides.at("cleanup.policy"), "compact");
  EXPECT_FALSE(n.topics.find("t")->config->deletes());
  res = n.call<kafka::IncrementalAlterConfigsResponse>(1, incr("t", {{"cleanup.policy", op(Op::delete_), std::nullopt}}));
  EXPECT_EQ(n.topics.find("t")->overrides, before);
}

TEST_F(TopicConfigApisTest, IncrementalAlterConfigsSetDeleteValidateAndPersist) {
  using Op = kafka::AlterConfigOp;
  auto op = [](Op o) { return static_cast<std::int8_t>(o); };
  {
    Node n(cfg);
    ASSERT_EQ(n.topics.create("t", 1, {{"retention.ms", "1000"}}, false), 0);
    for (std::int16_t v = 0; v <= 1; ++v) {
      SCOPED_TRACE("v" + std::to_string(v));
      // SET one, DELETE another.
      auto res = n.call<kafka::IncrementalAlterConfigsResponse>(
          v, incr("t", {{"segment.bytes", op(Op::set), "65536"}, {"retention.ms", op(Op::delete_), std::nullopt}}));
      ASSERT_EQ(res.responses.size(), 1u);
      EXPECT_EQ(res.responses[0].error_code, 0) << res.responses[0].error_message.value_or("");
      EXPECT_EQ(res.responses[0].resource_name, "t");
      EXPECT_EQ(n.topics.find("t")->overrides, (TopicConfig::Overrides{{"segment.bytes", "65536"}}));
      // Put retention.ms back for the next version's round.
      res = n.call<kafka::IncrementalAlterConfigsResponse>(v, incr("t", {{"retention.ms", op(Op::set), "1000"}}));
      EXPECT_EQ(res.responses[0].error_code, 0);
    }
    // Bad values: INVALID_CONFIG, nothing changes.
    const auto before = n.topics.find("t")->overrides;
    for (auto bad : std::vector<kafka::IncrementalAlterConfigsRequest::Config>{
             {"retention.ms", op(Op::set), "never"},
             {"no.such", op(Op::set), "1"},
             {"segment.bytes", op(Op::set), std::nullopt},
             {"cleanup.policy", op(Op::append), "compress"}}) {
      auto res = n.call<kafka::IncrementalAlterConfigsResponse>(1, incr("t", {bad}));
      EXPECT_EQ(res.responses[0].error_code, to_wire(ErrorCode::invalid_config)) << bad.name;
      EXPECT_TRUE(res.responses[0].error_message.has_value());
    }
    // APPEND/SUBTRACT on a non-list config, an unknown op, a name twice: INVALID_REQUEST.
    for (auto req : {incr("t", {{"retention.ms", op(Op::append), "5"}}), incr("t", {{"retention.ms", op(Op::subtract), "5"}}),
                     incr("t", {{"retention.ms", 9, "5"}}),
                     incr("t", {{"retention.ms", op(Op::set), "5"}, {"retention.ms", op(Op::delete_), std::nullopt}})}) {
      auto res = n.call<kafka::IncrementalAlterConfigsResponse>(1, req);
      EXPECT_EQ(res.responses[0].error_code, to_wire(ErrorCode::invalid_request));
    }
    check_cleanup_policy_list_ops(n, before);
    // validate_only: checked, not applied.
    auto res = n.call<kafka::IncrementalAlterConfigsResponse>(1, incr("t", {{"retention.ms", op(Op::set), "5"}}, true));
    EXPECT_EQ(res.responses[0].error_code, 0);
    res = n.call<kafka::IncrementalAlterConfigsResponse>(1, incr("t", {{"retention.ms", op(Op::set), "x"}}, true));
    EXPECT_EQ(res.responses[0].error_code, to_wire(ErrorCode::invalid_config));
    EXPECT_EQ(n.topics.find("t")->overrides, before);
    // Unknown topic, illegal name, BROKER and other resources: per resource.
    kafka::IncrementalAlterConfigsRequest multi;
    multi.resources = {{2, "missing", {{"retention.ms", 0, "1"}}},
                       {2, "../x", {}},
                       {4, "0", {{"log.retention.ms", 0, "1"}}},
                       {8, "0", {}},
                       {2, "t", {{"retention.ms", 0, "2000"}}}};
    auto mres = n.call<kafka::IncrementalAlterConfigsResponse>(1, multi);
    ASSERT_EQ(mres.responses.size(), 5u);
    EXPECT_EQ(mres.responses[0].error_code, to_wire(ErrorCode::unknown_topic_or_partition));
    EXPECT_EQ(mres.responses[1].error_code, to_wire(ErrorCode::unknown_topic_or_partition));
    EXPECT_EQ(mres.responses[2].error_code, to_wire(ErrorCode::invalid_request));
    EXPECT_EQ(mres.responses[2].resource_type, 4);
    EXPECT_EQ(mres.responses[3].error_code, to_wire(ErrorCode::invalid_request));
    EXPECT_EQ(mres.responses[4].error_code, 0);
    EXPECT_EQ(n.topics.find("t")->overrides.at("retention.ms"), "2000");
    // DescribeConfigs reports the new override at once.
    kafka::DescribeConfigsRequest dreq;
    dreq.resources = {{2, "t", std::vector<std::string>{"retention.ms"}}};
    auto d = n.call<kafka::DescribeConfigsResponse>(1, dreq);
    ASSERT_EQ(d.results[0].configs.size(), 1u);
    EXPECT_EQ(d.results[0].configs[0].value, "2000");
    EXPECT_EQ(d.results[0].configs[0].config_source, 1);
    // The topic runs with it at once (its partitions were reconfigured).
    EXPECT_EQ(n.topics.find("t")->config->retention_ms, 2000);
  }
  // Restart: the altered set is what the topic runs with.
  Node n(cfg);
  auto t = n.topics.find("t");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->overrides, (TopicConfig::Overrides{{"retention.ms", "2000"}, {"segment.bytes", "65536"}}));
  EXPECT_EQ(t->config->retention_ms, 2000);
  EXPECT_EQ(t->config->segment_bytes, 65536u);
}

TEST_F(TopicConfigApisTest, AlterConfigsReplacesTheWholeSet) {
  {
    Node n(cfg);
    ASSERT_EQ(n.topics.create("t", 1, {{"retention.ms", "1000"}, {"segment.bytes", "65536"}}, false), 0);
    for (std::int16_t v = 0; v <= 2; ++v) {
      SCOPED_TRACE("v" + std::to_string(v));
      kafka::AlterConfigsRequest req;
      req.resources = {{2, "t", {{"retention.bytes", "4096"}}}, {4, "0", {{"log.retention.ms", "1"}}}};
      auto res = n.call<kafka::AlterConfigsResponse>(v, req);
      ASSERT_EQ(res.responses.size(), 2u);
      EXPECT_EQ(res.responses[0].error_code, 0);
      EXPECT_EQ(res.responses[1].error_code, to_wire(ErrorCode::invalid_request));
      ASSERT_TRUE(res.responses[1].error_message.has_value());
      EXPECT_NE(res.responses[1].error_message->find("read-only"), std::string::npos);
      EXPECT_EQ(n.topics.find("t")->overrides, (TopicConfig::Overrides{{"retention.bytes", "4096"}}));
    }
    kafka::AlterConfigsRequest bad;
    bad.resources = {{2, "t", {{"retention.bytes", "-9"}}}};
    auto res = n.call<kafka::AlterConfigsResponse>(2, bad);
    EXPECT_EQ(res.responses[0].error_code, to_wire(ErrorCode::invalid_config));
    bad.resources = {{2, "t", {{"retention.bytes", std::nullopt}}}};
    res = n.call<kafka::AlterConfigsResponse>(2, bad);
    EXPECT_EQ(res.responses[0].error_code, to_wire(ErrorCode::invalid_config));
    bad.resources = {{2, "t", {{"segment.bytes", "20000"}}}};
    bad.validate_only = true;
    res = n.call<kafka::AlterConfigsResponse>(2, bad);
    EXPECT_EQ(res.responses[0].error_code, 0);
    EXPECT_EQ(n.topics.find("t")->overrides, (TopicConfig::Overrides{{"retention.bytes", "4096"}}));
    // An empty set removes every override (and the file).
    kafka::AlterConfigsRequest clear;
    clear.resources = {{2, "t", {}}};
    res = n.call<kafka::AlterConfigsResponse>(1, clear);
    EXPECT_EQ(res.responses[0].error_code, 0);
    EXPECT_TRUE(n.topics.find("t")->overrides.empty());
    EXPECT_FALSE(std::filesystem::exists(cfg.data_dir / "t-0" / "topic.config"));
  }
  Node n(cfg);
  EXPECT_TRUE(n.topics.find("t")->overrides.empty());
  EXPECT_EQ(n.topics.find("t")->config->retention_ms, cfg.retention_ms);
}

// AlterConfigs reaches the open partitions (as in Kafka): max.message.bytes
// at once, segment.bytes at the next roll, retention.bytes at the next pass.
TEST_F(TopicConfigApisTest, AlteredLimitsApplyToTheOpenPartitions) {
  Node n(cfg);
  ASSERT_EQ(n.topics.create("t", 1, {}, false), 0);
  auto value = [](std::size_t n) { return std::string(n, 'v'); };
  auto batch_of = [&](std::size_t bytes) {
    log::BatchBuilder b;
    b.timestamp(1000).add("k", value(bytes));
    return b.build();
  };
  auto p = n.topics.find("t")->partitions[0];
  auto big = batch_of(5000);
  ASSERT_EQ(p->append(big).error, 0);

  kafka::AlterConfigsRequest req;
  req.resources = {{2, "t", {{"max.message.bytes", "3000"}, {"segment.bytes", "4096"}, {"retention.bytes", "8192"}}}};
  ASSERT_EQ(n.call<kafka::AlterConfigsResponse>(1, req).responses[0].error_code, 0);
  big = batch_of(5000);
  EXPECT_EQ(p->append(big).error, to_wire(ErrorCode::message_too_large));
  for (int i = 0; i < 20; ++i) {
    auto small = batch_of(1000);
    ASSERT_EQ(p->append(small).error, 0);
  }
  std::size_t segments = 0;
  for (const auto& e : std::filesystem::directory_iterator(cfg.data_dir / "t-0"))
    if (e.path().extension() == ".log") ++segments;
  EXPECT_GE(segments, 5u) << "20 KB at segment.bytes=4096";
  p->enforce_retention();
  EXPECT_GT(p->log_start_offset(), 0) << "retention.bytes=8192 deleted nothing";
  EXPECT_EQ(p->high_watermark(), 21);
}

TEST_F(TopicConfigApisTest, ApiVersionsAdvertisesTheAlterApis) {
  Node n(cfg);
  kafka::ApiVersionsRequest req;
  req.client_software_name = "nocopy-test";
  req.client_software_version = "1.0";
  auto res = n.call<kafka::ApiVersionsResponse>(3, req);
  auto range = [&](std::int16_t key) {
    for (auto& a : res.api_keys)
      if (a.api_key == key) return std::pair<int, int>(a.min_version, a.max_version);
    return std::make_pair(-1, -1);
  };
  EXPECT_EQ(range(33), std::make_pair(0, 2));
  EXPECT_EQ(range(44), std::make_pair(0, 1));
}

}  // namespace
}  // namespace nocopy::broker
