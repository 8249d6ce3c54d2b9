#include "broker/log/producer_state.h"

#include <limits>

namespace weir::broker::log {

int32_t next_sequence(int32_t sequence) {
  return sequence == std::numeric_limits<int32_t>::max() ? 0 : sequence + 1;
}

int32_t last_sequence_of(int32_t base, int32_t delta) {
  const int64_t last = int64_t{base} + delta;
  constexpr int64_t kWrap = int64_t{std::numeric_limits<int32_t>::max()} + 1;
  return static_cast<int32_t>(last >= kWrap ? last - kWrap : last);
}

const ProducerEntry* ProducerStateTable::find(int64_t producer_id) const {
  auto it = producers_.find(producer_id);
  return it == producers_.end() ? nullptr : &it->second;
}

SequenceCheck ProducerStateTable::check(int64_t producer_id, int16_t epoch, int32_t first_sequence,
                                        int32_t last_sequence) const {
  const ProducerEntry* e = find(producer_id);
  if (e == nullptr || e->batches.empty()) {
    // A producer the log has no batch of starts at sequence 0 (a new id, or a new epoch after
    // its state expired); anything else lost its history (Kafka's UNKNOWN_PRODUCER_ID, which
    // makes the client bump its epoch and start over).
    if (e != nullptr && epoch < e->epoch) return {SequenceVerdict::kFencedEpoch, std::nullopt};
    if (first_sequence == 0) return {SequenceVerdict::kAppend, std::nullopt};
    return {SequenceVerdict::kUnknownProducer, std::nullopt};
  }
  if (epoch < e->epoch) return {SequenceVerdict::kFencedEpoch, std::nullopt};
  if (epoch > e->epoch) {
    // A new epoch starts its sequences again.
    if (first_sequence == 0) return {SequenceVerdict::kAppend, std::nullopt};
    return {SequenceVerdict::kOutOfOrder, std::nullopt};
  }
  for (const ProducerBatch& b : e->batches) {
    if (b.first_sequence == first_sequence && b.last_sequence == last_sequence)
      return {SequenceVerdict::kDuplicate, b};
  }
  if (first_sequence == next_sequence(e->batches.back().last_sequence))
    return {SequenceVerdict::kAppend, std::nullopt};
  return {SequenceVerdict::kOutOfOrder, std::nullopt};
}

namespace {
int64_t last_timestamp_ms(const ProducerEntry& e) {
  return e.batches.empty() ? std::numeric_limits<int64_t>::min() : e.batches.back().timestamp_ms;
}
}  // namespace

// O(producers), only when the table is full.
void ProducerStateTable::forget_idlest() {
  auto idlest = producers_.end();
  for (auto it = producers_.begin(); it != producers_.end(); ++it) {
    if (idlest == producers_.end() ||
        last_timestamp_ms(it->second) < last_timestamp_ms(idlest->second))
      idlest = it;
  }
  if (idlest != producers_.end()) producers_.erase(idlest);
}

size_t ProducerStateTable::expire(int64_t now_ms, int64_t expiration_ms) {
  return std::erase_if(producers_, [&](const auto& kv) {
    const ProducerEntry& e = kv.second;
    return e.batches.empty() || now_ms - last_timestamp_ms(e) >= expiration_ms;
  });
}

void ProducerStateTable::record(int64_t producer_id, int16_t epoch, const ProducerBatch& batch) {
  if (producers_.size() >= producers_max_ && !producers_.contains(producer_id)) forget_idlest();
  ProducerEntry& e = producers_[producer_id];
  if (epoch != e.epoch) {
    // A newer epoch replaces the older one's history (replicated batches come in log order, so
    // an older epoch after a newer one never reaches here from a valid log).
    e.epoch = epoch;
    e.batches.clear();
  }
  e.batches.push_back(batch);
  while (e.batches.size() > kProducerBatchesKept) e.batches.pop_front();
}

}  // namespace weir::broker::log
