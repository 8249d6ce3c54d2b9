// ZAB's two durable integers. acceptedEpoch is the newest epoch this server promised to a
// prospective leader (NEWEPOCH), currentEpoch the newest it has fully accepted (NEWLEADER). A
// server that forgot either after a crash could promise two leaders of one epoch, so each
// update is durable before it returns, and a damaged file is an error, never a silent 0
// (which would be exactly that forgetting).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/filesystem.h"

namespace weir::coord::zab {

struct EpochStoreOptions {
  // How often a damaged-looking file may be read before open gives up with Unavailable; it
  // counts as damaged only once several reads agree (3..32, see storage_io.h).
  int read_attempts_max = 12;
};

// One file per value (acceptedEpoch, currentEpoch), replaced atomically: a temporary file with
// a CRC, fsync, rename over the old one, fsync of the directory. Calls suspend; callers
// serialize updates (ZAB changes epochs from one actor).
class EpochStore {
 public:
  static constexpr size_t kFileBytes = 16;  // crc32c, magic, value

  // Reads both values (0 when a file is missing; DataLoss when one is damaged) and commits any
  // directory change an earlier life left unsynced.
  static absl::StatusOr<std::unique_ptr<EpochStore>> open(IFileSystem& fs, std::string dir,
                                                          EpochStoreOptions options = {});

  int64_t accepted_epoch() const { return accepted_epoch_; }
  int64_t current_epoch() const { return current_epoch_; }
  // Durable when OK. Epochs never go back (asserted). On error the stored value is the old or
  // the new one, unknown which: ZAB must not act on the new epoch, and may retry.
  absl::Status set_accepted_epoch(int64_t epoch);
  absl::Status set_current_epoch(int64_t epoch);

 private:
  EpochStore(IFileSystem& fs, std::string dir, EpochStoreOptions options);
  std::string path(const char* name) const;
  absl::StatusOr<int64_t> load(const char* name);
  absl::Status store(const char* name, int64_t value);

  IFileSystem& fs_;
  const std::string dir_;
  const EpochStoreOptions options_;
  int64_t accepted_epoch_ = 0;
  int64_t current_epoch_ = 0;
};

}  // namespace weir::coord::zab
