// Base64 (RFC 4648, standard alphabet, '=' padding) as java.util.Base64 writes it: the digest
// ACL scheme stores base64(sha1(...)) and must match what ZooKeeper clients compute.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace weir::coord {

std::string base64_encode(std::string_view bytes);
// Strict: the length must be a multiple of 4, padding only at the end, no other characters.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace weir::coord
