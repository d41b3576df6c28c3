// Kafka protocol error codes (the int16 `error_code` fields on the wire).
//
// Numeric values are Kafka's (org.apache.kafka.common.protocol.Errors); only
// the codes nocopy answers with or that clients react to are named here. Any
// int16 received from the wire can be cast to ErrorCode and printed with
// error_name(), unknown values print as "UNKNOWN_<n>".
#pragma once

#include <cstdint>
#include <string>

namespace nocopy::kafka {

enum class ErrorCode : std::int16_t {
  unknown_server_error = -1,
  none = 0,
  offset_out_of_range = 1,
  corrupt_message = 2,
  unknown_topic_or_partition = 3,
  invalid_fetch_size = 4,
  leader_not_available = 5,
  not_leader_or_follower = 6,
  request_timed_out = 7,
  message_too_large = 10,
  offset_metadata_too_large = 12,
  network_exception = 13,
  coordinator_load_in_progress = 14,
  coordinator_not_available = 15,
  not_coordinator = 16,
  invalid_topic_exception = 17,
  record_list_too_large = 18,
  not_enough_replicas = 19,
  invalid_required_acks = 21,
  illegal_generation = 22,
  inconsistent_group_protocol = 23,
  invalid_group_id = 24,
  unknown_member_id = 25,
  invalid_session_timeout = 26,
  rebalance_in_progress = 27,
  invalid_commit_offset_size = 28,
  topic_authorization_failed = 29,
  group_authorization_failed = 30,
  cluster_authorization_failed = 31,
  invalid_timestamp = 32,
  unsupported_sasl_mechanism = 33,
  illegal_sasl_state = 34,
  unsupported_version = 35,
  topic_already_exists = 36,
  invalid_partitions = 37,
  invalid_replication_factor = 38,
  invalid_replica_assignment = 39,
  invalid_config = 40,
  not_controller = 41,
  invalid_request = 42,
  unsupported_for_message_format = 43,
  policy_violation = 44,
  out_of_order_sequence_number = 45,
  duplicate_sequence_number = 46,
  invalid_producer_epoch = 47,
  invalid_txn_state = 48,
  invalid_producer_id_mapping = 49,
  invalid_transaction_timeout = 50,
  concurrent_transactions = 51,
  transactional_id_authorization_failed = 53,
  security_disabled = 54,
  transaction_coordinator_fenced = 52,
  operation_not_attempted = 55,
  kafka_storage_error = 56,
  sasl_authentication_failed = 58,
  unknown_producer_id = 59,
  non_empty_group = 68,
  group_id_not_found = 69,
  fenced_leader_epoch = 74,
  offset_not_available = 78,
  unknown_leader_epoch = 75,
  unsupported_compression_type = 76,
  member_id_required = 79,
  preferred_leader_not_available = 80,
  group_max_size_reached = 81,
  fenced_instance_id = 82,
  eligible_leaders_not_available = 83,
  election_not_needed = 84,
  group_subscribed_to_topic = 86,
  invalid_record = 87,
  producer_fenced = 90,
  resource_not_found = 91,
  duplicate_resource = 92,
  unacceptable_credential = 93,
  unknown_topic_id = 100,
  inconsistent_topic_id = 103,
  transactional_id_not_found = 105,
  transaction_abortable = 120,  // KIP-890: abort the transaction and carry on (not fatal)
  invalid_regular_expression = 128,
  rebootstrap_required = 129,  // KIP-1242: ApiVersions v5 named another cluster or node
};

// "UNKNOWN_TOPIC_OR_PARTITION", ... ; "UNKNOWN_<n>" for unnamed values.
std::string error_name(ErrorCode code);

constexpr std::int16_t to_wire(ErrorCode c) { return static_cast<std::int16_t>(c); }

// A transactional produce or offset commit outside its producer's ongoing
// transaction (KIP-890): TRANSACTION_ABORTABLE, which a client aborts and
// carries on from, for request versions that know it (Produce v11+,
// TxnOffsetCommit v4+, AddPartitionsToTxn v5+); INVALID_TXN_STATE for older
// ones. Other codes are returned unchanged.
constexpr ErrorCode txn_error_for_version(ErrorCode e, bool abortable_known) {
  if (e != ErrorCode::invalid_txn_state && e != ErrorCode::transaction_abortable) return e;
  return abortable_known ? ErrorCode::transaction_abortable : ErrorCode::invalid_txn_state;
}

}  // namespace nocopy::kafka
