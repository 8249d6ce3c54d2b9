#include "broker/client/partitioner.h"

#include "runtime/assert.h"

namespace weir::broker::client {

// Kafka's Utils.murmur2 in unsigned arithmetic (Java's int wraps the same way; >>> is a
// logical shift, as on uint32_t).
int32_t murmur2(std::string_view data) {
  constexpr uint32_t kSeed = 0x9747b28c;
  constexpr uint32_t kM = 0x5bd1e995;
  constexpr int kR = 24;
  const size_t length = data.size();
  const auto* bytes = reinterpret_cast<const uint8_t*>(data.data());
  uint32_t h = kSeed ^ static_cast<uint32_t>(length);
  const size_t words = length / 4;
  for (size_t i = 0; i < words; ++i) {
    const uint8_t* p = bytes + i * 4;
    uint32_t k = static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
                 (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
    k *= kM;
    k ^= k >> kR;
    k *= kM;
    h *= kM;
    h ^= k;
  }
  const uint8_t* tail = bytes + (length & ~size_t{3});
  switch (length % 4) {
    case 3:
      h ^= static_cast<uint32_t>(tail[2]) << 16;
      [[fallthrough]];
    case 2:
      h ^= static_cast<uint32_t>(tail[1]) << 8;
      [[fallthrough]];
    case 1:
      h ^= static_cast<uint32_t>(tail[0]);
      h *= kM;
      break;
    default:
      break;
  }
  h ^= h >> 13;
  h *= kM;
  h ^= h >> 15;
  return static_cast<int32_t>(h);
}

int32_t partition_for_key(std::string_view key, int32_t num_partitions) {
  WEIR_ASSERT(num_partitions > 0);
  return to_positive(murmur2(key)) % num_partitions;
}

int32_t StickyPartitioner::partition(std::string_view topic, int32_t num_partitions,
                                     const std::vector<int32_t>& available) {
  auto it = sticky_.find(topic);
  if (it != sticky_.end() && it->second < num_partitions) return it->second;
  return next_partition(topic, num_partitions, available, -1);
}

int32_t StickyPartitioner::on_new_batch(std::string_view topic, int32_t num_partitions,
                                        const std::vector<int32_t>& available, int32_t previous) {
  return next_partition(topic, num_partitions, available, previous);
}

// Kafka's StickyPartitionCache.nextPartition: changes the partition only when there is none
// yet or it is still `previous` (another record may have moved it already).
int32_t StickyPartitioner::next_partition(std::string_view topic, int32_t num_partitions,
                                          const std::vector<int32_t>& available, int32_t previous) {
  WEIR_ASSERT(num_partitions > 0);
  auto it = sticky_.find(topic);
  if (it != sticky_.end() && it->second != previous && it->second < num_partitions) {
    return it->second;
  }
  const int32_t old = it == sticky_.end() ? -1 : it->second;
  int32_t next = 0;
  if (available.empty()) {
    next = static_cast<int32_t>(random_.below(static_cast<uint64_t>(num_partitions)));
  } else if (available.size() == 1) {
    next = available.front();
  } else {
    do {
      next = available[random_.below(available.size())];
    } while (next == old);
  }
  if (it == sticky_.end()) {
    sticky_.emplace(std::string(topic), next);
  } else {
    it->second = next;
  }
  return next;
}

}  // namespace weir::broker::client
