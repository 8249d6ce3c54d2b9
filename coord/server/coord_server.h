// A coord server: one ZAB peer replicating a TreeMachine, a ZooKeeper-protocol client listener,
// the session tracker and the watch manager, all on one process's runtime. It exists so that the
// real binary (`weir coord`) and simulated ensembles run exactly the same server.
//
//   CoordServer server(config, ctx);     // config from parse_config(), ctx the process's
//   absl::Status s = server.run();      // until cancelled, or a storage error (restart it)
//
// Request handling (see README.md): connections are a framed::FramedServer's (framing, limits,
// the bounded send queue and the writer); this class is its protocol. Each connection's requests
// are handled in order; writes become Txns submitted to ZAB as they arrive (so one connection's
// writes pipeline), reads wait in the connection's FIFO for the writes before them, and a write
// waits for the reads before it to be served, so a session always sees its own order. Replies
// and watch notifications share the connection's send queue, and notifications are queued
// inside the apply that fires them.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "coord/jute/frame.h"
#include "coord/jute/messages.h"
#include "coord/server/config.h"
#include "coord/server/connection.h"
#include "coord/server/four_letter_words.h"
#include "coord/server/tree_machine.h"
#include "coord/server/watch_manager.h"
#include "coord/zab/peer.h"
#include "runtime/actor_collection.h"
#include "runtime/framed/framed_server.h"
#include "runtime/network.h"
#include "runtime/process_context.h"
#include "runtime/rpc/client.h"
#include "runtime/rpc/server.h"

namespace weir::coord::server {

class CoordServer : private framed::FramedHandler {
 public:
  CoordServer(ServerConfig config, ProcessContext& ctx);
  ~CoordServer();
  CoordServer(const CoordServer&) = delete;
  CoordServer& operator=(const CoordServer&) = delete;

  // Serves clients and runs ZAB until cancelled or ZAB fails (its status is returned).
  absl::Status run();

  const ServerConfig& config() const { return config_; }
  zab::ZabPeer& peer() { return *peer_; }
  const DataTree& tree() const { return machine_.tree(); }
  const ServerStats& stats() const { return stats_; }
  size_t connection_count() const { return connections_.size(); }
  // The text a four-letter word answers (four_letter_words.h): the refusal when it is not in
  // 4lw.commands.whitelist, and ZooKeeper's "not currently serving" for the words that read
  // state until ZAB has synced this server.
  std::string four_letter(std::string_view command,
                          std::optional<size_t> open_file_descriptors = std::nullopt) const;

  // Reply-header zxid: what this server has applied.
  Zxid applied_zxid() const { return machine_.last_applied(); }

 private:
  // coord_server.cc: lifecycle, session tracker, four-letter words.
  std::optional<std::string> on_preamble(framed::FramedConnection& link,
                                         std::string_view head) override;
  void on_open(framed::FramedConnection& link) override;
  Future<framed::Reply> on_frame(framed::FramedConnection& link, std::string_view frame) override;
  void on_close(framed::FramedConnection& link) override;
  void tracker_loop();
  void touch_flush_loop();
  void expire(int64_t session);
  void on_session(int64_t session, int32_t timeout_ms);
  void touch(int64_t session);
  std::string mode_name() const;
  absl::Status sync_barrier();

  // container_reaper.cc: the leader deletes empty containers and expired TTL nodes.
  void reaper_loop();
  void reap(const std::string& path);

  // server_requests.cc: the ZooKeeper protocol of one connection.
  Future<framed::Reply> start_handshake(const std::shared_ptr<Connection>& conn,
                                        std::string_view frame);
  enum class Handshake { kAttached, kRefused, kFailed };
  Handshake handshake(Connection& conn, std::string_view frame);
  void attached(const std::shared_ptr<Connection>& conn);
  enum class Attach { kAttached, kExpired, kUnavailable };
  Attach attach_session(Connection& conn, const jute::ConnectRequest& req);
  Attach move_session(Connection& conn, int64_t session);
  Future<framed::Reply> handle_frame(Connection& conn, std::string_view frame);
  void queue_write(Connection& conn, Pending p, Txn txn, bool close_after);
  void submit(Connection& conn, Pending& p);
  void submit_waiting_writes(Connection& conn);
  void respond_loop(std::shared_ptr<Connection> conn);
  bool answer_write(Connection& conn, Pending& p);
  void record_reply(Connection& conn, const Pending& p);
  void serve_local(Connection& conn, const jute::Request& request);
  void serve_set_watches(Connection& conn, const jute::Request& request);
  void reply_write(Connection& conn, const Pending& p, const TxnResult& result);
  void send(Connection& conn, jute::OpCode op, int32_t xid, jute::ErrorCode err,
            const jute::ResponseBody& body);
  void notify(Connection& conn, EventType type, const std::string& path);
  void queue_notification(Connection& conn, EventType type, const std::string& path);

  ServerConfig config_;
  ProcessContext& ctx_;
  WatchManager watches_;
  TreeMachine machine_;
  std::unique_ptr<zab::ZabPeer> peer_;
  rpc::RpcClient rpc_client_;
  rpc::RpcServer session_rpc_;
  ServerStats stats_;
  TimePoint started_ = Scheduler::current().now();
  std::map<uint64_t, std::shared_ptr<Connection>> connections_;  // by framed connection id
  // Session tracker: deadlines on every server, acted on only by the leader.
  struct Tracked {
    int32_t timeout_ms = 0;
    TimePoint deadline;
  };
  std::map<int64_t, Tracked> sessions_;
  std::set<int64_t> expiring_;             // CloseSession proposed, not yet applied
  std::set<int64_t> touched_;              // since the last flush to the leader
  std::map<int64_t, int> local_sessions_;  // session -> connections here
  bool was_leading_ = false;
  // Cancelled connection actors unwind after this object is gone: their cleanup checks it.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  framed::FramedServer clients_;  // declared after what its handlers use: stops first
  ActorCollection background_;
};

}  // namespace weir::coord::server
