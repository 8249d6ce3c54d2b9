// Strong ids shared by every part of the broker. Kafka's protocol carries offsets, epochs and
// producer ids as bare int64/int32 fields side by side, and passing a leader epoch where a
// controller epoch belongs (or an offset where a producer id does) is exactly the kind of bug
// the type system can rule out. The codecs convert at the edge; everything inside uses these.
#pragma once

#include <cstdint>

#include "runtime/strong_id.h"

namespace weir::broker {

// A record's position in a partition (Kafka's offset); -1 is Kafka's "none" on the wire.
struct OffsetTag {};
using Offset = StrongId<OffsetTag, int64_t>;

// The generation of a partition's leadership; stamped into every batch the leader appends
// (RecordBatch.partitionLeaderEpoch). -1 means "unknown" (Kafka's NO_PARTITION_LEADER_EPOCH).
struct LeaderEpochTag {};
using LeaderEpoch = StrongId<LeaderEpochTag, int32_t>;

// The generation of the cluster's controller, which fences stale controllers.
struct ControllerEpochTag {};
using ControllerEpoch = StrongId<ControllerEpochTag, int32_t>;

struct ProducerIdTag {};
using ProducerId = StrongId<ProducerIdTag, int64_t>;
struct ProducerEpochTag {};
using ProducerEpoch = StrongId<ProducerEpochTag, int16_t>;

// A consumer group's generation.
struct GenerationTag {};
using Generation = StrongId<GenerationTag, int32_t>;

// Brokers are nodes: the runtime's NodeId.
using weir::NodeId;

inline constexpr Offset kNoOffset{-1};
inline constexpr LeaderEpoch kNoLeaderEpoch{-1};

}  // namespace weir::broker
