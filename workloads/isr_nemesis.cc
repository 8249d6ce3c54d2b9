#include "workloads/isr_nemesis.h"

#include <algorithm>
#include <functional>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "broker/server/cluster_store.h"
#include "coord/client/client.h"
#include "runtime/future.h"
#include "runtime/trace.h"

namespace weir::workloads {
namespace {

using broker::ClusterStore;
using broker::PartitionState;

constexpr int kReplicas = 3;

std::string broker_process(int32_t id) {
  return absl::StrCat("broker", id);
}

bool contains(const std::vector<int32_t>& v, int32_t x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// One run of a script: the state reads, waits and faults it is made of, each step named so
// that a script that cannot go on says where it stopped.
class Script {
 public:
  Script(IFaults& faults, coord::client::CoordClient& coord, std::string topic, const bool& stopped,
         IsrNemesisReport& report)
      : faults_(faults),
        coord_(coord),
        topic_(std::move(topic)),
        stopped_(stopped),
        report_(report) {}

  std::optional<PartitionState> state() {
    auto data = await(coord_.get_data(ClusterStore::state_path(topic_, 0)));
    if (!data.ok()) return std::nullopt;
    auto s = ClusterStore::parse_partition_state_json(data->data);
    if (!s.ok()) return std::nullopt;
    return *std::move(s);
  }

  // Polls the state until `pred` holds; nullopt (the step recorded) after `within` or a stop.
  std::optional<PartitionState> await_state(const std::string& step,
                                            const std::function<bool(const PartitionState&)>& pred,
                                            Duration within) {
    const TimePoint deadline = Scheduler::current().now() + within;
    while (!stopped_ && Scheduler::current().now() < deadline) {
      auto s = state();
      if (s.has_value() && pred(*s)) return s;
      delay(100ms);
    }
    report_.stopped_at = step;
    return std::nullopt;
  }

  // A random wait in [lo, hi] ms; false once stopped.
  bool wait(int64_t lo_ms, int64_t hi_ms) {
    IRandom& random = *current_context().random;
    delay(std::chrono::milliseconds(random.uniform_int(lo_ms, hi_ms)));
    return !stopped_;
  }

  // Applies a fault; a refusal (the process already down) ends the script there.
  bool apply(const std::string& step, absl::Status s) {
    if (s.ok() && !stopped_) return true;
    report_.stopped_at = absl::StrCat(step, ": ", s.ToString());
    return false;
  }

  // Waits `lo..hi` ms watching who leads; records the time without a leader and the first
  // leader other than `not_counted` elected after the fault (a leader epoch above
  // epoch_at_fault_: until the controller hears of the fault, the state names the old leader).
  bool watch_leaders(int64_t lo_ms, int64_t hi_ms, int32_t not_counted, int32_t* other) {
    IRandom& random = *current_context().random;
    const TimePoint end =
        Scheduler::current().now() + std::chrono::milliseconds(random.uniform_int(lo_ms, hi_ms));
    while (!stopped_ && Scheduler::current().now() < end) {
      auto s = state();
      if (s.has_value() && s->leader < 0) report_.offline_s += 0.1;
      if (s.has_value() && s->leader >= 0 && s->leader != not_counted && *other < 0 &&
          s->leader_epoch > epoch_at_fault_)
        *other = s->leader;
      delay(100ms);
    }
    return !stopped_;
  }

  // Remembers the leader epoch before a fault, for watch_leaders; false (the step recorded)
  // when it cannot be read. A failed read must not leave the epoch unknown: every state,
  // the one still naming the lost leader included, would then look like a new election
  // (isr_last_replica_standing with Clogging: a false "led before the eligible replica").
  bool note_epoch_before_fault() {
    auto s = await_state(
        "reading the leader epoch before the fault", [](const PartitionState&) { return true; },
        10s);
    if (s.has_value()) epoch_at_fault_ = s->leader_epoch;
    return s.has_value();
  }

  // The broker id in /controller, or -1.
  int32_t controller() {
    ProcessContext& ctx = current_context();
    ClusterStore store(coord_, *ctx.clock, *ctx.random);
    auto c = store.get_controller();
    return c.ok() ? *c : -1;
  }

  IFaults& faults() { return faults_; }
  IsrNemesisReport& report() { return report_; }

 private:
  IFaults& faults_;
  coord::client::CoordClient& coord_;
  std::string topic_;
  const bool& stopped_;
  IsrNemesisReport& report_;
  int32_t epoch_at_fault_ = -1;
};

bool full(const PartitionState& s) {
  return s.leader >= 0 && static_cast<int>(s.isr.size()) == kReplicas;
}

std::vector<int32_t> followers_of(const PartitionState& s) {
  std::vector<int32_t> out;
  for (int32_t r : s.isr) {
    if (r != s.leader) out.push_back(r);
  }
  return out;
}

void leader_loss(Script& script) {
  auto s = script.await_state("a full ISR", full, 20s);
  if (!s || !script.wait(1000, 3000)) return;
  const int32_t leader = s->leader;
  for (int32_t f : followers_of(*s)) {
    if (!script.apply("cut", script.faults().cut(broker_process(leader), broker_process(f))))
      return;
  }
  auto alone = script.await_state(
      "the ISR shrunk to the leader",
      [&](const PartitionState& st) { return st.isr == std::vector<int32_t>{leader}; }, 15s);
  if (!alone || !script.wait(1000, 3000)) return;  // the leader acknowledges alone meanwhile
  script.report().lost_leader = leader;
  if (!script.note_epoch_before_fault()) return;
  IRandom& random = *current_context().random;
  const bool power = random.coinflip(0.25);
  auto& faults = script.faults();
  if (!script.apply("lose the leader", power ? faults.power_loss(broker_process(leader))
                                             : faults.kill(broker_process(leader))))
    return;
  if (!script.wait(300, 1000)) return;
  faults.heal_links();
  if (!script.watch_leaders(2000, 5000, leader, &script.report().leader_while_down)) return;
  if (!script.apply("restart the leader", faults.restart(broker_process(leader)))) return;
  script.report().completed = true;
}

void last_replica_standing(Script& script) {
  auto s = script.await_state("a full ISR", full, 20s);
  if (!s || !script.wait(1000, 2000)) return;
  const int32_t leader = s->leader;
  std::vector<int32_t> f = followers_of(*s);
  if (current_context().random->coinflip(0.5)) std::swap(f[0], f[1]);
  const int32_t stale = f[0], eligible = f[1];
  auto& faults = script.faults();
  if (!script.apply("kill the first follower", faults.kill(broker_process(stale)))) return;
  auto two = script.await_state(
      "the ISR without the first follower",
      [&](const PartitionState& st) { return st.leader == leader && !contains(st.isr, stale); },
      15s);
  if (!two || !script.wait(1000, 2000)) return;  // writes committed on leader and eligible
  if (!script.apply("kill the eligible follower", faults.kill(broker_process(eligible)))) return;
  script.report().eligible = eligible;
  auto one = script.await_state(
      "the eligible follower in the ELR",
      [&](const PartitionState& st) { return contains(st.elr, eligible); }, 15s);
  if (!one || !script.wait(500, 1500)) return;
  script.report().lost_leader = leader;
  if (!script.note_epoch_before_fault()) return;
  if (!script.apply("power loss on the leader", faults.power_loss(broker_process(leader)))) return;
  if (!script.wait(1000, 2000)) return;
  if (!script.apply("restart the leader", faults.restart(broker_process(leader)))) return;
  if (!script.watch_leaders(1000, 3000, -1, &script.report().leader_while_down)) return;
  if (!script.apply("restart the eligible", faults.restart(broker_process(eligible)))) return;
  if (!script.watch_leaders(1000, 2000, -1, &script.report().leader_after)) return;
  if (!script.apply("restart the first follower", faults.restart(broker_process(stale)))) return;
  script.report().completed = true;
}

// KIP-101's first scenario, made certain: the follower F is cut off from the leader L while
// writes flow; the third replica X fetches a moment longer, so L's high watermark climbs past
// what F last heard and those writes are acknowledged; then X dies, so the controller shrinks the
// ISR to {L, F} with a new leader epoch, and F, told so, truncates while it cannot reach L. Then L
// dies and F leads. Truncating by leader epoch, F keeps its log (it cannot ask L yet); truncating
// at its high watermark, it drops acknowledged writes. The ISR lag bound is long here, so that L
// does not shrink F.
void follower_truncation(Script& script) {
  auto s = script.await_state("a full ISR", full, 20s);
  if (!s || !script.wait(1000, 2000)) return;
  const int32_t leader = s->leader;
  std::vector<int32_t> f = followers_of(*s);
  if (current_context().random->coinflip(0.5)) std::swap(f[0], f[1]);
  // The follower must hear of the new epoch while cut off from the leader: from itself, when
  // it is the controller. (A leader that is also the controller cannot tell it; the seed
  // still checks the rest.)
  if (script.controller() == f[1]) std::swap(f[0], f[1]);
  const int32_t follower = f[0], third = f[1];
  auto& faults = script.faults();
  if (!script.apply("cut the follower off",
                    faults.cut(broker_process(leader), broker_process(follower))))
    return;
  // The third replica goes on fetching a moment: the leader's high watermark climbs to what the
  // follower holds, past what the follower last heard it was, and those writes are acknowledged.
  if (!script.wait(200, 600)) return;
  if (!script.apply("kill the third replica", faults.kill(broker_process(third)))) return;
  auto two = script.await_state(
      "the ISR without the third replica",
      [&](const PartitionState& st) {
        return st.leader_epoch > s->leader_epoch && !contains(st.isr, third);
      },
      15s);
  if (!two) return;
  script.report().lost_leader = leader;
  if (!script.note_epoch_before_fault()) return;
  if (!script.apply("kill the leader", faults.kill(broker_process(leader)))) return;
  faults.heal_links();
  if (!script.watch_leaders(2000, 4000, leader, &script.report().leader_while_down)) return;
  if (!script.apply("restart the leader", faults.restart(broker_process(leader)))) return;
  if (!script.apply("restart the third replica", faults.restart(broker_process(third)))) return;
  script.report().completed = true;
}

}  // namespace

absl::StatusOr<IsrScenario> parse_isr_scenario(std::string_view name) {
  if (name == "none") return IsrScenario::kNone;
  if (name == "leader_loss") return IsrScenario::kLeaderLoss;
  if (name == "last_replica_standing") return IsrScenario::kLastReplicaStanding;
  if (name == "follower_truncation") return IsrScenario::kFollowerTruncation;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown scenario '", std::string(name),
                   "' (known: none, leader_loss, last_replica_standing, follower_truncation)"));
}

void run_isr_nemesis(IsrScenario scenario, IFaults& faults, const std::string& coord_connect,
                     const std::string& topic, const bool& stopped, IsrNemesisReport& report) {
  auto client = coord::client::CoordClient::create(coord_connect, {.request_timeout = 5s});
  WEIR_ASSERT_MSG(client.ok(), "the workload's coord connect string parses");
  Script script(faults, **client, topic, stopped, report);
  if (scenario == IsrScenario::kLeaderLoss) leader_loss(script);
  if (scenario == IsrScenario::kLastReplicaStanding) last_replica_standing(script);
  if (scenario == IsrScenario::kFollowerTruncation) follower_truncation(script);
  TraceEvent(Severity::kInfo, "IsrNemesisDone")
      .detail("Completed", report.completed)
      .detail("StoppedAt", report.stopped_at)
      .detail("LostLeader", report.lost_leader)
      .detail("LeaderWhileDown", report.leader_while_down)
      .detail("LeaderAfter", report.leader_after);
  // Whatever the script took down comes back: the checker needs every replica.
  faults.heal_all();
  (void)await(timeout((*client)->close(), 5s));
}

}  // namespace weir::workloads
