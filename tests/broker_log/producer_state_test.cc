// The producer state table: Kafka's sequence rules for idempotent producers (the next batch, a
// retry of one of the last five, a gap, a fenced epoch, a new epoch, an unknown producer), and a
// property against a model: a producer that retries any of its in-flight batches in any order
// never gets a batch appended twice or out of order.
#include "broker/log/producer_state.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <limits>
#include <vector>

namespace weir::broker::log {
namespace {

TEST(ProducerState, AppendsInSequenceAndRecognisesRetriesOfTheLastFive) {
  ProducerStateTable t;
  EXPECT_EQ(t.check(7, 0, 0, 2).verdict, SequenceVerdict::kAppend);
  t.record(7, 0, {0, 2, 100, 102});
  EXPECT_EQ(t.check(7, 0, 3, 3).verdict, SequenceVerdict::kAppend);
  EXPECT_EQ(t.check(7, 0, 4, 4).verdict, SequenceVerdict::kOutOfOrder);  // a gap
  const SequenceCheck dup = t.check(7, 0, 0, 2);
  EXPECT_EQ(dup.verdict, SequenceVerdict::kDuplicate);
  ASSERT_TRUE(dup.duplicate_of.has_value());
  EXPECT_EQ(dup.duplicate_of->first_offset, 100);
  for (int32_t s = 3; s < 9; ++s) t.record(7, 0, {s, s, 100 + s, 100 + s});
  EXPECT_EQ(t.find(7)->batches.size(), kProducerBatchesKept);
  // The first batch fell out of the window: a retry of it is no longer recognised.
  EXPECT_EQ(t.check(7, 0, 0, 2).verdict, SequenceVerdict::kOutOfOrder);
  EXPECT_EQ(t.check(7, 0, 4, 4).verdict, SequenceVerdict::kDuplicate);
}

TEST(ProducerState, EpochsFenceAndRestartSequences) {
  ProducerStateTable t;
  t.record(1, 3, {0, 0, 10, 10});
  EXPECT_EQ(t.check(1, 2, 1, 1).verdict, SequenceVerdict::kFencedEpoch);
  EXPECT_EQ(t.check(1, 4, 5, 5).verdict, SequenceVerdict::kOutOfOrder);
  EXPECT_EQ(t.check(1, 4, 0, 0).verdict, SequenceVerdict::kAppend);
  t.record(1, 4, {0, 0, 11, 11});
  EXPECT_EQ(t.find(1)->epoch, 4);
  EXPECT_EQ(t.find(1)->batches.size(), 1u);
  EXPECT_EQ(t.check(2, 0, 5, 5).verdict, SequenceVerdict::kUnknownProducer);
  EXPECT_EQ(t.check(2, 0, 0, 5).verdict, SequenceVerdict::kAppend);
}

TEST(ProducerState, SequencesWrapAtIntMax) {
  ProducerStateTable t;
  const int32_t max = std::numeric_limits<int32_t>::max();
  t.record(1, 0, {max - 1, max, 0, 1});
  EXPECT_EQ(t.check(1, 0, 0, 3).verdict, SequenceVerdict::kAppend);
  EXPECT_EQ(next_sequence(max), 0);
}

// One producer with up to five batches in flight; the broker sees sends and retries in any
// order. Whatever it appends must be each batch once, in sequence order.
RC_GTEST_PROP(ProducerState, RetriesInAnyOrderNeverDuplicateOrReorder, ()) {
  const int batches = *rc::gen::inRange(1, 30);
  const auto order = *rc::gen::container<std::vector<int>>(*rc::gen::inRange<size_t>(1, 200),
                                                           rc::gen::inRange(0, batches));
  ProducerStateTable t;
  std::vector<int> appended;
  int64_t next_offset = 0;
  for (int i : order) {
    // The client only has batches within five of the oldest unacknowledged one in flight.
    const int oldest = appended.empty() ? 0 : std::max(0, appended.back() - 4);
    if (i < oldest || i > oldest + 5) continue;
    const SequenceCheck c = t.check(42, 0, i, i);
    if (c.verdict == SequenceVerdict::kAppend) {
      t.record(42, 0, {i, i, next_offset, next_offset});
      ++next_offset;
      appended.push_back(i);
    }
  }
  for (size_t k = 0; k < appended.size(); ++k) RC_ASSERT(appended[k] == static_cast<int>(k));
}

}  // namespace
}  // namespace weir::broker::log
