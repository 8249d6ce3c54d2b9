#include "workloads/linearizability/checker.h"

#include <sstream>

namespace weir::workloads::lin {

std::string_view verdict_name(CheckResult::Verdict verdict) {
  switch (verdict) {
    case CheckResult::Verdict::kOk:
      return "ok";
    case CheckResult::Verdict::kIllegal:
      return "illegal";
    case CheckResult::Verdict::kUnknown:
      return "unknown";
  }
  WEIR_UNREACHABLE();
}

namespace {

void print_op(std::ostream& out, const OpReport& op) {
  out << "  #" << op.index << " client " << op.client << " [" << op.invoke << ", ";
  if (op.ret) {
    out << *op.ret;
  } else {
    out << "?";
  }
  out << "] " << op.text << "\n";
}

}  // namespace

std::string CheckResult::to_string(size_t max_prefix_shown) const {
  std::ostringstream out;
  out << "linearizability: " << verdict_name(verdict) << " (" << partitions << " partitions, "
      << steps << " steps)";
  if (unknown()) {
    out << ": partition " << failed_partition << ": " << reason << "; the longest prefix "
        << "reached has " << deepest << " operations";
  }
  if (!illegal()) return out.str();
  out << "\nin partition " << failed_partition << ", the longest linearizable prefix has "
      << prefix.size() << " operations";
  const size_t shown = std::min(prefix.size(), max_prefix_shown);
  if (shown < prefix.size()) out << " (last " << shown << " shown)";
  out << ":\n";
  for (size_t i = prefix.size() - shown; i < prefix.size(); ++i) print_op(out, prefix[i]);
  if (!state.empty()) out << "state after it: " << state << "\n";
  out << "no legal order continues it with:\n";
  print_op(out, blocked);
  return out.str();
}

namespace detail {

void check_partition_covers(const std::vector<std::vector<size_t>>& groups, size_t ops) {
  std::vector<uint8_t> seen(ops, 0);
  size_t total = 0;
  for (const auto& group : groups) {
    for (size_t index : group) {
      WEIR_ASSERT_MSG(index < ops && seen[index] == 0, "partition() repeats or invents an op");
      seen[index] = 1;
      ++total;
    }
  }
  WEIR_ASSERT_MSG(total == ops, "partition() dropped an operation");
}

}  // namespace detail

}  // namespace weir::workloads::lin
