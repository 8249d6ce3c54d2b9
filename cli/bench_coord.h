// `weir bench coord`: a load generator for any server that speaks the ZooKeeper wire protocol
// (weir coord, Apache ZooKeeper). It drives the project's own CoordClient, so a run measures
// the client brokers use as well as the server: N sessions, each keeping K requests in flight.
//
//   weir bench coord --servers 127.0.0.1:2181,127.0.0.1:2182 --op mixed --read-ratio 0.9
//                    --sessions 16 --outstanding 8 --payload-bytes 100 --duration-s 10 --json
//
// The run creates a root (`--root` plus a random suffix) and, for set/get/mixed, `--keys`
// nodes under it; warms up for `--warmup-s`, then measures for `--duration-s` (or until
// `--ops` requests completed), and deletes everything it created.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace weir::cli {

enum class BenchOp { kCreate, kSet, kGet, kMixed };

struct BenchCoordOptions {
  std::string servers;  // "host:port,host:port"; session i connects to server i % n
  BenchOp op = BenchOp::kMixed;
  double read_ratio = 0.9;  // mixed: the share of gets (the rest are sets)
  size_t sessions = 16;
  size_t outstanding = 8;  // requests in flight per session
  size_t payload_bytes = 100;
  double duration_s = 10;
  uint64_t ops = 0;  // > 0: measure until this many requests completed instead of duration_s
  double warmup_s = 2;
  size_t keys = 1000;  // set/get/mixed: nodes the requests pick from uniformly
  std::string root = "/weir-bench";
  int32_t session_timeout_ms = 10000;
  double connect_timeout_s = 30;  // for every session to be established
  double request_timeout_s = 10;
  bool json = false;
  std::string trace;  // a JSON-lines trace file of the clients (empty: none)
};

struct BenchCoordReport {
  BenchCoordOptions options;
  double seconds = 0;   // the measured window
  uint64_t ops = 0;     // successful requests completed in the window
  uint64_t reads = 0;   // of which reads
  uint64_t errors = 0;  // failed requests in the whole run (warm-up and window)
  std::string first_error;
  double ops_per_s = 0;
  double mean_us = 0, p50_us = 0, p99_us = 0, p999_us = 0, max_us = 0;
  uint64_t cleanup_errors = 0;  // workers whose deletes at the end failed (nodes were left)
  std::string root;             // where the run's nodes live
};

const char* bench_op_name(BenchOp op);
absl::StatusOr<BenchCoordOptions> parse_bench_coord_args(const std::vector<std::string>& args);
std::string format_report_line(const BenchCoordReport& report);
std::string format_report_json(const BenchCoordReport& report);

// Runs the benchmark from inside an actor of a real (or simulated) runtime. Fails if the
// sessions cannot be established or the setup writes fail; request errors during the run are
// counted in the report instead.
absl::StatusOr<BenchCoordReport> run_bench_coord(const BenchCoordOptions& options);

// `weir bench coord ...`: parses, runs on the real runtime, prints. Exit codes: 0 ran with no
// errors, 1 ran with request errors or could not run, 2 usage.
int bench_command(const std::vector<std::string>& args);

}  // namespace weir::cli
