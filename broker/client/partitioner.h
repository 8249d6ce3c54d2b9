// Kafka's default partitioning, bit for bit, so that a key lands on the same partition whether
// Weir's producer, Kafka's Java producer or librdkafka (with partitioner=murmur2_random) sends
// it: toPositive(murmur2(key)) % numPartitions, with Kafka's murmur2 (seed 0x9747b28c), and
// KIP-480 sticky partitioning for records without a key: all of them go to one partition until
// its batch is closed, then the producer moves to another one picked at random, so that keyless
// records make full batches instead of one small batch per partition.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/random.h"

namespace weir::broker::client {

// A partition of a topic, ordered by topic then partition.
struct TopicPartition {
  std::string topic;
  int32_t partition = 0;
  auto operator<=>(const TopicPartition&) const = default;
};

// Kafka's Utils.murmur2: MurmurHash2 with seed 0x9747b28c over the bytes, as a signed int.
int32_t murmur2(std::string_view data);
// Kafka's Utils.toPositive: clears the sign bit (not abs: toPositive(INT32_MIN) is 0).
inline int32_t to_positive(int32_t v) {
  return v & 0x7fffffff;
}
// The partition of a keyed record (num_partitions > 0).
int32_t partition_for_key(std::string_view key, int32_t num_partitions);

// KIP-480's StickyPartitionCache: the sticky partition of each topic. `available` lists the
// partitions that have a leader (Kafka's availablePartitionsForTopic); when it is empty any
// partition may be picked.
class StickyPartitioner {
 public:
  explicit StickyPartitioner(IRandom& random) : random_(random) {}

  // The topic's sticky partition, picked on first use.
  int32_t partition(std::string_view topic, int32_t num_partitions,
                    const std::vector<int32_t>& available);
  // A record would have opened a new batch on `previous`: if that is still the sticky
  // partition, pick another one (a different one when more than one is available). Returns
  // the sticky partition after the change.
  int32_t on_new_batch(std::string_view topic, int32_t num_partitions,
                       const std::vector<int32_t>& available, int32_t previous);

 private:
  int32_t next_partition(std::string_view topic, int32_t num_partitions,
                         const std::vector<int32_t>& available, int32_t previous);

  IRandom& random_;
  std::map<std::string, int32_t, std::less<>> sticky_;
};

}  // namespace weir::broker::client
