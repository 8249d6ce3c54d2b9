#include "coord/zab/config.h"

namespace weir::coord::zab {

EnsembleConfig::EnsembleConfig(std::vector<ServerSpec> servers) : servers_(std::move(servers)) {
  for (const auto& s : servers_) {
    if (!s.observer) voters_.insert(s.id);
  }
}

const ServerSpec* EnsembleConfig::find(int64_t id) const {
  for (const auto& s : servers_) {
    if (s.id == id) return &s;
  }
  return nullptr;
}

bool EnsembleConfig::is_voter(int64_t id) const {
  return voters_.count(id) > 0;
}

bool EnsembleConfig::is_quorum(const std::set<int64_t>& ids) const {
  size_t n = 0;
  for (int64_t id : ids) n += voters_.count(id);
  return n * 2 > voters_.size();
}

}  // namespace weir::coord::zab
