// The libcurl set-up shared by EtcdClient and EtcdWatch: one easy handle
// prepared to POST a JSON body to etcd's gateway.
#pragma once

#include <curl/curl.h>

#include <memory>
#include <string>

namespace nocopy::cluster {

using CurlHeaders = std::unique_ptr<curl_slist, void (*)(curl_slist*)>;

// Sets `h` to POST `payload` (not copied: it must outlive the transfer) to
// `url` as application/json, without signals, curl's error text going to
// `errbuf` (CURL_ERROR_SIZE bytes). The caller adds the write callback and
// the timeouts and performs the transfer; the header list returned must
// outlive it.
inline CurlHeaders setup_json_post(CURL* h, const std::string& url, const std::string& payload, char* errbuf) {
  CurlHeaders headers(curl_slist_append(nullptr, "Content-Type: application/json"), curl_slist_free_all);
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_POST, 1L);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, payload.c_str());
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(payload.size()));
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  return headers;
}

}  // namespace nocopy::cluster
