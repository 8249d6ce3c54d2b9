#include "workloads/linearizability/search.h"

#include <algorithm>
#include <limits>
#include <tuple>

namespace weir::workloads::lin::detail {

EntryList::EntryList(std::span<const OpTimes> ops) {
  WEIR_ASSERT(ops.size() < static_cast<size_t>(std::numeric_limits<int32_t>::max() / 2));
  struct Event {
    int64_t time;
    int kind;  // 0 call, 1 return: calls first on ties, so touching intervals overlap
    int32_t op;
  };
  std::vector<Event> events;
  events.reserve(ops.size() * 2);
  for (size_t i = 0; i < ops.size(); ++i) {
    const auto op = static_cast<int32_t>(i);
    events.push_back({ops[i].invoke, 0, op});
    if (ops[i].ret) {
      WEIR_ASSERT_MSG(*ops[i].ret >= ops[i].invoke, "an operation returned before its invoke");
      events.push_back({*ops[i].ret, 1, op});
    }
  }
  std::sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
    return std::tie(a.time, a.kind, a.op) < std::tie(b.time, b.kind, b.op);
  });

  const size_t n = events.size() + 1;
  next_.assign(n, kNil);
  prev_.assign(n, kNil);
  op_.assign(n, kNil);
  match_.assign(n, kNil);
  is_call_.assign(n, 0);
  time_.assign(n, 0);
  std::vector<int32_t> call_of(ops.size(), kNil);
  for (size_t i = 0; i < events.size(); ++i) {
    const auto entry = static_cast<int32_t>(i + 1);
    prev_[entry] = entry - 1;
    next_[entry - 1] = entry;
    op_[entry] = events[i].op;
    time_[entry] = events[i].time;
    if (events[i].kind == 0) {
      is_call_[entry] = 1;
      call_of[events[i].op] = entry;
    } else {
      match_[call_of[events[i].op]] = entry;  // the call sorts first, so it is known
    }
  }
}

void EntryList::unlink(int32_t entry) {
  next_[prev_[entry]] = next_[entry];
  if (next_[entry] != kNil) prev_[next_[entry]] = prev_[entry];
}

// Dancing links: a removed entry keeps its own prev/next, which are valid again once every
// later removal has been undone.
void EntryList::relink(int32_t entry) {
  next_[prev_[entry]] = entry;
  if (next_[entry] != kNil) prev_[next_[entry]] = entry;
}

int32_t EntryList::last_at_or_before(int64_t time) const {
  // Binary search over the entries' original, sorted positions; then back over lifted ones
  // (an entry is lifted when its predecessor no longer points at it).
  auto it = std::upper_bound(time_.begin() + 1, time_.end(), time);
  auto entry = static_cast<int32_t>(it - time_.begin()) - 1;
  while (entry != kHead && next_[prev_[entry]] != entry) --entry;
  return entry == kHead ? kNil : entry;
}

void EntryList::lift(int32_t call) {
  WEIR_ASSERT(is_call(call));
  unlink(call);
  if (match_[call] != kNil) unlink(match_[call]);
}

void EntryList::unlift(int32_t call) {
  WEIR_ASSERT(is_call(call));
  if (match_[call] != kNil) relink(match_[call]);
  relink(call);
}

namespace {
// A fixed pseudo-random key per operation (Zobrist hashing): sets hash by XOR of their keys.
uint64_t zobrist(size_t op) {
  return hash_mix(op * 0x2545f4914f6cdd1dULL + 1);
}
}  // namespace

void OpSet::set(size_t op) {
  uint64_t& word = words_[op / 64];
  const uint64_t bit = uint64_t{1} << (op % 64);
  WEIR_ASSERT((word & bit) == 0);
  word |= bit;
  hash_ ^= zobrist(op);
}

void OpSet::clear(size_t op) {
  uint64_t& word = words_[op / 64];
  const uint64_t bit = uint64_t{1} << (op % 64);
  WEIR_ASSERT((word & bit) != 0);
  word &= ~bit;
  hash_ ^= zobrist(op);
}

}  // namespace weir::workloads::lin::detail
