// Transaction family, served by the transaction coordinator (TxnService):
// AddPartitionsToTxn v0-v3, AddOffsetsToTxn v0-v3, EndTxn v0-v3,
// TxnOffsetCommit v0-v3, DescribeTransactions v0, ListTransactions v0-v1;
// and WriteTxnMarkers v0-v1, which writes markers into this broker's
// partitions directly (Admin.abortTransaction ends a hanging transaction
// with it).
// InitProducerId with a transactional id is in produce.cc beside the
// idempotent one. Every call runs on the reactor thread under the
// coordinator's mutex; EndTxn appends its markers (page-cache writes)
// before it answers.
#include <string>

#include "broker/groups_service.h"
#include "broker/handlers/reply.h"
#include "broker/request_handler.h"
#include "broker/txn_service.h"

namespace nocopy::broker {

using namespace handlers;

void RequestHandler::add_partitions_to_txn(const Header& h, const kafka::AddPartitionsToTxnRequest& req, Done& done) {
  if (!txn_) {
    kafka::AddPartitionsToTxnResponse r;
    for (const auto& t : req.topics) {
      auto& rt = r.results.emplace_back();
      rt.name = t.name;
      for (std::int32_t p : t.partitions) rt.results.push_back({p, code(ErrorCode::coordinator_not_available)});
    }
    return done(respond(encode(h, r)));
  }
  done(respond(encode(h, txn_->coordinator().add_partitions(req, h.api_version, TxnService::wall_ms()))));
}

void RequestHandler::add_offsets_to_txn(const Header& h, const kafka::AddOffsetsToTxnRequest& req, Done& done) {
  if (!txn_) {
    kafka::AddOffsetsToTxnResponse r;
    r.error_code = code(ErrorCode::coordinator_not_available);
    return done(respond(encode(h, r)));
  }
  done(respond(encode(h, txn_->coordinator().add_offsets(req, h.api_version, TxnService::wall_ms()))));
}

void RequestHandler::end_txn(const Header& h, const kafka::EndTxnRequest& req, Done& done) {
  if (!txn_) {
    kafka::EndTxnResponse r;
    r.error_code = code(ErrorCode::coordinator_not_available);
    return done(respond(encode(h, r)));
  }
  done(respond(encode(h, txn_->coordinator().end_txn(req, h.api_version, TxnService::wall_ms()))));
}

void RequestHandler::txn_offset_commit(const Header& h, const kafka::TxnOffsetCommitRequest& req, Done& done) {
  if (!txn_) {
    kafka::TxnOffsetCommitResponse r;
    for (const auto& t : req.topics) {
      auto& rt = r.topics.emplace_back();
      rt.name = t.name;
      for (const auto& p : t.partitions) rt.partitions.push_back({p.partition_index, code(ErrorCode::coordinator_not_available)});
    }
    return done(respond(encode(h, r)));
  }
  done(respond(encode(h, txn_->coordinator().txn_offset_commit(req, h.api_version))));
}

void RequestHandler::describe_transactions(const Header& h, const kafka::DescribeTransactionsRequest& req,
                                           Done& done) {
  kafka::DescribeTransactionsResponse r;
  if (txn_) {
    r = txn_->coordinator().describe(req);
  } else {
    for (const auto& id : req.transactional_ids) {
      auto& s = r.transaction_states.emplace_back();
      s.transactional_id = id;
      s.error_code = code(ErrorCode::coordinator_not_available);
    }
  }
  done(respond(encode(h, r)));
}

void RequestHandler::list_transactions(const Header& h, const kafka::ListTransactionsRequest& req, Done& done) {
  kafka::ListTransactionsResponse r;
  if (txn_) r = txn_->coordinator().list(req, TxnService::wall_ms());
  else r.error_code = code(ErrorCode::coordinator_not_available);
  done(respond(encode(h, r)));
}

// Each partition gets its marker (Partition::append_marker: an epoch older
// than the partition knows is INVALID_PRODUCER_EPOCH); a partition this
// broker does not serve UNKNOWN_TOPIC_OR_PARTITION (or NOT_LEADER_OR_FOLLOWER
// in cluster mode). The internal topics take only their coordinators'
// records: INVALID_TOPIC_EXCEPTION.
void RequestHandler::write_txn_markers(const Header& h, const kafka::WriteTxnMarkersRequest& req, Done& done) {
  kafka::WriteTxnMarkersResponse r;
  for (const auto& m : req.markers) {
    auto& rm = r.markers.emplace_back();
    rm.producer_id = m.producer_id;
    for (const auto& t : m.topics) {
      auto& rt = rm.topics.emplace_back();
      rt.name = t.name;
      const bool internal = t.name == kOffsetsTopic || t.name == kTxnStateTopic;
      for (std::int32_t index : t.partition_indexes) {
        std::int16_t error = code(ErrorCode::invalid_topic_exception);
        if (!internal) {
          if (auto p = served(t.name, index, &error))
            error = p->append_marker(m.producer_id, m.producer_epoch, m.transaction_result, m.coordinator_epoch);
        }
        rt.partitions.push_back({index, error});
      }
    }
  }
  done(respond(encode(h, r)));
}

}  // namespace nocopy::broker
