#include "kafka/error_code.h"

#include <fmt/format.h>

namespace nocopy::kafka {

// One case per Kafka error code: a table, longer than a function should be.
std::string error_name(ErrorCode code) {
  switch (code) {
#define NOCOPY_KAFKA_ERR(name, text) \
  case ErrorCode::name:              \
    return text;
    NOCOPY_KAFKA_ERR(unknown_server_error, "UNKNOWN_SERVER_ERROR")
    NOCOPY_KAFKA_ERR(none, "NONE")
    NOCOPY_KAFKA_ERR(offset_out_of_range, "OFFSET_OUT_OF_RANGE")
    NOCOPY_KAFKA_ERR(corrupt_message, "CORRUPT_MESSAGE")
    NOCOPY_KAFKA_ERR(unknown_topic_or_partition, "UNKNOWN_TOPIC_OR_PARTITION")
    NOCOPY_KAFKA_ERR(invalid_fetch_size, "INVALID_FETCH_SIZE")
    NOCOPY_KAFKA_ERR(leader_not_available, "LEADER_NOT_AVAILABLE")
    NOCOPY_KAFKA_ERR(not_leader_or_follower, "NOT_LEADER_OR_FOLLOWER")
    NOCOPY_KAFKA_ERR(request_timed_out, "REQUEST_TIMED_OUT")
    NOCOPY_KAFKA_ERR(message_too_large, "MESSAGE_TOO_LARGE")
    NOCOPY_KAFKA_ERR(offset_metadata_too_large, "OFFSET_METADATA_TOO_LARGE")
    NOCOPY_KAFKA_ERR(network_exception, "NETWORK_EXCEPTION")
    NOCOPY_KAFKA_ERR(coordinator_load_in_progress, "COORDINATOR_LOAD_IN_PROGRESS")
    NOCOPY_KAFKA_ERR(coordinator_not_available, "COORDINATOR_NOT_AVAILABLE")
    NOCOPY_KAFKA_ERR(not_coordinator, "NOT_COORDINATOR")
    NOCOPY_KAFKA_ERR(invalid_topic_exception, "INVALID_TOPIC_EXCEPTION")
    NOCOPY_KAFKA_ERR(record_list_too_large, "RECORD_LIST_TOO_LARGE")
    NOCOPY_KAFKA_ERR(not_enough_replicas, "NOT_ENOUGH_REPLICAS")
    NOCOPY_KAFKA_ERR(invalid_required_acks, "INVALID_REQUIRED_ACKS")
    NOCOPY_KAFKA_ERR(illegal_generation, "ILLEGAL_GENERATION")
    NOCOPY_KAFKA_ERR(inconsistent_group_protocol, "INCONSISTENT_GROUP_PROTOCOL")
    NOCOPY_KAFKA_ERR(invalid_group_id, "INVALID_GROUP_ID")
    NOCOPY_KAFKA_ERR(unknown_member_id, "UNKNOWN_MEMBER_ID")
    NOCOPY_KAFKA_ERR(invalid_session_timeout, "INVALID_SESSION_TIMEOUT")
    NOCOPY_KAFKA_ERR(rebalance_in_progress, "REBALANCE_IN_PROGRESS")
    NOCOPY_KAFKA_ERR(invalid_commit_offset_size, "INVALID_COMMIT_OFFSET_SIZE")
    NOCOPY_KAFKA_ERR(topic_authorization_failed, "TOPIC_AUTHORIZATION_FAILED")
    NOCOPY_KAFKA_ERR(group_authorization_failed, "GROUP_AUTHORIZATION_FAILED")
    NOCOPY_KAFKA_ERR(cluster_authorization_failed, "CLUSTER_AUTHORIZATION_FAILED")
    NOCOPY_KAFKA_ERR(invalid_timestamp, "INVALID_TIMESTAMP")
    NOCOPY_KAFKA_ERR(unsupported_sasl_mechanism, "UNSUPPORTED_SASL_MECHANISM")
    NOCOPY_KAFKA_ERR(illegal_sasl_state, "ILLEGAL_SASL_STATE")
    NOCOPY_KAFKA_ERR(unsupported_version, "UNSUPPORTED_VERSION")
    NOCOPY_KAFKA_ERR(topic_already_exists, "TOPIC_ALREADY_EXISTS")
    NOCOPY_KAFKA_ERR(invalid_partitions, "INVALID_PARTITIONS")
    NOCOPY_KAFKA_ERR(invalid_replication_factor, "INVALID_REPLICATION_FACTOR")
    NOCOPY_KAFKA_ERR(invalid_replica_assignment, "INVALID_REPLICA_ASSIGNMENT")
    NOCOPY_KAFKA_ERR(invalid_config, "INVALID_CONFIG")
    NOCOPY_KAFKA_ERR(not_controller, "NOT_CONTROLLER")
    NOCOPY_KAFKA_ERR(invalid_request, "INVALID_REQUEST")
    NOCOPY_KAFKA_ERR(unsupported_for_message_format, "UNSUPPORTED_FOR_MESSAGE_FORMAT")
    NOCOPY_KAFKA_ERR(policy_violation, "POLICY_VIOLATION")
    NOCOPY_KAFKA_ERR(out_of_order_sequence_number, "OUT_OF_ORDER_SEQUENCE_NUMBER")
    NOCOPY_KAFKA_ERR(duplicate_sequence_number, "DUPLICATE_SEQUENCE_NUMBER")
    NOCOPY_KAFKA_ERR(invalid_producer_epoch, "INVALID_PRODUCER_EPOCH")
    NOCOPY_KAFKA_ERR(invalid_txn_state, "INVALID_TXN_STATE")
    NOCOPY_KAFKA_ERR(invalid_producer_id_mapping, "INVALID_PRODUCER_ID_MAPPING")
    NOCOPY_KAFKA_ERR(invalid_transaction_timeout, "INVALID_TRANSACTION_TIMEOUT")
    NOCOPY_KAFKA_ERR(concurrent_transactions, "CONCURRENT_TRANSACTIONS")
    NOCOPY_KAFKA_ERR(transaction_coordinator_fenced, "TRANSACTION_COORDINATOR_FENCED")
    NOCOPY_KAFKA_ERR(operation_not_attempted, "OPERATION_NOT_ATTEMPTED")
    NOCOPY_KAFKA_ERR(transactional_id_authorization_failed, "TRANSACTIONAL_ID_AUTHORIZATION_FAILED")
    NOCOPY_KAFKA_ERR(security_disabled, "SECURITY_DISABLED")
    NOCOPY_KAFKA_ERR(kafka_storage_error, "KAFKA_STORAGE_ERROR")
    NOCOPY_KAFKA_ERR(sasl_authentication_failed, "SASL_AUTHENTICATION_FAILED")
    NOCOPY_KAFKA_ERR(unknown_producer_id, "UNKNOWN_PRODUCER_ID")
    NOCOPY_KAFKA_ERR(non_empty_group, "NON_EMPTY_GROUP")
    NOCOPY_KAFKA_ERR(group_id_not_found, "GROUP_ID_NOT_FOUND")
    NOCOPY_KAFKA_ERR(fenced_leader_epoch, "FENCED_LEADER_EPOCH")
    NOCOPY_KAFKA_ERR(unknown_leader_epoch, "UNKNOWN_LEADER_EPOCH")
    NOCOPY_KAFKA_ERR(unsupported_compression_type, "UNSUPPORTED_COMPRESSION_TYPE")
    NOCOPY_KAFKA_ERR(member_id_required, "MEMBER_ID_REQUIRED")
    NOCOPY_KAFKA_ERR(preferred_leader_not_available, "PREFERRED_LEADER_NOT_AVAILABLE")
    NOCOPY_KAFKA_ERR(group_max_size_reached, "GROUP_MAX_SIZE_REACHED")
    NOCOPY_KAFKA_ERR(fenced_instance_id, "FENCED_INSTANCE_ID")
    NOCOPY_KAFKA_ERR(eligible_leaders_not_available, "ELIGIBLE_LEADERS_NOT_AVAILABLE")
    NOCOPY_KAFKA_ERR(election_not_needed, "ELECTION_NOT_NEEDED")
    NOCOPY_KAFKA_ERR(group_subscribed_to_topic, "GROUP_SUBSCRIBED_TO_TOPIC")
    NOCOPY_KAFKA_ERR(invalid_record, "INVALID_RECORD")
    NOCOPY_KAFKA_ERR(producer_fenced, "PRODUCER_FENCED")
    NOCOPY_KAFKA_ERR(resource_not_found, "RESOURCE_NOT_FOUND")
    NOCOPY_KAFKA_ERR(duplicate_resource, "DUPLICATE_RESOURCE")
    NOCOPY_KAFKA_ERR(unacceptable_credential, "UNACCEPTABLE_CREDENTIAL")
    NOCOPY_KAFKA_ERR(unknown_topic_id, "UNKNOWN_TOPIC_ID")
    NOCOPY_KAFKA_ERR(inconsistent_topic_id, "INCONSISTENT_TOPIC_ID")
    NOCOPY_KAFKA_ERR(transactional_id_not_found, "TRANSACTIONAL_ID_NOT_FOUND")
#undef NOCOPY_KAFKA_ERR
  }
  return fmt::format("UNKNOWN_{}", static_cast<int>(code));
}

}  // namespace nocopy::kafka
