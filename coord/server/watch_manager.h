// One-shot data and child watches of one server's connections. It exists because watches are
// local state (never replicated): a txn applied here fires the watches its triggers match, and
// each firing must reach the connection's send queue synchronously, inside the apply, so that
// the notification is queued before any later reply of that connection (ZooKeeper's "a client
// sees the watch event before it sees the new data").
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "coord/tree/types.h"

namespace weir::coord::server {

class WatchManager {
 public:
  // Queues one WatcherEvent on a connection; must not suspend.
  using Deliver = std::function<void(EventType type, const std::string& path)>;

  void add_connection(uint64_t conn, Deliver deliver);
  // Forgets the connection and every watch it holds.
  void remove_connection(uint64_t conn);

  // Data watches are set by getData and exists (exists on a missing node waits for its
  // creation); child watches by getChildren.
  void add_data_watch(uint64_t conn, const std::string& path);
  void add_child_watch(uint64_t conn, const std::string& path);

  // Fires (and removes) the watches `trigger` matches, as ZooKeeper's DataTree does: a
  // connection watching a deleted node both ways hears one NodeDeleted.
  void trigger(const WatchTrigger& trigger);
  // Delivers an event to one connection now (setWatches for a change the client missed).
  void fire_now(uint64_t conn, EventType type, const std::string& path);

  // Every path some connection watches, either way, sorted.
  std::vector<std::string> watched_path_list() const;

  size_t watch_count() const;
  // Every watched path with the connections watching it either way (wchp, wchc, wchs).
  std::map<std::string, std::set<uint64_t>> by_path() const;
  size_t watched_paths() const { return data_.size() + child_.size(); }

 private:
  using Table = std::map<std::string, std::set<uint64_t>, std::less<>>;
  static std::set<uint64_t> take(Table& table, const std::string& path);
  void forget(Table& table, uint64_t conn);

  // Ordered so that firing order never depends on hashing.
  Table data_;
  Table child_;
  std::map<uint64_t, Deliver> connections_;
};

}  // namespace weir::coord::server
