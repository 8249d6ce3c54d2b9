#include "runtime/scheduler.h"

#include <exception>
#include <string>

#include "runtime/assert.h"
#include "runtime/trace.h"

namespace weir {
namespace {

Scheduler* g_current = nullptr;

#if defined(WEIR_SANITIZE)
constexpr size_t kDefaultStackBytes = 1024 * 1024;
#else
constexpr size_t kDefaultStackBytes = 256 * 1024;
#endif
constexpr uint64_t kPollEveryResumes = 128;
constexpr Duration kSlowResume = std::chrono::milliseconds(10);

}  // namespace

Scheduler::Scheduler(IEventSource& source, Options options)
    : source_(source),
      options_(options),
      stacks_(options.stack_bytes != 0 ? options.stack_bytes : kDefaultStackBytes) {
  previous_ = g_current;
  g_current = this;
  processes_.push_back(std::make_unique<Process>(ProcessId(0), "main", "local"));
}

Scheduler::~Scheduler() {
  drain_on_destroy();
  timers_.clear();
  g_current = previous_;
}

// Cancels every actor and lets each unwind, so that destructors on fiber stacks run before
// the stacks are freed.
void Scheduler::drain_on_destroy() {
  for (auto& p : processes_) kill_process(p.get());
  for (int round = 0; round < 1000 && !actors_.empty(); ++round) {
    while (!ready_.empty()) {
      Actor* a = ready_.front();
      ready_.pop_front();
      a->queued_ = false;
      resume(a);
    }
    if (actors_.empty()) break;
    // Actors in uncancellable waits need their external events.
    if (!fire_due_timers() &&
        !source_.wait(timers_.empty() ? std::nullopt : std::optional(timers_.begin()->first.at))) {
      break;
    }
  }
  WEIR_ASSERT_MSG(actors_.empty(), "actors still alive when the scheduler was destroyed");
}

Scheduler& Scheduler::current() {
  WEIR_ASSERT_MSG(g_current != nullptr, "no scheduler on this thread");
  return *g_current;
}

Scheduler* Scheduler::current_or_null() {
  return g_current;
}

Process* Scheduler::create_process(std::string name, std::string machine) {
  const ProcessId id(static_cast<uint32_t>(processes_.size()));
  processes_.push_back(std::make_unique<Process>(id, std::move(name), std::move(machine)));
  return processes_.back().get();
}

Process* Scheduler::process(ProcessId id) {
  WEIR_ASSERT(id.value() < processes_.size());
  return processes_[id.value()].get();
}

void Scheduler::pause_process(Process* process) {
  process->paused_ = true;
}

void Scheduler::resume_process(Process* process) {
  process->paused_ = false;
  auto parked = std::move(process->parked_);
  process->parked_.clear();
  for (Actor* a : parked) {
    a->queued_ = false;
    wake(a);
  }
}

void Scheduler::kill_process(Process* process) {
  if (process->paused_) resume_process(process);
  process->killed_ = true;
  // Newest first: children unwind before the parents whose stacks own what they use.
  for (auto it = process->actors_.rbegin(); it != process->actors_.rend(); ++it) cancel(it->second);
}

Process* Scheduler::current_process() const {
  return current_ != nullptr ? current_->process_ : processes_.front().get();
}

Actor* Scheduler::create_actor(Process* process, std::string_view name,
                               std::function<void()> body) {
  WEIR_ASSERT_MSG(actors_.size() < options_.actors_max, "actors_max exceeded");
  auto owned = std::make_unique<Actor>();
  Actor* a = owned.get();
  a->id_ = ActorId(next_actor_id_++);
  a->name_ = std::string(name);
  a->process_ = process;
  a->body_ = std::move(body);
  a->cancelled_ = process->killed_;
  a->fiber_ =
      boost::context::fiber(std::allocator_arg, stacks_, [a](boost::context::fiber&& scheduler) {
        a->scheduler_ = std::move(scheduler);
        try {
          a->body_();
        } catch (const Cancelled&) {
          // Normal end of a cancelled actor: its stack has unwound.
        } catch (const std::exception& e) {
          assertion_failed("uncaught exception in actor", __FILE__, __LINE__, e.what());
        }
        a->body_ = nullptr;  // captured state dies on the actor's own stack context
        a->done_ = true;
        return std::move(a->scheduler_);
      });
  process->actors_.emplace(a->id_, a);
  actors_.emplace(a->id_, std::move(owned));
  wake(a);
  return a;
}

void Scheduler::wake(Actor* actor) {
  if (actor->queued_ || actor->done_) return;
  actor->queued_ = true;
  ready_.push_back(actor);
}

void Scheduler::cancel(Actor* actor) {
  if (actor->done_ || actor->cancelled_) return;
  actor->cancelled_ = true;
  // The running actor notices at its next suspension point; others are woken to unwind.
  if (actor != current_) wake(actor);
}

void Scheduler::check_cancelled() const {
  if (current_ != nullptr && current_->cancelled_) throw Cancelled{};
}

void Scheduler::suspend() {
  // Cancelled while running (it killed its own process, or left an uncancellable wait):
  // unwind now rather than sleep until someone happens to wake us.
  check_cancelled();
  suspend_uncancellable();
  check_cancelled();
}

void Scheduler::suspend_uncancellable() {
  Actor* a = current_;
  WEIR_ASSERT_MSG(a != nullptr, "suspend() outside an actor");
  a->scheduler_ = std::move(a->scheduler_).resume();
}

void Scheduler::resume(Actor* actor) {
  WEIR_ASSERT(current_ == nullptr);
  ++resumes_;
  if (observer_ != nullptr) observer_->on_resume(*actor);
  current_ = actor;
  // Real time only: simulated time stands still while an actor runs, so this never fires there.
  const TimePoint started = source_.now();
  actor->fiber_ = std::move(actor->fiber_).resume();
  current_ = nullptr;
  if (const Duration took = source_.now() - started; took >= kSlowResume) {
    // An actor that runs this long without suspending delays every other one and all I/O.
    TraceEvent(Severity::kWarn, "SlowTask")
        .detail("Actor", actor->name())
        .detail("Ms", std::chrono::duration_cast<std::chrono::milliseconds>(took).count());
  }
  if (actor->done_) destroy(actor);
}

void Scheduler::destroy(Actor* actor) {
  actor->process_->actors_.erase(actor->id_);
  actors_.erase(actor->id_);
}

TimerKey Scheduler::add_timer(TimePoint at, std::function<void()> fn) {
  TimerKey key{at, next_timer_seq_++};
  timers_.emplace(key, std::move(fn));
  return key;
}

bool Scheduler::cancel_timer(const TimerKey& key) {
  return timers_.erase(key) > 0;
}

// Fires every timer due now, in (time, sequence) order. Returns true if any fired.
bool Scheduler::fire_due_timers() {
  bool fired = false;
  const TimePoint now = source_.now();
  while (!timers_.empty() && timers_.begin()->first.at <= now) {
    auto it = timers_.begin();
    const TimerKey key = it->first;
    std::function<void()> fn = std::move(it->second);
    timers_.erase(it);
    if (observer_ != nullptr) observer_->on_timer(key);
    fn();
    fired = true;
  }
  return fired;
}

WakeTimer::WakeTimer(TimePoint deadline) : scheduler_(Scheduler::current()) {
  Actor* me = scheduler_.current_actor();
  WEIR_ASSERT_MSG(me != nullptr, "WakeTimer outside an actor");
  key_ = scheduler_.add_timer(deadline, [this, me] {
    expired_ = true;
    scheduler_.wake(me);
  });
}

WakeTimer::~WakeTimer() {
  if (!expired_) scheduler_.cancel_timer(key_);
}

bool Scheduler::run() {
  return run_until(TimePoint::max());
}

bool Scheduler::run_until(TimePoint limit) {
  stop_ = false;
  uint64_t since_poll = 0;
  while (!stop_) {
    // Busy actors must not starve I/O and timers: poll both now and then.
    if (++since_poll >= kPollEveryResumes && !ready_.empty()) {
      since_poll = 0;
      fire_due_timers();
      source_.wait(source_.now());
    }
    if (!ready_.empty()) {
      Actor* a = ready_.front();
      ready_.pop_front();
      if (a->process_->paused_) {
        a->process_->parked_.push_back(a);  // stays queued_: later wakes are no-ops
        continue;
      }
      a->queued_ = false;
      resume(a);
      continue;
    }
    if (fire_due_timers()) continue;
    if (source_.now() >= limit) return true;
    std::optional<TimePoint> deadline;
    if (!timers_.empty()) deadline = std::min(timers_.begin()->first.at, limit);
    if (limit != TimePoint::max()) deadline = deadline ? std::min(*deadline, limit) : limit;
    if (!source_.wait(deadline)) return false;
  }
  return true;
}

}  // namespace weir
