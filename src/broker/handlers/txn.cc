// Transaction family, served by the transaction coordinator (TxnService):
// AddPartitionsToTxn v0-v3, AddOffsetsToTxn v0-v3, EndTxn v0-v3,
// TxnOffsetCommit v0-v3, DescribeTransactions v0, ListTransactions v0-v1.
// InitProducerId with a transactional id is in produce.cc beside the
// idempotent one. Every call runs on the reactor thread under the
// coordinator's mutex; EndTxn appends its markers (page-cache writes)
// before it answers.
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

}  // namespace nocopy::broker
