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

TEST(GroupRandom, InvariantsHoldUnderRandomClients) {
#if defined(__SANITIZE_ADDRESS__)
  const int rounds = 20, steps = 300;
#else
  const int rounds = 100, steps = 600;
#endif
  int ok_joins = 0, ok_assignments = 0;  // the walk must reach the interesting states
  for (int round = 0; round < rounds; ++round) {
    std::mt19937 rng(static_cast<unsigned>(round) * 7919u + 1u);
    GroupCoordinatorConfig cfg;
    cfg.initial_rebalance_delay = milliseconds(rng() % 2 == 0 ? 0 : 500);
    GroupCoordinator gc(cfg, nullptr);
    GroupCoordinator::TimePoint now{milliseconds(1000)};

    std::vector<std::shared_ptr<JoinResult>> joins;
    std::vector<std::shared_ptr<SyncResult>> syncs;
    std::vector<std::string> known_ids;  // ids clients have been given
    std::map<std::int32_t, std::pair<std::string, std::set<std::string>>> generations;  // leader, members
    std::map<std::pair<std::int32_t, std::string>, kafka::ByteVec> assigned;  // (gen, member) -> bytes
    std::map<std::int32_t, std::set<std::string>> joined_in_gen;

    auto pick_id = [&]() -> std::string {
      if (known_ids.empty() || rng() % 4 == 0) return "";
      return known_ids[rng() % known_ids.size()];
    };
    auto on_join = [&](std::shared_ptr<JoinResult> slot) {
      return [&, slot](kafka::JoinGroupResponse r) {
        ++slot->calls;
        ASSERT_EQ(slot->calls, 1) << "join callback ran twice";
        if (!r.member_id.empty()) known_ids.push_back(r.member_id);
        if (r.error_code == 0) {
          ++ok_joins;
          auto& g = generations[r.generation_id];
          if (g.first.empty()) g.first = r.leader;
          EXPECT_EQ(g.first, r.leader) << "two leaders in generation " << r.generation_id;
          joined_in_gen[r.generation_id].insert(r.member_id);
          if (r.member_id == r.leader) {
            for (const auto& m : r.members) g.second.insert(m.member_id);
            EXPECT_TRUE(g.second.count(r.member_id));
          }
        }
        slot->resp = std::move(r);
      };
    };

    for (int step = 0; step < steps; ++step) {
      if (!gc.generation("g")) {
        // The group was forgotten (no members, no offsets): a new one starts
        // again at generation 0, so per-generation bookkeeping restarts.
        generations.clear();
        joined_in_gen.clear();
        assigned.clear();
      }
      now += milliseconds(rng() % 3000);
      const std::int32_t gen_guess = gc.generation("g").value_or(0) - static_cast<std::int32_t>(rng() % 2);
      switch (rng() % 6) {
        case 0:
        case 1: {
          kafka::JoinGroupRequest r;
          r.group_id = "g";
          r.session_timeout_ms = 6000 + static_cast<std::int32_t>(rng() % 6000);
          r.rebalance_timeout_ms = 6000 + static_cast<std::int32_t>(rng() % 20000);
          r.member_id = pick_id();
          r.protocol_type = "consumer";
          r.protocols = {{"range", kafka::ByteVec(rng() % 3, std::byte{1})}};
          auto slot = std::make_shared<JoinResult>();
          joins.push_back(slot);
          gc.join_group(r, static_cast<std::int16_t>(rng() % 6), "c", "h", now, on_join(slot));
          break;
        }
        case 2: {
          kafka::SyncGroupRequest r;
          r.group_id = "g";
          r.generation_id = gen_guess;
          r.member_id = pick_id();
          // Assign every member we have seen something unique.
          for (const auto& id : known_ids) {
            std::string s = id + "@" + std::to_string(gen_guess);
            auto b = std::as_bytes(std::span(s.data(), s.size()));
            r.assignments.push_back({id, kafka::ByteVec(b.begin(), b.end())});
          }
          auto slot = std::make_shared<SyncResult>();
          syncs.push_back(slot);
          const bool is_leader = generations.count(gen_guess) && generations[gen_guess].first == r.member_id;
          if (is_leader) {
            for (const auto& a : r.assignments) assigned.try_emplace({gen_guess, a.member_id}, a.assignment);
          }
          std::string member = r.member_id;
          std::int32_t gen = gen_guess;
          gc.sync_group(r, now, [&, slot, member, gen](kafka::SyncGroupResponse resp) {
            ++slot->calls;
            ASSERT_EQ(slot->calls, 1) << "sync callback ran twice";
            if (resp.error_code == 0 && !resp.assignment.empty()) {
              auto it = assigned.find({gen, member});
              ASSERT_NE(it, assigned.end());
              EXPECT_EQ(it->second, resp.assignment);
              ++ok_assignments;
            }
            slot->resp = std::move(resp);
          });
          break;
        }
        case 3: {
          kafka::HeartbeatRequest r{"g", gen_guess, pick_id(), std::nullopt};
          gc.heartbeat(r, now);
          break;
        }
        case 4: {
          kafka::LeaveGroupRequest r;
          r.group_id = "g";
          r.members = {{pick_id(), std::nullopt}};
          if (rng() % 2) r.members.push_back({pick_id(), std::nullopt});
          gc.leave_group(r, 3, now);
          break;
        }
        case 5:
          gc.tick(now);
          break;
      }
    }
    // Let every timer run out: nothing may stay unanswered.
    for (int i = 0; i < 20; ++i) {
      now += milliseconds(60000);
      gc.tick(now);
    }
    for (const auto& j : joins) EXPECT_EQ(j->calls, 1) << "round " << round;
    for (const auto& s : syncs) EXPECT_EQ(s->calls, 1) << "round " << round;
    // The leader's member list is exactly who was told they joined.
    for (const auto& [gen, g] : generations) {
      if (!g.second.empty()) {
        EXPECT_EQ(g.second, joined_in_gen[gen]) << "generation " << gen;
      }
    }
    EXPECT_FALSE(gc.next_deadline().has_value());
    if (::testing::Test::HasFailure()) break;
  }
  EXPECT_GT(ok_joins, rounds);
  EXPECT_GT(ok_assignments, 0);
  std::printf("successful joins %d, assignments delivered %d\n", ok_joins, ok_assignments);
}

}  // namespace
}  // namespace nocopy::broker
