// `weir sim run | replay | sweep`: the developer's entry points into the simulator.
#pragma once

#include <string>
#include <vector>

namespace weir::cli {

int sim_command(const std::vector<std::string>& args);

}  // namespace weir::cli
