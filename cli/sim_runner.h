// Runs one simulation seed of a spec in this process: builds the simulated cluster, the
// workloads and the (swarm-drawn) injectors, runs the fault phase, heals, checks, and reports.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "sim/spec.pb.h"

namespace weir::cli {

// Exit codes of `weir sim run` (and how sweeps classify children).
enum ExitCode : int {
  kExitPass = 0,
  kExitUsage = 2,
  kExitCrash = 3,
  kExitCorrectness = 4,
  kExitLiveness = 5,
  kExitNondeterminism = 6,
};

struct RunConfig {
  sim::Spec spec;
  std::string spec_path;
  uint64_t seed = 1;
  std::vector<std::string> knob_overrides;  // name=value
  std::string digest_path;                  // per-event running hashes (determinism checks)
  std::string trace_path;                   // all events as JSON lines
  std::string replay_dir = "sim-out";
  bool timeline = false;  // print a human timeline to stderr
  bool write_replay = true;
  // Set when replaying: the run reports whether it reproduced these (also when it crashes).
  std::string expect_unseed;
  std::string expect_verdict;
};

struct RunResult {
  int exit_code = kExitPass;
  std::string verdict = "pass";  // pass, crash, correctness, liveness
  std::string violation;
  std::string unseed;
  double sim_seconds = 0;
  double wall_seconds = 0;
  uint64_t events = 0;
  std::vector<std::string> probes_hit;
  std::vector<std::string> injectors;
  std::map<std::string, double> metrics;
  std::string replay_path;
  std::string summary_json() const;
};

absl::StatusOr<sim::Spec> load_spec(const std::string& path);
// For replays: prints whether `result` reproduced the recorded run; true if it did.
bool report_replay(const RunConfig& config, const RunResult& result);
RunResult run_simulation(const RunConfig& config);
// Absolute path of this binary, and a stable id of its contents.
std::string self_path();
std::string build_id();

}  // namespace weir::cli
