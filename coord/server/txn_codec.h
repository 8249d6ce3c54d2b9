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
// Version 1 had no envelope fields after the password (it decodes with owner 0).
inline constexpr uint8_t kTxnCodecVersion = 2;

// A decoded payload: the Txn (zxid and time_ms left 0) and its envelope: for CreateSession the
// session's password, which every server needs to let the client reattach anywhere; the token
// of the client connection that sent it (0: the server's own txns); and whether it moves the
// session to that connection (a reattach, see TreeMachine).
struct EncodedTxn {
  Txn txn;
  std::string password;
  int64_t owner = 0;
  bool reattach = false;
};

std::string encode_txn(const Txn& txn, std::string_view password = {}, int64_t owner = 0,
                       bool reattach = false);
// DataLoss for truncated, trailing or malformed input; InvalidArgument for an unknown version.
absl::Status decode_txn(std::string_view bytes, EncodedTxn* out);

}  // namespace weir::coord::server
