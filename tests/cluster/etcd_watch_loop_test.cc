// EtcdWatchLoop against a real etcd: a start revision compacted away ends the
// watch, the owner's state is read again and watched from there; restart()
// does the same on request; stop() ends it promptly and start() after it
// does nothing. (An etcd restart is covered through its users:
// EtcdAcls.WatchSurvivesAnEtcdRestart, ClusterNode.SurvivesAnEtcdRestart.)
#include "cluster/etcd_watch_loop.h"

#include <curl/curl.h>
#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "cluster/curl_post.h"
#include "cluster/etcd_client.h"
#include "etcd_process.h"

namespace nocopy::cluster {
namespace {

using namespace std::chrono_literals;
using test::EtcdProcess;
using test::eventually;

// Compacts etcd's history up to `revision` (POST /v3/kv/compaction).
void compact(const std::string& endpoint, std::int64_t revision) {
  CURL* h = curl_easy_init();
  ASSERT_NE(h, nullptr);
  char errbuf[CURL_ERROR_SIZE] = {0};
  const std::string payload = R"({"revision":")" + std::to_string(revision) + R"(","physical":true})";
  std::string body;
  auto headers = setup_json_post(h, endpoint + "/v3/kv/compaction", payload, errbuf);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, +[](char* d, std::size_t s, std::size_t n, void* out) {
    static_cast<std::string*>(out)->append(d, s * n);
    return s * n;
  });
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
  const CURLcode rc = curl_easy_perform(h);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(h);
  ASSERT_EQ(rc, CURLE_OK) << errbuf;
  ASSERT_EQ(status, 200) << body;
}

// An owner of the prefix "/l/": the keys it knows, at a revision.
struct Owner {
  explicit Owner(const EtcdProcess& etcd, std::int64_t revision)
      : client({{etcd.endpoint()}}),
        rev(revision),
        loop({{etcd.endpoint()}, "/l/", "the test's keys", 50ms, 50ms},
             {[this] { read(); }, [this] { return revision_now(); },
              [this](std::int64_t r, const std::vector<WatchEvent>& evs) { events(r, evs); }}) {}
  ~Owner() { loop.stop(); }

  void read() {
    auto r = client.get_prefix("/l/");
    std::lock_guard lk(mu);
    ++reads;
    for (auto& kv : r.kvs) keys.insert(kv.key);
    rev = r.revision;
  }
  void events(std::int64_t r, const std::vector<WatchEvent>& evs) {
    std::lock_guard lk(mu);
    for (auto& e : evs) keys.insert(e.kv.key);
    rev = r;
  }
  std::int64_t revision_now() {
    std::lock_guard lk(mu);
    return rev;
  }
  bool knows(const std::string& key) {
    std::lock_guard lk(mu);
    return keys.contains(key);
  }
  int read_count() {
    std::lock_guard lk(mu);
    return reads;
  }

  EtcdClient client;
  std::mutex mu;
  std::set<std::string> keys;
  std::int64_t rev;
  int reads = 0;
  EtcdWatchLoop loop;  // last: stopped before the rest goes
};

TEST(EtcdWatchLoop, ACompactedStartRevisionIsReadAgainAndWatchedFromThere) {
  NEED_ETCD();
  EtcdProcess etcd;
  EtcdClient c({{etcd.endpoint()}});
  const auto first = c.put("/l/a", "1");
  for (int i = 0; i < 5; ++i) c.put("/l/b", std::to_string(i));
  const auto last = c.put("/other", "x");
  compact(etcd.endpoint(), last);
  Owner o(etcd, first);  // its state predates the compaction: the first watch is canceled
  o.loop.start();
  ASSERT_TRUE(eventually([&] { return o.read_count() == 1; })) << "no read after the compacted watch ended";
  EXPECT_TRUE(o.knows("/l/a"));
  EXPECT_TRUE(o.knows("/l/b"));
  EXPECT_FALSE(o.knows("/other"));
  c.put("/l/c", "after");
  EXPECT_TRUE(eventually([&] { return o.knows("/l/c"); })) << "not watched after the read";
  EXPECT_EQ(o.read_count(), 1);
}

TEST(EtcdWatchLoop, RestartReadsAgainAndStopEndsPromptly) {
  NEED_ETCD();
  EtcdProcess etcd;
  EtcdClient c({{etcd.endpoint()}});
  Owner o(etcd, c.put("/l/before", "0"));
  o.loop.start();
  c.put("/l/x", "1");
  ASSERT_TRUE(eventually([&] { return o.knows("/l/x"); }));
  EXPECT_EQ(o.read_count(), 0) << "a watch that did not end is not read again";
  o.loop.restart("the test asked");
  ASSERT_TRUE(eventually([&] { return o.read_count() == 1; }));
  EXPECT_TRUE(o.knows("/l/before")) << "the read delivers what the watch never saw";
  c.put("/l/y", "2");
  EXPECT_TRUE(eventually([&] { return o.knows("/l/y"); }));
  const auto t0 = std::chrono::steady_clock::now();
  o.loop.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  o.loop.restart("after stop: nothing to restart");
  o.loop.start();  // after stop(): does nothing
  c.put("/l/z", "3");
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(o.knows("/l/z"));
  EXPECT_EQ(o.read_count(), 1);
}

}  // namespace
}  // namespace nocopy::cluster
