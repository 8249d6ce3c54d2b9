#include "broker/controller/assignment.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"

namespace weir::broker::controller {
namespace {

int32_t replica_index(int32_t first, int32_t shift, int32_t j, int32_t n) {
  const int32_t s = 1 + (shift + j) % (n - 1);
  return (first + s) % n;
}

// Kafka's rack-alternated list: one broker of each rack in turn.
std::vector<AssignableBroker> rack_alternated(const std::vector<AssignableBroker>& brokers) {
  std::map<std::string, std::vector<AssignableBroker>> by_rack;
  for (const auto& b : brokers) by_rack[b.rack].push_back(b);
  std::vector<AssignableBroker> out;
  for (size_t i = 0; out.size() < brokers.size(); ++i) {
    for (auto& [rack, list] : by_rack) {
      if (i < list.size()) out.push_back(list[i]);
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<std::map<int32_t, std::vector<int32_t>>> assign_replicas(
    std::vector<AssignableBroker> brokers, int32_t partitions, int32_t replication_factor,
    int32_t first_partition, int32_t start_index, int32_t shift) {
  const int32_t n = static_cast<int32_t>(brokers.size());
  if (replication_factor <= 0)
    return absl::InvalidArgumentError("replication factor must be larger than 0");
  if (replication_factor > n)
    return absl::InvalidArgumentError(absl::StrCat("replication factor: ", replication_factor,
                                                   " larger than available brokers: ", n));
  std::sort(brokers.begin(), brokers.end(),
            [](const auto& a, const auto& b) { return a.id < b.id; });
  const size_t with_rack = static_cast<size_t>(
      std::count_if(brokers.begin(), brokers.end(), [](const auto& b) { return !b.rack.empty(); }));
  if (with_rack != 0 && with_rack != brokers.size())
    return absl::InvalidArgumentError(
        "not all brokers have rack information (broker.rack); give every broker one or none");
  const bool racks = with_rack != 0;
  if (racks) brokers = rack_alternated(brokers);
  std::set<std::string> all_racks;
  for (const auto& b : brokers) all_racks.insert(b.rack);
  start_index = ((start_index % n) + n) % n;
  shift = ((shift % n) + n) % n;
  std::map<int32_t, std::vector<int32_t>> out;
  for (int32_t p = first_partition; p < first_partition + partitions; ++p) {
    if (p > 0 && p % n == 0) ++shift;
    const int32_t first = (p + start_index) % n;
    std::vector<int32_t> replicas = {brokers[static_cast<size_t>(first)].id};
    std::set<std::string> used_racks = {brokers[static_cast<size_t>(first)].rack};
    for (int32_t j = 0; static_cast<int32_t>(replicas.size()) < replication_factor; ++j) {
      const auto& b = brokers[static_cast<size_t>(replica_index(first, shift, j % (n - 1), n))];
      if (std::find(replicas.begin(), replicas.end(), b.id) != replicas.end()) continue;
      // With racks: a rack gets a second replica only once every rack has one.
      if (racks && used_racks.count(b.rack) != 0 && used_racks.size() < all_racks.size() &&
          j < 2 * n)
        continue;
      replicas.push_back(b.id);
      used_racks.insert(b.rack);
    }
    out[p] = std::move(replicas);
  }
  return out;
}

}  // namespace weir::broker::controller
