// The search behind check(): Wing & Gong's backtracking with Lowe's memo, as in Porcupine.
// Internal to the checker; use checker.h.
//
// Call and return events sit in one list sorted by time. Walking from the head, a call entry
// is a candidate for the next linearization point; the first return entry reached ends the
// candidates, because that operation must be linearized before anything invoked after its
// return. Linearizing a candidate lifts its call and return out of the list (dancing links, so
// undoing is O(1)) and restarts from the head; reaching a return with no candidate left pops
// the explicit stack. A memo of (linearized set, state) pairs cuts every subtree already seen.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "runtime/assert.h"
#include "workloads/linearizability/model.h"

namespace weir::workloads::lin::detail {

struct OpTimes {
  int64_t invoke = 0;
  std::optional<int64_t> ret;
};

// The time-ordered event list. Index-based so that lifting and unlifting never allocate and
// the order never depends on addresses. Ties sort calls before returns (closed intervals),
// then by operation index, so the list is a pure function of the history.
class EntryList {
 public:
  static constexpr int32_t kNil = -1;

  explicit EntryList(std::span<const OpTimes> ops);

  int32_t first() const { return next_[kHead]; }
  int32_t next(int32_t entry) const { return next_[entry]; }
  bool is_call(int32_t entry) const { return is_call_[entry] != 0; }
  int32_t op(int32_t entry) const { return op_[entry]; }
  int64_t time(int32_t entry) const { return time_[entry]; }
  int32_t prev(int32_t entry) const { return prev_[entry] == kHead ? kNil : prev_[entry]; }
  // The last entry still in the list at or before `time` (entries were sorted by time).
  int32_t last_at_or_before(int64_t time) const;

  // Removes a call entry and its return (if any). Lifts and unlifts must nest like a stack.
  void lift(int32_t call);
  void unlift(int32_t call);

 private:
  static constexpr int32_t kHead = 0;  // sentinel; real entries are 1..n
  void unlink(int32_t entry);
  void relink(int32_t entry);

  std::vector<int32_t> next_, prev_, op_, match_;
  std::vector<int64_t> time_;
  std::vector<uint8_t> is_call_;
};

// The set of linearized operations, with an incrementally maintained Zobrist hash so the memo
// never rehashes thousands of bits per step.
class OpSet {
 public:
  explicit OpSet(size_t ops) : words_((ops + 63) / 64, 0) {}

  void set(size_t op);
  void clear(size_t op);
  uint64_t hash() const { return hash_; }
  std::span<const uint64_t> words() const { return words_; }

 private:
  std::vector<uint64_t> words_;
  uint64_t hash_ = 0;
};

// Lowe's memo, extended for operations of unknown outcome. A search node is (completed ops
// linearized C, unknown ops linearized U, state); nodes with equal C and state share a group.
// A node is pruned when its group holds the same U (seen before), or a *finished* node with
// U' a subset of U: any completion of (C, U, s) completes (C, U', s) too, by never linearizing
// U \ U' (nothing forces an operation without a return), and that node failed. Requiring it
// finished, not an ancestor still being explored, keeps the argument well-founded. Without
// this, k concurrent timed-out writes cost 2^k times the work on every illegal history.
//
// Open addressing over group indices; bit sets live in arenas, so a node costs a few words
// and no allocation of its own. Never iterated: only membership matters, so no order leaks.
template <typename M>
class Memo {
 public:
  using State = typename M::State;
  static constexpr uint32_t kPruned = UINT32_MAX;

  Memo(size_t completed_ops, size_t unknown_ops)
      : completed_words_((completed_ops + 63) / 64), unknown_words_((unknown_ops + 63) / 64) {
    table_.resize(1024, 0);
  }

  // Records a node about to be explored and returns its id, or kPruned.
  uint32_t visit(const OpSet& completed, const OpSet& unknown, const State& state) {
    const uint32_t group = find_or_add_group(completed, state);
    for (uint32_t node = group_first_[group]; node != kNone; node = node_next_[node]) {
      const uint64_t* bits = node_bits_.data() + node * unknown_words_;
      bool equal = true, subset = true;
      for (size_t i = 0; i < unknown_words_; ++i) {
        equal &= bits[i] == unknown.words()[i];
        subset &= (bits[i] & ~unknown.words()[i]) == 0;
      }
      if (equal || (subset && finished_[node] != 0)) return kPruned;
    }
    const auto node = static_cast<uint32_t>(finished_.size());
    WEIR_ASSERT(node < kNone);
    node_next_.push_back(group_first_[group]);
    group_first_[group] = node;
    finished_.push_back(0);
    node_bits_.insert(node_bits_.end(), unknown.words().begin(), unknown.words().end());
    return node;
  }

  // Every successor of the node has been explored without success.
  void finish(uint32_t node) { finished_[node] = 1; }

  size_t nodes() const { return finished_.size(); }
  // An estimate (heap inside State is not counted); a pure function of the visits, so a
  // budget on it is as deterministic as the step budget.
  uint64_t bytes() const {
    return group_hash_.size() * (sizeof(uint64_t) * (completed_words_ + 1) + sizeof(State) + 4) +
           finished_.size() * (sizeof(uint64_t) * unknown_words_ + 5) +
           table_.size() * sizeof(uint32_t);
  }

 private:
  static constexpr uint32_t kNone = UINT32_MAX - 1;

  uint32_t find_or_add_group(const OpSet& completed, const State& state) {
    const uint64_t h = hash_combine(completed.hash(), M::hash(state));
    size_t slot = h & (table_.size() - 1);
    for (; table_[slot] != 0; slot = (slot + 1) & (table_.size() - 1)) {
      const uint32_t group = table_[slot] - 1;
      if (same_group(group, h, completed, state)) return group;
    }
    const auto group = static_cast<uint32_t>(group_hash_.size());
    WEIR_ASSERT(group < kNone);
    table_[slot] = group + 1;
    group_hash_.push_back(h);
    group_state_.push_back(state);
    group_first_.push_back(kNone);
    group_bits_.insert(group_bits_.end(), completed.words().begin(), completed.words().end());
    if (group_hash_.size() * 2 > table_.size()) grow();
    return group;
  }

  bool same_group(uint32_t group, uint64_t h, const OpSet& completed, const State& state) const {
    if (group_hash_[group] != h) return false;
    const uint64_t* bits = group_bits_.data() + size_t{group} * completed_words_;
    for (size_t i = 0; i < completed_words_; ++i) {
      if (bits[i] != completed.words()[i]) return false;
    }
    return group_state_[group] == state;
  }

  void grow() {
    std::vector<uint32_t> table(table_.size() * 2, 0);
    for (size_t group = 0; group < group_hash_.size(); ++group) {
      size_t slot = group_hash_[group] & (table.size() - 1);
      while (table[slot] != 0) slot = (slot + 1) & (table.size() - 1);
      table[slot] = static_cast<uint32_t>(group + 1);
    }
    table_ = std::move(table);
  }

  size_t completed_words_;
  size_t unknown_words_;
  std::vector<uint32_t> table_;  // group index + 1; 0 is empty
  std::vector<uint64_t> group_hash_;
  std::vector<State> group_state_;
  std::vector<uint64_t> group_bits_;   // C, completed_words_ per group
  std::vector<uint32_t> group_first_;  // the group's newest node
  std::vector<uint64_t> node_bits_;    // U, unknown_words_ per node
  std::vector<uint32_t> node_next_;    // the group's next older node
  std::vector<uint8_t> finished_;
};

enum class SearchVerdict { kOk, kIllegal, kUnknown };

// What one partition's search found. Operation numbers are positions in the partition.
template <typename State>
struct SearchOutcome {
  SearchVerdict verdict = SearchVerdict::kOk;
  uint64_t steps = 0;
  size_t memo_entries = 0;
  std::string reason;          // why Unknown
  size_t deepest = 0;          // the longest prefix any order reached
  std::vector<size_t> prefix;  // Illegal: the deepest linearization reached, in order
  size_t blocked = 0;          // Illegal: the operation no order could place after it
  std::optional<State> state;  // Illegal: the model state after `prefix`
};

struct SearchBudget {
  uint64_t max_steps = 0;
  uint64_t max_memo_bytes = 0;
};

// One partition's search. Completed operations' calls and returns form the event list;
// operations of unknown outcome sit in a list of their own, sorted by invoke, and are tried
// only when no completed operation fits before the first return, newest first. They can
// always wait (their return is at infinity), so old ones that never took effect cost nothing
// while the search advances through completed operations, and when one is needed it is most
// likely one invoked recently, not one that has been pending since long ago.
template <Model M>
class Search {
 public:
  using State = typename M::State;
  using Op = OperationOf<M>;

  Search(const std::vector<const Op*>& ops, SearchBudget budget) : budget_(budget) {
    std::vector<OpTimes> completed_times, unknown_times;
    for (size_t i = 0; i < ops.size(); ++i) {
      Side& side = ops[i]->completed() ? completed_ : unknown_;
      side.ops.push_back(ops[i]);
      side.position.push_back(i);
      (ops[i]->completed() ? completed_times : unknown_times)
          .push_back({ops[i]->invoke, ops[i]->ret});
    }
    completed_.list.emplace(completed_times);
    unknown_.list.emplace(unknown_times);
    completed_.linearized = OpSet(completed_.ops.size());
    unknown_.linearized = OpSet(unknown_.ops.size());
    memo_.emplace(completed_.ops.size(), unknown_.ops.size());
    remaining_ = completed_.ops.size();
  }

  SearchOutcome<State> run() {
    State state = M::init();
    Cursor at{0, calls().first(), EntryList::kNil};
    while (remaining_ > 0) {
      if (over_budget()) return finish(SearchVerdict::kUnknown);
      ++outcome_.steps;
      if (at.pass == 0) {
        WEIR_ASSERT_MSG(at.entry != EntryList::kNil, "a completed operation's return must remain");
        if (!calls().is_call(at.entry)) {  // no completed op fits before it: try unknown ones
          at = Cursor{1, unknown_.list->last_at_or_before(calls().time(at.entry)), at.entry};
        } else if (try_linearize(at, &state)) {
          at = Cursor{0, calls().first(), EntryList::kNil};
        } else {
          at.entry = calls().next(at.entry);
        }
        continue;
      }
      if (at.entry != EntryList::kNil) {
        if (expired(at.entry)) {
          at.entry = retire(at.entry);
        } else if (try_linearize(at, &state)) {
          at = Cursor{0, calls().first(), EntryList::kNil};
        } else {
          at.entry = unknown_.list->prev(at.entry);
        }
        continue;
      }
      note_blocked(at.blocking, state);
      if (stack_.empty()) return finish(SearchVerdict::kIllegal);
      at = backtrack(&state);
    }
    return finish(SearchVerdict::kOk);
  }

 private:
  // Completed or unknown operations: their own list, bit set and numbering.
  struct Side {
    std::vector<const Op*> ops;
    std::vector<size_t> position;  // in the partition, for reports
    std::optional<EntryList> list;
    OpSet linearized{0};
  };
  // Where the search stands: walking completed calls (pass 0) or, once their first return is
  // reached (`blocking`), walking back through unknown calls invoked no later (pass 1).
  struct Cursor {
    int pass;
    int32_t entry;
    int32_t blocking;
  };
  struct Frame {
    Cursor at;      // where the operation was linearized
    uint32_t node;  // in the memo
    int64_t max_invoke_before;
    size_t retired_before;  // retired_.size() when pushed
    State before;
  };

  EntryList& calls() { return *completed_.list; }
  Side& side(int pass) { return pass == 0 ? completed_ : unknown_; }
  size_t position(const Cursor& at) {
    Side& s = side(at.pass);
    return s.position[s.list->op(at.entry)];
  }

  bool try_linearize(const Cursor& at, State* state) {
    Side& s = side(at.pass);
    const auto slot = static_cast<size_t>(s.list->op(at.entry));
    const Op& op = *s.ops[slot];
    State next;
    const bool legal = at.pass == 0 ? M::step(*state, op.input, op.output, &next)
                                    : M::step_unknown(*state, op.input, &next);
    if (!legal || (at.pass == 1 && !worth_trying_unknown(op, *state, next))) return false;
    s.linearized.set(slot);
    const uint32_t node = memo_->visit(completed_.linearized, unknown_.linearized, next);
    if (node == Memo<M>::kPruned) {
      s.linearized.clear(slot);
      return false;
    }
    stack_.push_back(Frame{at, node, max_invoke_, retired_.size(), std::move(*state)});
    *state = std::move(next);
    max_invoke_ = std::max(max_invoke_, op.invoke);
    if (at.pass == 0) --remaining_;
    s.list->lift(at.entry);
    return true;
  }

  // Past its deadline: something invoked after the deadline is already in the order.
  bool expired(int32_t unknown_entry) const {
    const Op& op = *unknown_.ops[unknown_.list->op(unknown_entry)];
    return op.effect_deadline && max_invoke_ > *op.effect_deadline;
  }

  // Lifts an expired unknown operation out of the list for the rest of this subtree, so that
  // long runs do not keep walking past operations that can no longer happen. Returns the
  // entry to continue with.
  int32_t retire(int32_t unknown_entry) {
    WEIR_ASSERT(!stack_.empty());  // nothing expires before the first linearization
    unknown_.list->lift(unknown_entry);
    retired_.push_back(unknown_entry);
    return unknown_.list->prev(unknown_entry);
  }

  // Prunes unknown operations that could as well wait (they have no return to force them), by
  // the same argument as the memo's subset rule: what completes this node completes a sibling.
  bool worth_trying_unknown(const Op& op, const State& state, const State& next) const {
    if (next == state) return false;  // changes nothing here
    if (stack_.empty() || stack_.back().at.pass == 0) return true;
    // Directly after another unknown operation x, which it absorbs (x then op = op alone, as
    // with blind writes): the sibling that linearizes op without x dominates.
    State alone;
    return !M::step_unknown(stack_.back().before, op.input, &alone) || !(alone == next);
  }

  Cursor backtrack(State* state) {
    Frame frame = std::move(stack_.back());
    stack_.pop_back();
    for (; retired_.size() > frame.retired_before; retired_.pop_back()) {
      unknown_.list->unlift(retired_.back());
    }
    Side& s = side(frame.at.pass);
    memo_->finish(frame.node);
    s.linearized.clear(static_cast<size_t>(s.list->op(frame.at.entry)));
    if (frame.at.pass == 0) ++remaining_;
    s.list->unlift(frame.at.entry);
    max_invoke_ = frame.max_invoke_before;
    *state = std::move(frame.before);
    Cursor at = frame.at;
    at.entry = at.pass == 0 ? s.list->next(at.entry) : s.list->prev(at.entry);
    return at;
  }

  // Keeps the deepest dead end as the explanation: the longest prefix some order reached and
  // the operation whose return it could not get past.
  void note_blocked(int32_t blocking, const State& state) {
    if (best_depth_ && *best_depth_ >= stack_.size()) return;
    best_depth_ = stack_.size();
    outcome_.deepest = stack_.size();
    outcome_.prefix.clear();
    for (const Frame& frame : stack_) outcome_.prefix.push_back(position(frame.at));
    outcome_.blocked = position(Cursor{0, blocking, EntryList::kNil});
    outcome_.state = state;
  }

  bool over_budget() {
    if (outcome_.steps >= budget_.max_steps) {
      outcome_.reason = "step budget of " + std::to_string(budget_.max_steps) + " exhausted";
      return true;
    }
    if (memo_->bytes() > budget_.max_memo_bytes) {
      outcome_.reason = "memo budget of " + std::to_string(budget_.max_memo_bytes) +
                        " bytes exhausted after " + std::to_string(outcome_.steps) + " steps";
      return true;
    }
    return false;
  }

  SearchOutcome<State> finish(SearchVerdict verdict) {
    outcome_.verdict = verdict;
    outcome_.memo_entries = memo_->nodes();
    if (verdict != SearchVerdict::kIllegal) {
      outcome_.prefix.clear();
      outcome_.state.reset();
    }
    return std::move(outcome_);
  }

  Side completed_;
  Side unknown_;
  std::optional<Memo<M>> memo_;
  SearchBudget budget_;
  std::vector<Frame> stack_;
  std::vector<int32_t> retired_;  // expired unknown entries lifted, restored on backtrack
  size_t remaining_ = 0;          // completed operations not yet linearized
  int64_t max_invoke_ = std::numeric_limits<int64_t>::min();
  std::optional<size_t> best_depth_;
  SearchOutcome<State> outcome_;
};

}  // namespace weir::workloads::lin::detail
