// The linearizability checker: classic hand-written histories for the register and znode
// models, a brute-force oracle on many small random histories, generated histories that are
// linearizable by construction (and provably illegal after one mutation), budgets and scale.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "workloads/linearizability/checker.h"
#include "workloads/linearizability/partition.h"
#include "workloads/linearizability/register_model.h"
#include "workloads/linearizability/znode_model.h"

namespace weir::workloads::lin {
namespace {

using RegOp = OperationOf<RegisterModel>;
using RegHistory = HistoryOf<RegisterModel>;
using ZOp = OperationOf<ZnodeModel>;
using ZHistory = HistoryOf<ZnodeModel>;
using R = RegisterInput;
using RO = RegisterOutput;
using Z = ZnodeOp;
using ZR = ZnodeResult;

RegOp reg(int32_t client, int64_t invoke, int64_t ret, RegisterInput in, RegisterOutput out) {
  return RegOp{client, invoke, ret, in, out};
}
RegOp reg_unknown(int32_t client, int64_t invoke, RegisterInput in) {
  return RegOp{client, invoke, std::nullopt, in, {}};
}
ZOp zop(int32_t client, int64_t invoke, int64_t ret, ZnodeOp in, ZnodeResult out) {
  return ZOp{client, invoke, ret, std::move(in), std::move(out)};
}
ZOp zop_unknown(int32_t client, int64_t invoke, ZnodeOp in) {
  return ZOp{client, invoke, std::nullopt, std::move(in), {}};
}

// Checks both with and without partitioning, which must agree, and returns the partitioned one.
template <typename M>
CheckResult check_both(const HistoryOf<M>& history, CheckOptions options = {}) {
  options.partition = false;
  const CheckResult whole = check<M>(history, options);
  options.partition = true;
  const CheckResult parts = check<M>(history, options);
  EXPECT_EQ(whole.verdict, parts.verdict) << whole.to_string() << "\n" << parts.to_string();
  return parts;
}

// ---------------------------------------------------------------------------------------------
// Registers, by hand.

TEST(Linearizability, EmptyAndSequentialRegisterHistoriesAreOk) {
  EXPECT_TRUE(check<RegisterModel>({}).ok());
  const RegHistory history = {
      reg(0, 0, 10, R::write(0, 1), RO::done()),
      reg(1, 20, 30, R::read(0), RO::read(1)),
      reg(0, 40, 50, R::cas(0, 1, 2), RO::cas(true)),
      reg(1, 60, 70, R::read(0), RO::read(2)),
  };
  EXPECT_TRUE(check_both<RegisterModel>(history).ok());
}

TEST(Linearizability, ConcurrentReadMaySeeEitherValue) {
  for (int64_t seen : {0, 1}) {
    const RegHistory history = {
        reg(0, 0, 100, R::write(0, 1), RO::done()),
        reg(1, 10, 20, R::read(0), RO::read(seen)),
    };
    EXPECT_TRUE(check_both<RegisterModel>(history).ok()) << seen;
  }
  // But not a value nobody wrote.
  const RegHistory bad = {
      reg(0, 0, 100, R::write(0, 1), RO::done()),
      reg(1, 10, 20, R::read(0), RO::read(7)),
  };
  EXPECT_TRUE(check_both<RegisterModel>(bad).illegal());
}

TEST(Linearizability, StaleReadAfterCompletedWriteIsIllegalAndExplained) {
  const RegHistory history = {
      reg(0, 0, 10, R::write(0, 1), RO::done()),
      reg(1, 20, 30, R::read(0), RO::read(0)),
  };
  const CheckResult result = check_both<RegisterModel>(history);
  ASSERT_TRUE(result.illegal()) << result.to_string();
  ASSERT_EQ(result.prefix.size(), 1u);
  EXPECT_EQ(result.prefix[0].index, 0u);
  EXPECT_EQ(result.blocked.index, 1u);
  EXPECT_EQ(result.blocked.text, "read(k0) -> 0");
  EXPECT_EQ(result.state, "{k0=1} (other keys 0)");
  const std::string text = result.to_string();
  EXPECT_NE(text.find("illegal"), std::string::npos) << text;
  EXPECT_NE(text.find("#1 client 1 [20, 30] read(k0) -> 0"), std::string::npos) << text;
}

TEST(Linearizability, ReadersDisagreeingOnTheOrderOfConcurrentWritesIsIllegal) {
  // Both writes span every read. Reader 1 sees 1 then 2, reader 2 sees 2 then 1: after both
  // first reads, both writes took effect, so the second reads must agree.
  const RegHistory history = {
      reg(0, 0, 100, R::write(0, 1), RO::done()), reg(1, 0, 100, R::write(0, 2), RO::done()),
      reg(2, 10, 20, R::read(0), RO::read(1)),    reg(3, 10, 20, R::read(0), RO::read(2)),
      reg(2, 30, 40, R::read(0), RO::read(2)),    reg(3, 30, 40, R::read(0), RO::read(1)),
  };
  EXPECT_TRUE(check_both<RegisterModel>(history).illegal());
  // If the readers agree, it is fine.
  RegHistory agreeing = history;
  agreeing[5].output = RO::read(2);
  agreeing[3].output = RO::read(1);
  EXPECT_TRUE(check_both<RegisterModel>(agreeing).ok());
}

TEST(Linearizability, UnknownOutcomeMayTakeEffectOnceOrNever) {
  // Never: reads keep seeing 0.
  RegHistory history = {
      reg_unknown(0, 0, R::write(0, 1)),
      reg(1, 10, 20, R::read(0), RO::read(0)),
      reg(1, 30, 40, R::read(0), RO::read(0)),
  };
  EXPECT_TRUE(check_both<RegisterModel>(history).ok());
  // Late: the write lands between the reads, long after its client gave up.
  history[2].output = RO::read(1);
  EXPECT_TRUE(check_both<RegisterModel>(history).ok());
  // Not undone: once seen, it stays.
  history.push_back(reg(1, 50, 60, R::read(0), RO::read(0)));
  EXPECT_TRUE(check_both<RegisterModel>(history).illegal());
  // Not before its invoke.
  const RegHistory early = {
      reg(1, 0, 5, R::read(0), RO::read(1)),
      reg_unknown(0, 10, R::write(0, 1)),
  };
  EXPECT_TRUE(check_both<RegisterModel>(early).illegal());
  // At most once: a completed write of 2 and an unknown write of 1; seeing 1 then 2 needs
  // the completed write after the unknown one, but it returned before the first read.
  const RegHistory once = {
      reg_unknown(0, 0, R::write(0, 1)),
      reg(1, 0, 10, R::write(0, 2), RO::done()),
      reg(2, 20, 30, R::read(0), RO::read(1)),
      reg(2, 40, 50, R::read(0), RO::read(2)),
  };
  EXPECT_TRUE(check_both<RegisterModel>(once).illegal());
}

TEST(Linearizability, UnknownOutcomeWithDeadline) {
  // The write took effect by time 15 or never; the first read, invoked after 15, saw 0.
  RegHistory history = {
      reg_unknown(0, 0, R::write(0, 1)),
      reg(1, 16, 20, R::read(0), RO::read(0)),
      reg(1, 30, 40, R::read(0), RO::read(1)),
  };
  EXPECT_TRUE(check_both<RegisterModel>(history).ok());  // no deadline: it landed late
  history[0].effect_deadline = 15;
  EXPECT_TRUE(check_both<RegisterModel>(history).illegal());
  history[1].invoke = 15;  // the read may now come first
  EXPECT_TRUE(check_both<RegisterModel>(history).ok());
}

// Timed-out writes could each land anywhere later; an illegal history must rule out every
// subset of them, which the memo's subset pruning keeps near-linear instead of 2^40.
TEST(Linearizability, ManyUnknownWritesStayCheap) {
  RegHistory history;
  for (int i = 0; i < 40; ++i) history.push_back(reg_unknown(i, i, R::write(0, i + 1)));
  for (int i = 0; i < 40; ++i) {
    history.push_back(reg(100, 100 + 10 * i, 105 + 10 * i, R::read(0), RO::read(40 - i)));
  }
  CheckOptions options;
  options.max_steps = 2'000'000;
  const CheckResult ok = check<RegisterModel>(history, options);
  EXPECT_TRUE(ok.ok()) << ok.to_string();
  history.back().output = RO::read(-1);
  const CheckResult bad = check<RegisterModel>(history, options);
  EXPECT_TRUE(bad.illegal()) << bad.to_string();
  std::printf("40 unknown writes: ok in %llu steps, illegal in %llu steps\n",
              static_cast<unsigned long long>(ok.steps),
              static_cast<unsigned long long>(bad.steps));
}

TEST(Linearizability, CompareAndSet) {
  // Two concurrent cas(0 -> x): exactly one may win.
  RegHistory both_win = {
      reg(0, 0, 10, R::cas(0, 0, 1), RO::cas(true)),
      reg(1, 0, 10, R::cas(0, 0, 2), RO::cas(true)),
  };
  EXPECT_TRUE(check_both<RegisterModel>(both_win).illegal());
  RegHistory one_wins = both_win;
  one_wins[1].output = RO::cas(false);
  one_wins.push_back(reg(2, 20, 30, R::read(0), RO::read(1)));
  EXPECT_TRUE(check_both<RegisterModel>(one_wins).ok());
  one_wins.back().output = RO::read(2);  // the loser's value
  EXPECT_TRUE(check_both<RegisterModel>(one_wins).illegal());
  // A cas that fails although the value matched, with nothing concurrent.
  const RegHistory spurious_failure = {
      reg(0, 0, 10, R::write(0, 5), RO::done()),
      reg(0, 20, 30, R::cas(0, 5, 6), RO::cas(false)),
  };
  EXPECT_TRUE(check_both<RegisterModel>(spurious_failure).illegal());
  // An unknown cas that won, seen by a read.
  const RegHistory unknown_cas = {
      reg(0, 0, 10, R::write(0, 5), RO::done()),
      reg_unknown(1, 20, R::cas(0, 5, 6)),
      reg(2, 30, 40, R::read(0), RO::read(6)),
  };
  EXPECT_TRUE(check_both<RegisterModel>(unknown_cas).ok());
}

TEST(Linearizability, TouchingIntervalsAreConcurrent) {
  // The read is invoked in the tick the write returned: either order is allowed.
  const RegHistory history = {
      reg(0, 0, 10, R::write(0, 1), RO::done()),
      reg(1, 10, 20, R::read(0), RO::read(0)),
  };
  EXPECT_TRUE(check_both<RegisterModel>(history).ok());
}

TEST(Linearizability, IndependentKeysArePartitioned) {
  const RegHistory history = {
      reg(0, 0, 10, R::write(1, 1), RO::done()), reg(1, 0, 10, R::write(2, 1), RO::done()),
      reg(0, 20, 30, R::read(1), RO::read(1)),
      reg(1, 20, 30, R::read(2), RO::read(0)),  // stale, on key 2
  };
  const CheckResult result = check_both<RegisterModel>(history);
  EXPECT_EQ(result.partitions, 2u);
  ASSERT_TRUE(result.illegal());
  EXPECT_EQ(result.failed_partition, 1u);
  EXPECT_EQ(result.blocked.index, 3u);  // indices are the original history's
}

// ---------------------------------------------------------------------------------------------
// Znodes, by hand.

TEST(Linearizability, ZnodeCreateIsExclusive) {
  ZHistory history = {
      zop(0, 0, 10, Z::create("/a", "x"), ZR::ok()),
      zop(1, 20, 30, Z::create("/a", "y"), ZR::error(zk::kNodeExists)),
      zop(1, 40, 50, Z::get_data("/a"), ZR::get("x", 0)),
  };
  EXPECT_TRUE(check_both<ZnodeModel>(history).ok());
  history[1].output = ZR::ok();  // both creates succeed, sequentially
  EXPECT_TRUE(check_both<ZnodeModel>(history).illegal());
  const ZHistory concurrent = {
      zop(0, 0, 10, Z::create("/a", "x"), ZR::ok()),
      zop(1, 0, 10, Z::create("/a", "y"), ZR::ok()),
  };
  EXPECT_TRUE(check_both<ZnodeModel>(concurrent).illegal());
}

TEST(Linearizability, ZnodeVersionsAreCheckedBySetAndDelete) {
  ZHistory history = {
      zop(0, 0, 10, Z::create("/a", "x"), ZR::ok()),
      zop(0, 20, 30, Z::set_data("/a", "y", 0), ZR::stat(1)),
      zop(1, 40, 50, Z::set_data("/a", "z", 0), ZR::error(zk::kBadVersion)),
      zop(1, 60, 70, Z::get_data("/a"), ZR::get("y", 1)),
      zop(0, 80, 90, Z::remove("/a", 0), ZR::error(zk::kBadVersion)),
      zop(0, 100, 110, Z::remove("/a", 1), ZR::ok()),
      zop(1, 120, 130, Z::get_data("/a"), ZR::error(zk::kNoNode)),
      zop(1, 140, 150, Z::exists("/a"), ZR::exists_result(std::nullopt)),
      zop(1, 160, 170, Z::set_data("/a", "w", -1), ZR::error(zk::kNoNode)),
      zop(0, 180, 190, Z::create("/a", "v"), ZR::ok()),
      zop(1, 200, 210, Z::exists("/a"), ZR::exists_result(0)),  // versions restart
  };
  EXPECT_TRUE(check_both<ZnodeModel>(history).ok());
  ZHistory twice = history;
  twice[2].output = ZR::stat(1);  // a second setData at version 0 succeeds
  EXPECT_TRUE(check_both<ZnodeModel>(twice).illegal());
  ZHistory wrong_stat = history;
  wrong_stat[1].output = ZR::stat(2);
  EXPECT_TRUE(check_both<ZnodeModel>(wrong_stat).illegal());
  ZHistory resurrected = history;
  resurrected[7].output = ZR::exists_result(1);
  EXPECT_TRUE(check_both<ZnodeModel>(resurrected).illegal());
  // Two concurrent conditional sets at the same version: one must fail.
  const ZHistory race = {
      zop(0, 0, 10, Z::create("/a", "x"), ZR::ok()),
      zop(1, 20, 30, Z::set_data("/a", "p", 0), ZR::stat(1)),
      zop(2, 20, 30, Z::set_data("/a", "q", 0), ZR::stat(1)),
  };
  EXPECT_TRUE(check_both<ZnodeModel>(race).illegal());
  ZHistory fair_race = race;
  fair_race[2].output = ZR::error(zk::kBadVersion);
  EXPECT_TRUE(check_both<ZnodeModel>(fair_race).ok());
}

TEST(Linearizability, ZnodeMultiIsAtomic) {
  // The multi creates /a and /b; a reader that sees /a and then misses /b saw half of it.
  ZHistory history = {
      zop(0, 0, 100, Z::multi({Z::create("/a", "1"), Z::create("/b", "2")}),
          ZR::multi(zk::kOk, {ZR::ok(), ZR::ok()})),
      zop(1, 10, 20, Z::exists("/a"), ZR::exists_result(0)),
      zop(1, 30, 40, Z::exists("/b"), ZR::exists_result(std::nullopt)),
  };
  const CheckResult torn = check_both<ZnodeModel>(history);
  EXPECT_TRUE(torn.illegal()) << torn.to_string();
  EXPECT_EQ(torn.partitions, 1u);  // the multi joins /a and /b
  // Missing /a and then seeing /b is fine: the multi happened in between.
  history[1].output = ZR::exists_result(std::nullopt);
  history[2].output = ZR::exists_result(0);
  EXPECT_TRUE(check_both<ZnodeModel>(history).ok());
}

TEST(Linearizability, ZnodeFailedMultiChangesNothing) {
  const Z multi = Z::multi({Z::create("/b", "1"), Z::create("/a", "2"), Z::check("/a", 0)});
  ZHistory history = {
      zop(0, 0, 10, Z::create("/a", "x"), ZR::ok()),
      zop(0, 20, 30, multi,
          ZR::multi(zk::kNodeExists,
                    {ZR::ok(), ZR::error(zk::kNodeExists), ZR::error(zk::kRuntimeInconsistency)})),
      zop(1, 40, 50, Z::get_data("/b"), ZR::error(zk::kNoNode)),
  };
  EXPECT_TRUE(check_both<ZnodeModel>(history).ok());
  ZHistory leaked = history;
  leaked[2].output = ZR::get("1", 0);  // the first create leaked out of the failed multi
  EXPECT_TRUE(check_both<ZnodeModel>(leaked).illegal());
  ZHistory wrong_results = history;
  wrong_results[1].output.results[0] = ZR::error(zk::kRuntimeInconsistency);
  EXPECT_TRUE(check_both<ZnodeModel>(wrong_results).illegal());
  ZHistory unobserved_results = history;  // results not recorded: only the code is checked
  unobserved_results[1].output.results.clear();
  EXPECT_TRUE(check_both<ZnodeModel>(unobserved_results).ok());
  // A successful conditional update: check the version, then set.
  const ZHistory guarded = {
      zop(0, 0, 10, Z::create("/a", "x"), ZR::ok()),
      zop(0, 20, 30, Z::multi({Z::check("/a", 0), Z::set_data("/a", "y")}),
          ZR::multi(zk::kOk, {ZR::ok(), ZR::stat(1)})),
      zop(1, 40, 50, Z::get_data("/a"), ZR::get("y", 1)),
  };
  EXPECT_TRUE(check_both<ZnodeModel>(guarded).ok());
}

TEST(Linearizability, ZnodeUnknownCreateAndExplanation) {
  const ZHistory history = {
      zop_unknown(0, 0, Z::create("/a", "x")),
      zop(1, 10, 20, Z::get_data("/a"), ZR::error(zk::kNoNode)),
      zop(1, 30, 40, Z::get_data("/a"), ZR::get("x", 0)),
      zop(1, 50, 60, Z::get_data("/a"), ZR::error(zk::kNoNode)),
  };
  const CheckResult result = check_both<ZnodeModel>(history);
  ASSERT_TRUE(result.illegal());
  EXPECT_EQ(result.blocked.index, 3u);
  EXPECT_EQ(result.blocked.text, "getData(/a) -> NoNode");
  ASSERT_EQ(result.prefix.size(), 3u);
  EXPECT_EQ(result.prefix[1].text, "create(/a, \"x\") -> unknown");
  EXPECT_EQ(result.state, "{/a=\"x\" v0}");
}

// The README's snippet, kept compiling: designated initializers, an unknown op with deadline.
TEST(Linearizability, ReadmeUsageCompiles) {
  HistoryOf<ZnodeModel> history;
  history.push_back(
      {.client = 0, .invoke = 0, .ret = 5, .input = Z::create("/a", "w"), .output = ZR::ok()});
  history.push_back({.client = 1,
                     .invoke = 10,
                     .ret = 20,
                     .input = ZnodeOp::set_data("/a", "x", 0),
                     .output = ZnodeResult::stat(1)});
  history.push_back({.client = 2,
                     .invoke = 30,
                     .ret = std::nullopt,
                     .input = ZnodeOp::create("/b", ""),
                     .effect_deadline = 40});
  history.push_back({.client = 1,
                     .invoke = 50,
                     .ret = 60,
                     .input = Z::exists("/b"),
                     .output = ZR::exists_result(0)});
  const CheckResult result = check<ZnodeModel>(history);
  EXPECT_TRUE(result.ok()) << result.to_string();
  // Deterministic to the letter: the same history gives the same report.
  history[3].output = ZR::exists_result(1);
  EXPECT_EQ(check<ZnodeModel>(history).to_string(), check<ZnodeModel>(history).to_string());
  EXPECT_TRUE(check<ZnodeModel>(history).illegal());
}

TEST(Linearizability, ZnodePartitionJoinsPathsOfAMulti) {
  const ZHistory history = {
      zop(0, 0, 1, Z::create("/a", ""), ZR::ok()),
      zop(0, 0, 1, Z::create("/b", ""), ZR::ok()),
      zop(0, 0, 1, Z::create("/c", ""), ZR::ok()),
      zop(0, 0, 1, Z::multi({Z::check("/c", 0), Z::set_data("/a", "")}), ZR::multi(zk::kOk)),
      zop(0, 0, 1, Z::get_data("/b"), ZR::get("", 0)),
      zop(0, 0, 1, Z::multi({}), ZR::multi(zk::kOk)),
  };
  const std::vector<std::vector<size_t>> expected = {{0, 2, 3}, {1, 4}, {5}};
  EXPECT_EQ(ZnodeModel::partition(history), expected);
}

// ---------------------------------------------------------------------------------------------
// Random histories. A small deterministic generator so bulk loops cost nothing to reproduce.

struct Rng {
  uint64_t state;
  uint64_t next() { return state = hash_mix(state); }
  int64_t uniform(int64_t lo, int64_t hi) {  // inclusive
    return lo + static_cast<int64_t>(next() % static_cast<uint64_t>(hi - lo + 1));
  }
  bool chance(int percent) { return uniform(0, 99) < percent; }
};

// Brute force: every real-time-respecting order of every subset of unknown operations, with a
// memo per set. Exponential, for histories of a few operations only.
template <Model M>
bool brute_force_linearizable(const HistoryOf<M>& history) {
  const size_t n = history.size();
  EXPECT_LE(n, 12u);
  uint32_t completed = 0;
  for (size_t i = 0; i < n; ++i) completed |= history[i].completed() ? 1u << i : 0;
  std::vector<std::vector<typename M::State>> seen(size_t{1} << n);
  auto eligible = [&](uint32_t done, size_t i) {
    for (size_t j = 0; j < n; ++j) {
      const bool must_precede = history[j].completed() && *history[j].ret < history[i].invoke;
      if (must_precede && !(done & (1u << j))) return false;
      // An unknown operation with a deadline cannot follow one invoked after the deadline.
      const auto deadline = history[i].effect_deadline;
      if ((done & (1u << j)) && deadline && history[j].invoke > *deadline) return false;
    }
    return true;
  };
  auto dfs = [&](auto& self, uint32_t done, const typename M::State& state) -> bool {
    if ((done & completed) == completed) return true;
    for (const auto& s : seen[done]) {
      if (s == state) return false;
    }
    seen[done].push_back(state);
    for (size_t i = 0; i < n; ++i) {
      if ((done & (1u << i)) || !eligible(done, i)) continue;
      typename M::State next;
      const auto& op = history[i];
      const bool legal = op.completed() ? M::step(state, op.input, op.output, &next)
                                        : M::step_unknown(state, op.input, &next);
      if (legal && self(self, done | (1u << i), next)) return true;
    }
    return false;
  };
  return dfs(dfs, 0, M::init());
}

// Assigns intervals around linearization points 100, 200, ...: each operation is invoked up
// to `spread` before its point and returns up to `spread` after it, so the order of the points
// witnesses linearizability. Some operations lose their return; some also never take effect.
template <Model M, typename GenInput>
HistoryOf<M> sequential_history(Rng& rng, int ops, int64_t spread, int unknown_percent,
                                GenInput gen_input, int deadline_percent = 0) {
  HistoryOf<M> history;
  typename M::State state = M::init();
  for (int i = 0; i < ops; ++i) {
    const int64_t point = 100 * (i + 1);
    OperationOf<M> op;
    op.client = static_cast<int32_t>(rng.uniform(0, 7));
    op.input = gen_input(rng);
    op.invoke = point - rng.uniform(0, spread);
    const bool unknown = rng.chance(unknown_percent);
    if (unknown && rng.chance(deadline_percent))
      op.effect_deadline = point + rng.uniform(0, spread);
    if (unknown && rng.chance(30)) {  // lost before it took effect
      history.push_back(std::move(op));
      continue;
    }
    typename M::State next;
    op.output = M::apply(state, op.input, &next);
    state = std::move(next);
    if (!unknown) op.ret = point + rng.uniform(0, spread);
    history.push_back(std::move(op));
  }
  return history;
}

RegisterInput random_register_input(Rng& rng, int keys, int values) {
  const auto key = static_cast<int32_t>(rng.uniform(0, keys - 1));
  switch (rng.uniform(0, 2)) {
    case 0:
      return R::read(key);
    case 1:
      return R::write(key, rng.uniform(1, values));
    default:
      return R::cas(key, rng.uniform(0, values), rng.uniform(1, values));
  }
}

ZnodeOp random_znode_leaf(Rng& rng, int paths, bool reads, int values = 3) {
  const std::string path = "/p" + std::to_string(rng.uniform(0, paths - 1));
  const std::string data = std::to_string(rng.uniform(0, values - 1));
  const auto version = static_cast<int32_t>(rng.uniform(-1, 2));
  switch (rng.uniform(0, reads ? 5 : 3)) {
    case 0:
      return Z::create(path, data);
    case 1:
      return Z::set_data(path, data, version);
    case 2:
      return Z::remove(path, version);
    case 3:
      return Z::check(path, version);
    case 4:
      return Z::get_data(path);
    default:
      return Z::exists(path);
  }
}

ZnodeOp random_znode_op(Rng& rng, int paths, int values = 3) {
  if (!rng.chance(15)) return random_znode_leaf(rng, paths, true, values);
  std::vector<ZnodeOp> ops;
  for (int64_t i = rng.uniform(1, 3); i > 0; --i) {
    ops.push_back(random_znode_leaf(rng, paths, false, values));
  }
  return Z::multi(std::move(ops));
}

// An output no state can produce for that input, so any order fails: a read of a value never
// written, a create answering BadVersion, a multi answering RuntimeInconsistency overall...
// Returns the mutated index, or nullopt if no completed operation suits.
std::optional<size_t> mutate_impossibly(Rng& rng, RegHistory* history) {
  std::vector<size_t> reads;
  for (size_t i = 0; i < history->size(); ++i) {
    const RegOp& op = (*history)[i];
    if (op.completed() && op.input.kind == R::Kind::kRead) reads.push_back(i);
  }
  if (reads.empty()) return std::nullopt;
  const size_t victim = reads[rng.uniform(0, static_cast<int64_t>(reads.size()) - 1)];
  (*history)[victim].output = RO::read(1'000'000);
  return victim;
}

std::optional<size_t> mutate_impossibly(Rng& rng, ZHistory* history) {
  std::vector<size_t> completed;
  for (size_t i = 0; i < history->size(); ++i) {
    if ((*history)[i].completed()) completed.push_back(i);
  }
  if (completed.empty()) return std::nullopt;
  const size_t victim = completed[rng.uniform(0, static_cast<int64_t>(completed.size()) - 1)];
  ZOp& op = (*history)[victim];
  switch (op.input.kind) {
    case Z::Kind::kGetData:
      op.output = ZR::get("never written", 0);
      break;
    case Z::Kind::kExists:
      op.output = ZR::exists_result(1'000'000);
      break;
    case Z::Kind::kCreate:
      op.output = ZR::error(zk::kBadVersion);
      break;
    case Z::Kind::kMulti:
      op.output = ZR::multi(zk::kRuntimeInconsistency);
      break;
    default:  // setData, delete, check never answer NodeExists
      op.output = ZR::error(zk::kNodeExists);
      break;
  }
  return victim;
}

// Small histories with arbitrary intervals and outputs that are right more often than not, so
// both verdicts are common; the checker (both modes) must agree with brute force.
template <Model M, typename GenInput>
void differential(uint64_t seed, int histories, GenInput gen_input, int max_ops = 8,
                  int unknown_percent = 20) {
  Rng rng{seed};
  int illegal = 0;
  for (int h = 0; h < histories; ++h) {
    const int ops = static_cast<int>(rng.uniform(1, max_ops));
    HistoryOf<M> history = sequential_history<M>(rng, ops, 150, unknown_percent, gen_input);
    if (rng.chance(30)) {  // reorder intervals: the sequential witness is gone
      for (auto& op : history) {
        op.invoke = rng.uniform(0, 900);
        if (op.ret) op.ret = op.invoke + rng.uniform(0, 300);
      }
    }
    if (rng.chance(50)) {  // a plausible output, right at another point in time: stale
      const size_t i = rng.uniform(0, ops - 1);
      typename M::State state = M::init(), next;
      for (size_t j = 0, end = rng.uniform(0, ops); j < end; ++j) {
        if (history[j].completed()) M::apply(state, history[j].input, &next), state = next;
      }
      if (history[i].completed()) history[i].output = M::apply(state, history[i].input, &next);
    }
    for (auto& op : history) {  // deadlines on some unknown operations
      if (!op.completed() && rng.chance(50)) op.effect_deadline = op.invoke + rng.uniform(0, 300);
    }
    const bool expected = brute_force_linearizable<M>(history);
    illegal += expected ? 0 : 1;
    CheckOptions options;
    for (bool partition : {false, true}) {
      options.partition = partition;
      const CheckResult result = check<M>(history, options);
      ASSERT_EQ(result.ok(), expected)
          << "seed " << seed << " history " << h << " partition " << partition << "\n"
          << result.to_string();
      ASSERT_FALSE(result.unknown());
    }
  }
  // Both verdicts must be well represented, or the comparison proves little.
  EXPECT_GT(illegal, histories / 20);
  EXPECT_LT(illegal, histories * 9 / 10);
}

TEST(Linearizability, RegisterAgreesWithBruteForce) {
  differential<RegisterModel>(1, 1500, [](Rng& rng) { return random_register_input(rng, 2, 3); });
}

TEST(Linearizability, ZnodeAgreesWithBruteForce) {
  differential<ZnodeModel>(2, 800, [](Rng& rng) { return random_znode_op(rng, 2); });
}

// Generated histories, linearizable by construction; one impossible output makes them illegal,
// and the mutated operation can then never appear in a linearizable prefix.
template <Model M, typename GenInput>
void generated_roundtrip(uint64_t seed, int ops, int64_t spread, GenInput gen_input) {
  Rng rng{seed};
  HistoryOf<M> history = sequential_history<M>(rng, ops, spread, 10, gen_input, 90);
  const CheckResult ok = check_both<M>(history);
  RC_ASSERT(ok.ok());
  const std::optional<size_t> victim = mutate_impossibly(rng, &history);
  RC_PRE(victim.has_value());
  const CheckResult bad = check_both<M>(history);
  RC_ASSERT(bad.illegal());
  for (const OpReport& op : bad.prefix) RC_ASSERT(op.index != *victim);
}

RC_GTEST_PROP(Linearizability, GeneratedRegisterHistoriesRoundTrip, ()) {
  const auto seed = *rc::gen::arbitrary<uint64_t>();
  const int ops = *rc::gen::inRange(20, 200);
  const int keys = *rc::gen::inRange(1, 4);
  const int64_t spread = *rc::gen::inRange<int64_t>(0, 400);
  generated_roundtrip<RegisterModel>(
      seed, ops, spread, [keys](Rng& rng) { return random_register_input(rng, keys, 5); });
}

RC_GTEST_PROP(Linearizability, GeneratedZnodeHistoriesRoundTrip, ()) {
  const auto seed = *rc::gen::arbitrary<uint64_t>();
  const int ops = *rc::gen::inRange(20, 150);
  const int paths = *rc::gen::inRange(1, 4);
  const int64_t spread = *rc::gen::inRange<int64_t>(0, 400);
  generated_roundtrip<ZnodeModel>(seed, ops, spread,
                                  [paths](Rng& rng) { return random_znode_op(rng, paths); });
}

// ---------------------------------------------------------------------------------------------
// Budgets and scale.

// Many concurrent writes and a read of a value nobody wrote: only after trying every subset of
// writes (memo or not) can the search say Illegal.
RegHistory pathological(int writes) {
  RegHistory history;
  for (int i = 0; i < writes; ++i) {
    history.push_back(reg(i, 0, 100, R::write(0, i + 1), RO::done()));
  }
  history.push_back(reg(writes, 0, 100, R::read(0), RO::read(-1)));
  return history;
}

TEST(Linearizability, BudgetGivesUnknownDeterministically) {
  CheckOptions options;
  options.max_steps = 200'000;
  const CheckResult first = check<RegisterModel>(pathological(30), options);
  const CheckResult second = check<RegisterModel>(pathological(30), options);
  ASSERT_TRUE(first.unknown()) << first.to_string();
  EXPECT_EQ(first.steps, options.max_steps);
  EXPECT_EQ(first.steps, second.steps);
  EXPECT_EQ(first.memo_entries, second.memo_entries);
  EXPECT_NE(first.to_string().find("step budget"), std::string::npos);

  options.max_memo_bytes = 64 << 10;
  const CheckResult memo = check<RegisterModel>(pathological(30), options);
  ASSERT_TRUE(memo.unknown());
  EXPECT_NE(memo.reason.find("memo budget"), std::string::npos) << memo.reason;

  // The same shape, small enough to finish, is Illegal.
  EXPECT_TRUE(check<RegisterModel>(pathological(8)).illegal());
}

TEST(Linearizability, IllegalPartitionWinsOverUnknownOne) {
  RegHistory history = pathological(30);  // key 0: too hard
  history.push_back(reg(0, 200, 210, R::write(5, 1), RO::done()));
  history.push_back(reg(0, 220, 230, R::read(5), RO::read(0)));  // key 5: stale
  CheckOptions options;
  options.max_steps = 10'000;
  const CheckResult result = check<RegisterModel>(history, options);
  EXPECT_TRUE(result.illegal()) << result.to_string();
  EXPECT_EQ(result.failed_partition, 1u);
}

// Thousands of operations on a few keys, many concurrent, some of unknown outcome (most with
// a deadline, as a session's next operation or its expiry gives one): fast when partitioned.
TEST(Linearizability, ThousandsOfOperationsOnFewKeys) {
  Rng rng{42};
  RegHistory history = sequential_history<RegisterModel>(
      rng, 6000, 400, 5, [](Rng& r) { return random_register_input(r, 4, 5); }, 90);
  const auto start = std::chrono::steady_clock::now();
  const CheckResult ok = check<RegisterModel>(history);
  ASSERT_TRUE(ok.ok()) << ok.to_string();
  EXPECT_EQ(ok.partitions, 4u);
  ASSERT_TRUE(mutate_impossibly(rng, &history).has_value());
  const CheckResult bad = check<RegisterModel>(history);
  EXPECT_TRUE(bad.illegal()) << bad.to_string();
  const auto middle = std::chrono::steady_clock::now();

  // Multis over several paths join them all into one partition.
  ZHistory tree = sequential_history<ZnodeModel>(
      rng, 4000, 400, 5, [](Rng& r) { return random_znode_op(r, 4); }, 90);
  const CheckResult tree_ok = check<ZnodeModel>(tree);
  ASSERT_TRUE(tree_ok.ok()) << tree_ok.to_string();
  EXPECT_EQ(tree_ok.partitions, 1u);
  ASSERT_TRUE(mutate_impossibly(rng, &tree).has_value());
  const CheckResult tree_bad = check<ZnodeModel>(tree);
  EXPECT_TRUE(tree_bad.illegal()) << tree_bad.to_string();
  const auto end = std::chrono::steady_clock::now();
  auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
  std::printf(
      "register, 6000 ops on 4 keys: ok %llu steps, illegal %llu steps, %.0f ms\n"
      "znode, 4000 ops in 1 partition: ok %llu steps, illegal %llu steps, %.0f ms\n",
      static_cast<unsigned long long>(ok.steps), static_cast<unsigned long long>(bad.steps),
      ms(middle - start), static_cast<unsigned long long>(tree_ok.steps),
      static_cast<unsigned long long>(tree_bad.steps), ms(end - middle));
}

}  // namespace
}  // namespace weir::workloads::lin
