#include "cli/bench_flags.h"

#include "absl/strings/str_cat.h"

namespace weir::cli {

absl::Status parse_bench_flags(const std::vector<std::string>& args, const FlagTable& flags,
                               bool* json) {
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--json") {
      *json = true;
      continue;
    }
    auto flag = flags.find(args[i]);
    if (flag == flags.end())
      return absl::InvalidArgumentError(absl::StrCat("unknown argument ", args[i]));
    if (i + 1 >= args.size())
      return absl::InvalidArgumentError(absl::StrCat(args[i], " needs a value"));
    if (!flag->second(args[i + 1]))
      return absl::InvalidArgumentError(absl::StrCat("bad value for ", args[i], ": ", args[i + 1]));
    ++i;
  }
  return absl::OkStatus();
}

}  // namespace weir::cli
