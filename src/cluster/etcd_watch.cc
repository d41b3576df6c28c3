#include "cluster/etcd_watch.h"

#include <curl/curl.h>

#include <nlohmann/json.hpp>

#include "cluster/base64.h"
#include "cluster/curl_post.h"

namespace nocopy::cluster {

using nlohmann::json;

EtcdWatch::EtcdWatch(std::string endpoint, std::string prefix, std::int64_t start_revision, EventsFn on_events,
                     EndFn on_end)
    : endpoint_(std::move(endpoint)),
      prefix_(std::move(prefix)),
      start_revision_(start_revision),
      on_events_(std::move(on_events)),
      on_end_(std::move(on_end)) {
  thread_ = std::thread([this] { run(); });
}

EtcdWatch::~EtcdWatch() { stop(); }

void EtcdWatch::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

EtcdWatch::Parsed EtcdWatch::parse_line(const std::string& line) {
  Parsed p;
  json j = json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    p.error = "watch stream: a line that is not JSON";
    return p;
  }
  if (j.contains("error")) {
    const json& e = j["error"];
    p.error = "watch stream: " + (e.is_object() ? e.value("message", e.dump()) : e.dump());
    return p;
  }
  const json r = j.value("result", json::object());
  p.revision = json_int(r.value("header", json::object()), "revision");
  p.created = r.value("created", false);
  if (r.value("canceled", false)) {
    p.error = "watch canceled by etcd: " + r.value("cancel_reason", std::string("no reason given"));
    if (auto c = json_int(r, "compact_revision"); c > 0) p.error += " (compacted to revision " + std::to_string(c) + ")";
    return p;
  }
  if (auto it = r.find("events"); it != r.end() && it->is_array()) {
    for (auto& e : *it) {
      WatchEvent ev;
      ev.type = e.value("type", std::string("PUT")) == "DELETE" ? WatchEvent::Type::del : WatchEvent::Type::put;
      ev.kv = EtcdClient::parse_kv(e.value("kv", json::object()));
      p.events.push_back(std::move(ev));
    }
  }
  return p;
}

std::size_t EtcdWatch::on_data(char* data, std::size_t size, std::size_t n, void* self_ptr) {
  auto* self = static_cast<EtcdWatch*>(self_ptr);
  self->pending_.append(data, size * n);
  std::size_t nl;
  while ((nl = self->pending_.find('\n')) != std::string::npos) {
    std::string line = self->pending_.substr(0, nl);
    self->pending_.erase(0, nl + 1);
    if (line.find_first_not_of(" \r\t") == std::string::npos) continue;
    Parsed p;
    try {
      p = parse_line(line);
    } catch (const std::exception& e) {
      p.error = std::string("watch stream: ") + e.what();
    }
    if (!p.error.empty()) {
      self->error_ = p.error;
      return 0;  // aborts the transfer
    }
    if (!p.events.empty()) self->on_events_(p.revision, p.events);
  }
  return size * n;
}

int EtcdWatch::on_progress(void* self_ptr, long long, long long, long long, long long) {
  return static_cast<EtcdWatch*>(self_ptr)->stop_.load() ? 1 : 0;
}

void EtcdWatch::run() {
  json body = {{"create_request",
                {{"key", base64_encode(prefix_)},
                 {"range_end", base64_encode(EtcdClient::prefix_end(prefix_))},
                 {"start_revision", std::to_string(start_revision_)}}}};
  const std::string payload = body.dump();
  const std::string url = endpoint_ + "/v3/watch";
  std::string reason;
  CURL* h = curl_easy_init();
  if (!h) {
    reason = "watch: curl_easy_init failed";
  } else {
    char errbuf[CURL_ERROR_SIZE] = {0};
    const auto headers = setup_json_post(h, url, payload, errbuf);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &EtcdWatch::on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, this);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, &EtcdWatch::on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, this);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 2L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 1L);
    CURLcode rc = curl_easy_perform(h);
    if (stop_.load())
      reason.clear();
    else if (!error_.empty())
      reason = error_;
    else if (rc != CURLE_OK)
      reason = "watch " + endpoint_ + ": " + (errbuf[0] ? errbuf : curl_easy_strerror(rc));
    else
      reason = "watch " + endpoint_ + ": the stream ended";
    curl_easy_cleanup(h);
  }
  ended_ = true;
  on_end_(reason);
}

}  // namespace nocopy::cluster
