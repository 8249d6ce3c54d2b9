// Histories and the sequential-model contract of the linearizability checker.
//
// A history is what clients observed: each operation's input, output and the real-time
// interval [invoke, return] in which it happened. An operation whose outcome is unknown (a
// timeout, a lost connection) has no return: it may have taken effect at any point after its
// invoke, or never. The checker asks whether some total order of the operations, consistent
// with real time, is a legal run of a sequential model. Models are plain static-function
// structs so the checker is a template with no virtual calls on its hot path.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace weir::workloads::lin {

// One client call as observed. Times are ticks of one clock (simulated or monotonic); intervals
// are closed, so an operation returning at t and another invoked at t count as concurrent
// (the conservative reading when both fall into one clock tick).
template <typename Input, typename Output>
struct Operation {
  int32_t client = 0;
  int64_t invoke = 0;
  std::optional<int64_t> ret;  // empty: outcome unknown, `output` is ignored
  Input input{};
  Output output{};
  // Outcome unknown only: if set, the operation took effect no later than this time or never
  // (say its session expired then). Bounds the search, which otherwise must consider it
  // taking effect arbitrarily late.
  std::optional<int64_t> effect_deadline;

  bool completed() const { return ret.has_value(); }
};

// The model contract (see README.md):
//   State                      semiregular, operator==, cheap to copy for small keyspaces
//   static State init()
//   static bool step(const State&, const Input&, const Output&, State* next)
//       false if `output` is impossible for `input` in that state
//   static bool step_unknown(const State&, const Input&, State* next)
//       the effect of `input` whatever its output was (for operations without a return);
//       false if it cannot take effect in that state
//   static uint64_t hash(const State&)        for the memo of visited (ops, state) pairs
//   static std::string describe(const Input&, const Output*)   output null when unknown
// Optional:
//   static std::vector<std::vector<size_t>> partition(const History&)
//       groups of operation indices that touch disjoint parts of the state (P-compositionality:
//       a history is linearizable iff every group is); see partition.h
//   static std::string describe_state(const State&)            for Illegal reports
template <typename M>
concept Model = std::semiregular<typename M::State> &&
    std::equality_comparable<typename M::State> &&
    requires(const typename M::State& state, const typename M::Input& input,
             const typename M::Output& output, typename M::State* next) {
  { M::init() } -> std::same_as<typename M::State>;
  { M::step(state, input, output, next) } -> std::same_as<bool>;
  { M::step_unknown(state, input, next) } -> std::same_as<bool>;
  { M::hash(state) } -> std::convertible_to<uint64_t>;
  { M::describe(input, &output) } -> std::convertible_to<std::string>;
};

template <typename M>
using OperationOf = Operation<typename M::Input, typename M::Output>;
template <typename M>
using HistoryOf = std::vector<OperationOf<M>>;

template <typename M>
concept PartitionedModel = Model<M> && requires(const HistoryOf<M>& history) {
  { M::partition(history) } -> std::same_as<std::vector<std::vector<size_t>>>;
};

template <typename M>
concept DescribedStateModel = Model<M> && requires(const typename M::State& state) {
  { M::describe_state(state) } -> std::convertible_to<std::string>;
};

// Hash helpers for models. Own mixing rather than std::hash: libstdc++ hashes integers to
// themselves, which clusters badly in the memo's power-of-two table. (Verdicts and step counts
// never depend on hash values: the memo compares entries exactly.)
inline uint64_t hash_mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
inline uint64_t hash_combine(uint64_t seed, uint64_t value) {
  return hash_mix(seed ^ (value + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2)));
}
inline uint64_t hash_bytes(std::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a, finished with a mix
  for (unsigned char c : bytes) h = (h ^ c) * 0x100000001b3ULL;
  return hash_mix(h ^ bytes.size());
}

}  // namespace weir::workloads::lin
