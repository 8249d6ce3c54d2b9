// The payload ZAB replicates for coord: a compact, versioned binary image of a coord::Txn (minus
// the zxid and time, which ZAB assigns). It exists because ZAB orders opaque bytes and every
// server must decode exactly the Txn the proposer meant; a payload from a newer or damaged
// writer must fail cleanly (a Status), never crash or allocate by a length it claims.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "coord/tree/txn.h"

namespace weir::coord::server {

// Bumped when the layout changes; decoders refuse versions they do not know.
inline constexpr uint8_t kTxnCodecVersion = 1;

// A decoded payload: the Txn (zxid and time_ms left 0) and, for CreateSession, the session's
// password, which every server needs to let the client reattach anywhere.
struct EncodedTxn {
  Txn txn;
  std::string password;
};

std::string encode_txn(const Txn& txn, std::string_view password = {});
// DataLoss for truncated, trailing or malformed input; InvalidArgument for an unknown version.
absl::Status decode_txn(std::string_view bytes, EncodedTxn* out);

}  // namespace weir::coord::server
