#!/usr/bin/env python3
"""Generates coord/jute/records.{h,cc} from ZooKeeper's jute schema.

Usage: gen_jute.py PATH/TO/zookeeper.jute [OUT_DIR]   (OUT_DIR defaults to this script's folder)

The generated files are committed, so the build never needs the schema. Rerun this script only
when the schema or the tables below change, and commit its output.

Only the client-facing modules are generated (data and proto): servers talk to each other and
persist their state with Protobuf, so ZooKeeper's quorum, txn and persistence records have no
use in Weir. Field names and order are the schema's, verbatim, so a record can be checked
against the schema at a glance; some fields get a stronger C++ type than the schema's int/long
(TYPE_OVERRIDES), which encodes to the very same bytes.
"""

import os
import re
import shutil
import subprocess
import sys

MODULES = ("org.apache.zookeeper.data", "org.apache.zookeeper.proto")

# (record or "*", field) -> C++ type. Strong ids and enums are the same width as the schema type.
TYPE_OVERRIDES = {
    ("*", "czxid"): "Zxid",
    ("*", "mzxid"): "Zxid",
    ("*", "pzxid"): "Zxid",
    ("*", "zxid"): "Zxid",
    ("*", "lastZxidSeen"): "Zxid",
    ("*", "relativeZxid"): "Zxid",
    ("*", "sessionId"): "SessionId",
    ("*", "ephemeralOwner"): "SessionId",
    ("RequestHeader", "type"): "OpCode",
    ("MultiHeader", "type"): "OpCode",
    ("MultiHeader", "err"): "ErrorCode",
    ("ReplyHeader", "err"): "ErrorCode",
    ("ErrorResponse", "err"): "ErrorCode",
    ("WatcherEvent", "type"): "EventType",
    ("WatcherEvent", "state"): "KeeperState",
    ("CreateRequest", "flags"): "CreateMode",
    ("CreateTTLRequest", "flags"): "CreateMode",
    ("AddWatchRequest", "mode"): "AddWatchMode",
    ("CheckWatchesRequest", "type"): "WatcherType",
    ("RemoveWatchesRequest", "type"): "WatcherType",
}
STRONG_IDS = {"Zxid", "SessionId"}

# Trailing fields that older peers leave out: decoded only if bytes remain, encoded only if set.
OPTIONAL_TRAILING = {("ConnectRequest", "readOnly"), ("ConnectResponse", "readOnly")}

# Why each record exists, in our words (the first line of its comment).
PURPOSE = {
    "Id": "An identity in an ACL or an auth entry: a scheme and an id within it.",
    "ACL": "One access-control entry: permission bits (perms::*) granted to an Id.",
    "Stat": "A znode's metadata as clients see it.",
    "StatPersisted": "A znode's metadata as a server stores it (Stat minus derived fields).",
    "ClientInfo": "One authenticated identity of a session, as whoAmI reports it.",
    "ConnectRequest": "The first frame of a session (no RequestHeader): create or resume.",
    "ConnectResponse": "The server's answer to ConnectRequest: negotiated timeout, session.",
    "SetWatches": "Re-registers one-shot watches after a reconnect (xid kSetWatchesXid).",
    "SetWatches2": "SetWatches plus persistent and persistent-recursive watches.",
    "RequestHeader": "Precedes every request body after the handshake.",
    "MultiHeader": "Precedes each op (or result) of a multi; done=true ends the list.",
    "AuthPacket": "addAuth: credentials for a scheme (xid kAuthXid).",
    "ReplyHeader": "Precedes every reply and notification.",
    "GetDataRequest": "getData, optionally leaving a data watch.",
    "SetDataRequest": "setData with an expected version (-1: any).",
    "ReconfigRequest": "Dynamic reconfiguration (Weir answers ReconfigDisabled).",
    "SetDataResponse": "setData's reply: the node's new Stat.",
    "GetSASLRequest": "A SASL token from the server (Weir does not speak SASL).",
    "SetSASLRequest": "A SASL token from the client (Weir does not speak SASL).",
    "SetSASLResponse": "A SASL challenge (Weir does not speak SASL).",
    "CreateRequest": "create, create2 and createContainer (the op code tells them apart).",
    "CreateTTLRequest": "createTTL: a create whose node expires ttl ms after last change.",
    "DeleteRequest": "delete with an expected version (-1: any).",
    "GetChildrenRequest": "getChildren, optionally leaving a child watch.",
    "GetAllChildrenNumberRequest": "Counts all descendants of a path.",
    "GetChildren2Request": "getChildren that also returns the parent's Stat.",
    "CheckVersionRequest": "The check op of a multi: fail unless the version matches.",
    "GetMaxChildrenRequest": "Legacy quota request, kept for completeness.",
    "GetMaxChildrenResponse": "Legacy quota reply, kept for completeness.",
    "SetMaxChildrenRequest": "Legacy quota request, kept for completeness.",
    "SyncRequest": "sync: the server catches up with the leader before replying.",
    "SyncResponse": "sync's reply: the path that was synced.",
    "GetACLRequest": "getACL of a path.",
    "SetACLRequest": "setACL with an expected ACL version (-1: any).",
    "SetACLResponse": "setACL's reply: the node's new Stat.",
    "AddWatchRequest": "Adds a persistent (optionally recursive) watch.",
    "WatcherEvent": "A watch notification (ReplyHeader xid kNotificationXid).",
    "ErrorResponse": "The result of a failed op inside a multi reply.",
    "CreateResponse": "create's reply: the actual path (sequential suffix included).",
    "Create2Response": "create2/createTTL/createContainer's reply: path and Stat.",
    "ExistsRequest": "exists, optionally leaving a watch (fires on creation too).",
    "ExistsResponse": "exists' reply when the node exists.",
    "GetDataResponse": "getData's reply (also reconfig's).",
    "GetChildrenResponse": "getChildren's reply: child names, unordered.",
    "GetAllChildrenNumberResponse": "getAllChildrenNumber's reply.",
    "GetChildren2Response": "getChildren2's reply: child names and the parent's Stat.",
    "GetACLResponse": "getACL's reply: the ACL and the node's Stat.",
    "CheckWatchesRequest": "Asks whether watches of a type exist on a path.",
    "RemoveWatchesRequest": "Removes the session's watches of a type on a path.",
    "GetEphemeralsRequest": "Lists the session's ephemerals under a prefix.",
    "GetEphemeralsResponse": "getEphemerals' reply.",
    "WhoAmIResponse": "whoAmI's reply: the session's authenticated identities.",
}

PRIMITIVE_CPP = {"int": "int32_t", "long": "int64_t", "boolean": "bool",
                 "buffer": "std::string", "ustring": "std::string"}
PRIMITIVE_MIN_BYTES = {"int": 4, "long": 8, "boolean": 1, "buffer": 4, "ustring": 4}


class Field:
    def __init__(self, record, jute_type, name):
        self.record = record
        self.jute_type = jute_type  # "int", ..., "vector<X>", or a record's short name
        self.name = name
        self.optional = (record, name) in OPTIONAL_TRAILING
        self.override = (TYPE_OVERRIDES.get((record, name))
                         or TYPE_OVERRIDES.get(("*", name)))

    @property
    def vector_item(self):
        m = re.fullmatch(r"vector<(.+)>", self.jute_type)
        return m.group(1) if m else None

    @property
    def label(self):
        return f"{self.record}.{self.name}"


def short_name(qualified):
    return qualified.split(".")[-1]


def parse(text):
    """Returns [(module, record, [Field])] in schema order."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    records = []
    for module in re.finditer(r"module\s+([\w.]+)\s*\{", text):
        # A module's body runs to the next "module" keyword (records never nest).
        end = text.find("module ", module.end())
        body = text[module.end(): end if end != -1 else len(text)]
        for cls in re.finditer(r"class\s+(\w+)\s*\{([^}]*)\}", body):
            name = cls.group(1)
            fields = []
            for decl in cls.group(2).split(";"):
                decl = decl.strip()
                if not decl:
                    continue
                m = re.fullmatch(r"(vector\s*<\s*[\w.]+\s*>|[\w.]+)\s*(\w+)", decl)
                if not m:
                    sys.exit(f"cannot parse field '{decl}' of {name}")
                jute_type = re.sub(r"\s+", "", m.group(1))
                jute_type = re.sub(r"[\w.]+\.(\w+)", r"\1", jute_type)  # drop packages
                fields.append(Field(name, jute_type, m.group(2)))
            records.append((module.group(1), name, fields))
    return records


def cpp_type(f):
    if f.optional:
        assert f.jute_type == "boolean", f.label
        return "std::optional<bool>"
    if f.override:
        return f.override
    item = f.vector_item
    if item:
        return f"std::vector<{PRIMITIVE_CPP.get(item, item)}>"
    return PRIMITIVE_CPP.get(f.jute_type, f.jute_type)


def default_init(f):
    t = cpp_type(f)
    if t in ("int32_t", "int64_t"):
        return " = 0"
    if t == "bool":
        return " = false"
    if f.override and f.override not in STRONG_IDS:
        return "{}"  # enums: zero, whether or not zero is a listed value
    return ""


def min_bytes(f, sizes):
    if f.optional:
        return 0
    if f.vector_item:
        return 4
    return PRIMITIVE_MIN_BYTES.get(f.jute_type) or sizes[f.jute_type]


def decode_stmt(f):
    lbl = f'"{f.label}"'
    item, jt, n = f.vector_item, f.jute_type, f.name
    if f.optional:
        return [f"if (r.ok() && !r.at_end()) {{",
                f"  {n} = r.read_bool({lbl});",
                f"}} else {{",
                f"  {n}.reset();",
                f"}}"]
    if item in ("ustring", "buffer"):
        return [f"read_ustring_vector(r, {n}, {lbl});"]
    if item:
        return [f"read_record_vector(r, {n}, {lbl});"]
    if jt in ("buffer", "ustring"):
        return [f"{n} = r.read_{jt}({lbl});"]
    if jt == "boolean":
        return [f"{n} = r.read_bool({lbl});"]
    if jt in ("int", "long"):
        call = f"r.read_{jt}({lbl})"
        if f.override in STRONG_IDS:
            return [f"{n} = {f.override}({call});"]
        if f.override:
            return [f"{n} = static_cast<{f.override}>({call});"]
        return [f"{n} = {call};"]
    return [f"read_record(r, {n}, {lbl});"]


def encode_stmt(f):
    item, jt, n = f.vector_item, f.jute_type, f.name
    if f.optional:
        return [f"if ({n}.has_value()) w.write_bool(*{n});"]
    if item in ("ustring", "buffer"):
        return [f"write_ustring_vector(w, {n});"]
    if item:
        return [f"write_record_vector(w, {n});"]
    if jt in ("buffer", "ustring"):
        return [f"w.write_buffer({n});"]
    if jt == "boolean":
        return [f"w.write_bool({n});"]
    if jt in ("int", "long"):
        value = n
        if f.override in STRONG_IDS:
            value = f"{n}.value()"
        elif f.override:
            value = f"static_cast<int32_t>({n})"
        return [f"w.write_{jt}({value});"]
    return [f"{n}.encode(w);"]


def size_term(f):
    item, jt, n = f.vector_item, f.jute_type, f.name
    if f.optional:
        return f"({n}.has_value() ? 1 : 0)"
    if item in ("ustring", "buffer"):
        return f"ustring_vector_encoded_size({n})"
    if item:
        return f"record_vector_encoded_size({n})"
    if jt in ("buffer", "ustring"):
        return f"buffer_encoded_size({n})"
    if jt in PRIMITIVE_MIN_BYTES:
        return str(PRIMITIVE_MIN_BYTES[jt])
    return f"{n}.encoded_size()"


def order_by_dependency(records):
    """Schema order, except that a nested record is always defined before its users."""
    by_name = {r[1]: r for r in records}
    done, out = set(), []

    def visit(name):
        if name in done or name not in by_name:
            return
        done.add(name)
        for f in by_name[name][2]:
            visit(f.vector_item or f.jute_type)
        out.append(by_name[name])

    for r in records:
        visit(r[1])
    return out


GENERATED_NOTE = ("// Generated by coord/jute/gen_jute.py from ZooKeeper's zookeeper.jute. "
                  "Do not edit:\n// change the generator (or its tables) and rerun it.\n")


def emit_header(records, sizes):
    o = [GENERATED_NOTE,
         "// The jute records of ZooKeeper's client protocol (modules "
         "org.apache.zookeeper.data and", "// .proto), one struct each, fields in wire order "
         "with the schema's names. Each record", "// encodes to and decodes from jute bytes "
         "(decode errors are sticky in the Reader), knows", "// its smallest encoding "
         "(kMinBytes, which bounds vector counts) and exposes its fields to", "// generic "
         "code through for_each_field(visitor(name, field&)).",
         "#pragma once", "",
         "#include <cstddef>", "#include <cstdint>", "#include <optional>", "#include <ostream>",
         "#include <string>", "#include <string_view>", "#include <vector>", "",
         '#include "coord/ids.h"', '#include "coord/jute/constants.h"',
         '#include "coord/jute/reader.h"', '#include "coord/jute/writer.h"', "",
         "namespace weir::coord::jute {", ""]
    for module, name, fields in records:
        assert fields, f"{name}: empty records need [[maybe_unused]] in the emitters"
        o.append(f"// {PURPOSE.get(name, 'A record of ' + module + '.')}")
        o.append(f"// jute: {module}.{name}")
        o.append(f"struct {name} {{")
        o.append(f'  static constexpr std::string_view kName = "{name}";')
        o.append(f"  static constexpr size_t kMinBytes = {sizes[name]};")
        o.append("")
        for f in fields:
            note = "  // trailing: older peers omit it" if f.optional else ""
            o.append(f"  {cpp_type(f)} {f.name}{default_init(f)};{note}")
        o.append("")
        o.append("  void encode(Writer& w) const;")
        o.append("  void decode(Reader& r);")
        o.append("  size_t encoded_size() const;")
        for const in ("", " const"):
            o.append("  template <class V>")
            o.append(f"  void for_each_field(V&& v){const} {{ visit_fields(*this, v); }}")
        o.append("  // One visitor body for the const and non-const for_each_field.")
        o.append("  template <class Self, class V>")
        o.append("  static void visit_fields(Self& self, V& v) {")
        for f in fields:
            o.append(f'    v("{f.name}", self.{f.name});')
        o.append("  }")
        eq = f"  friend bool operator==(const {name}&, const {name}&) = default;"
        if len(eq) > 100:
            eq = (f"  friend bool operator==(const {name}&,\n"
                  f"                         const {name}&) = default;")
        o.append(eq)
        o.append("};")
        o.append(f"std::ostream& operator<<(std::ostream& os, const {name}& record);")
        o.append("")
    o.append("// Every generated record, for code (and tests) that must cover them all.")
    o.append("template <class... T>")
    o.append("struct TypeList {};")
    names = [r[1] for r in records]
    o.append("using AllRecords = TypeList<")
    for i, n in enumerate(names):
        o.append(f"    {n}{',' if i + 1 < len(names) else '>;'}")
    o.append("")
    o.append("}  // namespace weir::coord::jute")
    return "\n".join(o) + "\n"


def emit_source(records):
    o = [GENERATED_NOTE, '#include "coord/jute/records.h"', "",
         '#include "coord/jute/print.h"', "", "namespace weir::coord::jute {", ""]
    for _, name, fields in records:
        o.append(f"void {name}::encode(Writer& w) const {{")
        o += ["  " + s for f in fields for s in encode_stmt(f)]
        o.append("}")
        o.append("")
        o.append(f"void {name}::decode(Reader& r) {{")
        o += ["  " + s for f in fields for s in decode_stmt(f)]
        o.append("}")
        o.append("")
        o.append(f"size_t {name}::encoded_size() const {{")
        terms = [size_term(f) for f in fields] or ["0"]
        line = "  return " + " + ".join(terms) + ";"
        if len(line) > 100:
            line = "  return " + " +\n         ".join(terms) + ";"
        o.append(line)
        o.append("}")
        o.append("")
        o.append(f"std::ostream& operator<<(std::ostream& os, const {name}& record) {{")
        o.append("  return print_record(os, record);")
        o.append("}")
        o.append("")
    o.append("}  // namespace weir::coord::jute")
    return "\n".join(o) + "\n"


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    out_dir = sys.argv[2] if len(sys.argv) == 3 else os.path.dirname(os.path.abspath(__file__))
    with open(sys.argv[1]) as f:
        parsed = parse(f.read())
    records = order_by_dependency([r for r in parsed if r[0] in MODULES])
    sizes = {}
    for _, name, fields in records:
        sizes[name] = sum(min_bytes(f, sizes) for f in fields)
    unused = {k for k in TYPE_OVERRIDES if k[0] != "*"} - {
        (n, f.name) for _, n, fs in records for f in fs}
    if unused:
        sys.exit(f"overrides name fields the schema lacks: {sorted(unused)}")
    write_formatted(os.path.join(out_dir, "records.h"), emit_header(records, sizes))
    write_formatted(os.path.join(out_dir, "records.cc"), emit_source(records))


def write_formatted(path, text):
    """Writes `text`, through the repository's clang-format when it is installed."""
    clang_format = shutil.which("clang-format")
    if clang_format:
        text = subprocess.run([clang_format, "-style=file", f"--assume-filename={path}"],
                              input=text, capture_output=True, text=True, check=True).stdout
    with open(path, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
