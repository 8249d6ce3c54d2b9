#include "broker/log/checkpoint_file.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "broker/log/log_io.h"

namespace weir::broker::log {

std::string encode_checkpoint(const std::vector<CheckpointLine>& lines) {
  std::string out = absl::StrCat("0\n", lines.size(), "\n");
  for (const CheckpointLine& line : lines) {
    for (size_t i = 0; i < line.size(); ++i) absl::StrAppend(&out, i ? " " : "", line[i]);
    out += "\n";
  }
  return out;
}

bool parse_int64(std::string_view s, int64_t& out) {
  if (s.empty() || s.size() > 20) return false;
  size_t i = 0;
  const bool negative = s[0] == '-';
  if (negative) i = 1;
  if (i == s.size()) return false;
  uint64_t v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + static_cast<uint64_t>(s[i] - '0');
    if (v > static_cast<uint64_t>(INT64_MAX)) return false;
  }
  out = negative ? -static_cast<int64_t>(v) : static_cast<int64_t>(v);
  return true;
}

absl::StatusOr<std::vector<CheckpointLine>> parse_checkpoint(std::string_view text, size_t fields) {
  std::vector<std::string> lines =
      absl::StrSplit(absl::string_view(text.data(), text.size()), '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();  // the final newline
  int64_t count = -1;
  if (lines.size() < 2 || lines[0] != "0" || !parse_int64(lines[1], count) || count < 0 ||
      static_cast<size_t>(count) != lines.size() - 2) {
    return absl::DataLossError("checkpoint: bad version or count line");
  }
  std::vector<CheckpointLine> out;
  for (size_t i = 2; i < lines.size(); ++i) {
    std::vector<std::string> parts =
        absl::StrSplit(absl::string_view(lines[i].data(), lines[i].size()), ' ');
    if (parts.size() != fields) {
      return absl::DataLossError(absl::StrCat("checkpoint: line ", i + 1, " has ", parts.size(),
                                              " fields, expected ", fields));
    }
    out.push_back(std::move(parts));
  }
  return out;
}

absl::Status write_file_atomically(IFileSystem& fs, const std::string& dir, const std::string& name,
                                   std::string_view contents) {
  const std::string path = absl::StrCat(dir, "/", name);
  const std::string tmp = path + ".tmp";
  auto file = fs.open(tmp, OpenMode::kCreate);
  if (!file.ok()) return file.status();
  if (auto s = (*file)->truncate(0); !s.ok()) return s;
  auto span =
      absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(contents.data()), contents.size());
  if (auto s = (*file)->write(0, span); !s.ok()) return s;
  if (auto s = (*file)->sync(); !s.ok()) return s;
  file->reset();
  if (auto s = fs.rename(tmp, path); !s.ok()) return s;
  return fs.sync_directory(dir);
}

absl::StatusOr<std::string> read_text_file(IFileSystem& fs, const std::string& path,
                                           size_t bytes_max) {
  auto file = fs.open(path, OpenMode::kRead);
  if (!file.ok()) return file.status();
  auto size = (*file)->size();
  if (!size.ok()) return size.status();
  if (*size > bytes_max) {
    return absl::DataLossError(absl::StrCat(path, ": ", *size, " bytes, more than expected"));
  }
  std::string text(*size, '\0');
  auto n = read_agreed(**file, 0, text);  // a flipped digit would still parse
  if (!n.ok()) return n.status();
  text.resize(*n);
  return text;
}

}  // namespace weir::broker::log
