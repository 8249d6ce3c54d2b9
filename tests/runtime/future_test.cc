#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "runtime/actor_collection.h"
#include "runtime/channel.h"
#include "runtime/future.h"
#include "runtime/virtual_time.h"

namespace weir {
namespace {

class FutureTest : public ::testing::Test {
 protected:
  VirtualTimeSource time_;
  Scheduler scheduler_{time_};
};

TEST_F(FutureTest, SpawnReturnsValue) {
  auto f = spawn("answer", [] { return 42; });
  auto r = run_until_ready(f);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 42);
}

TEST_F(FutureTest, ErrorsTravelInFutures) {
  auto f = spawn("fails", []() -> absl::StatusOr<int> { return absl::NotFoundError("nope"); });
  auto r = run_until_ready(f);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
}

TEST_F(FutureTest, AwaitPromiseSetByAnotherActor) {
  Promise<std::string> p;
  auto reader = spawn("reader", [f = p.future()] { return await(f); });
  auto writer = spawn("writer", [p]() mutable {
    delay(5ms);
    p.set_value("hello");
  });
  auto r = run_until_ready(reader);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "hello");
  EXPECT_EQ(scheduler_.now().time_since_epoch(), Duration(5ms));
}

TEST_F(FutureTest, BrokenPromise) {
  Future<int> f;
  {
    Promise<int> p;
    f = p.future();
  }
  ASSERT_TRUE(f.is_ready());
  EXPECT_EQ(f.get().status().code(), absl::StatusCode::kAborted);
}

TEST_F(FutureTest, DelayAdvancesVirtualTime) {
  auto f = spawn("sleeper", [] {
    delay(1s);
    delay(500ms);
  });
  ASSERT_TRUE(run_until_ready(f).ok());
  EXPECT_EQ(scheduler_.now().time_since_epoch(), Duration(1500ms));
}

TEST_F(FutureTest, DroppingTheLastFutureCancelsTheActor) {
  bool destructor_ran = false;
  bool finished = false;
  struct Flag {
    bool* flag;
    ~Flag() { *flag = true; }
  };
  {
    auto f = spawn("victim", [&] {
      Flag flag{&destructor_ran};
      delay(10s);
      finished = true;
    });
    auto driver = spawn("driver", [] { delay(1s); });
    (void)run_until_ready(driver);
  }
  auto tail = spawn("tail", [] { delay(20s); });
  (void)run_until_ready(tail);
  EXPECT_TRUE(destructor_ran);
  EXPECT_FALSE(finished);
  EXPECT_EQ(scheduler_.live_actors(), 0u);
}

TEST_F(FutureTest, CancellationCascadesToChildren) {
  bool child_finished = false;
  auto parent = spawn("parent", [&] {
    auto child = spawn("child", [&] {
      delay(10s);
      child_finished = true;
    });
    (void)await(child);
  });
  auto driver = spawn("driver", [] { delay(1s); });
  (void)run_until_ready(driver);
  parent.reset();
  auto tail = spawn("tail", [] { delay(20s); });
  (void)run_until_ready(tail);
  EXPECT_FALSE(child_finished);
  EXPECT_EQ(scheduler_.live_actors(), 0u);
}

TEST_F(FutureTest, KillProcessCancelsItsActors) {
  Process* p = scheduler_.create_process("victim", "m1");
  int finished = 0;
  std::vector<Future<void>> fs;
  for (int i = 0; i < 3; ++i) {
    fs.push_back(spawn_in(p, "worker", [&] {
      delay(10s);
      ++finished;
    }));
  }
  auto killer = spawn("killer", [&] {
    delay(1s);
    scheduler_.kill_process(p);
  });
  auto tail = spawn("tail", [] { delay(20s); });
  (void)run_until_ready(tail);
  EXPECT_EQ(finished, 0);
  for (auto& f : fs) EXPECT_TRUE(absl::IsCancelled(f.get()));
  EXPECT_EQ(p->actor_count(), 0u);
}

TEST_F(FutureTest, TimeoutFiresAndCancelsSlowActor) {
  bool slow_finished = false;
  auto f = spawn("caller", [&]() -> absl::Status {
    auto slow = spawn("slow", [&] {
      delay(10s);
      slow_finished = true;
      return 1;
    });
    auto r = await(timeout(std::move(slow), 1s));
    return r.status();
  });
  auto r = run_until_ready(f);
  EXPECT_EQ(r.code(), absl::StatusCode::kDeadlineExceeded);
  auto tail = spawn("tail", [] { delay(20s); });
  (void)run_until_ready(tail);
  EXPECT_FALSE(slow_finished);
}

TEST_F(FutureTest, TimeoutPassesFastResult) {
  auto f = spawn("caller", []() -> absl::StatusOr<int> {
    return await(timeout(spawn("fast",
                               [] {
                                 delay(1ms);
                                 return 7;
                               }),
                         1s));
  });
  auto r = run_until_ready(f);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 7);
  EXPECT_EQ(scheduler_.timer_count(), 0u);
}

TEST_F(FutureTest, WhenAnyAndWhenAll) {
  auto f = spawn("caller", []() -> absl::StatusOr<size_t> {
    std::vector<Future<void>> fs;
    fs.push_back(after(3s));
    fs.push_back(after(1s));
    fs.push_back(after(2s));
    auto first = await(when_any(fs));
    if (!first.ok()) return first.status();
    auto all = await(when_all(fs));
    if (!all.ok()) return all;
    return *first;
  });
  auto r = run_until_ready(f);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 1u);
  EXPECT_EQ(scheduler_.now().time_since_epoch(), Duration(3s));
}

TEST_F(FutureTest, ChannelBackpressure) {
  Channel<int> ch(2);
  std::vector<int> got;
  std::vector<TimePoint> sent_at;
  auto producer = spawn("producer", [&] {
    for (int i = 0; i < 5; ++i) {
      EXPECT_TRUE(ch.send(i).ok());
      sent_at.push_back(scheduler_.now());
    }
    ch.close();
  });
  auto consumer = spawn("consumer", [&] {
    while (true) {
      delay(1s);
      auto v = ch.receive();
      if (!v.ok()) break;
      got.push_back(*v);
    }
  });
  (void)run_until_ready(consumer);
  EXPECT_EQ(got, (std::vector<int>{0, 1, 2, 3, 4}));
  // The third send had to wait for the consumer's first receive.
  ASSERT_EQ(sent_at.size(), 5u);
  EXPECT_EQ(sent_at[1].time_since_epoch(), Duration(0));
  EXPECT_EQ(sent_at[2].time_since_epoch(), Duration(1s));
}

TEST_F(FutureTest, YieldNowInterleaves) {
  std::string order;
  auto a = spawn("a", [&] {
    for (int i = 0; i < 3; ++i) {
      order += 'a';
      yield_now();
    }
  });
  auto b = spawn("b", [&] {
    for (int i = 0; i < 3; ++i) {
      order += 'b';
      yield_now();
    }
  });
  (void)run_until_ready(when_all(std::vector<Future<void>>{a, b}));
  EXPECT_EQ(order, "ababab");
}

TEST_F(FutureTest, ActorCollectionCancelsChildrenOnDestruction) {
  int finished = 0;
  auto owner = spawn("owner", [&] {
    ActorCollection children;
    for (int i = 0; i < 4; ++i) {
      children.add(spawn("child", [&finished, i] {
        delay(std::chrono::seconds(i * 10));
        ++finished;
      }));
    }
    delay(5s);
    EXPECT_EQ(children.size(), 3u);
  });
  (void)run_until_ready(owner);
  auto tail = spawn("tail", [] { delay(100s); });
  (void)run_until_ready(tail);
  EXPECT_EQ(finished, 1);
  EXPECT_EQ(scheduler_.live_actors(), 0u);
}

}  // namespace
}  // namespace weir

namespace weir {
namespace {

class SchedulerFairnessTest : public ::testing::Test {
 protected:
  VirtualTimeSource time_;
  Scheduler scheduler_{time_};
};

TEST_F(SchedulerFairnessTest, ActorCancelledWhileRunningUnwindsAtNextSuspend) {
  Process* p = scheduler_.create_process("self-killer", "m");
  bool reached_after_await = false;
  Promise<void> never;
  auto f = spawn_in(p, "killer", [&] {
    scheduler_.kill_process(p);
    (void)await(never.future());
    reached_after_await = true;
  });
  auto r = run_until_ready(f);
  EXPECT_TRUE(absl::IsCancelled(r));
  EXPECT_FALSE(reached_after_await);
}

TEST_F(SchedulerFairnessTest, TimersFireWhileAnActorSpins) {
  bool timer_fired = false;
  auto spinner = spawn("spinner", [&] {
    for (int i = 0; i < 100000 && !timer_fired; ++i) yield_now();
    return timer_fired;
  });
  scheduler_.add_timer(scheduler_.now(), [&] { timer_fired = true; });
  auto r = run_until_ready(spinner);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(*r);
}

TEST_F(SchedulerFairnessTest, CombinatorsOnReadyInputsDoNotLeak) {
  // The value lives in the input's state; a combinator cycle would keep it alive forever.
  std::weak_ptr<int> probe;
  {
    auto token = std::make_shared<int>(1);
    probe = token;
    Promise<std::shared_ptr<int>> p;
    p.set_value(std::move(token));
    auto f = p.future();
    auto all = when_all(std::vector<Future<std::shared_ptr<int>>>{f});
    auto t = timeout(f, 1s);
    auto any = when_any(std::vector<Future<std::shared_ptr<int>>>{f});
    EXPECT_TRUE(all.is_ready());
    EXPECT_TRUE(t.is_ready());
    EXPECT_TRUE(any.is_ready());
  }
  EXPECT_TRUE(probe.expired());
}

}  // namespace
}  // namespace weir

namespace weir {
namespace {

TEST_F(SchedulerFairnessTest, KilledProcessUnwindsChildrenBeforeParents) {
  // A child uses an object on its parent's stack; the kill must unwind the child first.
  Process* p = scheduler_.create_process("victim", "m");
  std::vector<std::string> order;
  struct Noter {
    std::vector<std::string>* order;
    std::string name;
    ~Noter() { order->push_back(name); }
  };
  auto parent = spawn_in(p, "parent", [&] {
    Noter n{&order, "parent"};
    auto child = spawn("child", [&] {
      Noter c{&order, "child"};
      delay(100s);
    });
    (void)await(child);
  });
  auto killer = spawn("killer", [&] {
    delay(1s);
    scheduler_.kill_process(p);
  });
  auto tail = spawn("tail", [] { delay(2s); });
  (void)run_until_ready(tail);
  ASSERT_EQ(order.size(), 2u);
  EXPECT_EQ(order[0], "child");
  EXPECT_EQ(order[1], "parent");
}

}  // namespace
}  // namespace weir
