// DataTree: the replicated state machine of coord. Every server applies the same committed
// transactions in zxid order and so holds the same tree; whether an operation succeeds, and with
// which ZooKeeper error code, is decided here while applying, from the tree and the Txn alone
// (time included), so replicas never disagree about an outcome. It also answers reads, which a
// server serves locally, and can be snapshotted, restored and digested for comparison.
//
// Semantics follow ZooKeeper's leader-side request preparation plus its DataTree (see
// coord/tree/README.md for the decisions where Weir differs or had to choose).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/node_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "coord/tree/txn.h"
#include "coord/tree/types.h"

namespace weir::coord {

struct GetDataResult {
  ErrorCode err = ErrorCode::kOk;
  // Shared with the tree, so a reply can be encoded after later writes without a copy.
  std::shared_ptr<const std::string> data;
  Stat stat;
};

struct ExistsResult {
  ErrorCode err = ErrorCode::kOk;
  Stat stat;
};

struct GetChildrenResult {
  ErrorCode err = ErrorCode::kOk;
  std::vector<std::string> children;  // names, sorted
  Stat stat;
};

struct GetAclResult {
  ErrorCode err = ErrorCode::kOk;
  AclList acl;
  Stat stat;
};

struct CountResult {
  ErrorCode err = ErrorCode::kOk;
  int64_t count = 0;
};

// Orders paths as a pre-order walk of the tree visits them, children in name order: the order
// of nodes in a snapshot image.
struct PreorderLess {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const;
};

class DataTree {
 public:
  // A fresh tree: "/", "/zookeeper", "/zookeeper/quota" (open ACLs) and "/zookeeper/config"
  // (world-readable), all with zero stats, as ZooKeeper starts.
  DataTree();

  // Applies one committed transaction. `txn.zxid` must exceed every zxid applied before.
  TxnResult apply(const Txn& txn);

  // Reads. `auth` are the reader's authenticated ids. Each checks the path (BadArguments), the
  // node (NoNode), then the permission (NoAuth): READ, except get_acl which takes READ or ADMIN
  // and masks digest hashes without ADMIN. exists checks READ on an existing node, as ZooKeeper
  // does since 3.9.2/3.8.4.
  GetDataResult get_data(std::string_view path, absl::Span<const Id> auth) const;
  ExistsResult exists(std::string_view path, absl::Span<const Id> auth) const;
  GetChildrenResult get_children(std::string_view path, absl::Span<const Id> auth) const;
  GetAclResult get_acl(std::string_view path, absl::Span<const Id> auth) const;
  // getAllChildrenNumber: the number of descendants (all of them for "/").
  CountResult all_children_number(std::string_view path, absl::Span<const Id> auth) const;
  // getEphemerals: the session's ephemerals whose path starts with `prefix` (string prefix, as
  // ZooKeeper matches; "" or "/" for all), sorted.
  std::vector<std::string> ephemerals(int64_t session_id, std::string_view prefix = "/") const;

  // Live sessions and their timeouts, for the session tracker after a restore.
  const std::map<int64_t, int32_t>& sessions() const { return sessions_; }
  // Containers that are empty and have had children (or, with max_never_used_ms > 0, have been
  // empty and unmodified for longer), and TTL nodes without children unmodified for longer than
  // their TTL: what the reaper should delete with DeleteContainerOp. Sorted.
  std::vector<std::string> expiry_candidates(int64_t now_ms, int64_t max_never_used_ms = 0) const;

  int64_t last_zxid() const { return last_zxid_; }
  size_t node_count() const { return nodes_.size(); }
  // Path and data bytes of every node (ZooKeeper's approximate data size). O(n): for mntr.
  size_t approximate_data_size() const;
  // Sessions that own ephemerals, with them (sorted; for the dump four-letter word).
  const std::map<int64_t, std::set<std::string>>& ephemerals_by_session() const {
    return ephemerals_;
  }
  // The newest ctime or mtime of any node (0 for an empty tree): after a restore, the floor
  // for the next txn's time, so that times clients can see never go backwards.
  int64_t newest_time_ms() const;

  // A stable 64-bit hash of the whole state (nodes with data, stats and ACLs, sessions, last
  // zxid): equal trees have equal digests on every machine. Maintained incrementally, O(1).
  uint64_t digest() const;

  // A self-checking image of the whole state (format in README.md).
  std::string serialize() const;

  // serialize() in bounded steps, so a server never stalls for a whole tree: begin_snapshot()
  // fixes the image as of now; each snapshot_step() writes up to `nodes_max` more nodes while
  // applies go on in between (a node is copied just before its first change or deletion if it
  // is not written yet). The finished image equals serialize() at begin, appended to `prefix`.
  // Beginning again, or assigning another tree to this one, abandons the snapshot in progress
  // (its writer may have been cancelled).
  void begin_snapshot(std::string prefix);
  bool snapshotting() const { return snap_ != nullptr; }
  // The finished image once every node is written; nullopt while there is more to do.
  std::optional<std::string> snapshot_step(size_t nodes_max);
  // Rebuilds a tree from serialize()'s output. Any damage (CRC, truncation, bad structure) is a
  // DataLoss error; never crashes and never allocates more than the input's size warrants.
  static absl::StatusOr<DataTree> deserialize(std::string_view bytes);

  // Recomputes every derived structure (parent links, indexes, digest) and asserts they match.
  // O(n); for tests and debug checks.
  void check_invariants() const;

  // The decoder of serialize()'s format; an implementation detail of data_tree_snapshot.cc.
  class SnapshotReader;

  DataTree(DataTree&&) noexcept;
  DataTree& operator=(DataTree&&) noexcept;
  ~DataTree();

 private:
  // A znode. The children set is ordered so listings and snapshots never depend on hashing.
  struct Node {
    std::shared_ptr<const std::string> data;
    uint64_t data_hash = 0;
    AclList acl;
    Stat stat;  // data_length and num_children are not kept here: see make_stat
    std::set<std::string, std::less<>> children;
    uint64_t hash = 0;  // this node's term of digest_nodes_
  };
  // The fields an op may change in place, saved so a failing multi can put them back.
  struct NodeHeader {
    std::shared_ptr<const std::string> data;
    uint64_t data_hash;
    AclList acl;
    Stat stat;
  };
  // An image being written (data_tree_snapshot.cc).
  struct SnapshotProgress {
    int64_t zxid = 0;       // the tree's last zxid at begin: later-created nodes are not in it
    std::string out;        // prefix, header (filled in at the end), payload so far
    size_t payload_at = 0;  // where the payload starts in `out`
    size_t crc_upto = 0;    // the payload's CRC covers out[payload_at, crc_upto)
    uint32_t crc = 0;
    uint64_t nodes_left = 0;  // nodes still to write
    std::string cursor;       // the last path written ("" before the root)
    // Nodes changed or deleted since begin before they were written, as they were at begin.
    std::map<std::string, NodeHeader, PreorderLess> saved;
  };

  using Triggers = std::vector<WatchTrigger>;

  // Ops, each checking in ZooKeeper's order and applying only when every check passed.
  OpResult do_create(const Txn& txn, const CreateOp& op, Triggers& out);
  OpResult do_delete(const Txn& txn, const DeleteOp& op, Triggers& out);
  OpResult do_set_data(const Txn& txn, const SetDataOp& op, Triggers& out);
  OpResult do_set_acl(const Txn& txn, const SetAclOp& op);
  OpResult do_check(const Txn& txn, const CheckOp& op);
  OpResult do_delete_container(const Txn& txn, const DeleteContainerOp& op, Triggers& out);
  TxnResult do_multi(const Txn& txn, const MultiOp& op);
  TxnResult do_create_session(const Txn& txn, const CreateSessionOp& op);
  TxnResult do_close_session(const Txn& txn);
  ErrorCode check_session(const Txn& txn) const;
  // Removes a childless node and updates its parent as every delete does.
  void remove_leaf(const std::string& path, int64_t zxid, Triggers& out);

  // Mutation primitives: the only code that changes nodes_. Each keeps the indexes and the
  // digest current and, inside a multi, records its inverse in undo_.
  Node* find(std::string_view path);
  const Node* find(std::string_view path) const;
  void save_header(const std::string& path, const Node& node);
  void link_node(const std::string& path, Node node);
  Node unlink_node(const std::string& path);
  void rehash(std::string_view path, Node& node);
  void index_owner(const std::string& path, int64_t owner, bool add);
  void rollback();

  Stat make_stat(const Node& node) const;
  static uint64_t node_hash(std::string_view path, const Node& node);
  static uint64_t session_hash(int64_t id, int32_t timeout_ms);
  static Node make_node(std::string data, AclList acl, const Stat& stat);
  static uint64_t hash_data(std::string_view data);

  // A tree with no nodes at all, for deserialize to fill.
  struct EmptyTag {};
  explicit DataTree(EmptyTag);
  // Snapshot decoding: reads one node and links it, checking it.
  absl::Status read_node(SnapshotReader& r, bool first, uint32_t format_version);
  // Snapshot encoding: the image's start, its nodes in steps, its header.
  SnapshotProgress start_image(std::string prefix) const;
  bool write_image_nodes(SnapshotProgress& p, size_t nodes_max) const;
  static std::string finish_image(SnapshotProgress& p);
  // The node after `after` in pre-order among those that existed when the image began.
  std::optional<std::string> next_image_node(std::string_view after, int64_t zxid) const;
  // Called before a node changes or goes: keeps what the snapshot in progress still needs.
  void note_change(const std::string& path, const Node& node);

  // Keyed by full path; never iterated (iteration order would be unstable), only looked up.
  absl::node_hash_map<std::string, Node> nodes_;
  std::map<int64_t, std::set<std::string>> ephemerals_;  // session -> its ephemeral paths
  std::set<std::string> containers_;
  std::set<std::string> ttls_;
  std::map<int64_t, int32_t> sessions_;  // session -> timeout_ms
  int64_t last_zxid_ = 0;
  // Order-independent sums (mod 2^64) of node_hash and session_hash over the whole state.
  uint64_t digest_nodes_ = 0;
  uint64_t digest_sessions_ = 0;
  // Inverses of the mutations of the multi being applied, run backwards if an op fails.
  std::vector<std::function<void()>> undo_;
  bool recording_ = false;
  std::unique_ptr<SnapshotProgress> snap_;  // the incremental snapshot in progress, if any
  size_t image_bytes_per_node_ = 0;         // of the last image, to reserve the next one
};

}  // namespace weir::coord
