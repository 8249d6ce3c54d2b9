// Futures and promises for actors. A Future<T> carries absl::StatusOr<T> (absl::Status for
// void): errors travel in the future, never as exceptions. Awaiting suspends the calling fiber.
//
// Cancellation: a future made by spawn() owns its actor. When the last Future handle to an
// unfinished actor is dropped, the actor is cancelled and unwinds at its next suspension point.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/assert.h"
#include "runtime/scheduler.h"
#include "runtime/time.h"

namespace weir {

template <class T>
using Result = std::conditional_t<std::is_void_v<T>, absl::Status, absl::StatusOr<T>>;

inline absl::Status cancelled_error() {
  return absl::CancelledError("actor cancelled");
}
inline absl::Status broken_promise_error() {
  return absl::AbortedError("broken promise");
}

namespace detail {

// What every future state shares, independent of T.
class StateBase {
 public:
  virtual ~StateBase() = default;
  bool ready() const { return ready_; }
  void add_future_ref() { ++future_refs_; }
  void drop_future_ref();
  void add_promise_ref() { ++promise_refs_; }
  void drop_promise_ref();
  int future_refs() const { return future_refs_; }
  void add_waiter(WaitNode* node) { waiters_.push_back(node); }
  void on_ready(std::function<void()> fn);
  void set_producer(Actor* actor) { producer_ = actor; }
  // Keeps a combinator alive until this state is ready or abandoned. Ignored when already
  // ready: the combinator holds a promise of this state, so keeping it would be a cycle.
  void set_keepalive(std::shared_ptr<void> keepalive) {
    if (!ready_) keepalive_ = std::move(keepalive);
  }
  // Suspends the current actor until ready (throws Cancelled).
  void wait();

 protected:
  void mark_ready();
  virtual void set_broken() = 0;

 private:
  WaitList waiters_;
  std::vector<std::function<void()>> callbacks_;
  std::shared_ptr<void> keepalive_;  // combinator state, released when done or abandoned
  Actor* producer_ = nullptr;
  int future_refs_ = 0;
  int promise_refs_ = 0;
  bool ready_ = false;
};

template <class T>
class State final : public StateBase {
 public:
  void set(Result<T> result) {
    WEIR_ASSERT_MSG(!ready(), "future set twice");
    result_.emplace(std::move(result));
    mark_ready();
  }
  Result<T>& result() {
    WEIR_ASSERT(ready());
    return *result_;
  }

 private:
  void set_broken() override { set(broken_promise_error()); }
  std::optional<Result<T>> result_;
};

inline void StateBase::drop_future_ref() {
  if (--future_refs_ > 0 || ready_) return;
  if (producer_ != nullptr) Scheduler::current().cancel(producer_);
  auto keepalive = std::move(keepalive_);
}

inline void StateBase::drop_promise_ref() {
  if (--promise_refs_ == 0 && !ready_) set_broken();
}

inline void StateBase::on_ready(std::function<void()> fn) {
  if (ready_) {
    fn();
  } else {
    callbacks_.push_back(std::move(fn));
  }
}

inline void StateBase::mark_ready() {
  ready_ = true;
  producer_ = nullptr;
  waiters_.fire_all();
  auto callbacks = std::move(callbacks_);
  for (auto& fn : callbacks) fn();
  auto keepalive = std::move(keepalive_);
}

inline void StateBase::wait() {
  if (ready_) return;
  Scheduler& s = Scheduler::current();
  ActorWaiter waiter(s.current_actor());
  add_waiter(&waiter);
  while (!ready_) s.suspend();
}

}  // namespace detail

template <class T>
class Promise;

// A handle to a value that will arrive later. Copyable; copies share one state.
template <class T>
class Future {
 public:
  Future() = default;
  explicit Future(std::shared_ptr<detail::State<T>> state) : state_(std::move(state)) {
    if (state_) state_->add_future_ref();
  }
  Future(const Future& other) : Future(other.state_) {}
  Future(Future&& other) noexcept : state_(std::move(other.state_)) {}
  Future& operator=(Future other) noexcept {
    std::swap(state_, other.state_);
    return *this;
  }
  ~Future() { reset(); }

  // A future that is already resolved.
  static Future ready(Result<T> result) {
    auto state = std::make_shared<detail::State<T>>();
    state->set(std::move(result));
    return Future(std::move(state));
  }

  bool valid() const { return state_ != nullptr; }
  bool is_ready() const { return state_ && state_->ready(); }
  // The result; only when is_ready().
  const Result<T>& get() const { return state_->result(); }
  // Drops this handle (cancelling the producer if it was the last).
  void reset() {
    if (state_) {
      auto s = std::move(state_);
      s->drop_future_ref();
    }
  }
  // Runs fn (in scheduler context, must not suspend) when the future becomes ready.
  void on_ready(std::function<void()> fn) const { state_->on_ready(std::move(fn)); }
  detail::State<T>* state() const { return state_.get(); }

 private:
  std::shared_ptr<detail::State<T>> state_;
};

// The write side of a Future. If every Promise handle dies unset, the future gets
// "broken promise".
template <class T>
class Promise {
 public:
  Promise() : state_(std::make_shared<detail::State<T>>()) { state_->add_promise_ref(); }
  Promise(const Promise& other) : state_(other.state_) {
    if (state_) state_->add_promise_ref();
  }
  Promise(Promise&& other) noexcept : state_(std::move(other.state_)) {}
  Promise& operator=(Promise other) noexcept {
    std::swap(state_, other.state_);
    return *this;
  }
  ~Promise() {
    if (state_) {
      auto s = std::move(state_);
      s->drop_promise_ref();
    }
  }

  Future<T> future() const { return Future<T>(state_); }
  bool is_set() const { return state_->ready(); }
  // True if some Future handle still listens.
  bool has_listeners() const { return state_->future_refs() > 0; }
  void set(Result<T> result) { state_->set(std::move(result)); }
  bool try_set(Result<T> result) {
    if (state_->ready()) return false;
    state_->set(std::move(result));
    return true;
  }
  template <class U = T>
  requires(!std::is_void_v<U>) void set_value(U value) { set(Result<T>(std::move(value))); }
  void set_error(absl::Status status) {
    WEIR_ASSERT(!status.ok());
    set(Result<T>(std::move(status)));
  }
  detail::State<T>* state() const { return state_.get(); }

 private:
  std::shared_ptr<detail::State<T>> state_;
};

namespace detail {
// The result of a ready future: moved out when `f` is its only handle, copied otherwise.
template <class T>
Result<T> take_result(Future<T>& f) {
  detail::State<T>* s = f.state();
  if constexpr (std::is_copy_constructible_v<Result<T>>) {
    if (s->future_refs() > 1) return s->result();
  } else {
    WEIR_ASSERT_MSG(s->future_refs() == 1, "move-only future read through a shared handle");
  }
  return std::move(s->result());
}
}  // namespace detail

// Suspends the calling actor until `f` is ready and returns its result. The value is moved
// out when `f` is the only handle, copied otherwise. Throws Cancelled.
template <class T>
Result<T> await(Future<T> f) {
  WEIR_ASSERT(f.valid());
  f.state()->wait();
  return detail::take_result(f);
}

namespace detail {
template <class R>
struct Unwrap {
  using type = R;
};
template <>
struct Unwrap<absl::Status> {
  using type = void;
};
template <class U>
struct Unwrap<absl::StatusOr<U>> {
  using type = U;
};
}  // namespace detail

template <class F>
using SpawnResult = typename detail::Unwrap<std::invoke_result_t<F&>>::type;

// Starts `fn` as a new actor of `process`; its future owns it (see the header comment).
template <class F>
Future<SpawnResult<F>> spawn_in(Process* process, std::string_view name, F&& fn) {
  using T = SpawnResult<F>;
  using R = std::invoke_result_t<F&>;
  auto state = std::make_shared<detail::State<T>>();
  Future<T> future(state);
  Scheduler& s = Scheduler::current();
  Actor* actor = s.create_actor(process, name, [state, fn = std::forward<F>(fn)]() mutable {
    try {
      Scheduler::current().check_cancelled();
      if constexpr (std::is_void_v<R>) {
        fn();
        state->set(absl::OkStatus());
      } else {
        state->set(Result<T>(fn()));
      }
    } catch (const Cancelled&) {
      if (!state->ready()) state->set(cancelled_error());
      throw;
    }
  });
  state->set_producer(actor);
  return future;
}

// Starts `fn` as a new actor of the calling actor's process.
template <class F>
Future<SpawnResult<F>> spawn(std::string_view name, F&& fn) {
  return spawn_in(Scheduler::current().current_process(), name, std::forward<F>(fn));
}

// The current process's clock maps local durations to scheduler time (clock drift).
Duration to_scheduler_duration(Duration local);

// Suspends the calling actor for `d` of its process's clock. Throws Cancelled.
void delay(Duration d);
// Lets every other ready actor run once before continuing. Throws Cancelled.
void yield_now();
// A future that becomes ready after `d`.
Future<void> after(Duration d);

// Ready with `f`'s result, or DeadlineExceeded after `d` (then `f` is dropped, which
// cancels its actor if nobody else holds it).
template <class T>
Future<T> timeout(Future<T> f, Duration d) {
  struct Combo {
    Future<T> input;
    Promise<T> output;
    TimerKey timer;
  };
  auto combo = std::make_shared<Combo>();
  combo->input = std::move(f);
  Future<T> result = combo->output.future();
  std::weak_ptr<Combo> weak = combo;
  Scheduler& s = Scheduler::current();
  combo->timer = s.add_timer(s.now() + to_scheduler_duration(d), [weak] {
    if (auto c = weak.lock(); c && !c->output.is_set()) {
      c->output.set(absl::DeadlineExceededError("timed out"));
    }
  });
  combo->input.on_ready([weak] {
    if (auto c = weak.lock(); c && !c->output.is_set()) {
      Scheduler::current().cancel_timer(c->timer);
      c->output.set(detail::take_result(c->input));
    }
  });
  result.state()->set_keepalive(combo);
  return result;
}

// Ready with the index of the first input to become ready (lowest index on ties).
template <class T>
Future<size_t> when_any(std::vector<Future<T>> inputs) {
  WEIR_ASSERT(!inputs.empty());
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].is_ready()) return Future<size_t>::ready(i);
  }
  struct Combo {
    std::vector<Future<T>> inputs;
    Promise<size_t> output;
  };
  auto combo = std::make_shared<Combo>();
  combo->inputs = std::move(inputs);
  Future<size_t> result = combo->output.future();
  std::weak_ptr<Combo> weak = combo;
  for (size_t i = 0; i < combo->inputs.size(); ++i) {
    combo->inputs[i].on_ready([weak, i] {
      if (auto c = weak.lock(); c && !c->output.is_set()) c->output.set_value(i);
    });
  }
  result.state()->set_keepalive(combo);
  return result;
}

// Ready when every input is ready (their results stay in the inputs).
template <class T>
Future<void> when_all(std::vector<Future<T>> inputs) {
  struct Combo {
    std::vector<Future<T>> inputs;
    Promise<void> output;
    size_t remaining = 0;
  };
  auto combo = std::make_shared<Combo>();
  combo->inputs = std::move(inputs);
  combo->remaining = combo->inputs.size();
  Future<void> result = combo->output.future();
  if (combo->remaining == 0) {
    combo->output.set(absl::OkStatus());
    return result;
  }
  std::weak_ptr<Combo> weak = combo;
  for (auto& input : combo->inputs) {
    input.on_ready([weak] {
      if (auto c = weak.lock(); c && --c->remaining == 0) c->output.set(absl::OkStatus());
    });
  }
  result.state()->set_keepalive(combo);
  return result;
}

// Runs the scheduler until `f` is ready (for tests and main functions outside any actor).
template <class T>
Result<T> run_until_ready(Future<T> f) {
  Scheduler& s = Scheduler::current();
  f.on_ready([&s] { s.stop(); });
  if (!f.is_ready()) s.run();
  WEIR_ASSERT_MSG(f.is_ready(), "scheduler went quiescent before the future was ready");
  return f.get();
}

}  // namespace weir
