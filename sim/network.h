// The simulated network: reliable, ordered byte streams between simulated processes whose
// timing and failures come from the seed. Latencies have long tails; a stream never reorders
// but different streams interleave freely; clogging pauses a machine's traffic; partitions
// (symmetric or one-way) stall data until TCP-like timeouts reset the connection.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "runtime/network.h"
#include "runtime/random.h"
#include "runtime/scheduler.h"
#include "runtime/time.h"

namespace weir::sim {

struct NetworkOptions {
  Duration latency_min = 20us;
  Duration latency_max = 400us;
  double long_tail_probability = 0.002;
  Duration long_tail_mean = 20ms;
  Duration retransmit_interval = 200ms;  // how often a stalled stream retries
  Duration tcp_timeout_min = 2s;         // a stream stalled this long is reset
  Duration tcp_timeout_max = 6s;
  Duration connect_timeout = 3s;
  size_t send_buffer_bytes_max = 256 * 1024;
  size_t accept_backlog_max = 128;
};

struct NetworkStats {
  uint64_t connections = 0;
  uint64_t refused = 0;
  uint64_t connect_timeouts = 0;
  uint64_t resets = 0;
  uint64_t bytes_delivered = 0;
  uint64_t stalled_deliveries = 0;
};

class Connection;
struct ConnectionState;
struct ListenerState;

class SimNetwork {
 public:
  SimNetwork(Scheduler& scheduler, IRandom& random, NetworkOptions options = {});
  ~SimNetwork();

  // The INetwork a process with address `ip` and runtime id `owner` uses.
  std::unique_ptr<INetwork> bind(const std::string& ip, ProcessId owner);
  // A process died: its listeners close and its connections reset (the peer notices later).
  void process_killed(ProcessId owner);

  // Faults, used by the fault-injector workloads.
  void clog(const std::string& ip, Duration duration);
  void partition(const std::string& from, const std::string& to);  // one direction
  void heal(const std::string& from, const std::string& to);
  void heal_all();
  void set_slow(const std::string& ip, double latency_factor);
  // Resets each live connection touching `ip` with probability `p`. Returns how many.
  size_t reset_connections(const std::string& ip, double p);

  bool blocked(const std::string& from, const std::string& to) const;
  TimePoint clogged_until(const std::string& from, const std::string& to) const;
  const NetworkStats& stats() const { return stats_; }
  NetworkStats& mutable_stats() { return stats_; }
  const NetworkOptions& options() const { return options_; }

  // Internal, used by connections.
  Duration sample_latency(const std::string& from, const std::string& to);
  Duration sample_tcp_timeout();
  Scheduler& scheduler() { return scheduler_; }
  void register_connection(const std::shared_ptr<ConnectionState>& c);
  absl::StatusOr<std::shared_ptr<IConnection>> connect(const std::string& from_ip, ProcessId owner,
                                                       const std::string& to);
  absl::StatusOr<std::unique_ptr<IListener>> listen(const std::string& ip, ProcessId owner,
                                                    const std::string& address);

 private:
  void prune();

  Scheduler& scheduler_;
  IRandom& random_;
  NetworkOptions options_;
  NetworkStats stats_;
  std::map<std::string, std::weak_ptr<ListenerState>> listeners_;
  std::map<uint64_t, std::weak_ptr<ConnectionState>> connections_;  // by creation order
  std::set<std::pair<std::string, std::string>> partitions_;
  std::map<std::string, TimePoint> clogged_;
  std::map<std::string, double> slow_;
  std::map<std::string, uint16_t> next_ephemeral_port_;
  uint64_t next_connection_id_ = 1;
};

}  // namespace weir::sim
