// The simulated disk: an in-memory IFileSystem for one simulated machine whose durability,
// latency and failures come from the simulation's seed. It exists so that every seed can
// exercise what a power loss, a failing fsync or a full disk does to Weir's logs and
// snapshots, deterministically, in one thread. The models are described in sim/DISK.md.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/filesystem.h"
#include "runtime/random.h"
#include "runtime/time.h"

namespace weir::sim {

// Faults the fault injector switches on and off while a simulation runs. All zero: a healthy
// disk. Probabilities are per operation.
struct DiskFaults {
  // EIO from IFile::read; nothing is read.
  double read_error_probability = 0;
  // EIO from write, append and truncate; the failed call has no effect at all.
  double write_error_probability = 0;
  // EIO from IFile::sync and sync_directory. A failed file sync behaves like Linux after a
  // writeback error: each unsynced page was either written or dropped, and a dropped page is
  // never made durable by a later sync unless it is written again (see DISK.md).
  double sync_error_probability = 0;
  // EIO from open, rename, remove, list and create_directories; no effect.
  double metadata_error_probability = 0;
  // A successful non-empty read returns one flipped bit; the stored data stays intact.
  double corrupt_read_probability = 0;
  // An operation takes an extra delay, uniform in [slow_delay / 2, slow_delay].
  double slow_probability = 0;
  Duration slow_delay = 200ms;
  // ENOSPC now: every write, append or truncate that would grow the disk's usage fails with
  // ResourceExhausted, as does creating a file. Overwrites and shrinking still succeed.
  bool disk_full = false;
};

// How long operations take. Cached operations touch only the page cache; sync pays a device
// flush plus the transfer of the dirty bytes.
struct DiskLatency {
  Duration cached_min = 5us;
  Duration cached_max = 50us;
  Duration sync_min = 1ms;
  Duration sync_max = 5ms;
  uint64_t sync_bytes_per_second = 200'000'000;
  double tail_probability = 0.001;  // a rare long stall, even on a healthy disk
  Duration tail_mean = 20ms;        // exponential
};

struct DiskOptions {
  std::string name;  // shown in trace events, e.g. the machine's name
  // Hard cap on the sum of file sizes, so a runaway workload cannot exhaust the host's
  // memory; growth beyond it fails with ResourceExhausted like a real full disk.
  uint64_t capacity_bytes = 128ull << 20;
  // Cap on files plus directories, for the same reason.
  uint64_t entries_max = 100'000;
  DiskLatency latency;
};

struct DiskStats {
  uint64_t opens = 0;
  uint64_t reads = 0;
  uint64_t writes = 0;  // write and append calls
  uint64_t truncates = 0;
  uint64_t syncs = 0;
  uint64_t directory_syncs = 0;
  uint64_t bytes_read = 0;
  uint64_t bytes_written = 0;
  // Injected faults.
  uint64_t read_errors = 0;
  uint64_t write_errors = 0;
  uint64_t sync_errors = 0;
  uint64_t metadata_errors = 0;
  uint64_t corrupted_reads = 0;
  uint64_t slow_ops = 0;
  uint64_t disk_full_errors = 0;  // ENOSPC from DiskFaults::disk_full
  // Not injected: the workload hit the capacity or entry cap.
  uint64_t capacity_errors = 0;
  // Power events and what they did.
  uint64_t crashes = 0;
  uint64_t clean_shutdowns = 0;
  uint64_t pages_lost = 0;
  uint64_t pages_kept = 0;
  uint64_t pages_torn = 0;
  uint64_t pages_dropped_by_failed_sync = 0;
  uint64_t sizes_reverted = 0;
  uint64_t directories_reverted = 0;

  uint64_t faults_injected() const {
    return read_errors + write_errors + sync_errors + metadata_errors + corrupted_reads + slow_ops +
           disk_full_errors;
  }
};

class DiskCore;

// One simulated machine's disk. Every call must come from an actor (each suspends for its
// simulated latency), except crash(), clean_shutdown() and the accessors, which the simulator
// calls between events. Effects are applied when a call starts and the latency follows, as
// with a real syscall that has reached the page cache, so a cancelled write may have
// happened; sync and sync_directory are the exception: durability is granted only when their
// latency has elapsed, so a cancelled or interrupted sync has made nothing durable.
class SimDisk final : public IFileSystem {
 public:
  static constexpr uint64_t kPageSize = 4096;
  static constexpr uint64_t kSectorSize = 512;

  explicit SimDisk(IRandom& random, DiskOptions options = {});
  ~SimDisk() override;
  SimDisk(const SimDisk&) = delete;
  SimDisk& operator=(const SimDisk&) = delete;

  absl::StatusOr<std::unique_ptr<IFile>> open(const std::string& path, OpenMode mode) override;
  absl::Status rename(const std::string& from, const std::string& to) override;
  // Removes a file, or an empty directory (the latter durably, like create_directories).
  absl::Status remove(const std::string& path) override;
  absl::StatusOr<std::vector<std::string>> list(const std::string& dir) override;
  // Durable at once: as if each changed parent directory were synced (see DISK.md).
  absl::Status create_directories(const std::string& dir) override;
  absl::Status sync_directory(const std::string& dir) override;
  bool exists(const std::string& path) override;

  // Power loss. Unsynced file pages are lost, kept or torn, unsynced sizes and directory
  // changes reverted or kept; what survives becomes the durable state the machine reboots
  // with. Every open handle dies. Does not suspend.
  void crash();
  // A clean OS shutdown: everything cached is flushed (except pages dropped by a failed
  // sync, which the OS believes clean). Every open handle dies. Does not suspend.
  void clean_shutdown();

  void set_faults(const DiskFaults& faults);
  const DiskFaults& faults() const;
  const DiskStats& stats() const;
  // Sum of the sizes of all files, including unlinked ones still open or still named in a
  // directory's durable state.
  uint64_t usage_bytes() const;
  // Incremented by crash() and clean_shutdown(); handles from an older boot are dead.
  uint64_t boot_count() const;

 private:
  std::shared_ptr<DiskCore> core_;
};

}  // namespace weir::sim
