// ZAB's transaction log: the durable, ordered history of proposals a coord server has accepted.
// A server acknowledges a proposal only after sync() returned OK, so everything the ensemble
// counts as committed is on a quorum's disks; after a power loss open() recovers exactly a
// prefix of what was appended (every synced record, never a gap, never a record that was not
// written), cutting a torn or corrupt tail instead of applying it. Format and rules:
// coord/zab/storage/README.md.
//
// Failure policy: after any failed or cancelled mutating I/O (write, fsync, truncate, create,
// remove, directory sync) the log is *failed*: every later call returns the original error
// until the log is reopened. A failed fsync may have dropped dirty pages that the page cache
// still shows and believes clean (Linux writeback errors, modelled by sim/DISK.md), so a later
// fsync returning OK proves nothing about them. open() rewrites the last segment's validated
// bytes and fsyncs them, which makes what recovery read exactly what is durable.
//
// Concurrency: any number of actors may call; calls are serialized by an internal lock, except
// that sync() releases it for the fsync itself, so appends keep buffering while it runs (group
// commit: the next sync() covers them) instead of queueing behind the disk. Nothing closes,
// rolls or truncates the file during that fsync. All calls suspend. Not copyable; destroy only
// when no call is in progress.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "coord/ids.h"
#include "runtime/filesystem.h"
#include "runtime/sync.h"
#include "runtime/wait_list.h"

namespace weir::coord::zab {

// Sizes and bounds of a TxnLog; the defaults suit a real server, tests shrink them so that
// segments roll and buffers refill often.
struct TxnLogOptions {
  // A segment is closed (synced) and a new one started when the next record would make it
  // larger than this; a record larger than this gets a segment of its own.
  uint64_t segment_bytes_max = 64ull << 20;
  // Bound on one record's payload. Also what recovery trusts a length field up to, so a
  // corrupt length can never cause a huge allocation.
  uint32_t payload_bytes_max = 2u << 20;
  // Appends are buffered and written in chunks of about this size (and on sync()).
  size_t write_buffer_bytes = 256u << 10;
  // Recovery and reads fetch this much per read call.
  size_t read_buffer_bytes = 256u << 10;
  // One in-memory index entry (zxid, offset) per this many bytes of segment, so that
  // read_from and truncate_after start scanning near their target.
  uint64_t index_interval_bytes = 64u << 10;
  // How often a record that fails validation may be read before recovery gives up with
  // Unavailable: it counts as damaged on disk only once several reads agree on its bytes, since
  // the disk may return a transiently corrupted read (3..32, see storage_io.h).
  int read_attempts_max = 12;
  // See the header comment. Turning it off is unsafe whenever a log is reopened after an I/O
  // error without a power cycle in between; it exists for the test that shows why.
  bool rewrite_last_segment_on_open = true;
};

// One record as read_from returns it (a copy: it outlives the log's buffers).
struct TxnLogEntry {
  Zxid zxid;
  std::vector<uint8_t> payload;
};

class TxnLog {
 public:
  static constexpr size_t kHeaderBytes = 16;  // crc32c, length, zxid

  // Opens (creating if needed) the log in `dir` and recovers it: validates every record,
  // truncates at the first invalid one, removes later segments, and makes that durable.
  static absl::StatusOr<std::unique_ptr<TxnLog>> open(IFileSystem& fs, std::string dir,
                                                      TxnLogOptions options = {});
  ~TxnLog();
  TxnLog(const TxnLog&) = delete;
  TxnLog& operator=(const TxnLog&) = delete;

  // Buffers one record (writing the buffer when full). zxid must be positive and greater than
  // last_zxid() (asserted). Durable only after a later sync() returns OK.
  absl::Status append(Zxid zxid, absl::Span<const uint8_t> payload);
  // Makes every record appended before the call durable.
  absl::Status sync();
  // Durably drops every record with a zxid greater than `zxid` (ZAB's TRUNC).
  absl::Status truncate_after(Zxid zxid);
  // Durably deletes the segments all of whose records have zxids smaller than `zxid` (those a
  // snapshot covers). Never deletes the last segment, so last_zxid() is kept.
  absl::Status purge_before(Zxid zxid);
  // Records with zxid > zxid_exclusive in order, stopping before max_bytes of payload (but
  // always at least one record if there is one), for a follower's catch-up (DIFF).
  absl::StatusOr<std::vector<TxnLogEntry>> read_from(Zxid zxid_exclusive, uint64_t max_bytes);

  // The newest record's zxid, or 0 when the log is empty.
  Zxid last_zxid() const { return last_zxid_; }
  // The oldest record's zxid (older ones were purged), or 0 when empty.
  Zxid first_zxid() const;
  // The error that failed the log (see the header comment), or OK.
  const absl::Status& failure() const { return failed_; }
  size_t segment_count() const { return segments_.size(); }
  const std::string& dir() const { return dir_; }

 private:
  struct IndexEntry {
    Zxid zxid;
    uint64_t offset = 0;
  };
  struct Segment {
    Zxid first;
    Zxid last;
    uint64_t bytes = 0;  // including records still in the append buffer
    std::vector<IndexEntry> index;
  };
  struct ScanResult;
  class Mutation;

  TxnLog(IFileSystem& fs, std::string dir, TxnLogOptions options);

  std::string segment_path(Zxid first) const;
  absl::Status recover();
  absl::StatusOr<std::vector<Zxid>> list_segments();
  absl::StatusOr<ScanResult> scan_segment(Zxid first, Zxid previous_last);
  absl::Status cut(const std::vector<Zxid>& names, size_t index, uint64_t offset);
  absl::Status rewrite_last_segment();
  absl::Status open_active();

  absl::Status check_usable() const;
  // Suspends until no fsync of sync() is running (the caller may hold the lock: the fsync does
  // not need it to finish).
  void wait_sync_idle();
  absl::Status fail(absl::Status status, const char* op);
  absl::Status roll();
  absl::Status create_segment(Zxid first);
  absl::Status flush();
  absl::Status remove_segment_file(Zxid first);
  absl::Status truncate_last_segment(Zxid keep_through);
  absl::StatusOr<bool> read_segment(size_t index, Zxid zxid_exclusive, uint64_t max_bytes,
                                    uint64_t& bytes, std::vector<TxnLogEntry>& out);
  uint64_t index_start(const Segment& segment, Zxid zxid) const;
  void note_record(Segment& segment, Zxid zxid, uint64_t offset);

  IFileSystem& fs_;
  const std::string dir_;
  const TxnLogOptions options_;
  ActorMutex lock_;
  ActorMutex purge_lock_;  // one purge_before at a time; taken before lock_, never inside it
  bool syncing_ = false;   // sync() is in its fsync, without the lock
  WaitList sync_idle_;
  absl::Status failed_;
  // Ordered by first zxid. Unless the log failed, `active_` is open on the last one.
  std::vector<Segment> segments_;
  std::unique_ptr<IFile> active_;
  uint64_t flushed_bytes_ = 0;  // of the active segment: written to the file
  uint64_t synced_bytes_ = 0;   // of the active segment: made durable
  Zxid last_zxid_;
  std::vector<uint8_t> append_buffer_;  // reused: no allocation per record
  std::vector<uint8_t> read_buffer_;    // reused window for recovery and reads
};

}  // namespace weir::coord::zab
