// A linearizability checker for histories of concurrent operations against a sequential model
// (Wing & Gong's search with Lowe's memo, as in Porcupine; see search.h). Workloads record
// what their clients observed and ask, after the run, whether one order of all operations,
// consistent with real time, explains every output.
//
// Deterministic: the search depends only on the history (no wall clock, no pointer order, no
// hash-container iteration), and its budget counts search steps, so an Unknown verdict
// reproduces with the seed. It never recurses, so it is safe on a fiber's stack.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/assert.h"
#include "workloads/linearizability/model.h"
#include "workloads/linearizability/search.h"

namespace weir::workloads::lin {

struct CheckOptions {
  // Budgets per partition, so one hard key cannot starve the verdict on the others.
  uint64_t max_steps = 20'000'000;
  // The memo estimate excludes heap owned by State (a map's nodes): real use can be higher.
  uint64_t max_memo_bytes = uint64_t{128} << 20;
  // Check each group of M::partition() separately (P-compositionality). Off: one search.
  bool partition = true;
};

// An operation as it appears in a report.
struct OpReport {
  size_t index = 0;  // in the checked history
  int32_t client = 0;
  int64_t invoke = 0;
  std::optional<int64_t> ret;
  std::string text;  // the model's describe()
};

// The verdict. Illegal carries a minimal explanation: in the partition that failed, the
// longest prefix any order managed to linearize and the operation it could not get past.
struct CheckResult {
  enum class Verdict { kOk, kIllegal, kUnknown };
  Verdict verdict = Verdict::kOk;
  uint64_t steps = 0;  // over all searched partitions
  size_t partitions = 0;
  size_t memo_entries = 0;       // nodes in the largest memo of any partition
  size_t failed_partition = 0;   // Illegal or Unknown: the (first) one
  std::string reason;            // Unknown: which budget ran out
  size_t deepest = 0;            // Illegal or Unknown: longest prefix reached
  std::vector<OpReport> prefix;  // Illegal: a linearization order, oldest first
  OpReport blocked;              // Illegal: could not be linearized after `prefix`
  std::string state;             // Illegal: model state after `prefix`, if describable

  bool ok() const { return verdict == Verdict::kOk; }
  bool illegal() const { return verdict == Verdict::kIllegal; }
  bool unknown() const { return verdict == Verdict::kUnknown; }
  // For a person: the verdict and, for Illegal, the tail of the prefix and the blocked op.
  std::string to_string(size_t max_prefix_shown = 12) const;
};

std::string_view verdict_name(CheckResult::Verdict verdict);

namespace detail {

// Every operation must be in exactly one group; a model's partition() that drops or repeats
// one would silently weaken the check.
void check_partition_covers(const std::vector<std::vector<size_t>>& groups, size_t ops);

template <Model M>
OpReport report(const HistoryOf<M>& history, size_t index) {
  const OperationOf<M>& op = history[index];
  return OpReport{index, op.client, op.invoke, op.ret,
                  M::describe(op.input, op.completed() ? &op.output : nullptr)};
}

template <Model M>
void explain_illegal(const HistoryOf<M>& history, const std::vector<size_t>& group,
                     const SearchOutcome<typename M::State>& outcome, CheckResult* result) {
  for (size_t local : outcome.prefix) result->prefix.push_back(report<M>(history, group[local]));
  result->blocked = report<M>(history, group[outcome.blocked]);
  if constexpr (DescribedStateModel<M>) {
    if (outcome.state) result->state = M::describe_state(*outcome.state);
  }
}

}  // namespace detail

// Checks `history` against model M. Partitions are searched in order; the first Illegal one
// decides (later ones are not searched); otherwise the first Unknown one does.
template <Model M>
CheckResult check(const HistoryOf<M>& history, const CheckOptions& options = {}) {
  std::vector<std::vector<size_t>> groups;
  if constexpr (PartitionedModel<M>) {
    if (options.partition) {
      groups = M::partition(history);
      detail::check_partition_covers(groups, history.size());
    }
  }
  if (groups.empty() && !history.empty()) {
    groups.emplace_back();
    for (size_t i = 0; i < history.size(); ++i) groups.back().push_back(i);
  }
  CheckResult result;
  result.partitions = groups.size();
  for (size_t g = 0; g < groups.size(); ++g) {
    std::vector<const OperationOf<M>*> ops;
    ops.reserve(groups[g].size());
    for (size_t index : groups[g]) ops.push_back(&history[index]);
    detail::Search<M> search(ops, {options.max_steps, options.max_memo_bytes});
    const auto outcome = search.run();
    result.steps += outcome.steps;
    result.memo_entries = std::max(result.memo_entries, outcome.memo_entries);
    if (outcome.verdict == detail::SearchVerdict::kIllegal) {
      result.verdict = CheckResult::Verdict::kIllegal;
      result.failed_partition = g;
      result.deepest = outcome.deepest;
      result.reason.clear();
      detail::explain_illegal<M>(history, groups[g], outcome, &result);
      return result;
    }
    if (outcome.verdict == detail::SearchVerdict::kUnknown && result.ok()) {
      result.verdict = CheckResult::Verdict::kUnknown;
      result.failed_partition = g;
      result.deepest = outcome.deepest;
      result.reason = outcome.reason;
    }
  }
  return result;
}

}  // namespace weir::workloads::lin
