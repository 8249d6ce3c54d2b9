// Helpers shared by coord's durable stores (TxnLog, EpochStore, SnapshotStore): explicit
// little-endian encoding, so the files mean the same on any host, and a read loop that tells a
// transiently corrupted read (a flipped bit on the way from the disk, which the simulated disk
// injects) from bytes that are really damaged on disk. Only the latter may ever cause a store
// to discard data.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "runtime/crc32c.h"
#include "runtime/filesystem.h"

namespace weir::coord::zab {

inline void store_u32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline void store_u64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline uint32_t load_u32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(p[i]) << (8 * i);
  return v;
}
inline uint64_t load_u64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}

// What one read attempt saw: valid, or invalid with a fingerprint of the bytes it read.
struct ReadAttempt {
  bool valid = false;
  uint64_t fingerprint = 0;
};

// Fingerprint of invalid bytes: two reads that saw the same bytes give the same value, and two
// reads that differ in a bit or two (a transient flip) give different ones (CRC32C detects
// every error of up to 3 bits at these lengths).
inline uint64_t fingerprint_of(absl::Span<const uint8_t> bytes) {
  return (static_cast<uint64_t>(bytes.size()) << 32) ^ crc32c(bytes.data(), bytes.size());
}

// How many attempts must see the very same invalid bytes before they count as damage on the
// disk. Two corrupted reads rarely flip the same bit, three almost never.
inline constexpr int kReadAgreementsRequired = 3;
// Bounds read_attempts_max options.
inline constexpr int kReadAttemptsLimit = 32;

// Runs `attempt` until it reads valid bytes (true), or until kReadAgreementsRequired attempts
// saw the same invalid bytes (false: the damage is on the disk, not on the way). Reads that
// never agree within attempts_max give Unavailable: the caller must not treat the data as
// damaged. attempts_max is at most kReadAttemptsLimit.
template <class Attempt>
absl::StatusOr<bool> read_until_stable(int attempts_max, const std::string& what,
                                       Attempt&& attempt) {
  uint64_t seen_before[kReadAttemptsLimit];
  const int attempts = attempts_max < kReadAttemptsLimit ? attempts_max : kReadAttemptsLimit;
  for (int i = 0; i < attempts; ++i) {
    absl::StatusOr<ReadAttempt> seen = attempt();
    if (!seen.ok()) return seen.status();
    if (seen->valid) return true;
    int agreements = 1;
    for (int j = 0; j < i; ++j) agreements += seen_before[j] == seen->fingerprint ? 1 : 0;
    if (agreements >= kReadAgreementsRequired) return false;
    seen_before[i] = seen->fingerprint;
  }
  return absl::UnavailableError("reads never agreed (unstable device?): " + what);
}

// Reads exactly buffer.size() bytes at `offset`, fewer only at end of file.
inline absl::StatusOr<size_t> read_fully(IFile& file, uint64_t offset, absl::Span<uint8_t> buffer) {
  size_t done = 0;
  while (done < buffer.size()) {
    auto n = file.read(offset + done, buffer.subspan(done));
    if (!n.ok()) return n.status();
    if (*n == 0) break;
    done += *n;
  }
  return done;
}

// "name.<16 lowercase hex digits>" for a non-negative value, so that names sort like values.
std::string hex_name(const std::string& prefix, int64_t value);
// Parses what hex_name made; nullopt for anything else (foreign or temporary files).
std::optional<int64_t> parse_hex_name(const std::string& prefix, const std::string& name);

}  // namespace weir::coord::zab
