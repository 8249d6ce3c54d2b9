#include "coord/tree/acl.h"

#include <algorithm>
#include <vector>

#include "coord/tree/base64.h"
#include "coord/tree/sha1.h"

namespace weir::coord {
namespace {

// Integer.parseInt for the small ranges the ip scheme needs: an optional sign, then digits.
std::optional<int> parse_small_int(std::string_view s) {
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty() || s.size() > 9) return std::nullopt;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return negative ? -v : v;
}

std::optional<IpAddress> parse_ipv4(std::string_view text) {
  IpAddress a;
  a.size = 4;
  for (size_t i = 0; i < 4; ++i) {
    const size_t dot = text.find('.');
    if ((dot == std::string_view::npos) != (i == 3)) return std::nullopt;
    const auto v = parse_small_int(text.substr(0, dot));
    if (!v || *v < 0 || *v > 255) return std::nullopt;
    a.bytes[i] = static_cast<uint8_t>(*v);
    text = dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
  }
  return a;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Parses hex groups separated by ':' into `groups`; false if any group is malformed.
bool parse_hex_groups(std::string_view text, std::vector<uint16_t>* groups) {
  if (text.empty()) return true;
  while (true) {
    const size_t colon = text.find(':');
    const std::string_view g = text.substr(0, colon);
    if (g.empty() || g.size() > 4) return false;
    uint16_t v = 0;
    for (char c : g) {
      const int d = hex_digit(c);
      if (d < 0) return false;
      v = static_cast<uint16_t>(v * 16 + d);
    }
    groups->push_back(v);
    if (colon == std::string_view::npos) return true;
    text = text.substr(colon + 1);
  }
}

std::optional<IpAddress> parse_ipv6(std::string_view text) {
  std::vector<uint16_t> head, tail;
  const size_t gap = text.find("::");
  if (gap == std::string_view::npos) {
    if (!parse_hex_groups(text, &head) || head.size() != 8) return std::nullopt;
  } else {
    if (!parse_hex_groups(text.substr(0, gap), &head) ||
        !parse_hex_groups(text.substr(gap + 2), &tail) || head.size() + tail.size() > 7) {
      return std::nullopt;
    }
  }
  std::vector<uint16_t> all = head;
  all.resize(8 - tail.size(), 0);
  all.insert(all.end(), tail.begin(), tail.end());
  IpAddress a;
  a.size = 16;
  for (size_t i = 0; i < 8; ++i) {
    a.bytes[2 * i] = static_cast<uint8_t>(all[i] >> 8);
    a.bytes[2 * i + 1] = static_cast<uint8_t>(all[i] & 0xff);
  }
  return a;
}

void mask_bits(IpAddress& a, int bits) {
  for (size_t i = 0; i < a.size; ++i) {
    const int keep = std::clamp(bits - static_cast<int>(8 * i), 0, 8);
    a.bytes[i] &= static_cast<uint8_t>(0xff00 >> keep);
  }
}

// Parses "addr" or "addr/bits"; `bits` defaults to the whole address.
std::optional<std::pair<IpAddress, int>> parse_ip_expr(std::string_view expr) {
  const size_t slash = expr.find('/');
  auto addr = parse_ip(expr.substr(0, slash));
  if (!addr) return std::nullopt;
  int bits = static_cast<int>(addr->size * 8);
  if (slash != std::string_view::npos) {
    const auto b = parse_small_int(expr.substr(slash + 1));
    if (!b || *b < 0 || *b > bits) return std::nullopt;
    bits = *b;
  }
  return std::make_pair(*addr, bits);
}

// Java's id.split(":").length == 2: exactly two fields once trailing empty ones are dropped.
bool valid_digest_id(std::string_view id) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    const size_t colon = id.find(':', start);
    parts.push_back(id.substr(start, colon == std::string_view::npos ? id.npos : colon - start));
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  while (!parts.empty() && parts.back().empty()) parts.pop_back();
  return parts.size() == 2;
}

bool id_matches(const Id& acl_id, const Id& auth_id) {
  if (acl_id.scheme != auth_id.scheme) return false;
  if (acl_id.scheme == "ip") return ip_matches(auth_id.id, acl_id.id);
  return acl_id.id == auth_id.id;
}

}  // namespace

std::string digest_auth_id(std::string_view user_password) {
  const Sha1Digest d = sha1(user_password);
  const std::string_view user = user_password.substr(0, user_password.find(':'));
  return std::string(user) + ":" +
         base64_encode(std::string_view(reinterpret_cast<const char*>(d.data()), d.size()));
}

std::optional<IpAddress> parse_ip(std::string_view text) {
  if (text.find(':') != std::string_view::npos) return parse_ipv6(text);
  return parse_ipv4(text);
}

bool ip_matches(std::string_view client, std::string_view acl_expr) {
  auto expr = parse_ip_expr(acl_expr);
  auto remote = parse_ip(client);
  if (!expr || !remote || remote->size != expr->first.size) return false;
  mask_bits(expr->first, expr->second);
  mask_bits(*remote, expr->second);
  return remote->bytes == expr->first.bytes;
}

bool is_valid_acl_id(const Id& id) {
  if (id.scheme == "world") return id.id == "anyone";
  if (id.scheme == "digest") return valid_digest_id(id.id);
  if (id.scheme == "ip") return parse_ip_expr(id.id).has_value();
  return false;
}

bool is_authenticated_scheme(std::string_view scheme) {
  return scheme == "digest";
}

ErrorCode fixup_acl(const AclList& requested, absl::Span<const Id> auth, AclList* out) {
  out->clear();
  AclList unique;
  for (const Acl& a : requested) {
    if (std::find(unique.begin(), unique.end(), a) == unique.end()) unique.push_back(a);
  }
  if (unique.empty()) return ErrorCode::kInvalidACL;
  for (const Acl& a : unique) {
    if (a.id.scheme == "auth") {
      bool expanded = false;
      for (const Id& who : auth) {
        if (!is_authenticated_scheme(who.scheme)) continue;
        out->push_back(Acl{a.perms, who});
        expanded = true;
      }
      if (!expanded) return ErrorCode::kInvalidACL;
    } else if (is_valid_acl_id(a.id)) {
      out->push_back(a);
    } else {
      return ErrorCode::kInvalidACL;
    }
  }
  return ErrorCode::kOk;
}

bool check_acl(const AclList& acl, int32_t perm, absl::Span<const Id> auth) {
  if (acl.empty()) return true;
  for (const Id& who : auth) {
    if (who.scheme == "super") return true;
  }
  for (const Acl& a : acl) {
    if ((a.perms & perm) == 0) continue;
    if (a.id == world_anyone()) return true;
    for (const Id& who : auth) {
      if (id_matches(a.id, who)) return true;
    }
  }
  return false;
}

AclList mask_digests(const AclList& acl) {
  AclList out = acl;
  for (Acl& a : out) {
    if (a.id.scheme != "digest") continue;
    const size_t colon = a.id.id.find(':');
    if (colon != std::string::npos) a.id.id = a.id.id.substr(0, colon) + ":x";
  }
  return out;
}

}  // namespace weir::coord
