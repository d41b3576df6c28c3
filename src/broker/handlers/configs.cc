// Topic configuration: DescribeConfigs v0-v4 (answered at once by
// ConfigDescriber), AlterConfigs v0-v2 and IncrementalAlterConfigs v0-v1
// (one TopicRegistry::alter_config per resource, on the admin thread).
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "broker/config_describer.h"
#include "kafka/describe_configs.h"
#include "broker/handlers/reply.h"
#include "broker/request_handler.h"

namespace nocopy::broker {

using namespace handlers;

namespace {

// DESCRIBE_CONFIGS / ALTER_CONFIGS on a topic or (a broker) the cluster;
// 0 when allowed, else TOPIC_ / CLUSTER_AUTHORIZATION_FAILED.
std::int16_t config_denied(const Access& access, security::AclOperation op, std::int8_t type, const std::string& name) {
  if (static_cast<kafka::ConfigResourceType>(type) == kafka::ConfigResourceType::topic)
    return access.topic(op, name) ? 0 : code(ErrorCode::topic_authorization_failed);
  return access.cluster(op) ? 0 : code(ErrorCode::cluster_authorization_failed);
}

}  // namespace

// Authorization: DESCRIBE_CONFIGS (implied by ALTER_CONFIGS) on each topic,
// on the cluster for a broker; the alter APIs ALTER_CONFIGS.
void RequestHandler::describe_configs(const Header& h, const kafka::DescribeConfigsRequest& req, Done& done,
                                      const Access& access) {
  auto res = ConfigDescriber(cfg_, topics_).describe(req, h.api_version);
  for (auto& r : res.results) {
    if (auto e = config_denied(access, security::AclOperation::describe_configs, r.resource_type, r.resource_name)) {
      r.error_code = e;
      r.error_message = "not authorized to describe the configs of " + r.resource_name;
      r.configs.clear();
    }
  }
  done(respond(encode(h, res)));
}

// ------------------------------------------- AlterConfigs / IncrementalAlter

namespace {

std::int16_t refuse(ErrorCode e, std::string* message, std::string text) {
  if (message) *message = std::move(text);
  return kafka::to_wire(e);
}

// cleanup.policy is Kafka's only list-typed topic config nocopy knows.
bool is_list_config(const std::string& name) { return name == "cleanup.policy"; }

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    auto comma = s.find(',', start);
    if (comma == std::string::npos) comma = s.size();
    auto item = s.substr(start, comma - start);
    while (!item.empty() && item.front() == ' ') item.erase(0, 1);
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (!item.empty()) out.push_back(item);
    start = comma + 1;
  }
  return out;
}

}  // namespace

template <class Resp>
void RequestHandler::alter(const Header& h, std::vector<AlterItem> items, bool validate_only, net::EventLoop& loop,
                           Done& done, const Access& access) {
  for (auto& it : items)
    it.denied = config_denied(access, security::AclOperation::alter_configs, it.type, it.name);
  admin_.submit([this, items = std::move(items), validate_only, h, &loop, d = std::move(done)]() mutable {
    Resp res;
    for (auto& it : items) {
      auto& r = res.responses.emplace_back();
      r.resource_type = it.type;
      r.resource_name = it.name;
      std::string msg;
      if (it.denied) {
        r.error_code = it.denied;
        r.error_message = "not authorized to alter the configs of " + it.name;
        continue;
      }
      switch (static_cast<kafka::ConfigResourceType>(it.type)) {
        case kafka::ConfigResourceType::topic:
          r.error_code = topics_.alter_config(it.name, it.edit, validate_only, &msg);
          break;
        case kafka::ConfigResourceType::broker:
          r.error_code = refuse(ErrorCode::invalid_request, &msg,
                                "broker configs are read-only in nocopy (set them with flags or the TOML file)");
          break;
        default:
          r.error_code = refuse(ErrorCode::invalid_request, &msg, "unsupported resource type " + std::to_string(it.type));
          break;
      }
      if (r.error_code) r.error_message = msg;
    }
    post_reply(loop, std::move(d), respond(encode(h, res)));
  });
}

void RequestHandler::alter_configs(const Header& h, kafka::AlterConfigsRequest& req, net::EventLoop& loop,
                                   Done& done, const Access& access) {
  std::vector<AlterItem> items;
  for (auto& r : req.resources) {
    AlterItem it{r.resource_type, std::move(r.resource_name), {}, 0};
    it.edit = [configs = std::move(r.configs)](TopicConfig::Overrides& o, std::string* message) -> std::int16_t {
      TopicConfig::Overrides next;  // replaces the whole set
      for (const auto& c : configs) {
        if (!c.value) return refuse(ErrorCode::invalid_config, message, "null value for configuration " + c.name);
        if (!next.emplace(c.name, *c.value).second)
          return refuse(ErrorCode::invalid_request, message, "configuration " + c.name + " given more than once");
      }
      o = std::move(next);
      return 0;
    };
    items.push_back(std::move(it));
  }
  alter<kafka::AlterConfigsResponse>(h, std::move(items), req.validate_only, loop, done, access);
}

void RequestHandler::incremental_alter_configs(const Header& h, kafka::IncrementalAlterConfigsRequest& req,
                                               net::EventLoop& loop, Done& done, const Access& access) {
  std::vector<AlterItem> items;
  for (auto& r : req.resources) {
    AlterItem it{r.resource_type, std::move(r.resource_name), {}, 0};
    it.edit = [ops = std::move(r.configs), policy = cfg_.cleanup_policy](TopicConfig::Overrides& o, std::string* message) -> std::int16_t {
      std::map<std::string, int> seen;
      for (const auto& c : ops)
        if (++seen[c.name] > 1)
          return refuse(ErrorCode::invalid_request, message, "configuration " + c.name + " given more than once");
      for (const auto& c : ops) {
        switch (static_cast<kafka::AlterConfigOp>(c.config_operation)) {
          case kafka::AlterConfigOp::set:
            if (!c.value) return refuse(ErrorCode::invalid_config, message, "null value for configuration " + c.name);
            o[c.name] = *c.value;
            break;
          case kafka::AlterConfigOp::delete_:
            o.erase(c.name);
            break;
          case kafka::AlterConfigOp::append:
          case kafka::AlterConfigOp::subtract: {
            if (!is_list_config(c.name))
              return refuse(ErrorCode::invalid_request, message,
                            "APPEND/SUBTRACT apply to list configurations only, not " + c.name);
            if (!c.value) return refuse(ErrorCode::invalid_config, message, "null value for configuration " + c.name);
            auto cur = o.find(c.name);
            auto list = split_list(cur != o.end() ? cur->second : policy);
            for (const auto& v : split_list(*c.value)) {
              auto at = std::find(list.begin(), list.end(), v);
              if (static_cast<kafka::AlterConfigOp>(c.config_operation) == kafka::AlterConfigOp::append) {
                if (at == list.end()) list.push_back(v);
              } else if (at != list.end()) {
                list.erase(at);
              }
            }
            std::string joined;
            for (const auto& v : list) joined += (joined.empty() ? "" : ",") + v;
            o[c.name] = joined;  // validated by the registry (TopicConfig::check)
            break;
          }
          default:
            return refuse(ErrorCode::invalid_request, message,
                          "unknown config operation " + std::to_string(c.config_operation) + " for " + c.name);
        }
      }
      return 0;
    };
    items.push_back(std::move(it));
  }
  alter<kafka::IncrementalAlterConfigsResponse>(h, std::move(items), req.validate_only, loop, done, access);
}

}  // namespace nocopy::broker
