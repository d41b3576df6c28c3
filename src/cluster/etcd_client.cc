#include "cluster/etcd_client.h"

#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include <mutex>
#include <thread>

#include "cluster/base64.h"
#include "cluster/curl_post.h"

namespace nocopy::cluster {

using nlohmann::json;

namespace {

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) throw EtcdError("curl_global_init failed");
  });
}

std::size_t append_body(char* data, std::size_t size, std::size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

// gRPC status codes that mean "try another endpoint".
bool retryable_grpc(std::int64_t code) {
  return code == 14 /*UNAVAILABLE*/ || code == 4 /*DEADLINE_EXCEEDED*/;
}

const char* compare_target(Compare::Target t) {
  switch (t) {
    case Compare::Target::version: return "VERSION";
    case Compare::Target::create: return "CREATE";
    case Compare::Target::mod: return "MOD";
    case Compare::Target::value: return "VALUE";
  }
  return "MOD";
}

const char* compare_result(Compare::Result r) {
  switch (r) {
    case Compare::Result::equal: return "EQUAL";
    case Compare::Result::greater: return "GREATER";
    case Compare::Result::less: return "LESS";
    case Compare::Result::not_equal: return "NOT_EQUAL";
  }
  return "EQUAL";
}

json compare_json(const Compare& c) {
  json j = {{"key", base64_encode(c.key)}, {"target", compare_target(c.target)}, {"result", compare_result(c.result)}};
  switch (c.target) {
    case Compare::Target::version: j["version"] = std::to_string(c.number); break;
    case Compare::Target::create: j["create_revision"] = std::to_string(c.number); break;
    case Compare::Target::mod: j["mod_revision"] = std::to_string(c.number); break;
    case Compare::Target::value: j["value"] = base64_encode(c.value); break;
  }
  return j;
}

json range_json(const std::string& key, bool prefix) {
  json j = {{"key", base64_encode(key)}};
  if (prefix) j["range_end"] = base64_encode(EtcdClient::prefix_end(key));
  return j;
}

json op_json(const Op& op) {
  switch (op.kind) {
    case Op::Kind::put: {
      json p = {{"key", base64_encode(op.key)}, {"value", base64_encode(op.value)}};
      if (op.lease) p["lease"] = std::to_string(op.lease);
      return {{"request_put", p}};
    }
    case Op::Kind::del: return {{"request_delete_range", range_json(op.key, op.prefix)}};
    case Op::Kind::get: return {{"request_range", range_json(op.key, op.prefix)}};
  }
  return {};
}

std::vector<KeyValue> parse_kvs(const json& obj) {
  std::vector<KeyValue> out;
  if (auto it = obj.find("kvs"); it != obj.end() && it->is_array())
    for (auto& kv : *it) out.push_back(EtcdClient::parse_kv(kv));
  return out;
}

}  // namespace

std::int64_t json_int(const json& obj, const char* field) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return 0;
  if (it->is_number_integer()) return it->get<std::int64_t>();
  if (it->is_string()) {
    const auto& s = it->get_ref<const std::string&>();
    try {
      std::size_t used = 0;
      long long v = std::stoll(s, &used);
      if (used == s.size()) return v;
    } catch (const std::exception&) {
    }
  }
  throw EtcdError(std::string("etcd: field '") + field + "' is not an integer: " + it->dump());
}

KeyValue EtcdClient::parse_kv(const json& j) {
  KeyValue kv;
  if (auto it = j.find("key"); it != j.end()) kv.key = base64_decode(it->get<std::string>());
  if (auto it = j.find("value"); it != j.end()) kv.value = base64_decode(it->get<std::string>());
  kv.create_revision = json_int(j, "create_revision");
  kv.mod_revision = json_int(j, "mod_revision");
  kv.version = json_int(j, "version");
  kv.lease = json_int(j, "lease");
  return kv;
}

std::vector<std::string> EtcdClient::parse_endpoints(const std::string& spec) {
  std::string rest = spec;
  for (const char* scheme : {"etcd://", "http://"})
    if (rest.starts_with(scheme)) rest = rest.substr(std::char_traits<char>::length(scheme));
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= rest.size()) {
    auto comma = rest.find(',', start);
    auto item = rest.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (item.starts_with("http://")) item = item.substr(7);
    auto colon = item.rfind(':');
    if (item.empty() || colon == std::string::npos || colon == 0 || colon + 1 == item.size() ||
        item.find_first_not_of("0123456789", colon + 1) != std::string::npos)
      throw std::invalid_argument("etcd endpoints '" + spec + "': expected etcd://HOST:PORT[,HOST:PORT...]");
    out.push_back("http://" + item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string EtcdClient::prefix_end(const std::string& prefix) {
  std::string end = prefix;
  while (!end.empty()) {
    auto& c = reinterpret_cast<unsigned char&>(end.back());
    if (c < 0xff) {
      ++c;
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // every key
}

EtcdClient::EtcdClient(Options opts) : opts_(std::move(opts)) {
  if (opts_.endpoints.empty()) throw std::invalid_argument("etcd client: no endpoints");
  global_init();
}

EtcdClient::~EtcdClient() {
  for (void* h : idle_) curl_easy_cleanup(static_cast<CURL*>(h));
}

void* EtcdClient::take_handle() {
  {
    std::lock_guard lk(mu_);
    if (!idle_.empty()) {
      void* h = idle_.back();
      idle_.pop_back();
      return h;
    }
  }
  CURL* h = curl_easy_init();
  if (!h) throw EtcdError("etcd: curl_easy_init failed");
  return h;
}

void EtcdClient::give_back(void* h) {
  std::lock_guard lk(mu_);
  if (idle_.size() < 8)
    idle_.push_back(h);
  else
    curl_easy_cleanup(static_cast<CURL*>(h));
}

// Posts `body` to `path` on each endpoint in turn (starting with the one that
// last answered) until one answers; returns the parsed answer.
json EtcdClient::call(const char* path, const json& body) {
  const std::string payload = body.dump();
  std::size_t first;
  {
    std::lock_guard lk(mu_);
    first = preferred_;
  }
  std::string errors;
  CURL* h = static_cast<CURL*>(take_handle());
  struct Giver {
    EtcdClient* c;
    CURL* h;
    ~Giver() { c->give_back(h); }
  } giver{this, h};
  for (std::size_t i = 0; i < opts_.endpoints.size(); ++i) {
    const std::size_t idx = (first + i) % opts_.endpoints.size();
    const std::string url = opts_.endpoints[idx] + path;
    std::string response;
    char errbuf[CURL_ERROR_SIZE] = {0};
    curl_easy_reset(h);
    const auto headers = setup_json_post(h, url, payload, errbuf);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, append_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &response);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(opts_.timeout.count()));
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(opts_.connect_timeout.count()));
    CURLcode rc = curl_easy_perform(h);
    if (rc != CURLE_OK) {
      errors += "; " + opts_.endpoints[idx] + ": " + (errbuf[0] ? errbuf : curl_easy_strerror(rc));
      continue;
    }
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    json answer = json::parse(response, nullptr, /*allow_exceptions=*/false);
    if (answer.is_discarded() || !answer.is_object()) {
      errors += "; " + opts_.endpoints[idx] + ": HTTP " + std::to_string(status) + " with a body that is not JSON";
      continue;
    }
    if (status != 200 || answer.contains("error")) {
      const std::int64_t code = json_int(answer, "code");
      std::string msg = answer.value("message", answer.value("error", std::string("HTTP ") + std::to_string(status)));
      if (retryable_grpc(code) || (status >= 500 && code == 0)) {
        errors += "; " + opts_.endpoints[idx] + ": " + msg;
        continue;
      }
      throw EtcdError(std::string("etcd ") + path + " at " + opts_.endpoints[idx] + ": " + msg +
                      " (grpc code " + std::to_string(code) + ")");
    }
    if (idx != first) {
      std::lock_guard lk(mu_);
      preferred_ = idx;
    }
    return answer;
  }
  throw EtcdError(std::string("etcd ") + path + ": no endpoint answered" + errors);
}

RangeResult EtcdClient::get(const std::string& key) {
  json a = call("/v3/kv/range", range_json(key, false));
  return {json_int(a.value("header", json::object()), "revision"), parse_kvs(a)};
}

RangeResult EtcdClient::get_prefix(const std::string& prefix) {
  json a = call("/v3/kv/range", range_json(prefix, true));
  return {json_int(a.value("header", json::object()), "revision"), parse_kvs(a)};
}

std::int64_t EtcdClient::put(const std::string& key, const std::string& value, std::int64_t lease) {
  json body = {{"key", base64_encode(key)}, {"value", base64_encode(value)}};
  if (lease) body["lease"] = std::to_string(lease);
  json a = call("/v3/kv/put", body);
  return json_int(a.value("header", json::object()), "revision");
}

std::int64_t EtcdClient::del(const std::string& key, bool prefix) {
  json a = call("/v3/kv/deleterange", range_json(key, prefix));
  return json_int(a, "deleted");
}

TxnResult EtcdClient::txn(const std::vector<Compare>& compares, const std::vector<Op>& success,
                          const std::vector<Op>& failure) {
  json body = {{"compare", json::array()}, {"success", json::array()}, {"failure", json::array()}};
  for (auto& c : compares) body["compare"].push_back(compare_json(c));
  for (auto& o : success) body["success"].push_back(op_json(o));
  for (auto& o : failure) body["failure"].push_back(op_json(o));
  json a = call("/v3/kv/txn", body);
  TxnResult r;
  r.succeeded = a.value("succeeded", false);
  r.revision = json_int(a.value("header", json::object()), "revision");
  if (auto it = a.find("responses"); it != a.end() && it->is_array())
    for (auto& resp : *it)
      if (auto rr = resp.find("response_range"); rr != resp.end()) r.gets.push_back(parse_kvs(*rr));
  return r;
}

std::int64_t EtcdClient::lease_grant(std::int64_t ttl_seconds) {
  json a = call("/v3/lease/grant", {{"TTL", std::to_string(ttl_seconds)}});
  if (a.contains("error") && !a["error"].get<std::string>().empty())
    throw EtcdError("etcd lease grant: " + a["error"].get<std::string>());
  std::int64_t id = json_int(a, "ID");
  if (id == 0) throw EtcdError("etcd lease grant: no lease id in " + a.dump());
  return id;
}

std::int64_t EtcdClient::lease_keepalive(std::int64_t id) {
  json a = call("/v3/lease/keepalive", {{"ID", std::to_string(id)}});
  return json_int(a.value("result", json::object()), "TTL");
}

void EtcdClient::lease_revoke(std::int64_t id) { call("/v3/lease/revoke", {{"ID", std::to_string(id)}}); }

void retry_until(std::chrono::steady_clock::time_point deadline, std::string_view what,
                 const std::function<void()>& attempt, std::chrono::milliseconds pause) {
  for (;;) {
    try {
      attempt();
      return;
    } catch (const EtcdError& e) {
      if (std::chrono::steady_clock::now() >= deadline) throw;
      spdlog::warn("cluster: {}: {} (retrying)", what, e.what());
      std::this_thread::sleep_for(pause);
    }
  }
}

}  // namespace nocopy::cluster
