// What decoding derives beyond the wire for generated messages that ask for
// it (after_decode=yes in their description).
#include "kafka/join_group.h"
#include "kafka/leave_group.h"

namespace nocopy::kafka {

void after_decode(JoinGroupRequest& m, std::int16_t version) {
  if (version < 1) m.rebalance_timeout_ms = m.session_timeout_ms;
}

void after_decode(LeaveGroupRequest& m, std::int16_t version) {
  if (version <= 2) m.members = {LeaveGroupRequest::Member{m.member_id, std::nullopt, std::nullopt}};
}

}  // namespace nocopy::kafka
