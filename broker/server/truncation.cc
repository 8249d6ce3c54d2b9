#include "broker/server/truncation.h"

#include <algorithm>

namespace weir::broker {

Truncation follower_truncation(const log::LeaderEpochCache& epochs, Offset log_end,
                               Offset log_start, EpochAnswer answer, LeaderEpoch asked) {
  // Everything the follower holds is of epochs the leader never had: keep only what is below
  // the log start (nothing, for a log that restarted).
  if (answer.leader_epoch < 0 || answer.end_offset < 0) return {log_start, false};
  Offset cut = std::min(log_end, Offset(answer.end_offset));
  const LeaderEpoch theirs(answer.leader_epoch);
  if (theirs == asked) return {cut, false};
  // The leader knows only an older epoch than the follower's latest. Where does that epoch
  // end here? If the follower never had it, its largest epoch below ends where its next one
  // starts: cut there and ask again about that epoch, until both agree on one.
  const auto mine = epochs.end_offset_for(theirs, log_end);
  if (!mine.has_value()) return {cut, false};
  return {std::min(cut, mine->second), mine->first != theirs};
}

}  // namespace weir::broker
