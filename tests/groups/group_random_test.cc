// Random-operation test of the group coordinator against invariants that
// must hold whatever clients do: every callback runs exactly once (never
// twice, never lost once time moves past every timeout), successful join
// answers of one generation agree on leader and membership, and a member's
// SyncGroup assignment is what the leader assigned it.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "broker/group_coordinator.h"

namespace nocopy::broker {
namespace {

using std::chrono::milliseconds;

struct JoinResult {
  int calls = 0;
  kafka::JoinGroupResponse resp;
};
struct SyncResult {
  int calls = 0;
  kafka::SyncGroupResponse resp;
};

// One round: a coordinator driven by random clients, and what they were told.
class RandomGroupRound {
 public:
  RandomGroupRound(int round, int& ok_joins, int& ok_assignments)
      : rng_(static_cast<unsigned>(round) * 7919u + 1u),
        gc_(config(rng_), nullptr),
        ok_joins_(ok_joins),
        ok_assignments_(ok_assignments) {}

  void run(int steps) {
    for (int step = 0; step < steps; ++step) {
      if (!gc_.generation("g")) {
        // The group was forgotten (no members, no offsets): a new one starts
        // again at generation 0, so per-generation bookkeeping restarts.
        generations_.clear();
        joined_in_gen_.clear();
        assigned_.clear();
      }
      now_ += milliseconds(rng_() % 3000);
      const std::int32_t gen_guess = gc_.generation("g").value_or(0) - static_cast<std::int32_t>(rng_() % 2);
      switch (rng_() % 6) {
        case 0:
        case 1:
          join();
          break;
        case 2:
          sync(gen_guess);
          break;
        case 3: {
          kafka::HeartbeatRequest r{"g", gen_guess, pick_id(), std::nullopt};
          gc_.heartbeat(r, now_);
          break;
        }
        case 4:
          leave();
          break;
        case 5:
          gc_.tick(now_);
          break;
      }
    }
  }

  // Lets every timer run out: nothing may stay unanswered, and the leader's
  // member list is exactly who was told they joined.
  void finish(int round) {
    for (int i = 0; i < 20; ++i) {
      now_ += milliseconds(60000);
      gc_.tick(now_);
    }
    for (const auto& j : joins_) EXPECT_EQ(j->calls, 1) << "round " << round;
    for (const auto& s : syncs_) EXPECT_EQ(s->calls, 1) << "round " << round;
    for (const auto& [gen, g] : generations_) {
      if (!g.second.empty()) {
        EXPECT_EQ(g.second, joined_in_gen_[gen]) << "generation " << gen;
      }
    }
    EXPECT_FALSE(gc_.next_deadline().has_value());
  }

 private:
  static GroupCoordinatorConfig config(std::mt19937& rng) {
    GroupCoordinatorConfig cfg;
    cfg.initial_rebalance_delay = milliseconds(rng() % 2 == 0 ? 0 : 500);
    return cfg;
  }

  std::string pick_id() {
    if (known_ids_.empty() || rng_() % 4 == 0) return "";
    return known_ids_[rng_() % known_ids_.size()];
  }

  void join() {
    kafka::JoinGroupRequest r;
    r.group_id = "g";
    r.session_timeout_ms = 6000 + static_cast<std::int32_t>(rng_() % 6000);
    r.rebalance_timeout_ms = 6000 + static_cast<std::int32_t>(rng_() % 20000);
    r.member_id = pick_id();
    r.protocol_type = "consumer";
    r.protocols = {{"range", kafka::ByteVec(rng_() % 3, std::byte{1})}};
    auto slot = std::make_shared<JoinResult>();
    joins_.push_back(slot);
    gc_.join_group(r, static_cast<std::int16_t>(rng_() % 6), "c", "h", now_,
                   [this, slot](kafka::JoinGroupResponse resp) { on_join(*slot, std::move(resp)); });
  }

  void on_join(JoinResult& slot, kafka::JoinGroupResponse r) {
    ++slot.calls;
    ASSERT_EQ(slot.calls, 1) << "join callback ran twice";
    if (!r.member_id.empty()) known_ids_.push_back(r.member_id);
    if (r.error_code == 0) {
      ++ok_joins_;
      auto& g = generations_[r.generation_id];
      if (g.first.empty()) g.first = r.leader;
      EXPECT_EQ(g.first, r.leader) << "two leaders in generation " << r.generation_id;
      joined_in_gen_[r.generation_id].insert(r.member_id);
      if (r.member_id == r.leader) {
        for (const auto& m : r.members) g.second.insert(m.member_id);
        EXPECT_TRUE(g.second.count(r.member_id));
      }
    }
    slot.resp = std::move(r);
  }

  void sync(std::int32_t gen) {
    kafka::SyncGroupRequest r;
    r.group_id = "g";
    r.generation_id = gen;
    r.member_id = pick_id();
    // Assign every member we have seen something unique.
    for (const auto& id : known_ids_) {
      std::string s = id + "@" + std::to_string(gen);
      auto b = std::as_bytes(std::span(s.data(), s.size()));
      r.assignments.push_back({id, kafka::ByteVec(b.begin(), b.end())});
    }
    auto slot = std::make_shared<SyncResult>();
    syncs_.push_back(slot);
    const bool is_leader = generations_.count(gen) && generations_[gen].first == r.member_id;
    if (is_leader) {
      for (const auto& a : r.assignments) assigned_.try_emplace({gen, a.member_id}, a.assignment);
    }
    gc_.sync_group(r, now_, [this, slot, member = r.member_id, gen](kafka::SyncGroupResponse resp) {
      ++slot->calls;
      ASSERT_EQ(slot->calls, 1) << "sync callback ran twice";
      if (resp.error_code == 0 && !resp.assignment.empty()) {
        auto it = assigned_.find({gen, member});
        ASSERT_NE(it, assigned_.end());
        EXPECT_EQ(it->second, resp.assignment);
        ++ok_assignments_;
      }
      slot->resp = std::move(resp);
    });
  }

  void leave() {
    kafka::LeaveGroupRequest r;
    r.group_id = "g";
    r.members = {{pick_id(), std::nullopt}};
    if (rng_() % 2) r.members.push_back({pick_id(), std::nullopt});
    gc_.leave_group(r, 3, now_);
  }

  std::mt19937 rng_;
  GroupCoordinator gc_;
  GroupCoordinator::TimePoint now_{milliseconds(1000)};
  int& ok_joins_;
  int& ok_assignments_;
  std::vector<std::shared_ptr<JoinResult>> joins_;
  std::vector<std::shared_ptr<SyncResult>> syncs_;
  std::vector<std::string> known_ids_;  // ids clients have been given
  std::map<std::int32_t, std::pair<std::string, std::set<std::string>>> generations_;  // leader, members
  std::map<std::pair<std::int32_t, std::string>, kafka::ByteVec> assigned_;  // (gen, member) -> bytes
  std::map<std::int32_t, std::set<std::string>> joined_in_gen_;
};

TEST(GroupRandom, InvariantsHoldUnderRandomClients) {
#if defined(__SANITIZE_ADDRESS__)
  const int rounds = 20, steps = 300;
#else
  const int rounds = 100, steps = 600;
#endif
  int ok_joins = 0, ok_assignments = 0;  // the walk must reach the interesting states
  for (int round = 0; round < rounds; ++round) {
    RandomGroupRound r(round, ok_joins, ok_assignments);
    r.run(steps);
    r.finish(round);
    if (::testing::Test::HasFailure()) break;
  }
  EXPECT_GT(ok_joins, rounds);
  EXPECT_GT(ok_assignments, 0);
  std::printf("successful joins %d, assignments delivered %d\n", ok_joins, ok_assignments);
}

}  // namespace
}  // namespace nocopy::broker
