// Snapshots of coord's data tree, so that a restarting server replays only the log after the
// newest snapshot and the log can be purged before it. A snapshot is written to a temporary
// file and renamed into place only once durable, so a crash leaves either the complete new
// snapshot or none; a snapshot that is damaged anyway (bad CRC) is skipped in favour of the
// previous one, which is why several are kept.
//
// Purging the transaction log must keep every record after the *oldest* retained snapshot
// (purge_before(oldest + 1)): falling back to it must find the log that follows it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "coord/ids.h"
#include "runtime/filesystem.h"
#include "runtime/sync.h"

namespace weir::coord::zab {

// Bounds and retention of a SnapshotStore.
struct SnapshotStoreOptions {
  // Bound on one snapshot's data: save() refuses more, and load trusts a length field only up
  // to it, so a corrupt header can never cause a huge allocation.
  uint64_t snapshot_bytes_max = 1ull << 30;
  // How many snapshots save() keeps (the newest, by zxid); at least 1.
  int retain = 3;
  // How often a damaged-looking file may be read before open gives up with Unavailable; it
  // counts as damaged only once several reads agree (3..32, see storage_io.h).
  int read_attempts_max = 12;
};

// A serialized data tree and the zxid of the last transaction applied to it.
struct Snapshot {
  Zxid zxid;
  std::vector<uint8_t> data;
};

// Files snapshot.<16 hex digits of zxid> in one directory. Calls suspend; concurrent calls are
// serialized.
class SnapshotStore {
 public:
  static constexpr size_t kHeaderBytes = 32;

  static absl::StatusOr<std::unique_ptr<SnapshotStore>> open(IFileSystem& fs, std::string dir,
                                                             SnapshotStoreOptions options = {});
  ~SnapshotStore();

  // Durably stores the data tree as of `zxid` (every transaction up to it applied), then
  // removes all but the newest `retain` snapshots and any leftover temporary file.
  absl::Status save(Zxid zxid, absl::Span<const uint8_t> data);
  // The newest snapshot that reads back valid; nullopt when there is none. Damaged ones are
  // skipped (kWarn trace); read errors are returned, since they prove no damage.
  absl::StatusOr<std::optional<Snapshot>> load_latest();
  // The zxids of the snapshot files present, oldest first, valid or not.
  absl::StatusOr<std::vector<Zxid>> list();

 private:
  SnapshotStore(IFileSystem& fs, std::string dir, SnapshotStoreOptions options);
  std::string path(Zxid zxid) const;
  absl::StatusOr<std::optional<Snapshot>> load(Zxid zxid);
  absl::Status enforce_retention();

  IFileSystem& fs_;
  const std::string dir_;
  const SnapshotStoreOptions options_;
  ActorMutex lock_;
};

}  // namespace weir::coord::zab
