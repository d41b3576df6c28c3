// The transaction coordinator's test fixture: an in-memory state log, participants
// that record the markers (partitions 0-2 of every topic but "missing"; groups in
// __consumer_offsets-7), and helpers that send its requests on an injected clock.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "txn/txn_coordinator.h"
#include "txn/txn_metadata.h"

namespace nocopy::txn::test {

struct MemLog : TxnStateLog {
  std::vector<std::pair<std::vector<std::byte>, std::vector<std::byte>>> records;
  bool fail = false;
  bool append(std::span<const std::byte> k, std::span<const std::byte> v) override {
    if (fail) return false;
    records.emplace_back(std::vector<std::byte>(k.begin(), k.end()), std::vector<std::byte>(v.begin(), v.end()));
    return true;
  }
};

struct Marker {
  TopicPartition tp;
  std::int64_t pid;
  std::int16_t epoch;
  bool commit;
};

struct Parts : TxnParticipants {
  std::vector<Marker> markers;
  std::int16_t marker_error = 0;
  bool partition_exists(const std::string& topic, std::int32_t p) override { return topic != "missing" && p < 3; }
  // A broker's add may name the groups' partition too.
  bool partition_exists_for_broker(const std::string& topic, std::int32_t p) override {
    return topic == "__consumer_offsets" || partition_exists(topic, p);
  }
  std::int16_t write_marker(const TopicPartition& tp, std::int64_t pid, std::int16_t epoch, bool commit,
                            std::int32_t) override {
    if (marker_error) return marker_error;
    markers.push_back({tp, pid, epoch, commit});
    return 0;
  }
  // Groups live in partition 7 of __consumer_offsets ("nogroups": none yet).
  std::optional<TopicPartition> offsets_partition(const std::string& group) override {
    if (group == "nogroups") return std::nullopt;
    return TopicPartition{"__consumer_offsets", 7};
  }
};

struct TxnCoordinatorTest : ::testing::Test {
  MemLog log;
  Parts parts;
  std::int64_t next_pid = 1000;
  TxnCoordinatorConfig cfg;
  std::unique_ptr<TxnCoordinator> c = make();
  std::unique_ptr<TxnCoordinator> make() {
    return std::make_unique<TxnCoordinator>(cfg, &log, &parts, [this] { return next_pid++; });
  }

  kafka::InitProducerIdResponse init(const std::string& id, std::int32_t timeout = 60000, std::int64_t now = 0) {
    kafka::InitProducerIdRequest r;
    r.transactional_id = id;
    r.transaction_timeout_ms = timeout;
    return c->init_producer_id(r, 1, now);
  }
  kafka::AddPartitionsToTxnResponse add(const std::string& id, std::int64_t pid, std::int16_t epoch,
                                        std::vector<std::pair<std::string, std::int32_t>> tps, std::int64_t now = 0,
                                        std::int16_t version = 3) {
    kafka::AddPartitionsToTxnRequest r;
    r.transactional_id = id;
    r.producer_id = pid;
    r.producer_epoch = epoch;
    for (auto& [t, p] : tps) {
      if (r.topics.empty() || r.topics.back().name != t) r.topics.emplace_back().name = t;
      r.topics.back().partitions.push_back(p);
    }
    return c->add_partitions(r, version, now);
  }
  // A broker's add for a transaction version 2 producer (AddPartitionsToTxn
  // v5, not verify_only): the first error.
  std::int16_t broker_add(const std::string& id, std::int64_t pid, std::int16_t epoch,
                          std::vector<std::pair<std::string, std::int32_t>> tps, std::int64_t now = 0) {
    return add(id, pid, epoch, std::move(tps), now, 5).results.at(0).results.at(0).partition_error_code;
  }
  // A coordinator started over from everything `log` holds (before finish_replay).
  void restart() {
    c = make();
    for (auto& [k, v] : log.records) ASSERT_TRUE(c->replay(k, v));
  }
  // AddOffsetsToTxn of group `g` to transaction "t", epoch 0.
  static kafka::AddOffsetsToTxnRequest add_offsets_req(std::int64_t pid) {
    kafka::AddOffsetsToTxnRequest r;
    r.transactional_id = "t";
    r.producer_id = pid;
    r.producer_epoch = 0;
    r.group_id = "g";
    return r;
  }
  std::int16_t end(const std::string& id, std::int64_t pid, std::int16_t epoch, bool commit, std::int64_t now = 0) {
    kafka::EndTxnRequest r;
    r.transactional_id = id;
    r.producer_id = pid;
    r.producer_epoch = epoch;
    r.committed = commit;
    return c->end_txn(r, 3, now).error_code;
  }
  // EndTxn v5 (transaction version 2).
  kafka::EndTxnResponse end5(const std::string& id, std::int64_t pid, std::int16_t epoch, bool commit,
                             std::int64_t now = 0) {
    kafka::EndTxnRequest r;
    r.transactional_id = id;
    r.producer_id = pid;
    r.producer_epoch = epoch;
    r.committed = commit;
    return c->end_txn(r, 5, now);
  }
};

}  // namespace nocopy::txn::test
