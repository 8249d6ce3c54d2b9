#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "runtime/actor_collection.h"
#include "runtime/future.h"
#include "sim/cluster.h"
#include "sim/faults/attrition.h"
#include "sim/faults/injector.h"
#include "sim/faults/injectors.h"
#include "sim/simulator.h"

namespace weir::sim {
namespace {

using Options = std::map<std::string, std::string>;

constexpr int kRoleCount = 5;
constexpr uint16_t kPort = 7000;

// Reads a connection until it ends, so its peer's writes keep flowing.
void drain(std::shared_ptr<IConnection> c) {
  uint8_t buf[64];
  while (true) {
    auto n = c->read(absl::MakeSpan(buf));
    if (!n.ok() || *n == 0) return;
  }
}

// A role process of a ring: it serves its address and keeps a connection to the next process,
// writing a byte every 100 ms, so that network faults have live traffic to disturb.
void ring_node(ProcessContext& ctx, const std::vector<std::string>& ring) {
  ActorCollection actors;
  auto listener = ctx.network->listen(ctx.address);
  if (listener.ok()) {
    std::shared_ptr<IListener> l = std::move(*listener);
    actors.add(spawn("accept", [l, &actors] {
      while (true) {
        auto c = l->accept();
        if (!c.ok()) return;
        actors.add(spawn("drain", [c = *c] { drain(c); }));
      }
    }));
  }
  const auto self = std::find(ring.begin(), ring.end(), ctx.address);
  const size_t next = (static_cast<size_t>(self - ring.begin()) + 1) % ring.size();
  const uint8_t byte = 1;
  while (true) {
    auto c = ctx.network->connect(ring[next]);
    if (c.ok()) {
      while ((*c)->write(absl::MakeConstSpan(&byte, 1)).ok()) delay(100ms);
    }
    delay(200ms);
  }
}

// What one run of an injector did, as seen by a monitor sampling every 10 ms.
struct RunReport {
  std::vector<std::string> schedule;
  uint64_t unseed = 0;
  std::map<std::string, double> metrics;
  int most_dead = 0;  // role processes in state kDead at once
  int most_down = 0;  // role processes dead or paused at once
  bool tester_or_client_down = false;
  bool saw_partition = false;
  bool saw_one_way = false;
  bool tester_partitioned = false;
  bool saw_clog = false;
  bool non_role_clogged = false;
  bool saw_disk_faults = false;
  bool manual_partition_held = true;  // see PartitionInjector.HealsOnlyWhatItMade
  TimePoint stopped_at;
  TimePoint returned_at;
  // After stop() and the settle time.
  bool all_running_after = false;
  bool any_partition_after = true;
  bool any_clog_after = true;
  bool any_disk_faults_after = true;
  uint64_t stalled_deliveries = 0;
};

struct RunConfig {
  std::string injector;
  Options options;
  bool swarm = false;
  Duration fault_time = 60s;
  Duration settle = 15s;  // after stop(): longer than any pause the tests allow
  // Runs before the injector starts (to set up extra state).
  std::function<void(Simulator&, SimCluster&)> before;
  // Runs at every sample of the monitor, during the fault phase.
  std::function<void(Simulator&, RunReport&)> each_sample;
};

bool has_faults(SimDisk& disk) {
  const DiskFaults& f = disk.faults();
  return f.read_error_probability > 0 || f.write_error_probability > 0 ||
         f.sync_error_probability > 0 || f.metadata_error_probability > 0 ||
         f.corrupt_read_probability > 0 || f.slow_probability > 0 || f.disk_full;
}

bool is_role(const SimCluster& cluster, const SimProcess* p) {
  const auto& roles = cluster.role_processes();
  return std::find(roles.begin(), roles.end(), p) != roles.end();
}

void sample_processes(SimCluster& cluster, RunReport& out) {
  int dead = 0;
  int down = 0;
  for (const auto& p : cluster.sim().processes()) {
    if (!is_role(cluster, p.get())) {
      if (!p->running()) out.tester_or_client_down = true;
      continue;
    }
    if (p->state() == SimProcess::State::kDead) ++dead;
    if (!p->running()) ++down;
  }
  out.most_dead = std::max(out.most_dead, dead);
  out.most_down = std::max(out.most_down, down);
}

void sample_network(Simulator& sim, RunReport& out) {
  const auto& machines = sim.machines();
  for (const auto& a : machines) {
    const bool role = a->name() != "tester" && a->name().rfind("client", 0) != 0;
    if (sim.network().clogged_until(a->ip(), a->ip()) > sim.now()) {
      out.saw_clog = true;
      if (!role) out.non_role_clogged = true;
    }
    if (has_faults(a->disk())) out.saw_disk_faults = true;
    for (const auto& b : machines) {
      if (a == b || !sim.network().blocked(a->ip(), b->ip())) continue;
      out.saw_partition = true;
      if (!sim.network().blocked(b->ip(), a->ip())) out.saw_one_way = true;
      if (a->name() == "tester" || b->name() == "tester") out.tester_partitioned = true;
    }
  }
}

void sample_after(Simulator& sim, SimCluster& cluster, RunReport& out) {
  out.all_running_after =
      std::all_of(cluster.role_processes().begin(), cluster.role_processes().end(),
                  [](const SimProcess* p) { return p->running(); });
  out.any_partition_after = false;
  out.any_clog_after = false;
  out.any_disk_faults_after = false;
  for (const auto& a : sim.machines()) {
    if (sim.network().clogged_until(a->ip(), a->ip()) > sim.now()) out.any_clog_after = true;
    if (has_faults(a->disk())) out.any_disk_faults_after = true;
    for (const auto& b : sim.machines()) {
      if (sim.network().blocked(a->ip(), b->ip())) out.any_partition_after = true;
    }
  }
}

// Builds a 5-process ring and a client, runs the injector for cfg.fault_time from a tester
// actor, stops it, lets the cluster settle, and reports what happened.
RunReport run_injector(uint64_t seed, const RunConfig& cfg) {
  RunReport out;
  Simulator sim(seed);
  SimCluster cluster(sim, 1);
  auto ring = std::make_shared<std::vector<std::string>>();
  auto started = cluster.start_role(
      RoleSpec{"node", kRoleCount, kPort, [ring](ProcessContext& ctx) { ring_node(ctx, *ring); }});
  EXPECT_TRUE(started.ok()) << started.status();
  *ring = *started;
  if (cfg.before) cfg.before(sim, cluster);
  auto made = make_injector(cfg.injector, cfg.options, cluster, cfg.swarm);
  EXPECT_TRUE(made.ok()) << made.status();
  if (!made.ok()) return out;
  std::unique_ptr<Workload> injector = std::move(*made);
  bool stopping = false;
  auto monitor = spawn_in(cluster.tester(), "monitor", [&] {
    while (!stopping) {
      sample_processes(cluster, out);
      sample_network(sim, out);
      if (cfg.each_sample) cfg.each_sample(sim, out);
      delay(10ms);
    }
  });
  auto stopper = spawn_in(cluster.tester(), "stopper", [&] {
    delay(cfg.fault_time);
    stopping = true;
    out.stopped_at = sim.now();
    injector->stop();
  });
  auto runner = spawn_in(cluster.tester(), "injector", [&] {
    injector->start(cluster);
    out.returned_at = sim.now();
  });
  EXPECT_TRUE(run_until_ready(runner).ok());
  EXPECT_TRUE(run_until_ready(stopper).ok());
  sim.scheduler().run_until(sim.now() + cfg.settle);
  sample_after(sim, cluster, out);
  out.schedule = cluster.fault_schedule();
  out.metrics = injector->metrics();
  out.unseed = sim.unseed().value();
  out.stalled_deliveries = sim.network().stats().stalled_deliveries;
  return out;
}

double metric(const RunReport& run, const std::string& name) {
  auto it = run.metrics.find(name);
  return it == run.metrics.end() ? 0 : it->second;
}

// The checks every injector run must pass, whatever it injects.
void expect_healthy_run(const RunReport& run) {
  EXPECT_EQ(run.returned_at, run.stopped_at) << "start() did not return promptly on stop()";
  EXPECT_FALSE(run.tester_or_client_down);
  EXPECT_FALSE(run.tester_partitioned);
  EXPECT_FALSE(run.non_role_clogged);
  EXPECT_TRUE(run.all_running_after);
  EXPECT_FALSE(run.any_partition_after);
  EXPECT_FALSE(run.any_clog_after);
  EXPECT_FALSE(run.any_disk_faults_after);
  ASSERT_FALSE(run.schedule.empty());
  EXPECT_NE(run.schedule.back().find("heal everything"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------

TEST(FaultInjectorFactory, KnowsEveryInjector) {
  EXPECT_EQ(injector_names(), (std::vector<std::string>{"Attrition", "Clogging", "ConnectionResets",
                                                        "DiskFaults", "Partitions"}));
  Simulator sim(1);
  SimCluster cluster(sim, 1);
  for (const std::string& name : injector_names()) {
    for (bool swarm : {false, true}) {
      auto w = make_injector(name, {}, cluster, swarm);
      ASSERT_TRUE(w.ok()) << name << ": " << w.status();
      EXPECT_EQ((*w)->name(), name);
      EXPECT_TRUE((*w)->is_injector());
      EXPECT_TRUE((*w)->check(cluster).ok());
      EXPECT_TRUE((*w)->metrics().empty());
      auto* injector = dynamic_cast<Injector*>(w->get());
      ASSERT_NE(injector, nullptr);
      EXPECT_TRUE(injector->options().has(kIntervalOption));
    }
    EXPECT_TRUE(injector_schema(name).ok());
  }
}

TEST(FaultInjectorFactory, RejectsBadSpecsWithoutConsumingRandomness) {
  Simulator sim(7);
  SimCluster cluster(sim, 1);
  DeterministicRandom before = static_cast<DeterministicRandom&>(sim.random());
  const std::vector<std::pair<std::string, Options>> bad = {
      {"Earthquake", {}},
      {"attrition", {}},
      {"Attrition", {{"kill_wieght", "1"}}},
      {"Attrition", {{"interval_s", "abc"}}},
      {"Attrition", {{"interval_s", ""}}},
      {"Attrition", {{"interval_s", "5..1"}}},
      {"Attrition", {{"interval_s", "1.."}}},
      {"Attrition", {{"interval_s", "nan"}}},
      {"Attrition", {{"interval_s", "inf"}}},
      {"Attrition", {{"interval_s", "0"}}},
      {"Attrition", {{"downtime_s", "-1"}}},
      {"Attrition", {{"max_dead", "1.5"}}},
      {"Attrition", {{"max_dead", "0.5..2"}}},
      {"Attrition",
       {{"kill_weight", "0"},
        {"crash_weight", "0"},
        {"shutdown_weight", "0"},
        {"pause_weight", "0"}}},
      {"Partitions",
       {{"pair_weight", "0"},
        {"split_weight", "0"},
        {"one_way_weight", "0"},
        {"client_weight", "0"}}},
      {"Partitions", {{"max_active", "0"}}},
      {"Clogging", {{"slow_probability", "1.5"}}},
      {"Clogging", {{"slow_factor", "0.5"}}},
      {"DiskFaults", {{"read_error_p", "0..2"}}},
      {"ConnectionResets", {{"probability", "-0.1"}}},
  };
  for (const auto& [name, options] : bad) {
    for (bool swarm : {false, true}) {
      auto w = make_injector(name, options, cluster, swarm);
      EXPECT_EQ(w.status().code(), absl::StatusCode::kInvalidArgument)
          << name << " "
          << (options.empty() ? "" : options.begin()->first + "=" + options.begin()->second);
    }
  }
  EXPECT_EQ(before.next_u64(), sim.random().next_u64()) << "a rejected spec consumed randomness";
}

TEST(FaultInjectorFactory, BuildsFromInjectorSpec) {
  Simulator sim(1);
  SimCluster cluster(sim, 1);
  InjectorSpec spec;
  spec.set_name("Clogging");
  (*spec.mutable_options())["clog_s"] = "1..2";
  (*spec.mutable_options())["interval_s"] = " 3 ";
  auto w = make_injector(spec, cluster, false);
  ASSERT_TRUE(w.ok()) << w.status();
  const auto& options = dynamic_cast<Injector&>(**w).options();
  EXPECT_EQ(options.range("clog_s"), (Range{1, 2}));
  EXPECT_EQ(options.range("interval_s"), (Range{3, 3}));
  (*spec.mutable_options())["bogus"] = "1";
  EXPECT_EQ(make_injector(spec, cluster, false).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(FaultInjectorOptions, ParsesRanges) {
  EXPECT_EQ(*parse_range("2"), (Range{2, 2}));
  EXPECT_EQ(*parse_range("0.5..5"), (Range{0.5, 5}));
  EXPECT_EQ(*parse_range(" 1 .. 3 "), (Range{1, 3}));
  EXPECT_EQ(*parse_range("-1..-0.5"), (Range{-1, -0.5}));
  EXPECT_FALSE(parse_range("..").ok());
  EXPECT_FALSE(parse_range("1..2..3").ok());
  EXPECT_FALSE(parse_range("2x").ok());
}

TEST(FaultInjectorSwarm, DrawsEachSeedsIntensityWithinTheRanges) {
  const Options given = {{"interval_s", "1..20"}, {"downtime_s", "2..8"}, {"max_dead", "0..2"}};
  std::set<double> intervals;
  std::set<double> downtime_his;
  std::set<double> max_deads;
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    Simulator sim(seed);
    SimCluster cluster(sim, 1);
    auto w = make_injector("Attrition", given, cluster, true);
    ASSERT_TRUE(w.ok()) << w.status();
    const InjectorOptions& o = dynamic_cast<Injector&>(**w).options();
    const Range interval = o.range("interval_s");
    EXPECT_TRUE(interval.fixed());
    EXPECT_GE(interval.lo, 1);
    EXPECT_LE(interval.lo, 20);
    intervals.insert(interval.lo);
    const Range downtime = o.range("downtime_s");  // per fault: the seed's longest
    EXPECT_EQ(downtime.lo, 2);
    EXPECT_GE(downtime.hi, 2);
    EXPECT_LE(downtime.hi, 8);
    downtime_his.insert(downtime.hi);
    const Range max_dead = o.range("max_dead");
    EXPECT_TRUE(max_dead.fixed());
    EXPECT_EQ(max_dead.lo, static_cast<int>(max_dead.lo));
    EXPECT_GE(max_dead.lo, 0);
    EXPECT_LE(max_dead.lo, 2);
    max_deads.insert(max_dead.lo);
    // Swarm defaults for what the spec left out are ranges too: the weights vary per seed.
    const Range kill = o.range("kill_weight");
    EXPECT_TRUE(kill.fixed());
    EXPECT_GE(kill.lo, 0);
    EXPECT_LE(kill.lo, 1);
  }
  EXPECT_GT(intervals.size(), 20u);
  EXPECT_GT(downtime_his.size(), 20u);
  EXPECT_EQ(max_deads.size(), 3u);
}

TEST(FaultInjectorSwarm, OutsideSwarmRangesStayAsGiven) {
  Simulator sim(3);
  SimCluster cluster(sim, 1);
  auto w = make_injector("Attrition", {{"downtime_s", "2..8"}}, cluster, false);
  ASSERT_TRUE(w.ok());
  const InjectorOptions& o = dynamic_cast<Injector&>(**w).options();
  EXPECT_EQ(o.range("downtime_s"), (Range{2, 8}));
  EXPECT_EQ(o.range("interval_s"), (Range{5, 5}));  // the non-swarm default
  EXPECT_EQ(o.range("kill_weight"), (Range{1, 1}));
  EXPECT_FALSE(o.has("max_dead"));
}

TEST(FaultInjectorStop, StopBeforeStartAndTwice) {
  Simulator sim(5);
  SimCluster cluster(sim, 1);
  auto w = make_injector("Partitions", {}, cluster, false);
  ASSERT_TRUE(w.ok());
  Workload& injector = **w;
  auto f = spawn_in(cluster.tester(), "stop-first", [&] {
    injector.stop();
    injector.start(cluster);  // returns at once
    injector.stop();
  });
  ASSERT_TRUE(run_until_ready(f).ok());
  EXPECT_EQ(sim.now(), TimePoint{});
  EXPECT_TRUE(injector.metrics().empty());
}

// ---------------------------------------------------------------------------------------------

TEST(AttritionInjector, DefaultBudgetIsAMinority) {
  Simulator sim(1);
  SimCluster cluster(sim, 1);
  Attrition attrition(cluster, {}, false);
  EXPECT_EQ(attrition.max_down(0), 0);
  EXPECT_EQ(attrition.max_down(1), 0);
  EXPECT_EQ(attrition.max_down(2), 1);
  EXPECT_EQ(attrition.max_down(3), 1);
  EXPECT_EQ(attrition.max_down(4), 1);
  EXPECT_EQ(attrition.max_down(5), 2);
  EXPECT_EQ(attrition.max_down(7), 3);
  Attrition three(cluster, {{"max_dead", "3"}}, false);
  EXPECT_EQ(three.max_down(5), 3);
  EXPECT_EQ(three.max_down(2), 2);
}

TEST(AttritionInjector, KillsCrashesShutsDownAndPausesWithinBudget) {
  const RunReport run = run_injector(
      11, {.injector = "Attrition", .options = {{"interval_s", "0.5"}}, .fault_time = 120s});
  expect_healthy_run(run);
  EXPECT_GT(metric(run, "kills"), 0);
  EXPECT_GT(metric(run, "crashes"), 0);
  EXPECT_GT(metric(run, "shutdowns"), 0);
  EXPECT_GT(metric(run, "pauses"), 0);
  EXPECT_GE(run.most_dead, 1);
  EXPECT_LE(run.most_down, 2);  // (5 - 1) / 2
  EXPECT_EQ(run.most_down, 2) << "the budget was never used up: the test is too weak";
}

TEST(AttritionInjector, HonoursMaxDead) {
  const RunReport one = run_injector(
      12, {.injector = "Attrition", .options = {{"interval_s", "0.3"}, {"max_dead", "1"}}});
  expect_healthy_run(one);
  EXPECT_EQ(one.most_down, 1);
  EXPECT_GT(metric(one, "skipped"), 0);

  const RunReport none = run_injector(
      13, {.injector = "Attrition", .options = {{"interval_s", "0.3"}, {"max_dead", "0"}}});
  expect_healthy_run(none);
  EXPECT_EQ(none.most_down, 0);
  EXPECT_EQ(metric(none, "kills") + metric(none, "crashes") + metric(none, "pauses"), 0);
  EXPECT_EQ(none.schedule.size(), 1u);  // only the final heal
}

TEST(AttritionInjector, SwarmKeepsTheBudget) {
  for (uint64_t seed = 20; seed < 24; ++seed) {
    const RunReport run = run_injector(
        seed, {.injector = "Attrition", .options = {{"interval_s", "0.2..2"}}, .swarm = true});
    expect_healthy_run(run);
    EXPECT_LE(run.most_down, 2);
  }
}

TEST(ClogInjector, ClogsAndSlowsRoleMachines) {
  const RunReport run = run_injector(
      21,
      {.injector = "Clogging", .options = {{"interval_s", "0.5"}, {"slow_probability", "0.5"}}});
  expect_healthy_run(run);
  EXPECT_GT(metric(run, "clogs"), 0);
  EXPECT_GT(metric(run, "slow_links"), 0);
  EXPECT_TRUE(run.saw_clog);
}

TEST(PartitionInjector, MakesEveryKindAndHealsThem) {
  const RunReport run = run_injector(
      31, {.injector = "Partitions", .options = {{"interval_s", "0.5"}, {"duration_s", "0.5..4"}}});
  expect_healthy_run(run);
  EXPECT_GT(metric(run, "pairs"), 0);
  EXPECT_GT(metric(run, "splits"), 0);
  EXPECT_GT(metric(run, "one_way"), 0);
  EXPECT_GT(metric(run, "client"), 0);
  EXPECT_GT(metric(run, "skipped"), 0) << "max_active never limited anything";
  EXPECT_TRUE(run.saw_partition);
  EXPECT_TRUE(run.saw_one_way);
  EXPECT_GT(run.stalled_deliveries, 0u) << "no traffic met a partition";
}

TEST(PartitionInjector, HealsOnlyWhatItMade) {
  // A partition the injector did not make (tester -> client0) must outlive all of its heals.
  std::string tester_ip;
  std::string client_ip;
  RunConfig cfg{.injector = "Partitions",
                .options = {{"interval_s", "0.3"}, {"duration_s", "0.2..1"}, {"max_active", "3"}},
                .fault_time = 30s};
  cfg.before = [&](Simulator& sim, SimCluster&) {
    tester_ip = sim.find_process("tester")->machine().ip();
    client_ip = sim.find_process("client0")->machine().ip();
    sim.network().partition(tester_ip, client_ip);
  };
  cfg.each_sample = [&](Simulator& sim, RunReport& run) {
    if (!sim.network().blocked(tester_ip, client_ip)) run.manual_partition_held = false;
  };
  const RunReport run = run_injector(32, cfg);
  EXPECT_TRUE(run.manual_partition_held);
  EXPECT_GT(std::count_if(run.schedule.begin(), run.schedule.end(),
                          [](const std::string& s) { return s.find("heal partition") != s.npos; }),
            3);
  EXPECT_FALSE(run.any_partition_after);  // stop() heals everything, ours included
}

TEST(DiskFaultInjector, FaultsDisksForAWhile) {
  const RunReport run =
      run_injector(41, {.injector = "DiskFaults", .options = {{"interval_s", "0.5"}}});
  expect_healthy_run(run);
  EXPECT_GT(metric(run, "spells"), 0);
  EXPECT_TRUE(run.saw_disk_faults);
}

TEST(ConnectionResetInjector, ResetsLiveConnections) {
  const RunReport run =
      run_injector(51, {.injector = "ConnectionResets", .options = {{"interval_s", "0.5"}}});
  expect_healthy_run(run);
  EXPECT_GT(metric(run, "resets"), 0);
  EXPECT_GT(metric(run, "connections_reset"), 0);
}

// ---------------------------------------------------------------------------------------------

class FaultInjectorDeterminism : public ::testing::TestWithParam<std::string> {};

TEST_P(FaultInjectorDeterminism, SameSeedSameFaultsAndUnseed) {
  for (bool swarm : {false, true}) {
    const RunConfig cfg{.injector = GetParam(),
                        .options = {{"interval_s", "0.2..1"}},
                        .swarm = swarm,
                        .fault_time = 30s,
                        .settle = 11s};
    const RunReport a = run_injector(77, cfg);
    const RunReport b = run_injector(77, cfg);
    const RunReport c = run_injector(78, cfg);
    EXPECT_GT(a.schedule.size(), 5u);
    EXPECT_EQ(a.schedule, b.schedule) << "swarm=" << swarm;
    EXPECT_EQ(a.unseed, b.unseed) << "swarm=" << swarm;
    EXPECT_EQ(a.metrics, b.metrics) << "swarm=" << swarm;
    EXPECT_NE(a.schedule, c.schedule) << "swarm=" << swarm;
    EXPECT_NE(a.unseed, c.unseed) << "swarm=" << swarm;
  }
}

INSTANTIATE_TEST_SUITE_P(AllInjectors, FaultInjectorDeterminism,
                         ::testing::ValuesIn(injector_names()));

}  // namespace
}  // namespace weir::sim
