#include "sim/network.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "runtime/assert.h"
#include "runtime/future.h"
#include "runtime/trace.h"

namespace weir::sim {

// One direction of a connection: bytes in flight (each chunk with its delivery time) and
// bytes delivered but not yet read.
struct Pipe {
  struct Chunk {
    TimePoint deliver_at;
    std::vector<uint8_t> bytes;
    bool fin = false;
  };
  std::string from_ip;
  std::string to_ip;
  std::deque<Chunk> in_flight;
  std::deque<uint8_t> delivered;
  size_t unread_bytes = 0;  // in flight + delivered: what backpressure counts
  bool fin_delivered = false;
  TimePoint last_deliver_at{};
  std::optional<TimerKey> pump;
  std::optional<TimePoint> stalled_since;
  Duration tcp_timeout{};
  WaitList readers;
  WaitList writers;
};

// Both directions plus the fate of the whole connection. Side 0 is the client.
struct ConnectionState : std::enable_shared_from_this<ConnectionState> {
  SimNetwork* network = nullptr;
  uint64_t id = 0;
  Pipe pipes[2];  // pipes[s] carries bytes written by side s
  ProcessId owners[2];
  std::string addresses[2];
  bool closed[2] = {false, false};
  bool reset = false;

  void do_reset(std::string_view why);
  void send(int side, std::vector<uint8_t> bytes, bool fin);
  void schedule_pump(int side);
  void pump(int side);
  void expedite(int side, TimePoint latest);
};

// Pulls every chunk due after `latest` forward to it (order is kept: times stay monotonic).
void ConnectionState::expedite(int side, TimePoint latest) {
  Pipe& p = pipes[side];
  bool moved = false;
  for (auto& chunk : p.in_flight) {
    if (chunk.deliver_at > latest) {
      chunk.deliver_at = latest;
      moved = true;
    }
  }
  p.last_deliver_at = std::min(p.last_deliver_at, std::max(latest, network->scheduler().now()));
  if (!moved || !p.pump) return;
  network->scheduler().cancel_timer(*p.pump);
  p.pump.reset();
  schedule_pump(side);
}

void ConnectionState::do_reset(std::string_view why) {
  if (reset) return;
  reset = true;
  ++network->mutable_stats().resets;
  TraceEvent(Severity::kDebug, "SimConnectionReset")
      .machine("sim", "network")
      .detail("Id", id)
      .detail("A", addresses[0])
      .detail("B", addresses[1])
      .detail("Why", why);
  for (Pipe& p : pipes) {
    if (p.pump) network->scheduler().cancel_timer(*p.pump);
    p.pump.reset();
    p.in_flight.clear();
    p.delivered.clear();
    p.unread_bytes = 0;
    p.readers.fire_all();
    p.writers.fire_all();
  }
}

void ConnectionState::send(int side, std::vector<uint8_t> bytes, bool fin) {
  Pipe& p = pipes[side];
  const TimePoint now = network->scheduler().now();
  TimePoint at = now + network->sample_latency(p.from_ip, p.to_ip);
  at = std::max(at, p.last_deliver_at);  // a stream never reorders
  at = std::max(at, network->clogged_until(p.from_ip, p.to_ip));
  p.last_deliver_at = at;
  p.unread_bytes += bytes.size();
  p.in_flight.push_back(Pipe::Chunk{at, std::move(bytes), fin});
  if (!p.pump) schedule_pump(side);
}

void ConnectionState::schedule_pump(int side) {
  Pipe& p = pipes[side];
  if (p.in_flight.empty()) return;
  std::weak_ptr<ConnectionState> weak = shared_from_this();
  p.pump = network->scheduler().add_timer(p.in_flight.front().deliver_at, [weak, side] {
    if (auto c = weak.lock()) {
      c->pipes[side].pump.reset();
      c->pump(side);
    }
  });
}

// Delivers every due chunk, unless the path is partitioned or clogged right now.
void ConnectionState::pump(int side) {
  Pipe& p = pipes[side];
  Scheduler& s = network->scheduler();
  const TimePoint now = s.now();
  if (network->blocked(p.from_ip, p.to_ip)) {
    ++network->mutable_stats().stalled_deliveries;
    if (!p.stalled_since) p.stalled_since = now;
    if (now - *p.stalled_since >= p.tcp_timeout) return do_reset("stalled past tcp timeout");
    p.in_flight.front().deliver_at = now + network->options().retransmit_interval;
    return schedule_pump(side);
  }
  p.stalled_since.reset();
  const TimePoint clog = network->clogged_until(p.from_ip, p.to_ip);
  if (clog > now) {
    for (auto& chunk : p.in_flight) chunk.deliver_at = std::max(chunk.deliver_at, clog);
    return schedule_pump(side);
  }
  while (!p.in_flight.empty() && p.in_flight.front().deliver_at <= now) {
    Pipe::Chunk chunk = std::move(p.in_flight.front());
    p.in_flight.pop_front();
    if (closed[1 - side]) return do_reset("data for a closed endpoint");
    network->mutable_stats().bytes_delivered += chunk.bytes.size();
    p.delivered.insert(p.delivered.end(), chunk.bytes.begin(), chunk.bytes.end());
    if (chunk.fin) p.fin_delivered = true;
    p.readers.fire_all();
  }
  schedule_pump(side);
}

// One endpoint. Destroying it closes it.
class Connection final : public IConnection {
 public:
  Connection(std::shared_ptr<ConnectionState> state, int side)
      : state_(std::move(state)), side_(side) {}
  ~Connection() override { close(); }

  absl::StatusOr<size_t> read(absl::Span<uint8_t> buffer) override {
    Scheduler& s = Scheduler::current();
    Pipe& in = state_->pipes[1 - side_];
    while (true) {
      if (state_->closed[side_]) return absl::FailedPreconditionError("connection closed locally");
      if (state_->reset) return absl::UnavailableError("connection reset by peer");
      if (!in.delivered.empty()) break;
      if (in.fin_delivered) return size_t{0};
      if (buffer.empty()) return size_t{0};
      ActorWaiter waiter(s.current_actor());
      in.readers.push_back(&waiter);
      s.suspend();
    }
    const size_t n = std::min(buffer.size(), in.delivered.size());
    std::copy_n(in.delivered.begin(), n, buffer.begin());
    in.delivered.erase(in.delivered.begin(), in.delivered.begin() + static_cast<ptrdiff_t>(n));
    in.unread_bytes -= n;
    in.writers.fire_all();
    return n;
  }

  absl::Status write(absl::Span<const uint8_t> data) override {
    Scheduler& s = Scheduler::current();
    Pipe& out = state_->pipes[side_];
    const size_t max = state_->network->options().send_buffer_bytes_max;
    while (true) {
      if (state_->closed[side_]) return absl::FailedPreconditionError("connection closed locally");
      if (state_->reset) return absl::UnavailableError("connection reset by peer");
      if (out.unread_bytes < max) break;
      ActorWaiter waiter(s.current_actor());
      out.writers.push_back(&waiter);
      s.suspend();
    }
    if (!data.empty()) state_->send(side_, std::vector<uint8_t>(data.begin(), data.end()), false);
    return absl::OkStatus();
  }

  void close() override {
    if (state_->closed[side_]) return;
    state_->closed[side_] = true;
    if (!state_->reset) state_->send(side_, {}, /*fin=*/true);
    for (Pipe& p : state_->pipes) {
      p.readers.fire_all();
      p.writers.fire_all();
    }
  }

  const std::string& peer_address() const override { return state_->addresses[1 - side_]; }
  const std::string& local_address() const override { return state_->addresses[side_]; }

 private:
  std::shared_ptr<ConnectionState> state_;
  int side_;
};

struct ListenerState {
  std::string address;
  ProcessId owner;
  std::deque<std::shared_ptr<IConnection>> backlog;
  WaitList acceptors;
  bool closed = false;
};

class Listener final : public IListener {
 public:
  explicit Listener(std::shared_ptr<ListenerState> state) : state_(std::move(state)) {}
  ~Listener() override { close(); }

  absl::StatusOr<std::shared_ptr<IConnection>> accept() override {
    Scheduler& s = Scheduler::current();
    while (state_->backlog.empty() && !state_->closed) {
      ActorWaiter waiter(s.current_actor());
      state_->acceptors.push_back(&waiter);
      s.suspend();
    }
    if (state_->closed) return absl::FailedPreconditionError("listener closed");
    auto conn = std::move(state_->backlog.front());
    state_->backlog.pop_front();
    return conn;
  }

  void close() override {
    if (state_->closed) return;
    state_->closed = true;
    state_->backlog.clear();  // pending peers are closed (they see end of stream)
    state_->acceptors.fire_all();
  }

  const std::string& address() const override { return state_->address; }

 private:
  std::shared_ptr<ListenerState> state_;
};

// The network as one process sees it.
class BoundNetwork final : public INetwork {
 public:
  BoundNetwork(SimNetwork& net, std::string ip, ProcessId owner)
      : net_(net), ip_(std::move(ip)), owner_(owner) {}
  absl::StatusOr<std::unique_ptr<IListener>> listen(const std::string& address) override {
    return net_.listen(ip_, owner_, address);
  }
  absl::StatusOr<std::shared_ptr<IConnection>> connect(const std::string& address) override {
    return net_.connect(ip_, owner_, address);
  }

 private:
  SimNetwork& net_;
  std::string ip_;
  ProcessId owner_;
};

namespace {
bool split_address(const std::string& address, std::string* ip, uint16_t* port) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) return false;
  uint32_t p = 0;
  if (!absl::SimpleAtoi(address.substr(colon + 1), &p) || p > 65535) return false;
  *ip = address.substr(0, colon);
  *port = static_cast<uint16_t>(p);
  return !ip->empty();
}
}  // namespace

SimNetwork::SimNetwork(Scheduler& scheduler, IRandom& random, NetworkOptions options)
    : scheduler_(scheduler), random_(random), options_(options) {}

SimNetwork::~SimNetwork() = default;

std::unique_ptr<INetwork> SimNetwork::bind(const std::string& ip, ProcessId owner) {
  return std::make_unique<BoundNetwork>(*this, ip, owner);
}

Duration SimNetwork::sample_latency(const std::string& from, const std::string& to) {
  Duration d = random_.uniform_duration(options_.latency_min, options_.latency_max);
  if (random_.coinflip(options_.long_tail_probability)) {
    d += from_seconds(random_.exponential(to_seconds(options_.long_tail_mean)));
  }
  double factor = 1.0;
  if (auto it = slow_.find(from); it != slow_.end()) factor = std::max(factor, it->second);
  if (auto it = slow_.find(to); it != slow_.end()) factor = std::max(factor, it->second);
  return Duration(static_cast<int64_t>(static_cast<double>(d.count()) * factor));
}

Duration SimNetwork::sample_tcp_timeout() {
  return random_.uniform_duration(options_.tcp_timeout_min, options_.tcp_timeout_max);
}

bool SimNetwork::blocked(const std::string& from, const std::string& to) const {
  return partitions_.count({from, to}) > 0;
}

TimePoint SimNetwork::clogged_until(const std::string& from, const std::string& to) const {
  TimePoint t{};
  if (auto it = clogged_.find(from); it != clogged_.end()) t = std::max(t, it->second);
  if (auto it = clogged_.find(to); it != clogged_.end()) t = std::max(t, it->second);
  return t;
}

void SimNetwork::register_connection(const std::shared_ptr<ConnectionState>& c) {
  if (connections_.size() > 4096) prune();
  connections_.emplace(c->id, c);
}

void SimNetwork::prune() {
  for (auto it = connections_.begin(); it != connections_.end();) {
    auto c = it->second.lock();
    it = (!c || c->reset) ? connections_.erase(it) : std::next(it);
  }
}

absl::StatusOr<std::unique_ptr<IListener>> SimNetwork::listen(const std::string& ip,
                                                              ProcessId owner,
                                                              const std::string& address) {
  std::string host;
  uint16_t port = 0;
  if (!split_address(address, &host, &port)) {
    return absl::InvalidArgumentError("bad listen address: " + address);
  }
  if (host != ip && host != "0.0.0.0") {
    return absl::InvalidArgumentError("cannot listen on " + address + " from " + ip);
  }
  if (port == 0) port = next_ephemeral_port_[ip]++ + 30000;
  const std::string bound = absl::StrCat(ip, ":", port);
  if (auto it = listeners_.find(bound); it != listeners_.end()) {
    if (auto l = it->second.lock(); l && !l->closed) {
      return absl::AlreadyExistsError("address in use: " + bound);
    }
  }
  auto state = std::make_shared<ListenerState>();
  state->address = bound;
  state->owner = owner;
  listeners_[bound] = state;
  return std::unique_ptr<IListener>(std::make_unique<Listener>(state));
}

absl::StatusOr<std::shared_ptr<IConnection>> SimNetwork::connect(const std::string& from_ip,
                                                                 ProcessId owner,
                                                                 const std::string& to) {
  std::string to_ip;
  uint16_t port = 0;
  if (!split_address(to, &to_ip, &port)) return absl::InvalidArgumentError("bad address: " + to);
  // The SYN and its answer travel the network like data.
  delay(sample_latency(from_ip, to_ip) + sample_latency(to_ip, from_ip));
  const TimePoint clog = clogged_until(from_ip, to_ip);
  if (clog > scheduler_.now()) delay(clog - scheduler_.now());
  // A handshake needs both directions. SYNs are retransmitted, so a partition that heals
  // before the connect timeout lets the connection through late.
  const TimePoint give_up = scheduler_.now() + options_.connect_timeout;
  while (blocked(from_ip, to_ip) || blocked(to_ip, from_ip)) {
    if (scheduler_.now() >= give_up) {
      ++stats_.connect_timeouts;
      return absl::UnavailableError("connect to " + to + " timed out");
    }
    delay(std::min(options_.retransmit_interval, give_up - scheduler_.now()));
  }
  auto it = listeners_.find(to);
  std::shared_ptr<ListenerState> l = it == listeners_.end() ? nullptr : it->second.lock();
  if (!l || l->closed || l->backlog.size() >= options_.accept_backlog_max) {
    ++stats_.refused;
    return absl::UnavailableError("connection refused: " + to);
  }
  auto c = std::make_shared<ConnectionState>();
  c->network = this;
  c->id = next_connection_id_++;
  const uint16_t local_port =
      static_cast<uint16_t>(40000 + (next_ephemeral_port_[from_ip]++ % 20000));
  c->addresses[0] = absl::StrCat(from_ip, ":", local_port);
  c->addresses[1] = to;
  c->owners[0] = owner;
  c->owners[1] = l->owner;
  c->pipes[0].from_ip = c->pipes[1].to_ip = from_ip;
  c->pipes[0].to_ip = c->pipes[1].from_ip = to_ip;
  c->pipes[0].tcp_timeout = sample_tcp_timeout();
  c->pipes[1].tcp_timeout = sample_tcp_timeout();
  register_connection(c);
  ++stats_.connections;
  l->backlog.push_back(std::make_shared<Connection>(c, 1));
  l->acceptors.fire_one();
  return std::shared_ptr<IConnection>(std::make_shared<Connection>(c, 0));
}

void SimNetwork::process_killed(ProcessId owner) {
  for (auto& [address, weak] : listeners_) {
    if (auto l = weak.lock(); l && l->owner == owner && !l->closed) {
      l->closed = true;
      l->backlog.clear();
      l->acceptors.fire_all();
    }
  }
  // The dead process's kernel resets its connections; the peer learns after a latency.
  for (auto& [id, weak] : connections_) {
    auto c = weak.lock();
    if (!c || c->reset || (c->owners[0] != owner && c->owners[1] != owner)) continue;
    const Duration d = sample_latency(c->pipes[0].from_ip, c->pipes[0].to_ip);
    scheduler_.add_timer(scheduler_.now() + d, [weak] {
      if (auto c = weak.lock()) c->do_reset("peer process died");
    });
  }
}

void SimNetwork::clog(const std::string& ip, Duration duration) {
  // Forget clogs that ended, so the map stays as small as the set of clogged machines.
  for (auto it = clogged_.begin(); it != clogged_.end();) {
    it = it->second <= scheduler_.now() ? clogged_.erase(it) : std::next(it);
  }
  TimePoint& until = clogged_[ip];
  until = std::max(until, scheduler_.now() + duration);
}

void SimNetwork::partition(const std::string& from, const std::string& to) {
  partitions_.insert({from, to});
}

void SimNetwork::heal(const std::string& from, const std::string& to) {
  partitions_.erase({from, to});
}

void SimNetwork::heal_all() {
  partitions_.clear();
  clogged_.clear();
  slow_.clear();
  // Data held back for a clog that no longer exists moves up, keeping each stream's order.
  const TimePoint soon = scheduler_.now() + options_.latency_max;
  for (auto& [id, weak] : connections_) {
    if (auto c = weak.lock(); c && !c->reset) {
      for (int side = 0; side < 2; ++side) c->expedite(side, soon);
    }
  }
}

void SimNetwork::set_slow(const std::string& ip, double latency_factor) {
  WEIR_ASSERT(latency_factor >= 1.0);
  slow_[ip] = latency_factor;
}

size_t SimNetwork::reset_connections(const std::string& ip, double p) {
  size_t n = 0;
  for (auto& [id, weak] : connections_) {
    auto c = weak.lock();
    if (!c || c->reset) continue;
    if (c->pipes[0].from_ip != ip && c->pipes[0].to_ip != ip) continue;
    if (!random_.coinflip(p)) continue;
    c->do_reset("injected reset");
    ++n;
  }
  return n;
}

}  // namespace weir::sim
