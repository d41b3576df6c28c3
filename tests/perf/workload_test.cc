// Produce and consume workloads end to end against librdkafka's built-in mock
// cluster (an in-process Kafka broker on a loopback port): exact counts,
// missing/duplicate detection, latency samples, and the unreachable-broker
// error path.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>

#include "perf/consumer.h"
#include "perf/kafka_client.h"
#include "perf/producer.h"

namespace nocopy::perf {
namespace {

class MockCluster {
 public:
  explicit MockCluster(const char* topic, int partitions) {
    owner_ = make_client(RD_KAFKA_PRODUCER, make_conf({}));
    mc_ = rd_kafka_mock_cluster_new(owner_.get(), 1);
    rd_kafka_mock_topic_create(mc_, topic, partitions, 1);
    brokers_ = rd_kafka_mock_cluster_bootstraps(mc_);
  }
  ~MockCluster() { rd_kafka_mock_cluster_destroy(mc_); }
  const std::string& brokers() const { return brokers_; }

 private:
  KafkaHandle owner_;
  rd_kafka_mock_cluster_t* mc_ = nullptr;
  std::string brokers_;
};

std::uint16_t closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);  // nothing listens there now
  return ntohs(a.sin_port);
}

}  // namespace

TEST(Workload, ProduceThenConsumeCountsExactly) {
  MockCluster mc("t", 3);
  ProduceOptions po;
  po.brokers = mc.brokers();
  po.topic = "t";
  po.num_messages = 20'001;
  po.message_size = 64;
  po.instances = 2;
  po.linger_ms = 1;
  po.timeout_ms = 10'000;
  int progress_calls = 0;
  ProduceWorkload w(po);
  const ProduceResult pr = w.run([&](const ProduceProgress&) { ++progress_calls; }, 0.001);
  EXPECT_EQ(pr.acked, 20'001u);
  EXPECT_EQ(pr.failed, 0u);
  EXPECT_EQ(pr.bytes, 20'001u * 64);
  EXPECT_EQ(pr.ack_latency.count(), 20'001u);
  EXPECT_GT(pr.ack_latency.percentile(0.5), 0u);
  EXPECT_EQ(pr.run_ids.size(), 2u);
  EXPECT_GT(pr.msgs_per_s(), 0);

  ConsumeOptions co;
  co.brokers = mc.brokers();
  co.topic = "t";
  co.num_messages = 20'001;
  co.instances = 2;
  co.idle_timeout_ms = 5'000;
  const ConsumeResult cr = run_consume(co);
  EXPECT_EQ(cr.messages, 20'001u);
  EXPECT_EQ(cr.missing, 0u);
  EXPECT_EQ(cr.duplicates, 0u);
  EXPECT_EQ(cr.foreign, 0u);
  EXPECT_EQ(cr.errors, 0u);
  EXPECT_FALSE(cr.idle_timeout);
  EXPECT_EQ(cr.e2e_latency.count(), 20'001u);
  EXPECT_EQ(cr.bytes, 20'001u * 64);

  // Asking for more than the log holds: the shortfall is reported as missing
  // after the idle timeout, never a hang.
  co.num_messages = 20'100;
  co.idle_timeout_ms = 3000;
  co.instances = 1;
  const ConsumeResult short_run = run_consume(co);
  EXPECT_TRUE(short_run.idle_timeout);
  EXPECT_EQ(short_run.messages, 20'001u);
  EXPECT_EQ(short_run.missing, 99u);
}

TEST(Workload, KeyedProduceBySingleMessages) {
  MockCluster mc("k", 2);
  ProduceOptions po;
  po.brokers = mc.brokers();
  po.topic = "k";
  po.num_messages = 500;
  po.keys = 10;
  po.message_size = 24;
  po.linger_ms = 0;
  const ProduceResult pr = ProduceWorkload(po).run();
  EXPECT_EQ(pr.acked, 500u);
  EXPECT_EQ(pr.bytes, 500u * 24 + 500u * 2);  // keys "k0".."k9"
}

TEST(Workload, UnreachableBrokerFailsWithinTimeout) {
  ProduceOptions po;
  po.brokers = "127.0.0.1:" + std::to_string(closed_port());
  po.num_messages = 10;
  po.timeout_ms = 1000;
  const auto t0 = std::chrono::steady_clock::now();
  try {
    ProduceWorkload(po).run();
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(po.brokers), std::string::npos) << e.what();
  }
  ConsumeOptions co;
  co.brokers = po.brokers;
  co.timeout_ms = 1000;
  EXPECT_THROW(run_consume(co), std::runtime_error);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(8));
}

TEST(Workload, BadOptionsAreRejected) {
  ProduceOptions po;
  po.num_messages = 1;
  po.message_size = 10;
  EXPECT_THROW(po.validate(), std::invalid_argument);
  po.message_size = 100;
  po.acks = "2";
  EXPECT_THROW(po.validate(), std::invalid_argument);
  po.acks = "all";
  po.num_messages = 0;
  EXPECT_THROW(po.validate(), std::invalid_argument);
  po.duration_s = 1;
  EXPECT_NO_THROW(po.validate());
  po.extra["no.such.property"] = "1";
  EXPECT_THROW(make_conf(producer_config(po)), std::invalid_argument);
  EXPECT_THROW(parse_key_value("novalue"), std::invalid_argument);
  EXPECT_EQ(parse_key_value("a=b=c").second, "b=c");
  ConsumeOptions co;
  co.instances = 0;
  EXPECT_THROW(co.validate(), std::invalid_argument);
}

}  // namespace nocopy::perf
