// ZooKeeper's four-letter words: a client's first four bytes may be a command instead of a
// frame length, answered in plain text and then closed. Monitoring reads them (the Prometheus
// ZooKeeper exporter parses mntr; operators use srvr, stat, cons, wchs, dump, conf, envi), so
// each figure is a real one, in ZooKeeper 3.8's format. Words not in `4lw.commands.whitelist`
// (ZooKeeper's default: srvr only) are refused with ZooKeeper's message.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "coord/server/config.h"
#include "coord/server/connection.h"
#include "coord/server/watch_manager.h"
#include "coord/tree/data_tree.h"
#include "coord/zab/peer.h"

namespace weir::coord::server {

// Counters for 4lw commands and tests.
struct ServerStats {
  uint64_t packets_received = 0;
  uint64_t packets_sent = 0;
  uint64_t malformed_frames = 0;
  uint64_t sessions_expired = 0;
  uint64_t nodes_reaped = 0;  // containers and TTL nodes this server deleted as leader
  LatencyStats latency;
};

// What the words read: the server's state, by reference, at the moment a word is answered.
struct FourLetterView {
  const ServerConfig& config;
  const ServerStats& stats;
  const DataTree& tree;
  const WatchManager& watches;
  const zab::ZabPeer& peer;
  const std::map<uint64_t, std::shared_ptr<Connection>>& connections;
  std::string mode;  // standalone, leader, follower, observer, looking
  TimePoint started;
  TimePoint now;
  std::optional<size_t> open_file_descriptors;  // when the runtime can tell
};

// True for every word ZooKeeper 3.8 knows (whitelisted or not).
bool is_four_letter_word(std::string_view word);
// The answer to `word` (a known word), or ZooKeeper's refusal if it is not whitelisted.
std::string answer_four_letter_word(std::string_view word, const FourLetterView& view);

}  // namespace weir::coord::server
