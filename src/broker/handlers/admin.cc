// Topic administration, all run on the admin thread (file-system work) with
// the answer posted back to the request's loop: CreateTopics, DeleteTopics,
// CreatePartitions (versions: the API table, from src/kafka/schema).
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "broker/config_describer.h"
#include "broker/groups_service.h"
#include "cluster/cluster_node.h"
#include "broker/handlers/reply.h"
#include "broker/request_handler.h"
#include "kafka/topic_name.h"

namespace nocopy::broker {

using namespace handlers;

namespace {

// One topic of a CreateTopics request, checked for what needs no broker state.
struct CreateTopicItem {
  std::string name;
  std::int32_t partitions;
  std::int16_t rf;
  std::vector<std::vector<std::int32_t>> assignment;  // by partition index; empty: round-robin
  TopicConfig::Overrides configs;
  std::string config_error;  // a null value or a name given twice
  bool denied = false;       // no CREATE on the cluster or the topic
};

// Moves `t` into an item: partitions counted from explicit assignments when
// given, the first malformed assignment or config recorded as its error.
CreateTopicItem create_topic_item(kafka::CreateTopicsRequest::Topic& t, bool denied) {
  const bool has_assignments = !t.assignments.empty();
  const std::int32_t partitions =
      has_assignments ? static_cast<std::int32_t>(t.assignments.size()) : t.num_partitions;
  CreateTopicItem it{std::move(t.name), partitions, t.replication_factor, {}, {}, {}, denied};
  if (has_assignments) {
    it.assignment.resize(t.assignments.size());
    for (auto& a : t.assignments) {
      if (a.partition_index < 0 || static_cast<std::size_t>(a.partition_index) >= it.assignment.size() ||
          !it.assignment[static_cast<std::size_t>(a.partition_index)].empty()) {
        if (it.config_error.empty()) it.config_error = "assignments must number the partitions 0..n-1 once each";
        continue;
      }
      it.assignment[static_cast<std::size_t>(a.partition_index)] = a.broker_ids;
    }
  }
  for (auto& c : t.configs) {
    if (!c.value) {
      if (it.config_error.empty()) it.config_error = "null value for configuration " + c.name;
    } else if (!it.configs.emplace(c.name, std::move(*c.value)).second) {
      if (it.config_error.empty()) it.config_error = "configuration " + c.name + " given more than once";
    }
  }
  return it;
}

}  // namespace

// Authorization: CreateTopics needs CREATE on the cluster or the topic,
// DeleteTopics DELETE and CreatePartitions ALTER on the topic (else
// TOPIC_AUTHORIZATION_FAILED for that topic).
void RequestHandler::create_topics(const Header& h, kafka::CreateTopicsRequest& req, net::EventLoop& loop,
                                   Done& done, const Access& access) {
  const bool cluster_create = access.cluster(security::AclOperation::create);
  std::vector<CreateTopicItem> items;
  items.reserve(req.topics.size());
  for (auto& t : req.topics) {
    const bool denied = !cluster_create && !access.topic(security::AclOperation::create, t.name);
    items.push_back(create_topic_item(t, denied));
  }
  const bool validate_only = req.validate_only;

  admin_.submit([this, items = std::move(items), validate_only, h, &loop, d = std::move(done)]() mutable {
    kafka::CreateTopicsResponse res;
    for (auto& it : items) {
      std::int16_t ec = code(ErrorCode::none);
      std::string msg;
      auto parts = it.partitions == -1 ? cfg_.default_partitions : it.partitions;
      if (it.denied) {
        ec = code(ErrorCode::topic_authorization_failed);
        msg = "not authorized to create topic " + it.name;
      } else if (!kafka::is_valid_topic_name(it.name)) {
        ec = code(ErrorCode::invalid_topic_exception);
        msg = "illegal topic name";
      } else if (cluster_ && it.config_error.empty()) {
        std::string cerr;
        auto checked = TopicConfig::Overrides(it.configs);
        ec = topics_.create(it.name, parts, checked, /*validate_only=*/true, &cerr);
        if (ec == code(ErrorCode::topic_already_exists)) ec = code(ErrorCode::none);  // etcd decides
        if (ec) {
          msg = cerr;
        } else {
          auto r = cluster_->create_topic(it.name, parts, it.rf, it.assignment,
                                          std::map<std::string, std::string>(it.configs.begin(), it.configs.end()),
                                          validate_only);
          ec = r.error_code;
          msg = r.message;
        }
      } else if (it.rf != -1 && it.rf != 1) {
        ec = code(ErrorCode::invalid_replication_factor);
        msg = "replication factor must be 1 (single broker)";
      } else if (!it.config_error.empty()) {
        ec = code(ErrorCode::invalid_config);
        msg = it.config_error;
      } else {
        ec = topics_.create(it.name, parts, it.configs, validate_only, &msg);
      }
      auto& r = res.topics.emplace_back();
      r.name = it.name;
      r.error_code = ec;
      if (ec) r.error_message = msg;
      if (!ec) describe_created(r, it.configs, parts, it.rf, it.assignment);
      // v7+: the new topic's id (zero for validate_only and errors).
      if (!ec && !validate_only) {
        if (cluster_) {
          auto snap = cluster_->snapshot();
          if (auto t = snap->topics.find(it.name); t != snap->topics.end()) r.topic_id = t->second.topic_id;
        } else if (auto t = topics_.find(it.name)) {
          r.topic_id = t->topic_id;
        }
      }
    }
    post_reply(loop, std::move(d), respond(encode(h, res)));
  });
}

// v5+: a created (or validated) topic's partition count, replication
// factor and every topic config it runs with (its overrides as
// DYNAMIC_TOPIC_CONFIG, the rest from the broker), as DescribeConfigs
// reports them.
void RequestHandler::describe_created(kafka::CreateTopicsResponse::Result& r, const TopicConfig::Overrides& overrides,
                                      std::int32_t partitions, std::int16_t rf,
                                      const std::vector<std::vector<std::int32_t>>& assignment) const {
  r.num_partitions = partitions;
  if (!assignment.empty())
    r.replication_factor = static_cast<std::int16_t>(assignment.front().size());
  else
    r.replication_factor = rf != -1 ? rf : static_cast<std::int16_t>(cluster_ ? cfg_.default_replication_factor : 1);
  Topic t;
  t.overrides = overrides;
  r.configs.emplace();
  for (auto& e : ConfigDescriber(cfg_, topics_).topic_entries(t)) {
    auto& c = r.configs->emplace_back();
    c.name = e.name;
    c.value = e.value;
    c.read_only = false;
    c.config_source = e.overridden ? 1 : e.is_default() ? 5 : 4;  // DYNAMIC_TOPIC / DEFAULT / STATIC_BROKER
    c.is_sensitive = false;
  }
}

// v6 names each topic by name or by id: an id is resolved here (unknown:
// UNKNOWN_TOPIC_ID, neither: INVALID_REQUEST) and answered with both.
void RequestHandler::delete_topics(const Header& h, kafka::DeleteTopicsRequest& req, net::EventLoop& loop,
                                   Done& done, const Access& access) {
  struct Item {
    std::optional<std::string> name;
    kafka::Uuid id = kafka::kZeroUuid;
    std::int16_t error = 0;  // decided here
  };
  std::vector<Item> items;
  if (h.api_version >= 6) {
    for (auto& t : req.topics) {
      Item it{std::move(t.name), t.topic_id, 0};
      if (!it.name && kafka::is_zero(it.id)) {
        it.error = code(ErrorCode::invalid_request);
      } else if (!it.name) {
        auto known = topics_.find_id(it.id);
        if (known) it.name = known->name;
        else it.error = code(ErrorCode::unknown_topic_id);
      }
      items.push_back(std::move(it));
    }
  } else {
    for (auto& name : req.topic_names) items.push_back({std::move(name), kafka::kZeroUuid, 0});
  }
  for (auto& it : items)
    if (it.error == 0 && !access.topic(security::AclOperation::remove, *it.name))
      it.error = code(ErrorCode::topic_authorization_failed);
  admin_.submit([this, items = std::move(items), h, &loop, d = std::move(done)]() mutable {
    kafka::DeleteTopicsResponse res;
    for (auto& it : items) {
      auto& r = res.responses.emplace_back();
      if (it.error == 0 && kafka::is_zero(it.id))
        if (auto t = topics_.find(*it.name)) it.id = t->topic_id;
      r.error_code = it.error != 0 ? it.error
                     : cluster_     ? cluster_->delete_topic(*it.name).error_code
                                    : topics_.remove(*it.name);
      r.name = h.api_version >= 6 ? it.name : std::optional<std::string>(it.name.value_or(""));
      r.topic_id = it.id;
    }
    post_reply(loop, std::move(d), respond(encode(h, res)));
  });
}

void RequestHandler::create_partitions(const Header& h, kafka::CreatePartitionsRequest& req, net::EventLoop& loop,
                                       Done& done, const Access& access) {
  struct Item {
    std::string name;
    std::int32_t count = 0;
    std::int16_t error = 0;  // decided here (request-level checks)
    std::string message;
    std::int64_t assignments = -1;  // -1: null (the broker's choice)
  };
  std::vector<Item> items;
  items.reserve(req.topics.size());
  for (auto& t : req.topics) {
    Item it{std::move(t.name), t.count, 0, {}, -1};
    if (!access.topic(security::AclOperation::alter, it.name)) {
      it.error = code(ErrorCode::topic_authorization_failed);
      it.message = "not authorized to alter topic " + it.name;
      items.push_back(std::move(it));
      continue;
    }
    // Single broker: an assignment, if given, names exactly this broker
    // once per new partition. An empty list counts as none (kafkajs sends
    // [] when the caller gives no assignments).
    if (cluster_ && t.assignments && !t.assignments->empty()) {
      it.error = code(ErrorCode::invalid_replica_assignment);
      it.message = "explicit assignments of new partitions are not supported in cluster mode";
    } else if (t.assignments && !t.assignments->empty()) {
      it.assignments = static_cast<std::int64_t>(t.assignments->size());
      for (const auto& a : *t.assignments) {
        if (a.broker_ids.size() != 1 || a.broker_ids[0] != cfg_.node_id) {
          it.error = code(ErrorCode::invalid_replica_assignment);
          it.message = "every new partition must be assigned to broker " + std::to_string(cfg_.node_id) + " only";
        }
      }
    }
    items.push_back(std::move(it));
  }
  // A topic named twice is an error for each mention (Kafka).
  for (auto& a : items) {
    const auto n = std::count_if(items.begin(), items.end(), [&](const Item& b) { return b.name == a.name; });
    if (n > 1) {
      a.error = code(ErrorCode::invalid_request);
      a.message = "duplicate topic in the request";
    }
  }
  const bool validate_only = req.validate_only;
  admin_.submit([this, items = std::move(items), validate_only, h, &loop, d = std::move(done)]() mutable {
    kafka::CreatePartitionsResponse res;
    for (auto& it : items) {
      auto& r = res.results.emplace_back();
      r.name = it.name;
      std::string msg = std::move(it.message);
      if (it.error == 0 && it.name == kOffsetsTopic) {
        it.error = code(ErrorCode::invalid_request);
        msg = "the internal topic's partition count is fixed";
      }
      if (it.error == 0 && it.assignments >= 0) {
        // Assignments, when given, cover exactly the new partitions.
        auto t = topics_.find(it.name);
        if (t && it.count > static_cast<std::int32_t>(t->partitions.size()) &&
            it.assignments != it.count - static_cast<std::int64_t>(t->partitions.size())) {
          it.error = code(ErrorCode::invalid_replica_assignment);
          msg = "got " + std::to_string(it.assignments) + " assignments for " +
                std::to_string(it.count - static_cast<std::int64_t>(t->partitions.size())) + " new partitions";
        }
      }
      if (it.error == 0 && cluster_) {
        // Cluster mode: the new partitions are assigned round-robin over the
        // live brokers (explicit assignments are single-node only).
        auto cr = cluster_->add_partitions(it.name, it.count, validate_only);
        it.error = cr.error_code;
        msg = cr.message;
      } else if (it.error == 0) {
        it.error = topics_.add_partitions(it.name, it.count, validate_only, &msg);
      }
      r.error_code = it.error;
      if (it.error) r.error_message = msg;
    }
    post_reply(loop, std::move(d), respond(encode(h, res)));
  });
}

}  // namespace nocopy::broker
