#include "coord/server/txn_codec.h"

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "absl/strings/str_cat.h"

namespace weir::coord::server {
namespace {

// Op tags; values are part of the format and never reused.
enum class Tag : uint8_t {
  kCreate = 1,
  kDelete = 2,
  kSetData = 3,
  kSetAcl = 4,
  kCheck = 5,
  kDeleteContainer = 6,
  kMulti = 7,
  kCreateSession = 8,
  kCloseSession = 9,
};

// Multi nesting is one level only, so a hostile payload cannot recurse deeply.
constexpr size_t kMultiOpsMax = 1 << 16;

class Out {
 public:
  explicit Out(std::string& s) : s_(s) {}
  template <class I>
  void num(I v) {
    static_assert(std::is_integral_v<I>);
    auto u = static_cast<std::make_unsigned_t<I>>(v);
    for (size_t i = 0; i < sizeof(I); ++i) s_.push_back(static_cast<char>((u >> (8 * i)) & 0xff));
  }
  void str(std::string_view v) {
    num(static_cast<uint32_t>(v.size()));
    s_.append(v);
  }
  void acl(const AclList& acl) {
    num(static_cast<uint32_t>(acl.size()));
    for (const Acl& a : acl) {
      num(a.perms);
      str(a.id.scheme);
      str(a.id.id);
    }
  }

 private:
  std::string& s_;
};

// Reads with bounds checks; the first failure sticks and later reads return zeros.
class In {
 public:
  explicit In(std::string_view s) : s_(s) {}
  template <class I>
  I num() {
    std::make_unsigned_t<I> u = 0;
    if (!need(sizeof(I))) return 0;
    for (size_t i = 0; i < sizeof(I); ++i) {
      u |= static_cast<std::make_unsigned_t<I>>(static_cast<uint8_t>(s_[pos_ + i])) << (8 * i);
    }
    pos_ += sizeof(I);
    return static_cast<I>(u);
  }
  std::string str() {
    const uint32_t n = num<uint32_t>();
    if (!need(n)) return {};
    std::string v(s_.substr(pos_, n));
    pos_ += n;
    return v;
  }
  // A count of items each at least `min_bytes` long, checked against what is left.
  size_t count(size_t min_bytes) {
    const uint32_t n = num<uint32_t>();
    if (ok_ && static_cast<uint64_t>(n) * min_bytes > s_.size() - pos_) fail("count too large");
    return ok_ ? n : 0;
  }
  AclList acl() {
    AclList out;
    const size_t n = count(12);
    out.reserve(n);
    for (size_t i = 0; i < n && ok_; ++i) {
      Acl a;
      a.perms = num<int32_t>();
      a.id.scheme = str();
      a.id.id = str();
      out.push_back(std::move(a));
    }
    return out;
  }
  void fail(const char* why) {
    if (ok_) error_ = absl::DataLossError(absl::StrCat("txn payload: ", why, " at byte ", pos_));
    ok_ = false;
  }
  bool ok() const { return ok_; }
  bool done() const { return pos_ == s_.size(); }
  const absl::Status& error() const { return error_; }

 private:
  bool need(size_t n) {
    if (ok_ && s_.size() - pos_ < n) fail("truncated");
    return ok_;
  }
  std::string_view s_;
  size_t pos_ = 0;
  bool ok_ = true;
  absl::Status error_;
};

void encode_op(Out& o, const CreateOp& op) {
  o.num(static_cast<uint8_t>(Tag::kCreate));
  o.str(op.path);
  o.str(op.data);
  o.acl(op.acl);
  o.num(op.flags);
  o.num(op.ttl_ms);
}
void encode_op(Out& o, const DeleteOp& op) {
  o.num(static_cast<uint8_t>(Tag::kDelete));
  o.str(op.path);
  o.num(op.version);
}
void encode_op(Out& o, const SetDataOp& op) {
  o.num(static_cast<uint8_t>(Tag::kSetData));
  o.str(op.path);
  o.str(op.data);
  o.num(op.version);
}
void encode_op(Out& o, const SetAclOp& op) {
  o.num(static_cast<uint8_t>(Tag::kSetAcl));
  o.str(op.path);
  o.acl(op.acl);
  o.num(op.version);
}
void encode_op(Out& o, const CheckOp& op) {
  o.num(static_cast<uint8_t>(Tag::kCheck));
  o.str(op.path);
  o.num(op.version);
}
void encode_op(Out& o, const DeleteContainerOp& op) {
  o.num(static_cast<uint8_t>(Tag::kDeleteContainer));
  o.str(op.path);
}
void encode_op(Out& o, const MultiOp& op) {
  o.num(static_cast<uint8_t>(Tag::kMulti));
  o.num(static_cast<uint32_t>(op.ops.size()));
  for (const MultiSubOp& sub : op.ops) std::visit([&](const auto& s) { encode_op(o, s); }, sub);
}
void encode_op(Out& o, const CreateSessionOp& op) {
  o.num(static_cast<uint8_t>(Tag::kCreateSession));
  o.num(op.timeout_ms);
}
void encode_op(Out& o, const CloseSessionOp&) {
  o.num(static_cast<uint8_t>(Tag::kCloseSession));
}

// Decodes one op; `nested` refuses a multi inside a multi and non-multi-able ops.
TxnOp decode_op(In& in, bool nested) {
  const auto tag = static_cast<Tag>(in.num<uint8_t>());
  switch (tag) {
    case Tag::kCreate: {
      CreateOp op;
      op.path = in.str();
      op.data = in.str();
      op.acl = in.acl();
      op.flags = in.num<int32_t>();
      op.ttl_ms = in.num<int64_t>();
      return op;
    }
    case Tag::kDelete: {
      DeleteOp op;
      op.path = in.str();
      op.version = in.num<int32_t>();
      return op;
    }
    case Tag::kSetData: {
      SetDataOp op;
      op.path = in.str();
      op.data = in.str();
      op.version = in.num<int32_t>();
      return op;
    }
    case Tag::kCheck: {
      CheckOp op;
      op.path = in.str();
      op.version = in.num<int32_t>();
      return op;
    }
    default:
      break;
  }
  if (nested) {
    in.fail("op not allowed inside a multi");
    return CloseSessionOp{};
  }
  switch (tag) {
    case Tag::kSetAcl: {
      SetAclOp op;
      op.path = in.str();
      op.acl = in.acl();
      op.version = in.num<int32_t>();
      return op;
    }
    case Tag::kDeleteContainer:
      return DeleteContainerOp{in.str()};
    case Tag::kMulti: {
      MultiOp op;
      const size_t n = in.count(1);
      if (n > kMultiOpsMax) in.fail("multi too long");
      for (size_t i = 0; i < n && in.ok(); ++i) {
        TxnOp sub = decode_op(in, true);
        std::visit(
            [&](auto& s) {
              if constexpr (std::is_constructible_v<MultiSubOp, decltype(std::move(s))>) {
                op.ops.push_back(std::move(s));
              }
            },
            sub);
      }
      return op;
    }
    case Tag::kCreateSession:
      return CreateSessionOp{in.num<int32_t>()};
    case Tag::kCloseSession:
      return CloseSessionOp{};
    default:
      in.fail("unknown op tag");
      return CloseSessionOp{};
  }
}

}  // namespace

std::string encode_txn(const Txn& txn, std::string_view password, int64_t owner, bool reattach) {
  std::string s;
  Out o(s);
  o.num(kTxnCodecVersion);
  o.num(txn.session_id);
  o.num(static_cast<uint32_t>(txn.auth.size()));
  for (const Id& id : txn.auth) {
    o.str(id.scheme);
    o.str(id.id);
  }
  std::visit([&](const auto& op) { encode_op(o, op); }, txn.op);
  o.str(password);
  o.num(owner);
  o.num(static_cast<uint8_t>(reattach ? 1 : 0));
  return s;
}

absl::Status decode_txn(std::string_view bytes, EncodedTxn* out) {
  In in(bytes);
  const auto version = in.num<uint8_t>();
  if (!in.ok()) return in.error();
  if (version != 1 && version != kTxnCodecVersion) {
    return absl::InvalidArgumentError(absl::StrCat("txn payload: unknown version ", version));
  }
  Txn txn;
  txn.session_id = in.num<int64_t>();
  const size_t ids = in.count(8);
  for (size_t i = 0; i < ids && in.ok(); ++i) {
    Id id;
    id.scheme = in.str();
    id.id = in.str();
    txn.auth.push_back(std::move(id));
  }
  txn.op = decode_op(in, false);
  std::string password = in.str();
  int64_t owner = 0;
  uint8_t reattach = 0;
  if (version >= 2) owner = in.num<int64_t>(), reattach = in.num<uint8_t>();
  if (in.ok() && reattach > 1) in.fail("bad reattach flag");
  if (in.ok() && !in.done()) in.fail("trailing bytes");
  if (!in.ok()) return in.error();
  out->txn = std::move(txn);
  out->password = std::move(password);
  out->owner = owner;
  out->reattach = reattach == 1;
  return absl::OkStatus();
}

}  // namespace weir::coord::server
