// Command-line arguments of `weir sim`, shared by run, replay and sweep.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace weir::cli {

struct Args {
  std::string spec_path;
  uint64_t seed = 1;
  uint64_t seed_first = 0, seed_last = 0;
  int jobs = 2;
  bool check_determinism = false;
  bool timeline = false;
  std::string trace_path;
  std::string digest_path;
  std::string replay_dir = "sim-out";
  std::vector<std::string> knobs;
  std::vector<std::string> positional;
};

absl::StatusOr<Args> parse_sim_args(const std::vector<std::string>& args);
extern const char* kSimUsage;
std::string absolute(const std::string& path);
// The command line of a child `weir sim run` for one seed.
std::vector<std::string> child_run_args(const Args& args, uint64_t seed);
int sweep_command(const Args& args);

}  // namespace weir::cli
