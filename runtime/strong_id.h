// Strong integer ids: an Offset cannot be passed where a NodeId is expected.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <ostream>

namespace weir {

template <class Tag, class Rep = int64_t>
class StrongId {
 public:
  using rep_type = Rep;
  constexpr StrongId() = default;
  constexpr explicit StrongId(Rep v) : value_(v) {}
  constexpr Rep value() const { return value_; }
  constexpr auto operator<=>(const StrongId&) const = default;
  template <typename H>
  friend H AbslHashValue(H h, const StrongId& id) {
    return H::combine(std::move(h), id.value_);
  }
  friend std::ostream& operator<<(std::ostream& os, const StrongId& id) { return os << id.value_; }

 private:
  Rep value_{};
};

struct ProcessIdTag {};
using ProcessId = StrongId<ProcessIdTag, uint32_t>;
struct ActorIdTag {};
using ActorId = StrongId<ActorIdTag, uint64_t>;
struct NodeIdTag {};
using NodeId = StrongId<NodeIdTag, int32_t>;

}  // namespace weir

template <class Tag, class Rep>
struct std::hash<weir::StrongId<Tag, Rep>> {
  size_t operator()(const weir::StrongId<Tag, Rep>& id) const {
    return std::hash<Rep>{}(id.value());
  }
};
