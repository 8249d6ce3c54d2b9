#pragma once

#include <string>
#include <vector>

namespace weir::cli {

// `weir broker --config server.properties [--override key=value ...] [--trace FILE|-]`
int broker_command(const std::vector<std::string>& args);

}  // namespace weir::cli
