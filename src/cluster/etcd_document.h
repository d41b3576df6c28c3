// EtcdDocument: one etcd key as a security::SharedDocument -- the ACL set and
// the SCRAM credentials of a cluster (keys `acls` and `scram_credentials`
// under the cluster's prefix), shared by every broker.
//
// start() reads the key (retrying for `start_timeout` while etcd cannot be
// reached, then throwing EtcdError) and starts a watch of it from the next
// revision, on its own thread. Every version reaches the listener in
// revision order: the one read at start, those the watch reports, and the
// ones update() stores (delivered by update() itself, so its caller reads
// its own write); a version older than one delivered is dropped. When the
// watch ends (etcd restarted, connection lost, revision compacted) the key
// is read again and watched again on the next endpoint (EtcdWatchLoop);
// meanwhile the last version stays in force.
//
// update(): read the key, ask `change`, then a transaction that puts the new
// text only if the key's mod_revision is still the one read (create_revision
// 0 when it did not exist); when another broker wrote meanwhile, read and ask
// again, up to `max_attempts` times with a short random pause (then
// EtcdError). conflicts() counts the retries.
//
// Thread-safety: every member may be called from any thread, except that
// stop() must not be called from the listener; the listener runs on the
// watch thread or the caller of start()/subscribe()/update(), one call at a
// time. The listener's owner must outlive the watch: stop() (or destroy) the
// document first.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "cluster/etcd_client.h"
#include "cluster/etcd_watch_loop.h"
#include "security/shared_document.h"

namespace nocopy::cluster {

class EtcdDocument : public security::SharedDocument {
 public:
  struct Options {
    std::vector<std::string> endpoints;  ///< "http://host:port"
    std::string key;                     ///< the whole key, prefix included
    std::chrono::milliseconds start_timeout{10000};
    int max_attempts = 50;
  };

  explicit EtcdDocument(Options opts);
  ~EtcdDocument() override;  ///< stop()
  EtcdDocument(const EtcdDocument&) = delete;
  EtcdDocument& operator=(const EtcdDocument&) = delete;

  void start();
  void stop();

  /// One listener; a second call replaces it. Calls it with the current text
  /// at once; when that call throws, the listener is dropped and the
  /// exception passed on.
  void subscribe(Listener listener) override;
  void update(const Change& change) override;

  /// The revision of the version last delivered.
  std::int64_t revision() const;
  std::int64_t conflicts() const { return conflicts_.load(); }
  const std::string& key() const { return opts_.key; }

 private:
  void read_key();  // reads the key and delivers it; throws EtcdError
  void deliver(const Text& text, std::int64_t revision);
  void on_events(const std::vector<WatchEvent>& events);

  Options opts_;
  EtcdClient etcd_;

  mutable std::mutex deliver_mu_;  // serializes the listener; guards what follows
  Listener listener_;
  Text current_;
  std::int64_t revision_ = 0;

  std::atomic<std::int64_t> conflicts_{0};
  EtcdWatchLoop watch_;  // last: stopped before what its callbacks use goes
};

}  // namespace nocopy::cluster
