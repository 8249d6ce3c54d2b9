// ACL rules of ZooKeeper's built-in schemes (world, auth, digest, ip, plus the "super" id a
// server grants to its superuser). They live apart from the tree because the server needs them
// too (addAuth computes digest ids) and because each rule is a small, separately tested fact.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/types/span.h"
#include "coord/tree/types.h"

namespace weir::coord {

// The digest scheme's id for "user:password": "user:" + base64(sha1("user:password")), as
// DigestAuthenticationProvider.generateDigest computes it (user = text before the first ':').
std::string digest_auth_id(std::string_view user_password);

// An IPv4 (4 bytes) or IPv6 (16 bytes) address, as the ip scheme compares them.
struct IpAddress {
  std::array<uint8_t, 16> bytes{};
  size_t size = 0;
};
// Dotted-quad IPv4 ("10.0.0.1") or textual IPv6 ("::1", "fe80:0:0:0:0:0:0:1").
std::optional<IpAddress> parse_ip(std::string_view text);
// Whether the client address `client` matches the ACL expression "addr" or "addr/bits".
bool ip_matches(std::string_view client, std::string_view acl_expr);

// Whether `id` is a well-formed ACL subject of its scheme (world:anyone, digest "user:hash",
// ip "addr[/bits]"). The auth scheme is not an id of its own: see fixup_acl.
bool is_valid_acl_id(const Id& id);

// Schemes whose ids prove who the requester is, so that "auth" ACL entries expand to them
// (digest does; ip and super do not).
bool is_authenticated_scheme(std::string_view scheme);

// ZooKeeper's fixupACL: drops duplicate entries (first one wins), expands each "auth" entry to
// one entry per authenticated id of the requester, and checks every other entry. Returns
// InvalidACL for an empty list, an unknown scheme, a malformed id, or "auth" with no
// authenticated id.
ErrorCode fixup_acl(const AclList& requested, absl::Span<const Id> auth, AclList* out);

// Whether `auth` holds any permission bit of `perm` under `acl`. An empty ACL allows everything
// (only possible for nodes created before ACLs existed); a "super" id allows everything.
bool check_acl(const AclList& acl, int32_t perm, absl::Span<const Id> auth);

// getACL without ADMIN permission: digest ids become "user:x" so hashes do not leak.
AclList mask_digests(const AclList& acl);

}  // namespace weir::coord
