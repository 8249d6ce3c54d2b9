// `weir coord --config FILE [--id N] [--trace FILE|-]`: one coord server on the real runtime.
#pragma once

#include <string>
#include <vector>

namespace weir::cli {

int coord_command(const std::vector<std::string>& args);

}  // namespace weir::cli
