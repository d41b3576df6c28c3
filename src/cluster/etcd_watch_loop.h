// EtcdWatchLoop: keeps a prefix watched for as long as it runs -- one
// EtcdWatch after another, the owner's state read again before each new one --
// so that the owner's copy of the prefix follows etcd across etcd restarts,
// broken connections and compaction. Used by ClusterNode (the whole cluster
// prefix) and EtcdDocument (one key).
//
// start() starts the loop's thread, which watches `prefix` on one of
// `endpoints` from revision() + 1: the owner has already read its state at
// revision(). The stream's events reach on_events in revision order (see
// EtcdWatch). The watch ends when
// - the stream breaks or etcd closes it (etcd stopped, the connection cut; a
//   dead peer is noticed by TCP keepalive within about ten seconds),
// - etcd cancels it because its start revision was compacted away,
// - or the owner calls restart(reason).
// The loop then logs why, pauses `restart_pause`, calls read() -- which reads
// the owner's state again and delivers it, events missed meanwhile included
// -- and watches again from revision() + 1 on the next endpoint. A read() that
// throws EtcdError is logged and tried again every `retry_pause`; the owner's
// last state stays in force meanwhile. Nothing is resumed: every new watch
// follows a full read.
//
// Callbacks: read() and revision() run on the loop's thread, on_events on the
// stream's thread; never two at once (a watch is stopped before read() runs).
// They must not call stop().
//
// Thread-safety: restart() may be called from any thread, the callbacks
// included (a request made while no watch is open ends the next one). stop()
// may be called from any thread but the callbacks, any number of times, and
// also before start(): it ends the stream (within about a second,
// EtcdWatch::stop), waits for a read() under way, and joins the thread; a
// start() after it does nothing. The callbacks' owner must outlive the loop
// or stop() it first.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cluster/etcd_watch.h"

namespace nocopy::cluster {

class EtcdWatchLoop {
 public:
  struct Options {
    std::vector<std::string> endpoints;  ///< "http://host:port"; each new watch tries the next
    std::string prefix;                  ///< every key under it is watched
    std::string what;                    ///< what read() reads, for the log ("the cluster state")
    std::chrono::milliseconds restart_pause{300};
    std::chrono::milliseconds retry_pause{500};
  };
  struct Callbacks {
    std::function<void()> read;                ///< reads the state again and delivers it; throws EtcdError
    std::function<std::int64_t()> revision;    ///< the revision the owner's state is at
    EtcdWatch::EventsFn on_events;
  };

  EtcdWatchLoop(Options opts, Callbacks callbacks);
  ~EtcdWatchLoop();  ///< stop()
  EtcdWatchLoop(const EtcdWatchLoop&) = delete;
  EtcdWatchLoop& operator=(const EtcdWatchLoop&) = delete;

  void start();
  void stop();
  /// Ends the current watch (`reason` is logged) so that the state is read
  /// again; a watch that ended by itself meanwhile is logged with its own.
  void restart(std::string reason);

 private:
  void run();
  std::string watch_until_end(const std::string& endpoint);  // why it ended; empty: stop()
  void pause(std::chrono::milliseconds d);

  Options opts_;
  Callbacks cb_;
  std::mutex mu_;  // guards what follows, with cv_
  std::condition_variable cv_;
  bool stop_ = false;
  std::string restart_;  // a pending restart()'s reason
  std::thread thread_;
};

}  // namespace nocopy::cluster
