// Kafka's small text checkpoint files (recovery-point-offset-checkpoint,
// log-start-offset-checkpoint, leader-epoch-checkpoint): a version line "0", a count line, then
// that many lines of space-separated fields. They are replaced atomically (write a temporary
// file, fsync it, rename it over the old one, fsync the directory), so a reader sees the old
// file or the new one, never a mix. A reader that finds anything malformed gets an error and
// must fall back to something safe (recovering from offset 0), never crash.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/filesystem.h"

namespace weir::broker::log {

using CheckpointLine = std::vector<std::string>;

std::string encode_checkpoint(const std::vector<CheckpointLine>& lines);
// The lines of a checkpoint with exactly `fields` fields each; DataLoss on a wrong version,
// a count that disagrees with the lines, a line with another number of fields, or a file
// larger than bytes_max.
absl::StatusOr<std::vector<CheckpointLine>> parse_checkpoint(std::string_view text, size_t fields);

// Replaces dir/name by `contents` atomically and durably (see the header comment).
absl::Status write_file_atomically(IFileSystem& fs, const std::string& dir, const std::string& name,
                                   std::string_view contents);
// The whole file, as two reads agreed on it; NotFound when it does not exist.
absl::StatusOr<std::string> read_text_file(IFileSystem& fs, const std::string& path,
                                           size_t bytes_max);

// Strict decimal integer parsing (no sign for unsigned uses, no spaces, no overflow).
bool parse_int64(std::string_view s, int64_t& out);

}  // namespace weir::broker::log
