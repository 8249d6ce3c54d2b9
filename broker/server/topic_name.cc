#include "broker/server/topic_name.h"

#include "absl/strings/str_cat.h"

namespace weir::broker {

absl::Status validate_topic_name(std::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError("topic name is empty");
  if (name == "." || name == "..")
    return absl::InvalidArgumentError(
        absl::StrCat("topic name cannot be \"", std::string(name), "\""));
  if (name.size() > kTopicNameBytesMax)
    return absl::InvalidArgumentError(absl::StrCat("topic name is ", name.size(),
                                                   " characters, longer than the maximum ",
                                                   kTopicNameBytesMax));
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok)
      return absl::InvalidArgumentError(
          absl::StrCat("topic name \"", std::string(name),
                       "\" has characters other than ASCII alphanumerics, '.', '_' and '-'"));
  }
  return absl::OkStatus();
}

std::string topic_collision_key(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    if (c == '.') c = '_';
  }
  return out;
}

}  // namespace weir::broker
