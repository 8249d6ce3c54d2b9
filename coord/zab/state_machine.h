// What ZAB replicates into. ZAB only orders opaque payloads; the coord server's data tree (or a
// test's register) interprets them. Every server applies the same committed sequence.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "coord/ids.h"

namespace weir::coord::zab {

class IStateMachine {
 public:
  virtual ~IStateMachine() = default;
  // Applies one committed transaction; called in strictly increasing zxid order.
  virtual void apply(Zxid zxid, int64_t time_ms, std::string_view payload) = 0;
  virtual Zxid last_applied() const = 0;
  // The whole state as of last_applied(), for snapshots and for SNAP synchronization.
  virtual std::string snapshot() const = 0;
  // Replaces the state with a snapshot taken at `zxid`.
  virtual absl::Status restore(Zxid zxid, std::string_view snapshot) = 0;
};

}  // namespace weir::coord::zab
