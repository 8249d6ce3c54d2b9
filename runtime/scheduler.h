// The actor scheduler: fibers on Boost.Context, one thread, a FIFO ready queue and ordered
// timers. The same scheduler runs the real binaries and the simulation; only its event source
// differs (epoll + steady clock, or virtual time that jumps to the next timer).
#pragma once

#include <boost/context/fiber.hpp>
#include <boost/context/pooled_fixedsize_stack.hpp>
#include <compare>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/btree_map.h"
#include "runtime/strong_id.h"
#include "runtime/time.h"
#include "runtime/wait_list.h"

namespace weir {

// Thrown into a cancelled actor at its next suspension point. Deliberately not derived from
// std::exception: `catch (const std::exception&)` must never swallow a cancellation. Code
// must not catch it except to rethrow, and destructors must never suspend.
struct Cancelled {};

struct ProcessContext;
class Scheduler;

// One fiber. Owned by the scheduler; freed when its body returns.
class Actor {
 public:
  ActorId id() const { return id_; }
  const std::string& name() const { return name_; }
  class Process* process() const {
    return process_;
  }
  bool cancelled() const { return cancelled_; }

 private:
  friend class Scheduler;
  ActorId id_;
  std::string name_;
  class Process* process_ = nullptr;
  std::function<void()> body_;
  boost::context::fiber fiber_;
  boost::context::fiber scheduler_;
  bool cancelled_ = false;
  bool queued_ = false;
  bool done_ = false;
};

// A group of actors that live and die together: one simulated (or the one real) OS process.
// Killing it cancels every actor; each unwinds at its next suspension point.
class Process {
 public:
  Process(ProcessId id, std::string name, std::string machine)
      : id_(id), name_(std::move(name)), machine_(std::move(machine)) {}
  ProcessId id() const { return id_; }
  const std::string& name() const { return name_; }
  const std::string& machine() const { return machine_; }
  bool killed() const { return killed_; }
  bool paused() const { return paused_; }
  size_t actor_count() const { return actors_.size(); }
  ProcessContext* context() const { return context_; }
  void set_context(ProcessContext* context) { context_ = context; }

 private:
  friend class Scheduler;
  ProcessId id_;
  std::string name_;
  std::string machine_;
  ProcessContext* context_ = nullptr;
  std::map<ActorId, Actor*> actors_;  // ordered by id: kill order is deterministic
  std::deque<Actor*> parked_;         // woken while paused, in wake order
  bool killed_ = false;
  bool paused_ = false;
};

// Where the scheduler gets time and external events from.
class IEventSource {
 public:
  virtual ~IEventSource() = default;
  virtual TimePoint now() const = 0;
  // Called when no actor is ready. Waits for external events (which wake actors) until
  // `deadline`, or moves virtual time to it. Returns false when nothing can ever happen again.
  virtual bool wait(std::optional<TimePoint> deadline) = 0;
};

struct TimerKey {
  TimePoint at;
  uint64_t seq = 0;
  auto operator<=>(const TimerKey&) const = default;
};

// Observes scheduling decisions (the simulator folds them into the unseed).
class ISchedulerObserver {
 public:
  virtual ~ISchedulerObserver() = default;
  virtual void on_resume(const Actor& actor) = 0;
  virtual void on_timer(const TimerKey& key) = 0;
};

class Scheduler {
 public:
  struct Options {
    size_t stack_bytes = 0;  // 0: the default for this build
    size_t actors_max = 1'000'000;
  };

  explicit Scheduler(IEventSource& source) : Scheduler(source, Options{}) {}
  Scheduler(IEventSource& source, Options options);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  static Scheduler& current();
  static Scheduler* current_or_null();

  TimePoint now() const { return source_.now(); }

  Process* default_process() { return processes_.front().get(); }
  Process* create_process(std::string name, std::string machine);
  Process* process(ProcessId id);
  // Cancels every actor of the process; they unwind as the scheduler runs them.
  void kill_process(Process* process);
  // A paused process's actors are not run (SIGSTOP); wakes are kept and replayed on resume.
  void pause_process(Process* process);
  void resume_process(Process* process);

  // Creates an actor that starts on the next turn of the loop. Prefer weir::spawn().
  Actor* create_actor(Process* process, std::string_view name, std::function<void()> body);
  void wake(Actor* actor);
  void cancel(Actor* actor);
  Actor* current_actor() const { return current_; }
  Process* current_process() const;
  // Throws Cancelled if the current actor has been cancelled.
  void check_cancelled() const;
  // Suspends the current actor until wake(); throws Cancelled if cancelled when resumed.
  void suspend();
  // Like suspend(), but returns normally even when cancelled (for waits that must complete,
  // such as a buffer lent to an I/O thread).
  void suspend_uncancellable();

  TimerKey add_timer(TimePoint at, std::function<void()> fn);
  bool cancel_timer(const TimerKey& key);
  size_t timer_count() const { return timers_.size(); }

  // Runs until stop() or until nothing can make progress. Returns true if stopped.
  bool run();
  // Runs until `limit` (scheduler time), stop(), or quiescence. Returns true unless quiescent.
  bool run_until(TimePoint limit);
  void stop() { stop_ = true; }

  void set_observer(ISchedulerObserver* observer) { observer_ = observer; }
  uint64_t resumes() const { return resumes_; }
  size_t live_actors() const { return actors_.size(); }

 private:
  void resume(Actor* actor);
  void destroy(Actor* actor);
  bool fire_due_timers();
  void drain_on_destroy();

  IEventSource& source_;
  Options options_;
  boost::context::pooled_fixedsize_stack stacks_;
  std::vector<std::unique_ptr<Process>> processes_;
  std::map<ActorId, std::unique_ptr<Actor>> actors_;
  std::deque<Actor*> ready_;
  absl::btree_map<TimerKey, std::function<void()>> timers_;
  Actor* current_ = nullptr;
  Scheduler* previous_ = nullptr;
  ISchedulerObserver* observer_ = nullptr;
  uint64_t next_actor_id_ = 1;
  uint64_t next_timer_seq_ = 1;
  uint64_t resumes_ = 0;
  bool stop_ = false;
};

// Wakes the calling actor at `deadline` unless destroyed first. The building block of every
// timed wait: the timer refers to this object, so it is cancelled however the waiting frame
// is left (woken, timed out, or unwound by Cancelled).
class WakeTimer {
 public:
  explicit WakeTimer(TimePoint deadline);
  ~WakeTimer();
  WakeTimer(const WakeTimer&) = delete;
  WakeTimer& operator=(const WakeTimer&) = delete;
  bool expired() const { return expired_; }

 private:
  Scheduler& scheduler_;
  TimerKey key_;
  bool expired_ = false;
};

// A WaitNode that wakes an actor.
class ActorWaiter final : public WaitNode {
 public:
  explicit ActorWaiter(Actor* actor) : actor_(actor) {}
  void fire() override { Scheduler::current().wake(actor_); }

 private:
  Actor* actor_;
};

}  // namespace weir
