// Small helpers shared by the log's files: Kafka's file names, exact reads, big-endian
// fields in index entries, and a read loop that tells a transiently corrupted read (a bit
// flipped on the way from the disk, which the simulated disk injects) from bytes that are
// really damaged on disk: only the latter may ever make recovery cut a log.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "broker/ids.h"
#include "runtime/filesystem.h"

namespace weir::broker::log {

inline constexpr char kLogSuffix[] = ".log";
inline constexpr char kIndexSuffix[] = ".index";
inline constexpr char kTimeIndexSuffix[] = ".timeindex";

// "<20-digit zero-padded offset><suffix>", so that names sort like offsets (Kafka's layout).
std::string segment_file_name(Offset base, std::string_view suffix);
// The offset in such a name, nullopt for anything else.
std::optional<Offset> parse_segment_file_name(std::string_view name, std::string_view suffix);

// Reads exactly buffer.size() bytes at `offset`, fewer only at end of file.
absl::StatusOr<size_t> read_fully(IFile& file, uint64_t offset, absl::Span<uint8_t> buffer);
absl::StatusOr<size_t> read_fully(IFile& file, uint64_t offset, std::string& buffer);

inline void put_be(char* p, uint64_t v, size_t n) {
  for (size_t i = 0; i < n; ++i) p[i] = static_cast<char>(v >> (8 * (n - 1 - i)));
}
inline uint64_t get_be(const char* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

// How many reads must see the same invalid bytes before they count as damage on the disk
// (two corrupted reads rarely flip the same bit, three almost never), and how many reads at
// most before giving up with Unavailable (the device is unstable: never cut on that).
inline constexpr int kReadAgreementsRequired = 3;
inline constexpr int kReadAttemptsMax = 12;

// Runs `attempt` (returning StatusOr<std::optional<uint64_t>>: nullopt when the bytes were
// valid, else a fingerprint of the invalid bytes) until it reads valid bytes (true), or until
// kReadAgreementsRequired attempts saw the same invalid bytes (false).
template <class Attempt>
absl::StatusOr<bool> read_until_stable(const std::string& what, Attempt&& attempt) {
  uint64_t seen[kReadAttemptsMax];
  for (int i = 0; i < kReadAttemptsMax; ++i) {
    absl::StatusOr<std::optional<uint64_t>> got = attempt();
    if (!got.ok()) return got.status();
    if (!got->has_value()) return true;
    int agreements = 1;
    for (int j = 0; j < i; ++j) agreements += seen[j] == **got ? 1 : 0;
    if (agreements >= kReadAgreementsRequired) return false;
    seen[i] = **got;
  }
  return absl::UnavailableError("reads never agreed (unstable device?): " + what);
}

// Fingerprint of invalid bytes for read_until_stable.
uint64_t fingerprint_of(std::string_view bytes);

// read_fully until two reads in a row return the same bytes (a corrupted read flips bits in
// what one read returns, never the same way twice); Unavailable when no two reads agree in
// kReadAttemptsMax. For bytes no checksum covers: batch headers taken from a scan (baseOffset,
// batchLength and partitionLeaderEpoch are outside the CRC), index files, checkpoints.
absl::StatusOr<size_t> read_agreed(IFile& file, uint64_t offset, std::string& buffer);

}  // namespace weir::broker::log
