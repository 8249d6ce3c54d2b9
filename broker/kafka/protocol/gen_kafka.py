#!/usr/bin/env python3
"""Generates the Kafka wire-protocol codecs of broker/kafka/protocol from Kafka's JSON schemas.

Usage: gen_kafka.py [SCHEMA_DIR [OUT_DIR]]
  SCHEMA_DIR  Kafka's clients/src/main/resources/common/message folder
              (default: ../shared/reference/kafka/messages next to the repository)
  OUT_DIR     where messages.{h,cc} and error_codes.{h,cc} go (default: this script's folder)

The output is committed, so the build never needs the schemas or Python. Rerun this script when
a table below changes (an API, a version range, an error code) and commit its output; it runs
clang-format on what it writes, so rerunning on unchanged input changes nothing.

Only the versions in APIS are generated: a field that no served version carries does not exist
in the C++ struct, and a nested struct only such fields use is not generated at all. The
schemas' prose ("about") is not copied; the structs say where they come from instead.
"""

import json
import os
import re
import shutil
import subprocess
import sys

# The APIs Weir serves and their version ranges: those of Apache Kafka 3.0.0, the broker the
# clients Weir targets (librdkafka 1.x, kafka-python, confluent-kafka, kcat) all negotiate with
# fully. (name, api key, min version, max version). Adding an API is one line here.
APIS = [
    ("Produce", 0, 0, 9),
    ("Fetch", 1, 0, 12),
    ("ListOffsets", 2, 0, 7),
    ("Metadata", 3, 0, 11),
    ("LeaderAndIsr", 4, 0, 5),
    ("StopReplica", 5, 0, 3),
    ("UpdateMetadata", 6, 0, 7),
    ("ControlledShutdown", 7, 0, 3),
    ("OffsetCommit", 8, 0, 8),
    ("OffsetFetch", 9, 0, 8),
    ("FindCoordinator", 10, 0, 4),
    ("JoinGroup", 11, 0, 7),
    ("Heartbeat", 12, 0, 4),
    ("LeaveGroup", 13, 0, 4),
    ("SyncGroup", 14, 0, 5),
    ("DescribeGroups", 15, 0, 5),
    ("ListGroups", 16, 0, 4),
    ("ApiVersions", 18, 0, 3),
    ("CreateTopics", 19, 0, 7),
    ("DeleteTopics", 20, 0, 6),
    ("DeleteRecords", 21, 0, 2),
    ("InitProducerId", 22, 0, 4),
    ("OffsetForLeaderEpoch", 23, 0, 4),
    ("DescribeConfigs", 32, 0, 4),
    ("CreatePartitions", 37, 0, 3),
    ("DeleteGroups", 42, 0, 2),
    ("ElectLeaders", 43, 0, 2),
    ("AlterPartitionReassignments", 45, 0, 0),
    ("ListPartitionReassignments", 46, 0, 0),
    ("OffsetDelete", 47, 0, 0),
    ("DescribeCluster", 60, 0, 0),
]
# The headers, by the header versions that the APIs above use.
HEADERS = [("RequestHeader", 0, 2), ("ResponseHeader", 0, 1)]

# Kafka's exceptions to "a flexible body has a flexible header". An ApiVersions response always
# has header v0: a client reads it before it knows what the broker speaks. A ControlledShutdown
# v0 request has header v0 (it predates client ids).
RESPONSE_HEADER_V0_APIS = {"ApiVersions"}
REQUEST_HEADER_V0 = {("ControlledShutdown", 0)}

# Kafka's error codes (code, name, retriable), as the error table of its protocol guide lists
# them (the reference copy of protocol.html includes that table from a file it lacks).
ERRORS = [
    (-1, "UNKNOWN_SERVER_ERROR", False), (0, "NONE", False), (1, "OFFSET_OUT_OF_RANGE", False),
    (2, "CORRUPT_MESSAGE", True), (3, "UNKNOWN_TOPIC_OR_PARTITION", True),
    (4, "INVALID_FETCH_SIZE", False), (5, "LEADER_NOT_AVAILABLE", True),
    (6, "NOT_LEADER_OR_FOLLOWER", True), (7, "REQUEST_TIMED_OUT", True),
    (8, "BROKER_NOT_AVAILABLE", False), (9, "REPLICA_NOT_AVAILABLE", True),
    (10, "MESSAGE_TOO_LARGE", False), (11, "STALE_CONTROLLER_EPOCH", False),
    (12, "OFFSET_METADATA_TOO_LARGE", False), (13, "NETWORK_EXCEPTION", True),
    (14, "COORDINATOR_LOAD_IN_PROGRESS", True), (15, "COORDINATOR_NOT_AVAILABLE", True),
    (16, "NOT_COORDINATOR", True), (17, "INVALID_TOPIC_EXCEPTION", False),
    (18, "RECORD_LIST_TOO_LARGE", False), (19, "NOT_ENOUGH_REPLICAS", True),
    (20, "NOT_ENOUGH_REPLICAS_AFTER_APPEND", True), (21, "INVALID_REQUIRED_ACKS", False),
    (22, "ILLEGAL_GENERATION", False), (23, "INCONSISTENT_GROUP_PROTOCOL", False),
    (24, "INVALID_GROUP_ID", False), (25, "UNKNOWN_MEMBER_ID", False),
    (26, "INVALID_SESSION_TIMEOUT", False), (27, "REBALANCE_IN_PROGRESS", False),
    (28, "INVALID_COMMIT_OFFSET_SIZE", False), (29, "TOPIC_AUTHORIZATION_FAILED", False),
    (30, "GROUP_AUTHORIZATION_FAILED", False), (31, "CLUSTER_AUTHORIZATION_FAILED", False),
    (32, "INVALID_TIMESTAMP", False), (33, "UNSUPPORTED_SASL_MECHANISM", False),
    (34, "ILLEGAL_SASL_STATE", False), (35, "UNSUPPORTED_VERSION", False),
    (36, "TOPIC_ALREADY_EXISTS", False), (37, "INVALID_PARTITIONS", False),
    (38, "INVALID_REPLICATION_FACTOR", False), (39, "INVALID_REPLICA_ASSIGNMENT", False),
    (40, "INVALID_CONFIG", False), (41, "NOT_CONTROLLER", True), (42, "INVALID_REQUEST", False),
    (43, "UNSUPPORTED_FOR_MESSAGE_FORMAT", False), (44, "POLICY_VIOLATION", False),
    (45, "OUT_OF_ORDER_SEQUENCE_NUMBER", False), (46, "DUPLICATE_SEQUENCE_NUMBER", False),
    (47, "INVALID_PRODUCER_EPOCH", False), (48, "INVALID_TXN_STATE", False),
    (49, "INVALID_PRODUCER_ID_MAPPING", False), (50, "INVALID_TRANSACTION_TIMEOUT", False),
    (51, "CONCURRENT_TRANSACTIONS", True), (52, "TRANSACTION_COORDINATOR_FENCED", False),
    (53, "TRANSACTIONAL_ID_AUTHORIZATION_FAILED", False), (54, "SECURITY_DISABLED", False),
    (55, "OPERATION_NOT_ATTEMPTED", False), (56, "KAFKA_STORAGE_ERROR", True),
    (57, "LOG_DIR_NOT_FOUND", False), (58, "SASL_AUTHENTICATION_FAILED", False),
    (59, "UNKNOWN_PRODUCER_ID", False), (60, "REASSIGNMENT_IN_PROGRESS", False),
    (61, "DELEGATION_TOKEN_AUTH_DISABLED", False), (62, "DELEGATION_TOKEN_NOT_FOUND", False),
    (63, "DELEGATION_TOKEN_OWNER_MISMATCH", False),
    (64, "DELEGATION_TOKEN_REQUEST_NOT_ALLOWED", False),
    (65, "DELEGATION_TOKEN_AUTHORIZATION_FAILED", False), (66, "DELEGATION_TOKEN_EXPIRED", False),
    (67, "INVALID_PRINCIPAL_TYPE", False), (68, "NON_EMPTY_GROUP", False),
    (69, "GROUP_ID_NOT_FOUND", False), (70, "FETCH_SESSION_ID_NOT_FOUND", True),
    (71, "INVALID_FETCH_SESSION_EPOCH", True), (72, "LISTENER_NOT_FOUND", True),
    (73, "TOPIC_DELETION_DISABLED", False), (74, "FENCED_LEADER_EPOCH", True),
    (75, "UNKNOWN_LEADER_EPOCH", True), (76, "UNSUPPORTED_COMPRESSION_TYPE", False),
    (77, "STALE_BROKER_EPOCH", False), (78, "OFFSET_NOT_AVAILABLE", True),
    (79, "MEMBER_ID_REQUIRED", False), (80, "PREFERRED_LEADER_NOT_AVAILABLE", True),
    (81, "GROUP_MAX_SIZE_REACHED", False), (82, "FENCED_INSTANCE_ID", False),
    (83, "ELIGIBLE_LEADERS_NOT_AVAILABLE", True), (84, "ELECTION_NOT_NEEDED", True),
    (85, "NO_REASSIGNMENT_IN_PROGRESS", False), (86, "GROUP_SUBSCRIBED_TO_TOPIC", False),
    (87, "INVALID_RECORD", False), (88, "UNSTABLE_OFFSET_COMMIT", True),
    (89, "THROTTLING_QUOTA_EXCEEDED", True), (90, "PRODUCER_FENCED", False),
    (91, "RESOURCE_NOT_FOUND", False), (92, "DUPLICATE_RESOURCE", False),
    (93, "UNACCEPTABLE_CREDENTIAL", False), (94, "INCONSISTENT_VOTER_SET", False),
    (95, "INVALID_UPDATE_VERSION", False), (96, "FEATURE_UPDATE_FAILED", False),
    (97, "PRINCIPAL_DESERIALIZATION_FAILURE", False), (98, "SNAPSHOT_NOT_FOUND", False),
    (99, "POSITION_OUT_OF_RANGE", False), (100, "UNKNOWN_TOPIC_ID", True),
    (101, "DUPLICATE_BROKER_REGISTRATION", False), (102, "BROKER_ID_NOT_REGISTERED", False),
    (103, "INCONSISTENT_TOPIC_ID", True), (104, "INCONSISTENT_CLUSTER_ID", False),
    (105, "TRANSACTIONAL_ID_NOT_FOUND", False), (106, "FETCH_SESSION_TOPIC_ID_ERROR", True),
    (107, "INELIGIBLE_REPLICA", False), (108, "NEW_LEADER_ELECTED", False),
    (109, "OFFSET_MOVED_TO_TIERED_STORAGE", False), (110, "FENCED_MEMBER_EPOCH", False),
    (111, "UNRELEASED_INSTANCE_ID", False), (112, "UNSUPPORTED_ASSIGNOR", False),
    (113, "STALE_MEMBER_EPOCH", False), (114, "MISMATCHED_ENDPOINT_TYPE", False),
    (115, "UNSUPPORTED_ENDPOINT_TYPE", False), (116, "UNKNOWN_CONTROLLER_ID", False),
    (117, "UNKNOWN_SUBSCRIPTION_ID", False), (118, "TELEMETRY_TOO_LARGE", False),
    (119, "INVALID_REGISTRATION", False), (120, "TRANSACTION_ABORTABLE", False),
]

MAX_VERSION = 0x7FFF

# schema type -> (C++ type, encoded bytes, ByteReader/ByteWriter suffix)
FIXED = {
    "bool": ("bool", 1, "u8"),
    "int8": ("int8_t", 1, "i8"),
    "int16": ("int16_t", 2, "i16"),
    "uint16": ("uint16_t", 2, "u16"),
    "int32": ("int32_t", 4, "i32"),
    "uint32": ("uint32_t", 4, "u32"),
    "int64": ("int64_t", 8, "i64"),
    "float64": ("double", 8, "f64"),
    "uuid": ("Uuid", 16, None),
}
INT_BITS = {"int8": 8, "int16": 16, "int32": 32, "int64": 64, "uint16": -16, "uint32": -32}
VARIABLE = {"string", "bytes", "records"}
PRIMITIVES = set(FIXED) | VARIABLE

# Names a generated struct must not take: they would shadow what the generated code uses.
RESERVED_TYPE_NAMES = {"Uuid", "Records", "ApiKey", "ErrorCode", "ByteReader", "ByteWriter",
                       "FieldInfo", "VersionRange", "TypeList"}
RESERVED_MEMBERS = {"decode", "encode", "encoded_size", "min_encoded_size", "for_each_field",
                    "visit_fields", "flexible", "version", "r", "w", "n", "tags", "self", "v"}
CPP_KEYWORDS = {"and", "auto", "bool", "break", "case", "catch", "char", "class", "const",
                "continue", "default", "delete", "do", "double", "else", "enum", "explicit",
                "export", "extern", "false", "float", "for", "friend", "goto", "if", "inline",
                "int", "long", "namespace", "new", "not", "operator", "or", "private",
                "protected", "public", "register", "return", "short", "signed", "sizeof",
                "static", "struct", "switch", "template", "this", "throw", "true", "try",
                "typedef", "typename", "union", "unsigned", "using", "virtual", "void",
                "volatile", "while", "xor"}


def fail(message):
    sys.exit(f"gen_kafka.py: {message}")


# ---- schemas ------------------------------------------------------------------------------


def strip_comments(text):
    """Drops // comments outside JSON strings (strings may hold "http://...")."""
    out, i, in_string = [], 0, False
    while i < len(text):
        c = text[i]
        if in_string:
            out.append(c)
            if c == "\\":
                out.append(text[i + 1])
                i += 1
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
            out.append(c)
        elif text.startswith("//", i):
            while i < len(text) and text[i] != "\n":
                i += 1
            continue
        else:
            out.append(c)
        i += 1
    return "".join(out)


def load_schema(schema_dir, name):
    path = os.path.join(schema_dir, f"{name}.json")
    try:
        with open(path) as f:
            return json.loads(strip_comments(f.read()))
    except (OSError, ValueError) as e:
        fail(f"{path}: {e}")


class Range:
    """An inclusive version range; empty when lo > hi."""

    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    @staticmethod
    def parse(spec, what):
        spec = str(spec).strip()
        if spec == "none":
            return Range(0, -1)
        m = re.fullmatch(r"(\d+)(\+|-(\d+))?", spec)
        if not m:
            fail(f"{what}: bad version spec '{spec}'")
        lo = int(m.group(1))
        if m.group(2) == "+":
            return Range(lo, MAX_VERSION)
        return Range(lo, int(m.group(3)) if m.group(3) else lo)

    @property
    def empty(self):
        return self.lo > self.hi

    def __and__(self, other):
        return Range(max(self.lo, other.lo), min(self.hi, other.hi))

    def __eq__(self, other):
        return (self.empty and other.empty) or (self.lo, self.hi) == (other.lo, other.hi)

    def contains(self, v):
        return self.lo <= v <= self.hi

    def covers(self, other):
        return other.empty or (self.lo <= other.lo and other.hi <= self.hi)

    def cpp(self):
        return "{0, -1}" if self.empty else f"{{{self.lo}, {self.hi}}}"


def condition(r, within):
    """A C++ test of `version` for membership in `r`, knowing the version is in `within`.
    Returns "true", "false" or an expression."""
    r = r & within
    if r.empty:
        return "false"
    parts = []
    if r.lo > within.lo:
        parts.append(f"version >= {r.lo}")
    if r.hi < within.hi:
        parts.append(f"version <= {r.hi}")
    return " && ".join(parts) if parts else "true"


def snake_case(name):
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()
    if s in CPP_KEYWORDS or s in RESERVED_MEMBERS:
        s += "_"
    return s


def pascal_from_upper(name):
    return "k" + "".join(part.capitalize() for part in name.split("_"))


class Field:
    def __init__(self, spec, struct):
        self.struct = struct
        self.spec = spec
        self.json_name = spec["name"]
        self.name = snake_case(self.json_name)
        self.label = f"{struct.path}.{self.json_name}"
        served = struct.served
        self.versions = Range.parse(spec["versions"], self.label) & served
        self.nullable = Range.parse(spec.get("nullableVersions", "none"), self.label) & self.versions
        tagged = Range.parse(spec.get("taggedVersions", "none"), self.label)
        if not tagged.empty and tagged.hi != MAX_VERSION:
            fail(f"{self.label}: taggedVersions must be open-ended")
        self.tagged = tagged & self.versions
        self.tag = spec.get("tag")
        if (self.tag is None) != ("taggedVersions" not in spec):
            fail(f"{self.label}: tag and taggedVersions go together")
        # Versions where the field is a regular (untagged) field: tagged versions are a suffix.
        self.regular = Range(self.versions.lo, self.versions.hi)
        if not self.tagged.empty:
            self.regular = Range(self.versions.lo, self.tagged.lo - 1)
        self.flexible_override = None
        if "flexibleVersions" in spec:
            self.flexible_override = Range.parse(spec["flexibleVersions"], self.label)
        raw_type = spec["type"]
        self.is_array = raw_type.startswith("[]")
        self.base = raw_type[2:] if self.is_array else raw_type
        self.child = None  # the nested Struct of a struct or array-of-struct field

    @property
    def is_struct(self):
        return self.child is not None

    @property
    def is_nullable(self):
        return not self.nullable.empty

    # -- C++ types and defaults --

    def element_type(self):
        if self.is_struct:
            return self.child.name
        if self.base == "string":
            return "std::string"
        if self.base in FIXED:
            return FIXED[self.base][0]
        fail(f"{self.label}: arrays of {self.base} are not supported")

    def cpp_type(self):
        if self.is_array:
            vec = f"std::vector<{self.element_type()}>"
            return f"std::optional<{vec}>" if self.is_nullable else vec
        if self.is_struct:
            if self.is_nullable:
                fail(f"{self.label}: nullable struct fields are not supported")
            return self.child.name
        if self.base in ("string", "bytes"):
            return "std::optional<std::string>" if self.is_nullable else "std::string"
        if self.base == "records":
            return "Records"
        return FIXED[self.base][0]

    def default_value(self):
        """The schema's default as a C++ expression of the field's type, or None when the
        type's own default (zero, empty, false) is meant."""
        raw = self.spec.get("default")
        if isinstance(raw, bool):
            raw = "true" if raw else "false"
        if raw is not None:
            raw = str(raw)
        b = self.base
        if self.is_array or self.is_struct or b in ("uuid", "records", "bytes"):
            if raw not in (None, "", "null"):
                fail(f"{self.label}: a default for a {b} field is not supported")
            if raw == "null":
                if not self.is_nullable or not self.nullable.covers(self.versions):
                    fail(f"{self.label}: default null but not nullable in every version")
                return "std::nullopt"
            if self.is_array and self.is_nullable:
                return f"std::vector<{self.element_type()}>()"
            if b == "bytes" and self.is_nullable:
                return "std::string()"
            return None
        if b == "bool":
            if raw in (None, "false"):
                return None
            if raw != "true":
                fail(f"{self.label}: bad bool default '{raw}'")
            return "true"
        if b == "float64":
            return None if raw is None else repr(float(raw))
        if b == "string":
            if raw == "null":
                if not self.nullable.covers(self.versions):
                    fail(f"{self.label}: default null but not nullable in every version")
                return "std::nullopt"
            literal = json.dumps(raw or "")
            if self.is_nullable:
                return f"std::string({literal})" if raw else "std::string()"
            return literal if raw else None
        if raw is None:
            return None
        value = int(raw, 8) if re.fullmatch(r"-?0[0-7]+", raw) else int(raw, 0)
        bits = INT_BITS[b]
        lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if bits > 0 else (0, (1 << -bits) - 1)
        if not lo <= value <= hi:
            fail(f"{self.label}: default {raw} does not fit {b}")
        if value == 0:
            return None
        if value == lo and bits > 0:
            return f"{value + 1} - 1"  # the literal -2^(n-1) would not have type intN_t
        return str(value)

    def version_note(self):
        """Where the field exists, if not everywhere: "v3+", "v8-10, tagged 0 from v12"."""
        served, notes = self.struct.served, []
        def span(r):
            if r.hi >= served.hi:
                return f"v{r.lo}+"
            return f"v{r.lo}" if r.lo == r.hi else f"v{r.lo}-{r.hi}"
        if not self.versions == served:
            notes.append(span(self.versions))
        if self.is_nullable and not self.nullable == self.versions:
            notes.append(f"nullable {span(self.nullable)}")
        if not self.tagged.empty:
            notes.append(f"tag {self.tag}" if self.tagged == self.versions
                         else f"tag {self.tag} from v{self.tagged.lo}")
        return f"  // {', '.join(notes)}" if notes else ""

    def member_decl(self):
        return self.plain_member_decl() + self.version_note()

    def plain_member_decl(self):
        d = self.default_value()
        if d is None and not (self.is_array or self.is_struct) and self.base in FIXED \
                and self.base != "uuid":
            d = {"bool": "false", "float64": "0.0"}.get(self.base, "0")
        if d is None:
            return f"{self.cpp_type()} {self.name};"
        if d == "std::nullopt":
            return f"{self.cpp_type()} {self.name};"
        return f"{self.cpp_type()} {self.name} = {d};"

    def non_default_test(self):
        """A C++ expression that is true when the field differs from its default (a tagged
        field is written only then)."""
        n, d = self.name, self.default_value()
        if self.is_array:
            if self.is_nullable:
                return f"{n}.has_value()" if d == "std::nullopt" else \
                    f"!({n}.has_value() && {n}->empty())"
            return f"!{n}.empty()"
        if self.is_struct:
            return f"{n} != {self.child.name}{{}}"
        if self.base == "uuid":
            return f"!{n}.is_zero()"
        if self.base == "records":
            fail(f"{self.label}: tagged records fields are not supported")
        if self.base in ("string", "bytes"):
            if self.is_nullable:
                if d == "std::nullopt":
                    return f"{n}.has_value()"
                return f"{n} != std::optional<std::string>({d})"
            return f"{n} != {d}" if d else f"!{n}.empty()"
        if self.base == "bool":
            return n if d is None else f"!{n}"
        return f"{n} != {d or 0}"

    # -- per-version encoding facts --

    def flexible_expr(self):
        if self.flexible_override is not None:
            return condition(self.flexible_override, self.struct.served)
        return "flexible"

    def is_flexible_at(self, v):
        if self.flexible_override is not None:
            return self.flexible_override.contains(v)
        return self.struct.flexible.contains(v)

    def nullable_expr(self):
        return condition(self.nullable, self.versions)

    def min_size(self, v):
        if self.is_array or self.base in ("bytes", "records"):
            return 1 if self.is_flexible_at(v) else 4
        if self.is_struct:
            return self.child.min_size(v)
        if self.base == "string":
            return 1 if self.is_flexible_at(v) else 2
        return FIXED[self.base][1]

    def fixed_size(self):
        return None if self.is_array or self.is_struct or self.base in VARIABLE \
            else FIXED[self.base][1]

    # -- code --

    def decode_stmt(self):
        n, q, fx, nx = self.name, f'"{self.name}"', self.flexible_expr(), self.nullable_expr()
        if self.is_array:
            if self.is_nullable:
                return f"wire::read_nullable_array(r, version, {fx}, {nx}, {n}, {q});"
            return f"wire::read_array(r, version, {fx}, {n}, {q});"
        if self.is_struct:
            return f"wire::read_struct(r, version, {n}, {q});"
        b = self.base
        if b in ("string", "bytes"):
            if self.is_nullable:
                return f"{n} = wire::read_nullable_{b}(r, {fx}, {nx}, {q});"
            return f"{n} = wire::read_{b}(r, {fx}, {q});"
        if b == "records":
            return f"{n} = wire::read_records(r, {fx}, {nx}, {q});"
        if b == "uuid":
            return f"{n} = wire::read_uuid(r, {q});"
        if b == "bool":
            return f"{n} = r.read_u8({q}) != 0;"
        return f"{n} = r.read_{FIXED[b][2]}({q});"

    def encode_stmt(self):
        n, fx, nx = self.name, self.flexible_expr(), self.nullable_expr()
        if self.is_array:
            if self.is_nullable:
                return f"wire::write_nullable_array(w, version, {fx}, {nx}, {n});"
            return f"wire::write_array(w, version, {fx}, {n});"
        if self.is_struct:
            return f"{n}.encode(w, version);"
        b = self.base
        if b in ("string", "bytes"):
            if self.is_nullable:
                return f"wire::write_nullable_{b}(w, {fx}, {nx}, {n});"
            return f"wire::write_{b}(w, {fx}, {n});"
        if b == "records":
            return f"wire::write_records(w, {fx}, {nx}, {n});"
        if b == "uuid":
            return f"wire::write_uuid(w, {n});"
        if b == "bool":
            return f"w.write_u8({n} ? 1 : 0);"
        return f"w.write_{FIXED[b][2]}({n});"

    def size_expr(self):
        n, fx, nx = self.name, self.flexible_expr(), self.nullable_expr()
        if self.is_array:
            if self.is_nullable:
                return f"wire::nullable_array_size(version, {fx}, {nx}, {n})"
            return f"wire::array_size(version, {fx}, {n})"
        if self.is_struct:
            return f"{n}.encoded_size(version)"
        b = self.base
        if b in ("string", "bytes"):
            if self.is_nullable:
                return f"wire::nullable_{b}_size({fx}, {nx}, {n})"
            return f"wire::{b}_size({fx}, {n})"
        if b == "records":
            return f"wire::records_size({fx}, {nx}, {n})"
        return str(FIXED[b][1])

    def field_info(self):
        tag = -1 if self.tag is None else self.tag
        return (f'FieldInfo{{"{self.name}", {self.versions.cpp()}, {self.nullable.cpp()}, '
                f"{self.tagged.cpp()}, {tag}}}")


class Struct:
    def __init__(self, name, message, path):
        self.name = name
        self.message = message
        self.path = path
        self.served = message.served
        self.flexible = message.flexible & message.served
        self.fields = []
        self.is_root = False
        self.is_element = False  # of an array, rather than a struct field

    def min_size(self, v):
        n = sum(f.min_size(v) for f in self.fields if f.regular.contains(v))
        return n + (1 if self.flexible.contains(v) else 0)

    @property
    def tagged_fields(self):
        return sorted((f for f in self.fields if not f.tagged.empty), key=lambda f: f.tag)


class Message:
    def __init__(self, schema, lo, hi, api=None):
        self.schema = schema
        self.name = schema["name"]
        self.kind = schema["type"]
        self.api = api
        self.served = Range(lo, hi)
        valid = Range.parse(schema["validVersions"], self.name)
        if not valid.covers(self.served):
            fail(f"{self.name}: serves {lo}-{hi} but the schema has {schema['validVersions']}")
        self.flexible = Range.parse(schema.get("flexibleVersions", "none"), self.name)
        self.commons = {c["name"]: c for c in schema.get("commonStructs", [])}
        self.nested = []  # dependency order: a struct after every struct it uses
        self.nested_names = {}
        self.root = self.build_struct(self.name, schema["fields"], self.name)
        self.root.is_root = True

    def build_struct(self, name, field_specs, path):
        s = Struct(name, self, path)
        seen = set()
        for spec in field_specs:
            f = Field(spec, s)
            if f.versions.empty:
                continue  # no served version carries it
            if f.name in seen:
                fail(f"{f.label}: duplicate field name {f.name}")
            seen.add(f.name)
            if f.base not in PRIMITIVES:
                f.child = self.nested_struct(f, spec)
            elif "fields" in spec:
                fail(f"{f.label}: a {f.base} field cannot have fields")
            s.fields.append(f)
        for f in s.fields:
            if not s.flexible.covers(f.tagged):
                fail(f"{f.label}: tagged in versions that are not flexible")
        tags = [f.tag for f in s.fields if not f.tagged.empty]
        if len(tags) != len(set(tags)):
            fail(f"{path}: duplicate tags {tags}")
        return s

    def nested_struct(self, f, spec):
        name = f.base
        if name in RESERVED_TYPE_NAMES or name == self.name:
            fail(f"{f.label}: struct name {name} is reserved")
        if "fields" in spec:
            if name in self.nested_names:
                fail(f"{f.label}: struct {name} is defined twice in {self.name}")
            s = self.build_struct(name, spec["fields"], f.label)
        elif name in self.commons:
            if name in self.nested_names:
                return self.nested_names[name]
            s = self.build_struct(name, self.commons[name]["fields"], name)
        else:
            fail(f"{f.label}: unknown type {name}")
        s.is_element = f.is_array
        self.nested_names[name] = s
        self.nested.append(s)
        return s

    @property
    def structs(self):
        return self.nested + [self.root]


# ---- emitting C++ -------------------------------------------------------------------------

NOTE = ("// Generated by broker/kafka/protocol/gen_kafka.py from Kafka's message schemas. Do not\n"
        "// edit: change the generator (or its tables) and rerun it.\n")


def grouped(pairs):
    """Merges consecutive (condition, statements) pairs that share their condition."""
    out = []
    for cond, stmts in pairs:
        if out and out[-1][0] == cond:
            out[-1][1].extend(stmts)
        else:
            out.append((cond, list(stmts)))
    return out


def wrap_if(cond, stmts, indent="  "):
    if cond == "false":
        return []
    if cond == "true":
        return [indent + s for s in stmts]
    return [f"{indent}if ({cond}) {{"] + [indent + "  " + s for s in stmts] + [f"{indent}}}"]


def min_size_function(s):
    values = [(v, s.min_size(v)) for v in range(s.served.lo, s.served.hi + 1)]
    groups = []  # (last version, size) runs
    for v, size in values:
        if groups and groups[-1][1] == size:
            groups[-1] = (v, size)
        else:
            groups.append((v, size))
    if len(groups) == 1:
        return [f"static constexpr size_t min_encoded_size(int16_t) {{ return {groups[0][1]}; }}"]
    expr = str(groups[-1][1])
    for last, size in reversed(groups[:-1]):
        expr = f"version <= {last} ? {size} : {expr}"
    return ["static constexpr size_t min_encoded_size(int16_t version) {",
            f"  return {expr};", "}"]


def struct_comment(s):
    m = s.message
    flex = "never flexible" if s.flexible.empty else f"flexible from v{s.flexible.lo}"
    if s.is_root:
        what = {"request": "request body", "response": "response body",
                "header": "header"}[m.kind]
        key = f" (api key {m.schema['apiKey']})" if "apiKey" in m.schema else ""
        return [f"// Kafka's {m.name}{key}: the {what}, versions {s.served.lo}-{s.served.hi}, "
                f"{flex}."]
    role = "an element" if s.is_element else "the value"
    return [f"// {m.name}'s {s.name}: {role} of {s.path}."]


def emit_struct_decl(s):
    o = struct_comment(s) + [f"struct {s.name} {{"]
    m = s.message
    o.append(f'  static constexpr std::string_view kName = "{s.name}";')
    if s.is_root and m.api is not None:
        o.append(f"  static constexpr ApiKey kApiKey = ApiKey::k{m.api};")
    o.append(f"  static constexpr int16_t kMinVersion = {s.served.lo};")
    o.append(f"  static constexpr int16_t kMaxVersion = {s.served.hi};")
    o.append(f"  static constexpr VersionRange kFlexibleVersions{m.flexible.cpp()};")
    o.append("")
    if s.is_root:
        for nested in m.nested:
            o += ["  " + line for line in emit_struct_decl(nested)]
            o.append("")
    for f in s.fields:
        o.append("  " + f.member_decl())
    if s.fields:
        o.append("")
    o += ["  void decode(ByteReader& r, int16_t version);",
          "  void encode(ByteWriter& w, int16_t version) const;",
          "  size_t encoded_size(int16_t version) const;",
          "  // The smallest encoding at a version: bounds element counts of arrays of this."]
    o += ["  " + line for line in min_size_function(s)]
    o += ["  // Calls v(FieldInfo, field&) for each field in wire order (for_each_field, wire.h).",
          "  template <class Self, class V>"]
    if s.fields:
        o.append("  static void visit_fields(Self& self, V& v) {")
        for f in s.fields:
            o.append(f"    v({f.field_info()}, self.{f.name});")
    else:
        o.append("  static void visit_fields(Self&, V&) {")
    o.append("  }")
    o.append(f"  friend bool operator==(const {s.name}&, const {s.name}&) = default;")
    o.append("};")
    return o


def qualified(s):
    return s.name if s.is_root else f"{s.message.name}::{s.name}"


def flexible_line(s):
    return f"[[maybe_unused]] const bool flexible = {condition(s.flexible, s.served)};"


def emit_decode(s):
    q = qualified(s)
    o = [f"void {q}::decode(ByteReader& r, [[maybe_unused]] int16_t version) {{",
         "  if (!wire::check_version(r, version, kMinVersion, kMaxVersion)) return;",
         f"  *this = {s.name}{{}};", "  " + flexible_line(s)]
    for cond, stmts in grouped((condition(f.regular, s.served), [f.decode_stmt()])
                               for f in s.fields):
        o += wrap_if(cond, stmts)
    flex = condition(s.flexible, s.served)
    tagged = s.tagged_fields
    if not tagged:
        o += wrap_if(flex, ["wire::skip_tagged_fields(r);"])
    else:
        body = ["wire::read_tagged_fields(r, [&](uint32_t tag) {", "  switch (tag) {"]
        for f in tagged:
            body.append(f"    case {f.tag}:")
            cond = condition(f.tagged, s.flexible)
            if cond != "true":
                body.append(f"      if (!({cond})) return false;")
            body.append(f"      {f.decode_stmt()}")
            body.append("      return true;")
        body += ["    default:", "      return false;", "  }", "});"]
        o += wrap_if(flex, body)
    o.append("}")
    return o


def tagged_present(f, s):
    cond = condition(f.tagged, s.flexible)  # the caller already knows the version is flexible
    test = f.non_default_test()
    return test if cond == "true" else f"({cond}) && {test}"


def emit_encode(s):
    q = qualified(s)
    o = [f"void {q}::encode([[maybe_unused]] ByteWriter& w, [[maybe_unused]] int16_t version) "
         "const {", "  if (version < kMinVersion || version > kMaxVersion) return;",
         "  " + flexible_line(s)]
    for cond, stmts in grouped((condition(f.regular, s.served), [f.encode_stmt()])
                               for f in s.fields):
        o += wrap_if(cond, stmts)
    flex = condition(s.flexible, s.served)
    tagged = s.tagged_fields
    if not tagged:
        o += wrap_if(flex, ["w.write_uvarint(0);"])
    else:
        body = [f"const bool has_{f.name} = {tagged_present(f, s)};" for f in tagged]
        count = " + ".join(f"static_cast<uint32_t>(has_{f.name})" for f in tagged)
        body.append(f"w.write_uvarint({count});")
        for f in tagged:
            body += [f"if (has_{f.name}) {{",
                     f"  wire::write_tag_header(w, {f.tag}, {f.size_expr()});",
                     f"  {f.encode_stmt()}", "}"]
        o += wrap_if(flex, body)
    o.append("}")
    return o


def emit_size(s):
    q = qualified(s)
    o = [f"size_t {q}::encoded_size([[maybe_unused]] int16_t version) const {{",
         "  if (version < kMinVersion || version > kMaxVersion) return 0;",
         "  " + flexible_line(s)]
    groups = grouped((condition(f.regular, s.served), [f]) for f in s.fields)
    constant = sum(f.fixed_size() or 0 for cond, fs in groups if cond == "true" for f in fs)
    o.append(f"  size_t n = {constant};")
    for cond, fs in groups:
        fixed = sum(f.fixed_size() or 0 for f in fs)
        stmts = [f"n += {fixed};"] if fixed and cond != "true" else []
        stmts += [f"n += {f.size_expr()};" for f in fs if f.fixed_size() is None]
        o += wrap_if(cond, stmts)
    flex = condition(s.flexible, s.served)
    tagged = s.tagged_fields
    if not tagged:
        o += wrap_if(flex, ["n += 1;  // no tagged fields"])
    else:
        body = ["uint32_t tags = 0;"]
        for f in tagged:
            body += [f"if ({tagged_present(f, s)}) {{", "  ++tags;",
                     f"  n += wire::tagged_field_size({f.tag}, {f.size_expr()});", "}"]
        body.append("n += uvarint_size(tags);")
        o += wrap_if(flex, body)
    o.append("  return n;")
    o.append("}")
    return o


def first_flexible(r):
    return "kNeverFlexible" if r.empty else str(r.lo)


def emit_api_table(apis):
    o = ["// The APIs Weir serves (Apache Kafka 3.0.0's), by request api key.",
         "enum class ApiKey : int16_t {"]
    o += [f"  k{name} = {key}," for name, key, _, _, _, _ in apis]
    o += ["};", "",
          "// A first-flexible version that no version reaches: the API is never flexible.",
          "inline constexpr int16_t kNeverFlexible = INT16_MAX;", "",
          "// What Weir serves of one API, and where its flexible encoding (compact lengths,",
          "// tagged fields, the v2 request and v1 response headers) starts.",
          "struct ApiInfo {", "  ApiKey key;", "  std::string_view name;",
          "  int16_t min_version;", "  int16_t max_version;",
          "  int16_t first_flexible_request;", "  int16_t first_flexible_response;", "};", "",
          f"inline constexpr std::array<ApiInfo, {len(apis)}> kApis = {{{{"]
    for name, key, lo, hi, req_flex, resp_flex in apis:
        o.append(f'    {{ApiKey::k{name}, "{name}", {lo}, {hi}, {first_flexible(req_flex)}, '
                 f"{first_flexible(resp_flex)}}},")
    o += ["}};", "",
          "// The entry of an api key Weir serves, or nullptr.",
          "const ApiInfo* find_api(int16_t key);",
          "inline const ApiInfo* find_api(ApiKey key) {",
          "  return find_api(static_cast<int16_t>(key));", "}",
          '// "Produce", ...; "Unknown" for a key Weir does not serve.',
          "std::string_view api_name(ApiKey key);",
          "std::optional<ApiKey> api_key_from_int(int16_t key);",
          "std::ostream& operator<<(std::ostream& os, ApiKey key);", "",
          "// The header versions that go with a request of (key, version), as Kafka computes",
          "// them from the schemas' flexible versions. Defined for every version, served or not",
          "// (the broker must read the header of a request it will refuse); a key Weir does",
          "// not serve gets the classic headers (request v1, response v0).",
          "int16_t request_header_version(ApiKey key, int16_t version);",
          "int16_t response_header_version(ApiKey key, int16_t version);", ""]
    return o


def emit_header(messages, apis):
    o = [NOTE,
         "// Kafka's wire messages, one struct per request, response and header, generated from",
         "// Kafka's JSON schemas for the versions Weir serves (kApis). A struct's fields are the",
         "// union over those versions; decode(r, version) reads exactly the fields the version",
         "// carries and leaves the others at their defaults, encode(w, version) writes them, and",
         "// encoded_size(version) is exact. Nested structs are nested types of their message.",
         "// See broker/kafka/protocol/README.md.",
         "#pragma once", "",
         "#include <array>", "#include <cstddef>", "#include <cstdint>", "#include <optional>",
         "#include <ostream>", "#include <string>", "#include <string_view>", "#include <vector>",
         "",
         '#include "broker/kafka/protocol/wire.h"', '#include "runtime/bytes/byte_reader.h"',
         '#include "runtime/bytes/byte_writer.h"', "",
         "namespace weir::kafka {", ""]
    o += emit_api_table(apis)
    for m in messages:
        o += emit_struct_decl(m.root)
        o.append("")
    o += ["// Lists of types, for code (and tests) that must cover every message.",
          "template <class... T>", "struct TypeList {};"]
    for kind, title in (("request", "AllRequests"), ("response", "AllResponses"),
                        ("header", "AllHeaders")):
        names = [m.name for m in messages if m.kind == kind]
        o.append(f"using {title} = TypeList<{', '.join(names)}>;")
    o += ["", "}  // namespace weir::kafka"]
    return "\n".join(o) + "\n"


def emit_api_functions(apis):
    o = ["const ApiInfo* find_api(int16_t key) {",
         "  for (const ApiInfo& api : kApis) {",
         "    if (static_cast<int16_t>(api.key) == key) return &api;", "  }",
         "  return nullptr;", "}", "",
         "std::string_view api_name(ApiKey key) {",
         "  const ApiInfo* api = find_api(key);",
         '  return api != nullptr ? api->name : "Unknown";', "}", "",
         "std::optional<ApiKey> api_key_from_int(int16_t key) {",
         "  if (find_api(key) == nullptr) return std::nullopt;",
         "  return static_cast<ApiKey>(key);", "}", "",
         "std::ostream& operator<<(std::ostream& os, ApiKey key) {",
         "  return os << api_name(key) << '(' << static_cast<int16_t>(key) << ')';", "}", "",
         "int16_t request_header_version(ApiKey key, int16_t version) {"]
    for name, version in sorted(REQUEST_HEADER_V0):
        if any(a[0] == name for a in apis):
            o.append(f"  if (key == ApiKey::k{name} && version == {version}) return 0;")
    o += ["  const ApiInfo* api = find_api(key);",
          "  return api != nullptr && version >= api->first_flexible_request ? 2 : 1;", "}", "",
          "int16_t response_header_version(ApiKey key, int16_t version) {"]
    for name in sorted(RESPONSE_HEADER_V0_APIS):
        if any(a[0] == name for a in apis):
            o.append(f"  if (key == ApiKey::k{name}) return 0;")
    o += ["  const ApiInfo* api = find_api(key);",
          "  return api != nullptr && version >= api->first_flexible_response ? 1 : 0;", "}", ""]
    return o


def emit_source(messages, apis, header_name, with_api_functions):
    o = [NOTE, f'#include "broker/kafka/protocol/{header_name}"', "",
         "namespace weir::kafka {", ""]
    if with_api_functions:
        o += emit_api_functions(apis)
    for m in messages:
        for s in m.structs:
            o += emit_decode(s) + [""] + emit_encode(s) + [""] + emit_size(s) + [""]
    o.append("}  // namespace weir::kafka")
    return "\n".join(o) + "\n"


ERROR_NOTE = ("// Generated by broker/kafka/protocol/gen_kafka.py from its ERRORS table. Do not edit:\n"
              "// change the table and rerun it.\n")


def emit_error_header():
    o = [ERROR_NOTE,
         "// Kafka's error codes, as every response carries them (int16 fields named",
         "// ErrorCode), with Kafka's names for logs and whether a client may retry.",
         "#pragma once", "", "#include <cstdint>", "#include <ostream>", "#include <string_view>",
         "", "namespace weir::kafka {", "",
         "// kNone is success; every other code is Kafka's, by its number.",
         "enum class ErrorCode : int16_t {"]
    o += [f"  {pascal_from_upper(name)} = {code}," for code, name, _ in ERRORS]
    o += ["};", "",
          '// Kafka\'s upper-case name ("UNKNOWN_TOPIC_OR_PARTITION"); "UNKNOWN_ERROR_CODE" for a',
          "// code this table does not list.",
          "std::string_view error_name(ErrorCode code);",
          "// Whether Kafka's clients retry a request that failed with `code` (a leader moved, a",
          "// coordinator is loading...) rather than surface the error.",
          "bool is_retriable(ErrorCode code);",
          "inline int16_t error_code_value(ErrorCode code) {",
          "  return static_cast<int16_t>(code);", "}",
          "// NAME(code)", "std::ostream& operator<<(std::ostream& os, ErrorCode code);", "",
          "}  // namespace weir::kafka"]
    return "\n".join(o) + "\n"


def emit_error_source():
    o = [ERROR_NOTE, '#include "broker/kafka/protocol/error_codes.h"', "",
         "namespace weir::kafka {", "",
         "std::string_view error_name(ErrorCode code) {", "  switch (code) {"]
    for _, name, _ in ERRORS:
        o += [f"    case ErrorCode::{pascal_from_upper(name)}:", f'      return "{name}";']
    o += ["  }", '  return "UNKNOWN_ERROR_CODE";', "}", "",
          "bool is_retriable(ErrorCode code) {", "  switch (code) {"]
    for _, name, retriable in ERRORS:
        if retriable:
            o.append(f"    case ErrorCode::{pascal_from_upper(name)}:")
    o += ["      return true;", "    default:", "      return false;", "  }", "}", "",
          "std::ostream& operator<<(std::ostream& os, ErrorCode code) {",
          "  return os << error_name(code) << '(' << error_code_value(code) << ')';", "}", "",
          "}  // namespace weir::kafka"]
    return "\n".join(o) + "\n"


# ---- main ---------------------------------------------------------------------------------


def load_messages(schema_dir):
    messages, apis = [], []
    for name, lo, hi in HEADERS:
        messages.append(Message(load_schema(schema_dir, name), lo, hi))
    for name, key, lo, hi in sorted(APIS, key=lambda a: a[1]):
        pair = []
        for kind in ("Request", "Response"):
            schema = load_schema(schema_dir, name + kind)
            if schema.get("apiKey") != key or schema.get("type") != kind.lower():
                fail(f"{name}{kind}: expected a {kind.lower()} with api key {key}")
            pair.append(Message(schema, lo, hi, api=name))
        messages += pair
        apis.append((name, key, lo, hi, pair[0].flexible, pair[1].flexible))
    return messages, apis


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.normpath(os.path.join(here, "..", "..", ".."))
    args = sys.argv[1:]
    if len(args) > 2 or any(a.startswith("-") for a in args):
        sys.exit(__doc__)
    schema_dir = args[0] if args else os.path.join(repo, "..", "shared", "reference", "kafka",
                                                   "messages")
    out_dir = args[1] if len(args) > 1 else here
    messages, apis = load_messages(schema_dir)
    write_formatted(os.path.join(out_dir, "messages.h"), emit_header(messages, apis))
    write_formatted(os.path.join(out_dir, "messages.cc"),
                    emit_source(messages, apis, "messages.h", True))
    write_formatted(os.path.join(out_dir, "error_codes.h"), emit_error_header())
    write_formatted(os.path.join(out_dir, "error_codes.cc"), emit_error_source())


def write_formatted(path, text):
    """Writes `text`, through the repository's clang-format when it is installed."""
    clang_format = shutil.which("clang-format")
    if clang_format:
        # The style is the repository's, wherever the output goes (the check regenerates into a
        # temporary directory, which has no .clang-format of its own).
        here = os.path.dirname(os.path.abspath(__file__))
        assumed = os.path.join(here, os.path.basename(path))
        text = subprocess.run([clang_format, "-style=file", f"--assume-filename={assumed}"],
                              input=text, capture_output=True, text=True, check=True).stdout
    else:
        print(f"gen_kafka.py: clang-format not found, {path} is unformatted", file=sys.stderr)
    with open(path, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
