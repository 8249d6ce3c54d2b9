// Runs one coord server (coord/server) on the real runtime until SIGINT/SIGTERM. It exists so
// that operators and real ZooKeeper clients (zkCli, kazoo, the C client) can use an ensemble.
#include "cli/coord_command.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "absl/strings/numbers.h"
#include "coord/server/config.h"
#include "coord/server/coord_server.h"
#include "runtime/real/real_runtime.h"
#include "runtime/trace.h"

namespace weir::cli {
namespace {

constexpr char kUsage[] = "usage: weir coord --config FILE [--id N] [--trace FILE|-]\n";

struct CoordArgs {
  std::string config;
  std::optional<int64_t> id;
  std::string trace;  // default: <dataDir>/coord-trace.jsonl
};

std::optional<CoordArgs> parse_args(const std::vector<std::string>& args) {
  CoordArgs out;
  for (size_t i = 0; i < args.size(); ++i) {
    const bool has_value = i + 1 < args.size();
    if (args[i] == "--config" && has_value) {
      out.config = args[++i];
    } else if (args[i] == "--id" && has_value) {
      int64_t id = 0;
      if (!absl::SimpleAtoi(args[++i], &id) || id <= 0) return std::nullopt;
      out.id = id;
    } else if (args[i] == "--trace" && has_value) {
      out.trace = args[++i];
    } else {
      return std::nullopt;
    }
  }
  if (out.config.empty()) return std::nullopt;
  return out;
}

// Serves until the first signal, then stops the server (cancelling it) and returns.
absl::Status serve(real::RealRuntime& rt, coord::server::ServerConfig config) {
  ProcessContext& ctx = current_context();
  if (config.my_id == 0) {
    auto id = coord::server::load_myid(*ctx.fs, config.data_dir);
    if (!id.ok()) return id.status();
    if (config.ensemble.find(*id) == nullptr)
      return absl::InvalidArgumentError("myid has no server line");
    config.my_id = *id;
  }
  if (auto s = ctx.fs->create_directories(config.data_dir); !s.ok()) return s;
  auto server = std::make_shared<coord::server::CoordServer>(config, ctx);
  Future<void> running =
      spawn("coord-server", [server]() -> absl::Status { return server->run(); });
  Future<void> stop = spawn("coord-signal", [&rt] { rt.await_shutdown(); });
  (void)await(when_any(std::vector<Future<void>>{running, stop}));
  if (running.is_ready()) return running.get();
  TraceEvent(Severity::kInfo, "CoordShutdown");
  return absl::OkStatus();
}

}  // namespace

int coord_command(const std::vector<std::string>& args) {
  auto parsed = parse_args(args);
  if (!parsed) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  std::ifstream in(parsed->config);
  if (!in) {
    std::fprintf(stderr, "weir coord: cannot read %s\n", parsed->config.c_str());
    return 2;
  }
  std::stringstream text;
  text << in.rdbuf();
  auto config = coord::server::parse_config(text.str(), parsed->id);
  if (!config.ok()) {
    std::fprintf(stderr, "weir coord: %s\n", config.status().ToString().c_str());
    return 2;
  }
  if (config->data_dir.empty()) {
    std::fputs("weir coord: dataDir is required\n", stderr);
    return 2;
  }
  const std::string trace =
      parsed->trace.empty() ? config->data_dir + "/coord-trace.jsonl" : parsed->trace;
  std::filesystem::create_directories(config->data_dir);
  JsonLinesFileSink sink(trace);
  Tracer::instance().add_sink(&sink);
  Tracer::instance().set_min_severity(Severity::kInfo);
  int rc = 0;
  {
    real::RealRuntimeOptions options;
    options.data_dir = config->data_dir;
    options.name = "coord";
    real::RealRuntime rt(options);
    auto result = rt.run([&rt, &config] { return serve(rt, *config); });
    if (!result.ok()) {
      std::fprintf(stderr, "weir coord: %s\n", result.ToString().c_str());
      rc = 1;
    }
  }
  Tracer::instance().remove_sink(&sink);
  return rc;
}

}  // namespace weir::cli
