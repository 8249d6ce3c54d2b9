// Intrusive lists of things waiting for an event. A node unlinks itself when destroyed, so a
// cancelled actor that unwinds leaves no dangling registration behind.
#pragma once

#include <utility>

namespace weir {

class WaitList;

// One registration in a WaitList. fire() runs in the thread of whoever triggers the event and
// must only schedule work (wake an actor, set a flag), never suspend.
class WaitNode {
 public:
  WaitNode() = default;
  WaitNode(const WaitNode&) = delete;
  WaitNode& operator=(const WaitNode&) = delete;
  virtual ~WaitNode() { unlink(); }
  virtual void fire() = 0;
  bool linked() const { return list_ != nullptr; }
  void unlink();

 private:
  friend class WaitList;
  WaitNode* prev_ = nullptr;
  WaitNode* next_ = nullptr;
  WaitList* list_ = nullptr;
};

// FIFO of WaitNodes; firing order is registration order (deterministic).
class WaitList {
 public:
  WaitList() = default;
  WaitList(const WaitList&) = delete;
  WaitList& operator=(const WaitList&) = delete;
  ~WaitList() {
    while (head_ != nullptr) head_->unlink();
  }
  bool empty() const { return head_ == nullptr; }
  void push_back(WaitNode* node) {
    node->unlink();
    node->list_ = this;
    node->prev_ = tail_;
    node->next_ = nullptr;
    if (tail_ != nullptr) {
      tail_->next_ = node;
    } else {
      head_ = node;
    }
    tail_ = node;
  }
  // Unlinks and fires the first node. Returns false when empty.
  bool fire_one() {
    WaitNode* node = head_;
    if (node == nullptr) return false;
    node->unlink();
    node->fire();
    return true;
  }
  // Fires until the list is empty (a node registered by a fire() fires too).
  void fire_all() {
    while (fire_one()) {
    }
  }

 private:
  friend class WaitNode;
  WaitNode* head_ = nullptr;
  WaitNode* tail_ = nullptr;
};

inline void WaitNode::unlink() {
  if (list_ == nullptr) return;
  if (prev_ != nullptr) {
    prev_->next_ = next_;
  } else {
    list_->head_ = next_;
  }
  if (next_ != nullptr) {
    next_->prev_ = prev_;
  } else {
    list_->tail_ = prev_;
  }
  prev_ = next_ = nullptr;
  list_ = nullptr;
}

}  // namespace weir
