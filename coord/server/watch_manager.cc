#include "coord/server/watch_manager.h"

#include <utility>
#include <vector>

namespace weir::coord::server {

void WatchManager::add_connection(uint64_t conn, Deliver deliver) {
  connections_[conn] = std::move(deliver);
}

void WatchManager::remove_connection(uint64_t conn) {
  connections_.erase(conn);
  forget(data_, conn);
  forget(child_, conn);
}

void WatchManager::forget(Table& table, uint64_t conn) {
  for (auto it = table.begin(); it != table.end();) {
    it->second.erase(conn);
    it = it->second.empty() ? table.erase(it) : std::next(it);
  }
}

void WatchManager::add_data_watch(uint64_t conn, const std::string& path) {
  if (connections_.contains(conn)) data_[path].insert(conn);
}

void WatchManager::add_child_watch(uint64_t conn, const std::string& path) {
  if (connections_.contains(conn)) child_[path].insert(conn);
}

std::set<uint64_t> WatchManager::take(Table& table, const std::string& path) {
  auto it = table.find(path);
  if (it == table.end()) return {};
  std::set<uint64_t> out = std::move(it->second);
  table.erase(it);
  return out;
}

void WatchManager::trigger(const WatchTrigger& t) {
  std::set<uint64_t> fire;
  switch (t.type) {
    case EventType::kNodeCreated:
    case EventType::kNodeDataChanged:
      fire = take(data_, t.path);
      break;
    case EventType::kNodeChildrenChanged:
      fire = take(child_, t.path);
      break;
    case EventType::kNodeDeleted: {
      fire = take(data_, t.path);
      std::set<uint64_t> children = take(child_, t.path);
      fire.insert(children.begin(), children.end());
      break;
    }
  }
  for (uint64_t conn : fire) fire_now(conn, t.type, t.path);
}

void WatchManager::fire_now(uint64_t conn, EventType type, const std::string& path) {
  auto it = connections_.find(conn);
  if (it != connections_.end()) it->second(type, path);
}

std::vector<std::string> WatchManager::watched_path_list() const {
  std::set<std::string> paths;
  for (const Table* table : {&data_, &child_}) {
    for (const auto& [path, conns] : *table) paths.insert(path);
  }
  return {paths.begin(), paths.end()};
}

std::map<std::string, std::set<uint64_t>> WatchManager::by_path() const {
  std::map<std::string, std::set<uint64_t>> out;
  for (const Table* table : {&data_, &child_}) {
    for (const auto& [path, conns] : *table) out[path].insert(conns.begin(), conns.end());
  }
  return out;
}

size_t WatchManager::watch_count() const {
  size_t n = 0;
  for (const auto& [path, conns] : data_) n += conns.size();
  for (const auto& [path, conns] : child_) n += conns.size();
  return n;
}

}  // namespace weir::coord::server
