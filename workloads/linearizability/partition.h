// P-compositionality helper: a history is linearizable iff each of its sub-histories over
// disjoint parts of the state is (Herlihy & Wing's locality). Splitting by key turns one
// exponential search over thousands of operations into many small ones.
#pragma once

#include <algorithm>
#include <cstddef>
#include <map>
#include <numeric>
#include <type_traits>
#include <vector>

namespace weir::workloads::lin {

// Groups operation indices so that operations sharing a key land in one group, transitively
// (an operation over keys a and b, like a multi, joins their groups). `keys(op)` returns the
// keys an operation reads or writes; Key must be ordered. Groups are ordered by their first
// operation and list indices ascending, so the result is a pure function of the history. An
// operation with no keys touches no state and forms a group of its own.
template <typename Op, typename KeysFn>
std::vector<std::vector<size_t>> partition_by_keys(const std::vector<Op>& history, KeysFn keys) {
  std::vector<size_t> parent(history.size());
  std::iota(parent.begin(), parent.end(), size_t{0});
  auto root = [&parent](size_t i) {
    while (parent[i] != i) i = parent[i] = parent[parent[i]];  // path halving, no recursion
    return i;
  };
  using Key = std::decay_t<decltype(*keys(history.front()).begin())>;
  std::map<Key, size_t> owner;  // key -> an operation that touched it
  for (size_t i = 0; i < history.size(); ++i) {
    for (const auto& key : keys(history[i])) {
      auto [it, fresh] = owner.emplace(key, i);
      if (fresh) continue;
      const size_t a = root(i), b = root(it->second);
      if (a != b) parent[std::max(a, b)] = std::min(a, b);  // smaller index stays the root
    }
  }
  std::vector<std::vector<size_t>> groups;
  std::vector<size_t> group_of(history.size(), 0);
  for (size_t i = 0; i < history.size(); ++i) {
    const size_t r = root(i);
    if (r == i) {
      group_of[i] = groups.size();
      groups.emplace_back();
    }
    groups[group_of[r]].push_back(i);
  }
  return groups;
}

}  // namespace weir::workloads::lin
