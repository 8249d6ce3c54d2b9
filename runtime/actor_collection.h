// Owns a set of child actors: each is dropped (and so cancelled, if still running) when the
// collection dies, and forgotten as soon as it finishes.
#pragma once

#include <cstdint>
#include <map>
#include <memory>

#include "absl/status/status.h"
#include "runtime/future.h"

namespace weir {

class ActorCollection {
 public:
  ActorCollection() : alive_(std::make_shared<Alive>()) { alive_->owner = this; }
  ActorCollection(const ActorCollection&) = delete;
  ActorCollection& operator=(const ActorCollection&) = delete;
  ~ActorCollection() { clear(); }

  template <class T>
  void add(Future<T> f) {
    const uint64_t key = next_key_++;
    std::weak_ptr<Alive> weak = alive_;
    // The callback must not hold the future itself: that would keep it alive forever.
    detail::State<T>* state = f.state();
    f.on_ready([weak, key, state]() {
      auto alive = weak.lock();
      if (!alive || alive->owner == nullptr) return;
      ActorCollection* self = alive->owner;
      if constexpr (std::is_void_v<T>) {
        if (!state->result().ok()) self->record_error(state->result());
      } else {
        if (!state->result().ok()) self->record_error(state->result().status());
      }
      self->children_.erase(key);
    });
    if (!f.is_ready()) children_.emplace(key, [f]() mutable { f.reset(); });
  }

  // Cancels every child still running.
  void clear() {
    auto children = std::move(children_);
    children_.clear();
    for (auto& [key, drop] : children) drop();
  }

  size_t size() const { return children_.size(); }
  // The first error a child ended with (cancellations excluded).
  const absl::Status& first_error() const { return first_error_; }

 private:
  struct Alive {
    ActorCollection* owner = nullptr;
  };
  void record_error(const absl::Status& status) {
    if (first_error_.ok() && !absl::IsCancelled(status)) first_error_ = status;
  }

  std::shared_ptr<Alive> alive_;
  std::map<uint64_t, std::function<void()>> children_;
  uint64_t next_key_ = 0;
  absl::Status first_error_;
};

}  // namespace weir
