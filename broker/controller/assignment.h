// Replica assignment for new topics and partitions, as Kafka's AdminUtils does it, so that an
// operator sees the spread Kafka would give: the first replica of partition p on broker
// (start + p) mod n, the followers shifted by an amount that grows every n partitions, and,
// when brokers have racks, the broker list alternated by rack and no rack given a second
// replica of a partition before every rack has one.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace weir::broker::controller {

struct AssignableBroker {
  int32_t id = -1;
  std::string rack;  // empty: none
};

// Partitions first_partition .. first_partition + partitions - 1. `start_index` and
// `shift` are Kafka's random starting points (callers draw them from IRandom).
// InvalidArgument when replication_factor exceeds the brokers, or some brokers have racks and
// others do not.
absl::StatusOr<std::map<int32_t, std::vector<int32_t>>> assign_replicas(
    std::vector<AssignableBroker> brokers, int32_t partitions, int32_t replication_factor,
    int32_t first_partition, int32_t start_index, int32_t shift);

}  // namespace weir::broker::controller
