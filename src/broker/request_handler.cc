// Dispatch only: decodes the frame once and hands the body to the handler of
// its API family. The handlers live in src/broker/handlers/, one file per
// family, each stating the versions it serves:
//   produce.cc       Produce (acks=-1 flush wait), InitProducerId
//   fetch.cc         Fetch (long-poll wait)
//   metadata.cc      Metadata (auto-creation on the admin thread)
//   list_offsets.cc  ListOffsets
//   replication.cc   OffsetForLeaderEpoch
//   admin.cc         CreateTopics, DeleteTopics, CreatePartitions
//   configs.cc       DescribeConfigs, AlterConfigs, IncrementalAlterConfigs
//   groups.cc        FindCoordinator and the group APIs (GroupsService)
//   security.cc      SaslHandshake/SaslAuthenticate outside an exchange,
//                    Describe/AlterUserScramCredentials
//   acls.cc          DescribeAcls, CreateAcls, DeleteAcls
//   txn.cc           AddPartitionsToTxn, AddOffsetsToTxn, EndTxn, TxnOffsetCommit,
//                    DescribeTransactions, ListTransactions (TxnService)
//   reply.h          helpers they share
// ApiVersions is answered here: it belongs to the negotiation, not a family.
#include "broker/request_handler.h"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <variant>

#include "broker/groups_service.h"
#include "broker/handlers/reply.h"
#include "kafka/api_key.h"
#include "kafka/api_versions.h"
#include "kafka/reader.h"
#include "net/event_loop.h"
#include "security/authorizer.h"

namespace nocopy::broker {

using namespace handlers;

buf::Chain handlers::to_chain(kafka::EncodedResponse enc, const std::vector<std::vector<buf::FileRegion>>& regions) {
  buf::Chain c;
  auto all = buf::Buffer::adopt(std::move(enc.bytes));
  std::size_t at = 0;
  for (const kafka::SplicePoint& sp : enc.splices) {
    if (sp.offset > at) c.append(all.slice(at, sp.offset - at));
    at = sp.offset;
    for (const buf::FileRegion& r : regions.at(sp.index)) c.append(r);
  }
  if (all.size() > at) c.append(all.slice(at, all.size() - at));
  return c;
}

buf::Buffer to_buffer(std::vector<std::byte>&& bytes) { return buf::Buffer::adopt(std::move(bytes)); }

RequestHandler::RequestHandler(const Config& cfg, TopicRegistry& topics, Metrics& metrics, AdminThread& admin)
    : cfg_(cfg), topics_(topics), metrics_(metrics), admin_(admin) {
  if (const char* every = std::getenv("NOCOPY_FAULT_DROP_PRODUCE_RESPONSE_EVERY")) {
    drop_produce_every_ = std::strtoull(every, nullptr, 10);
    if (drop_produce_every_) spdlog::warn("fault injection on: every {}th produce response is dropped", drop_produce_every_);
  }
}

Access RequestHandler::access_of(const ClientContext& client) const {
  return Access(authz_ && authz_->enabled() ? authz_ : nullptr, client);
}

HostPort RequestHandler::advertised_to(const ClientContext& client) const {
  return client.advertised.host.empty() ? cfg_.advertised_address() : client.advertised;
}

void RequestHandler::handle(std::span<std::byte> frame, net::EventLoop& loop, Done done, const ClientContext& client) {
  // Group APIs go to GroupsService whole: it decodes them itself, so the
  // frame is still decoded exactly once. Only the api key is peeked here.
  if (groups_) {
    kafka::Reader peek(frame);
    const std::int16_t key = peek.i16();
    if (peek.ok() && GroupsService::handles(key))
      return group_api(key, frame, loop, done, access_of(client));
  }

  kafka::DecodedRequest req = kafka::decode_request(frame);
  if (!req.header_ok) return done(close_reply("truncated request header"));
  const kafka::RequestHeader& h = req.header;
  metrics_.on_request(h.api_key, h.api_version, frame.size() + 4);

  if (req.status == kafka::RequestStatus::unknown_api || (!groups_ && GroupsService::handles(h.api_key)))
    return done(close_reply(fmt::format("unknown API key {}", h.api_key)));
  // ApiVersions is answered whatever its version or body (KIP-511).
  if (h.api_key == static_cast<std::int16_t>(kafka::ApiKey::api_versions)) return api_versions(req, done);
  if (req.status == kafka::RequestStatus::unsupported_version)
    return done(close_reply(fmt::format("unsupported version {} of {}", h.api_version, kafka::api_label(h.api_key))));
  if (req.status != kafka::RequestStatus::ok)
    return done(close_reply(fmt::format("malformed {} request", kafka::api_label(h.api_key))));

  auto wrapped = [this, key = h.api_key, d = std::move(done)](Reply rep) mutable {
    if (rep.kind == Reply::Kind::respond) metrics_.on_response(key, rep.chain.length());
    d(std::move(rep));
  };
  Done cb = std::move(wrapped);
  const Access access = access_of(client);
  std::visit(
      [&](auto& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, kafka::MetadataRequest>) metadata(h, body, loop, cb, client, access);
        else if constexpr (std::is_same_v<T, kafka::ProduceRequest>) produce(h, body, frame, loop, cb, access);
        else if constexpr (std::is_same_v<T, kafka::FetchRequest>) fetch(h, body, loop, cb, access);
        else if constexpr (std::is_same_v<T, kafka::ListOffsetsRequest>) list_offsets(h, body, cb, access);
        else if constexpr (std::is_same_v<T, kafka::OffsetForLeaderEpochRequest>) offset_for_leader_epoch(h, body, cb, access);
        else if constexpr (std::is_same_v<T, kafka::CreateTopicsRequest>) create_topics(h, body, loop, cb, access);
        else if constexpr (std::is_same_v<T, kafka::DeleteTopicsRequest>) delete_topics(h, body, loop, cb, access);
        else if constexpr (std::is_same_v<T, kafka::FindCoordinatorRequest>) find_coordinator(h, body, cb, client);
        else if constexpr (std::is_same_v<T, kafka::DescribeClusterRequest>) describe_cluster(h, body, cb, client);
        else if constexpr (std::is_same_v<T, kafka::ElectLeadersRequest>) elect_leaders(h, body, loop, cb, access);
        else if constexpr (std::is_same_v<T, kafka::InitProducerIdRequest>) init_producer_id(h, body, loop, cb, access);
        else if constexpr (std::is_same_v<T, kafka::DescribeConfigsRequest>) describe_configs(h, body, cb, access);
        else if constexpr (std::is_same_v<T, kafka::CreatePartitionsRequest>) create_partitions(h, body, loop, cb, access);
        else if constexpr (std::is_same_v<T, kafka::AlterConfigsRequest>) alter_configs(h, body, loop, cb, access);
        else if constexpr (std::is_same_v<T, kafka::IncrementalAlterConfigsRequest>)
          incremental_alter_configs(h, body, loop, cb, access);
        else if constexpr (std::is_same_v<T, kafka::AddPartitionsToTxnRequest>) add_partitions_to_txn(h, body, loop, cb, access);
        else if constexpr (std::is_same_v<T, kafka::AddOffsetsToTxnRequest>) add_offsets_to_txn(h, body, loop, cb, access);
        else if constexpr (std::is_same_v<T, kafka::EndTxnRequest>) end_txn(h, body, loop, cb, access);
        else if constexpr (std::is_same_v<T, kafka::TxnOffsetCommitRequest>) txn_offset_commit(h, body, loop, cb, access);
        else if constexpr (std::is_same_v<T, kafka::DescribeTransactionsRequest>) describe_transactions(h, body, loop, cb, access);
        else if constexpr (std::is_same_v<T, kafka::ListTransactionsRequest>) list_transactions(h, body, loop, cb, access);
        else if constexpr (std::is_same_v<T, kafka::DescribeAclsRequest>) describe_acls(h, body, cb, access);
        else if constexpr (std::is_same_v<T, kafka::CreateAclsRequest>) create_acls(h, body, loop, cb, access);
        else if constexpr (std::is_same_v<T, kafka::DeleteAclsRequest>) delete_acls(h, body, loop, cb, access);
        else if constexpr (std::is_same_v<T, kafka::SaslHandshakeRequest> ||
                           std::is_same_v<T, kafka::SaslAuthenticateRequest>)
          sasl_not_expected(h, cb);
        else if constexpr (std::is_same_v<T, kafka::DescribeUserScramCredentialsRequest>)
          describe_user_scram_credentials(h, body, cb, access);
        else if constexpr (std::is_same_v<T, kafka::AlterUserScramCredentialsRequest>)
          alter_user_scram_credentials(h, body, loop, cb, access);
        else if constexpr (std::is_same_v<T, kafka::WriteTxnMarkersRequest>) write_txn_markers(h, body, loop, cb, access);
        else cb(close_reply(fmt::format("unhandled API key {}", h.api_key)));
      },
      req.body);
}

// ApiVersions v0-v5, with the transaction.version feature at the broker's
// level. A body that does not decode at a supported version is answered as
// v0-v2's empty one (KIP-511); a decoded one is checked as Kafka does
// (software names v3+, cluster and node v5+).
void RequestHandler::api_versions(const kafka::DecodedRequest& req, Done& done) {
  const Header& h = req.header;
  // Unsupported version: UNSUPPORTED_VERSION with ApiVersions' own range,
  // encoded in the v0 layout (encode_response does that).
  kafka::ApiVersionsResponse res = kafka::make_api_versions_response(h.api_version, cfg_.transaction_version);
  if (const auto* body = std::get_if<kafka::ApiVersionsRequest>(&req.body)) {
    const ErrorCode e = kafka::check_api_versions_request(*body, h.api_version, kClusterId, cfg_.node_id);
    if (e != ErrorCode::none) res = kafka::api_versions_error_response(e);
  }
  if (!groups_) std::erase_if(res.api_keys, [](const auto& a) { return GroupsService::handles(a.api_key); });
  auto chain = encode(h, res);
  metrics_.on_response(h.api_key, chain.length());
  done(respond(std::move(chain)));
}

}  // namespace nocopy::broker
