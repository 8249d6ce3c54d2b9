// What ZAB replicates into. ZAB only orders opaque payloads; the coord server's data tree (or a
// test's register) interprets them. Every server applies the same committed sequence.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "coord/ids.h"

namespace weir::coord::zab {

class IStateMachine {
 public:
  virtual ~IStateMachine() = default;
  // Applies one committed transaction; called in strictly increasing zxid order.
  virtual void apply(Zxid zxid, int64_t time_ms, std::string_view payload) = 0;
  virtual Zxid last_applied() const = 0;
  // The time of the newest applied txn, or a floor for it after a restore (0: unknown). A new
  // leader whose history is empty never stamps a txn below it.
  virtual int64_t last_time_ms() const { return 0; }
  // The whole state as of last_applied(), for snapshots and for SNAP synchronization.
  virtual std::string snapshot() const = 0;
  // snapshot() in bounded steps, so taking one never stalls the server: begin_snapshot() fixes
  // the image as of last_applied(); each continue_snapshot() does up to `units_max` units of
  // the work (applies go on in between) and returns the image once complete. A restore() in
  // between abandons it: continue_snapshot() is then Aborted.
  virtual void begin_snapshot() = 0;
  virtual absl::StatusOr<std::optional<std::string>> continue_snapshot(size_t units_max) = 0;
  // Replaces the state with a snapshot taken at `zxid`.
  virtual absl::Status restore(Zxid zxid, std::string_view snapshot) = 0;
};

}  // namespace weir::coord::zab
