// `weir sim sweep`: many seeds in parallel child processes, with a progress bar and a summary
// that lists every failure with its replay command, throughput, injector coverage and the
// CODE_PROBEs no seed reached.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "buggify/code_probe.h"
#include "cli/child.h"
#include "cli/sim_args.h"
#include "cli/sim_runner.h"

namespace weir::cli {
namespace {

struct SeedOutcome {
  uint64_t seed = 0;
  int exit_code = 0;
  std::string verdict;
  std::string violation;
  std::string replay;
  double sim_seconds = 0;
  std::vector<std::string> probes;
  std::vector<std::string> injectors;
};

struct SweepTotals {
  uint64_t done = 0, passed = 0;
  double sim_seconds = 0;
  std::vector<SeedOutcome> failures;
  std::set<std::string> probes_hit;
  std::map<std::string, int> injector_seeds;
};

void print_progress(const SweepTotals& t, uint64_t total, double wall, bool tty) {
  const int width = 40;
  const int filled =
      static_cast<int>(static_cast<double>(t.done) * width / static_cast<double>(total));
  if (!tty && t.done % std::max<uint64_t>(1, total / 10) != 0 && t.done != total) return;
  std::fprintf(stderr, "%s[%s%s] %llu/%llu passed=%llu failed=%zu %.1f seeds/s%s", tty ? "\r" : "",
               std::string(static_cast<size_t>(filled), '#').c_str(),
               std::string(static_cast<size_t>(width - filled), '.').c_str(),
               static_cast<unsigned long long>(t.done), static_cast<unsigned long long>(total),
               static_cast<unsigned long long>(t.passed), t.failures.size(),
               wall > 0 ? static_cast<double>(t.done) / wall : 0.0, tty ? "" : "\n");
  std::fflush(stderr);
}

SeedOutcome collect(uint64_t seed, const ChildExit& exit, const std::string& out_path) {
  SeedOutcome o;
  o.seed = seed;
  o.exit_code = exit.exit_code;
  const std::string json = read_text_file(out_path);
  o.verdict = json_string_field(json, "verdict");
  o.violation = json_string_field(json, "violation");
  o.replay = json_string_field(json, "replay");
  o.sim_seconds = json_number_field(json, "sim_seconds");
  o.probes = json_string_array(json, "probes");
  o.injectors = json_string_array(json, "injectors");
  if (exit.signal != 0) {
    o.verdict = "crash";
    o.violation = absl::StrCat("killed by signal ", exit.signal);
  } else if (o.verdict.empty()) {
    o.verdict = exit.exit_code == 0 ? "pass" : "crash";
  }
  return o;
}

void print_summary(const SweepTotals& t, uint64_t total, double wall) {
  std::printf(
      "\nsweep: %llu seeds, %llu passed, %zu failed in %.1fs wall (%.2f seeds/s, %.0f "
      "simulated s per wall s)\n",
      static_cast<unsigned long long>(total), static_cast<unsigned long long>(t.passed),
      t.failures.size(), wall, static_cast<double>(total) / wall, t.sim_seconds / wall);
  for (const auto& f : t.failures) {
    std::printf("  FAIL seed %llu %s: %s\n", static_cast<unsigned long long>(f.seed),
                f.verdict.c_str(), f.violation.c_str());
    if (!f.replay.empty())
      std::printf("       replay: %s sim replay %s\n", self_path().c_str(), f.replay.c_str());
  }
  std::printf("injectors active (seeds):");
  for (const auto& [name, n] : t.injector_seeds) std::printf(" %s=%d", name.c_str(), n);
  std::printf("\n");
  std::vector<std::string> never;
  for (const auto* p : probes::all()) {
    if (!t.probes_hit.count(p->name) && std::string(p->name) != "runtime.probe_section_present") {
      never.push_back(p->name);
    }
  }
  std::printf("probes hit: %zu, never hit: %zu%s", t.probes_hit.size(), never.size(),
              never.empty() ? "\n" : ":");
  for (const auto& n : never) std::printf(" %s", n.c_str());
  if (!never.empty()) std::printf("\n");
  std::printf("%llu passed, %zu failed\n", static_cast<unsigned long long>(t.passed),
              t.failures.size());
}

}  // namespace

int sweep_command(const Args& args) {
  if (args.spec_path.empty() || args.seed_last == 0)
    return std::fputs(kSimUsage, stderr), kExitUsage;
  if (auto spec = load_spec(args.spec_path); !spec.ok()) {
    std::fprintf(stderr, "%s\n", spec.status().ToString().c_str());
    return kExitUsage;
  }
  const std::string work = absolute(args.replay_dir) + "/sweep";
  std::filesystem::create_directories(work);
  const uint64_t total = args.seed_last - args.seed_first + 1;
  const bool tty = isatty(STDERR_FILENO) != 0;
  const auto start = std::chrono::steady_clock::now();
  auto wall = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  SweepTotals t;
  std::map<pid_t, uint64_t> running;
  uint64_t next = args.seed_first;
  while (t.done < total) {
    while (running.size() < static_cast<size_t>(args.jobs) && next <= args.seed_last) {
      ChildSpec c;
      c.args = child_run_args(args, next);
      if (args.check_determinism) c.args.push_back("--check-determinism");
      c.stdout_path = absl::StrCat(work, "/", next, ".json");
      c.stderr_path = absl::StrCat(work, "/", next, ".stderr");
      auto pid = start_child(c);
      if (!pid.ok()) return std::fprintf(stderr, "cannot start a child\n"), kExitUsage;
      running[*pid] = next++;
    }
    ChildExit e = wait_child(-1);
    auto it = running.find(e.pid);
    if (it == running.end()) continue;
    const uint64_t seed = it->second;
    running.erase(it);
    SeedOutcome o = collect(seed, e, absl::StrCat(work, "/", seed, ".json"));
    ++t.done;
    t.sim_seconds += o.sim_seconds;
    t.probes_hit.insert(o.probes.begin(), o.probes.end());
    for (const auto& i : o.injectors) ++t.injector_seeds[i];
    if (e.exit_code == 0 && e.signal == 0) {
      ++t.passed;
      std::filesystem::remove(absl::StrCat(work, "/", seed, ".json"));
      std::filesystem::remove(absl::StrCat(work, "/", seed, ".stderr"));
    } else {
      if (o.verdict == "nondeterministic")
        o.violation = "runs of this seed diverged; see " + absl::StrCat(work, "/", seed, ".stderr");
      t.failures.push_back(std::move(o));
    }
    print_progress(t, total, wall(), tty);
  }
  if (tty) std::fprintf(stderr, "\n");
  print_summary(t, total, wall());
  return t.failures.empty() ? 0 : 1;
}

}  // namespace weir::cli
