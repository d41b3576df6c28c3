// SharedDocument: a security document (the ACL set, the SCRAM credentials)
// stored outside this process and shared by every broker of a cluster; the
// cluster layer keeps one in etcd (cluster/etcd_document.h). A single node
// keeps its documents in files of its data directory instead and uses none.
//
// Contract:
//  * subscribe() calls the listener with the current text at once (nullopt:
//    the document does not exist yet), then with every later version, in
//    the order they were stored, one call at a time, never with an older
//    version than one already delivered;
//  * update() reads the current text, asks `change` for the next one and
//    stores it only if nobody stored another version meanwhile; otherwise it
//    asks `change` again with the newer text (so `change` may run several
//    times and must not have other effects). `change` returning nullopt
//    stores nothing. Before update() returns, the listener has seen the
//    stored text (or a later one). Throws std::runtime_error when the text
//    cannot be stored.
//
// Thread-safety: both members may be called from any thread; a listener must
// not call update().
#pragma once

#include <functional>
#include <optional>
#include <string>

namespace nocopy::security {

class SharedDocument {
 public:
  using Text = std::optional<std::string>;
  using Listener = std::function<void(const Text& text)>;
  using Change = std::function<Text(const Text& current)>;

  virtual ~SharedDocument() = default;
  virtual void subscribe(Listener listener) = 0;
  virtual void update(const Change& change) = 0;
};

}  // namespace nocopy::security
