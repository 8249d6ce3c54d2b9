// SHA-1, for ZooKeeper's digest ACL scheme only: a digest id is
// "user:" + base64(sha1("user:password")), and clients compute it the same way, so Weir must
// produce the identical bytes. SHA-1 is not used for anything that needs collision resistance.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace weir::coord {

using Sha1Digest = std::array<uint8_t, 20>;

// Incremental SHA-1 (FIPS 180-4). Feed bytes with update(), then call finish() once.
class Sha1 {
 public:
  Sha1();
  void update(std::string_view bytes);
  Sha1Digest finish();

 private:
  void compress(const uint8_t* block);

  std::array<uint32_t, 5> h_;
  std::array<uint8_t, 64> buffer_{};
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
};

Sha1Digest sha1(std::string_view bytes);

}  // namespace weir::coord
