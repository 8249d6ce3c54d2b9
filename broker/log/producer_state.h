// What a partition knows of its idempotent producers (Kafka's ProducerStateManager, without
// transactions): per producer id, its epoch and the metadata of its last five batches (first
// and last sequence, first and last offset), which is what a broker needs to recognise a retry
// of a batch it already has (answered with the original offsets, nothing appended) and a gap
// or reordering (OUT_OF_ORDER_SEQUENCE_NUMBER), and to fence an older epoch. Five because an
// idempotent producer has at most five requests in flight per connection (Kafka's limit).
//
// A leader checks every client batch before appending it (check()) and records it after
// (record()); a follower only records what it replicates, so that it can dedupe as soon as it
// leads. The state is a function of the log: truncation and recovery rebuild it from the
// batches that remain.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>

namespace weir::broker::log {

struct ProducerBatch {
  int32_t first_sequence = 0;
  int32_t last_sequence = 0;
  int64_t first_offset = 0;
  int64_t last_offset = 0;
  // When the batch was appended by the broker's clock (its LogAppendTime when the topic uses
  // it, which a duplicate's answer reports): what producer id expiration measures idleness by.
  int64_t timestamp_ms = -1;
  friend bool operator==(const ProducerBatch&, const ProducerBatch&) = default;
};

struct ProducerEntry {
  int16_t epoch = -1;
  std::deque<ProducerBatch> batches;  // oldest first, at most kProducerBatchesKept
};

inline constexpr size_t kProducerBatchesKept = 5;
// Producers a partition remembers at most: past it, recording a new producer forgets the one
// idle longest (whose next batch then gets UNKNOWN_PRODUCER_ID and starts over), so a flood
// of short-lived producer ids cannot grow a broker's memory without bound before
// producer.id.expiration.ms removes them.
inline constexpr size_t kProducersMax = 100000;

enum class SequenceVerdict {
  kAppend,           // the next batch of this producer (or its first, or a new epoch's first)
  kDuplicate,        // a retry of one of its last batches: `duplicate_of` says where it is
  kOutOfOrder,       // a gap or a reordering: OUT_OF_ORDER_SEQUENCE_NUMBER
  kFencedEpoch,      // an older epoch than the producer's: INVALID_PRODUCER_EPOCH
  kUnknownProducer,  // no state and a sequence other than 0: UNKNOWN_PRODUCER_ID
};

struct SequenceCheck {
  SequenceVerdict verdict = SequenceVerdict::kAppend;
  std::optional<ProducerBatch> duplicate_of;
};

class ProducerStateTable {
 public:
  // The verdict on a client batch of `producer_id` at `epoch` with these sequences.
  SequenceCheck check(int64_t producer_id, int16_t epoch, int32_t first_sequence,
                      int32_t last_sequence) const;
  // A batch is in the log at [first_offset, last_offset] (appended as leader or replicated).
  void record(int64_t producer_id, int16_t epoch, const ProducerBatch& batch);
  void clear() { producers_.clear(); }
  // Forgets producers whose last batch is older than expiration_ms at now_ms (Kafka's
  // producer.id.expiration.ms); returns how many.
  size_t expire(int64_t now_ms, int64_t expiration_ms);
  void set_producers_max(size_t n) { producers_max_ = n; }

  const ProducerEntry* find(int64_t producer_id) const;
  size_t size() const { return producers_.size(); }
  const std::map<int64_t, ProducerEntry>& producers() const { return producers_; }

 private:
  void forget_idlest();

  std::map<int64_t, ProducerEntry> producers_;
  size_t producers_max_ = kProducersMax;
};

// The sequence after `sequence`: Kafka's sequences wrap from INT32_MAX to 0.
int32_t next_sequence(int32_t sequence);
// The last sequence of a batch starting at `base` whose last offset delta is `delta` (wrapping).
int32_t last_sequence_of(int32_t base, int32_t delta);

}  // namespace weir::broker::log
