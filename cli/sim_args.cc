#include "cli/sim_args.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace weir::cli {

absl::StatusOr<Args> parse_sim_args(const std::vector<std::string>& a) {
  Args out;
  for (size_t i = 0; i < a.size(); ++i) {
    auto value = [&]() -> absl::StatusOr<std::string> {
      if (i + 1 >= a.size()) return absl::InvalidArgumentError(a[i] + " needs a value");
      return a[++i];
    };
    absl::StatusOr<std::string> v;
    if (a[i] == "--spec") {
      if (!(v = value()).ok()) return v.status();
      out.spec_path = *v;
    } else if (a[i] == "--seed") {
      if (!(v = value()).ok() || !absl::SimpleAtoi(*v, &out.seed)) {
        return absl::InvalidArgumentError("--seed needs an unsigned integer");
      }
    } else if (a[i] == "--seeds") {
      if (!(v = value()).ok()) return v.status();
      std::vector<std::string> parts = absl::StrSplit(*v, "..");
      if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &out.seed_first) ||
          !absl::SimpleAtoi(parts[1], &out.seed_last) || out.seed_last < out.seed_first) {
        return absl::InvalidArgumentError("--seeds wants A..B with A <= B");
      }
    } else if (a[i] == "--jobs") {
      if (!(v = value()).ok() || !absl::SimpleAtoi(*v, &out.jobs) || out.jobs < 1 ||
          out.jobs > 256) {
        return absl::InvalidArgumentError("--jobs wants 1..256");
      }
    } else if (a[i] == "--knob") {
      if (!(v = value()).ok()) return v.status();
      out.knobs.push_back(*v);
    } else if (a[i] == "--trace") {
      if (!(v = value()).ok()) return v.status();
      out.trace_path = *v;
    } else if (a[i] == "--digest") {
      if (!(v = value()).ok()) return v.status();
      out.digest_path = *v;
    } else if (a[i] == "--replay-dir") {
      if (!(v = value()).ok()) return v.status();
      out.replay_dir = *v;
    } else if (a[i] == "--check-determinism") {
      out.check_determinism = true;
    } else if (a[i] == "--timeline") {
      out.timeline = true;
    } else if (!a[i].empty() && a[i][0] == '-') {
      return absl::InvalidArgumentError("unknown flag " + a[i]);
    } else {
      out.positional.push_back(a[i]);
    }
  }
  return out;
}

}  // namespace weir::cli
