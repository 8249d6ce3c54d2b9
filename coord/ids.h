// Strong ids shared by every part of coord: a zxid and a session id are both 64-bit integers on
// the wire, and mixing them up (an ephemeral owner compared with a zxid) is exactly the kind of
// bug the type system can rule out.
#pragma once

#include <cstdint>

#include "runtime/strong_id.h"

namespace weir::coord {

// A ZooKeeper transaction id: the leader epoch in the high 32 bits, a counter within the
// epoch in the low 32 bits, so that comparing zxids orders transactions across epochs.
struct ZxidTag {};
using Zxid = StrongId<ZxidTag, int64_t>;

// A client session, as the server assigned it (0 means "no session yet" in ConnectRequest and
// "not ephemeral" in Stat.ephemeralOwner).
struct SessionIdTag {};
using SessionId = StrongId<SessionIdTag, int64_t>;

constexpr Zxid make_zxid(uint32_t epoch, uint32_t counter) {
  return Zxid(static_cast<int64_t>((static_cast<uint64_t>(epoch) << 32) | counter));
}
constexpr uint32_t zxid_epoch(Zxid zxid) {
  return static_cast<uint32_t>(static_cast<uint64_t>(zxid.value()) >> 32);
}
constexpr uint32_t zxid_counter(Zxid zxid) {
  return static_cast<uint32_t>(static_cast<uint64_t>(zxid.value()) & 0xffffffffu);
}

}  // namespace weir::coord
