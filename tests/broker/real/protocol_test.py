#!/usr/bin/python3
"""Raw Kafka protocol edges against one real `weir broker`: what a client gets for versions and
APIs the broker does not serve, for oversized and malformed frames, and what an operator finds
in coord (Kafka's ZooKeeper layout, read with kazoo). Usage: protocol_test.py WEIR"""
import json, os, socket, struct, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import Cluster, api_versions, expect_eq, kafka_request, ok, wait_until

try:
    from kazoo.client import KazooClient
except ImportError:
    print("SKIP: python3-kazoo is not installed (scripts/install-deps.sh installs it)")
    sys.exit(77)

# Kafka 3.0.0's ranges for the APIs Weir serves (kafka-python infers the release from them).
KAFKA_3_0 = {0: (0, 9), 1: (0, 12), 2: (0, 7), 3: (0, 11), 4: (0, 5), 5: (0, 3), 6: (0, 7),
             7: (0, 3), 8: (0, 8), 9: (0, 8), 10: (0, 4), 11: (0, 7), 12: (0, 4), 13: (0, 4),
             14: (0, 5), 15: (0, 5), 16: (0, 4), 18: (0, 3), 19: (0, 7), 20: (0, 6), 21: (0, 2),
             22: (0, 4), 23: (0, 4), 32: (0, 4), 37: (0, 3), 42: (0, 2), 43: (0, 2), 45: (0, 0),
             46: (0, 0), 47: (0, 0), 60: (0, 0)}


def closed_without_answer(port, frame, timeout=5.0):
    """True when the broker closes the connection without sending anything."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(frame)
        try:
            return s.recv(4096) == b""
        except ConnectionResetError:
            return True


def header(api_key, version, corr=7, client=b"edge"):
    return struct.pack(">hhih", api_key, version, corr, len(client)) + client


def framed(body):
    return struct.pack(">i", len(body)) + body


def init_producer_id(port, transactional_id=None):
    """InitProducerId v1: (throttle_time_ms, error_code, producer_id, producer_epoch)."""
    if transactional_id is None:
        tid = struct.pack(">h", -1)
    else:
        tid = struct.pack(">h", len(transactional_id)) + transactional_id
    rsp = kafka_request(port, 22, 1, body=tid + struct.pack(">i", 60000))
    expect_eq(rsp is not None, True, "InitProducerId answered")
    return struct.unpack(">ihqh", rsp)


def main(weir):
    with Cluster(weir, partitions=2, extra_props="socket.request.max.bytes=1048576\n") as c:
        port = c.broker_port(0)
        err, keys = api_versions(port)
        expect_eq(err, 0, "ApiVersions v0 error")
        expect_eq(keys, KAFKA_3_0, "advertised versions")
        ok("ApiVersions v0: Kafka 3.0.0's ranges for every API served")

        # A newer ApiVersions than served: a v0 answer, UNSUPPORTED_VERSION, and the list.
        rsp = kafka_request(port, 18, 9, body=b"")
        expect_eq(rsp is not None, True, "ApiVersions v9 answered")
        error, n = struct.unpack(">hi", rsp[:6])
        expect_eq((error, n), (35, len(KAFKA_3_0)), "ApiVersions v9: UNSUPPORTED_VERSION + list")
        ok("ApiVersions v9: v0 answer with UNSUPPORTED_VERSION and the versions")

        # Idempotent producers get a new id each time, from Kafka's first block, with epoch 0;
        # a transactional id is refused (transactions are not served).
        expect_eq(init_producer_id(port), (0, 0, 0, 0), "first InitProducerId")
        expect_eq(init_producer_id(port), (0, 0, 1, 0), "second InitProducerId")
        expect_eq(init_producer_id(port, b"txn")[1:], (53, -1, -1), "transactional InitProducerId")
        ok("InitProducerId: ids 0 then 1 with epoch 0; a transactional id: "
           "TRANSACTIONAL_ID_AUTHORIZATION_FAILED")

        # Unserved api, unserved version, malformed header: closed, never left hanging.
        expect_eq(closed_without_answer(port, framed(header(9999, 0))), True, "unknown api key")
        expect_eq(closed_without_answer(port, framed(header(0, 10))), True, "Produce v10")
        expect_eq(closed_without_answer(port, framed(header(24, 0))), True,
                  "AddPartitionsToTxn (unserved)")
        expect_eq(closed_without_answer(port, framed(b"\x00\x03")), True, "truncated header")
        expect_eq(closed_without_answer(port, framed(header(3, 1) + b"\xff\xff\xff")), True,
                  "Metadata v1 with a bogus topic count")
        ok("unknown api, unserved version, truncated header, bogus count: connection closed")

        # A frame over socket.request.max.bytes closes before its body is read.
        expect_eq(closed_without_answer(port, struct.pack(">i", 2 << 20) + b"x" * 1024), True,
                  "oversized frame")
        expect_eq(closed_without_answer(port, struct.pack(">i", -5)), True, "negative length")
        expect_eq(api_versions(port)[0], 0, "the broker still serves after bad frames")
        ok("frame over socket.request.max.bytes and a negative length: closed; broker serves on")

        # Metadata v1 asking for an invalid topic name: INVALID_TOPIC_EXCEPTION, nothing created.
        bad = b"bad name!"
        body = struct.pack(">i", 1) + struct.pack(">h", len(bad)) + bad
        rsp = kafka_request(port, 3, 4, body=body + b"\x01")
        expect_eq(rsp is not None, True, "Metadata v4 answered")
        expect_eq(bad in rsp and struct.pack(">h", 17) in rsp, True,
                  "Metadata for an invalid name carries error 17")
        ok("Metadata for an invalid topic name: INVALID_TOPIC_EXCEPTION")

        # What an operator finds in coord.
        rsp = kafka_request(port, 3, 4, body=struct.pack(">ih", 1, 4) + b"zkly" + b"\x01")
        expect_eq(rsp is not None, True, "auto-creating zkly")
        # The controller creates the partitions' states and then the broker their logs.
        for p in (0, 1):
            wait_until(f"zkly-{p} opened", lambda p=p: os.path.isdir(
                os.path.join(c.log_dir(0), f"zkly-{p}")), 10)
        zk = KazooClient(hosts=c.coord_hosts(), timeout=10)
        zk.start(timeout=10)
        try:
            ids = zk.get_children("/brokers/ids")
            expect_eq(ids, ["0"], "/brokers/ids")
            reg, stat = zk.get("/brokers/ids/0")
            reg = json.loads(reg)
            expect_eq(stat.ephemeralOwner != 0, True, "/brokers/ids/0 is ephemeral")
            expect_eq((reg["host"], reg["port"], reg["endpoints"], reg["version"]),
                      ("127.0.0.1", port, [f"PLAINTEXT://127.0.0.1:{port}"], 5), "broker znode")
            topic = json.loads(zk.get("/brokers/topics/zkly")[0])
            expect_eq((topic["partitions"], topic["version"], len(topic["topic_id"])),
                      ({"0": [0], "1": [0]}, 3, 22), "topic znode")
            state = json.loads(zk.get("/brokers/topics/zkly/partitions/1/state")[0])
            expect_eq((state["leader"], state["isr"], state["leader_epoch"]), (0, [0], 0),
                      "partition state")
            expect_eq(json.loads(zk.get("/config/topics/zkly")[0]), {"version": 1, "config": {}},
                      "topic config znode")
            cluster = json.loads(zk.get("/cluster/id")[0])
            expect_eq((cluster["version"], len(cluster["id"])), ("1", 22), "/cluster/id")
            expect_eq(json.loads(zk.get("/controller")[0])["brokerid"], 0, "/controller")
            expect_eq(int(zk.get("/controller_epoch")[0]) >= 1, True, "/controller_epoch")
            expect_eq(zk.get("/latest_producer_id_block")[0],
                      b'{"version":1,"broker":0,"block_start":"0","block_end":"999"}',
                      "/latest_producer_id_block")
            ok("coord holds Kafka's layout: /brokers/ids/0, topic, partition state, config, "
               "/cluster/id, /controller, /latest_producer_id_block")
            # SIGTERM: the registration goes with the session, the logs stay.
            c.stop_broker(0)
            wait_until("/brokers/ids/0 removed", lambda: zk.exists("/brokers/ids/0") is None, 10)
            meta = open(os.path.join(c.log_dir(0), "meta.properties")).read()
            expect_eq("broker.id=0" in meta and f"cluster.id={cluster['id']}" in meta, True,
                      "meta.properties")
            for name in ("recovery-point-offset-checkpoint", "log-start-offset-checkpoint"):
                text = open(os.path.join(c.log_dir(0), name)).read().splitlines()
                expect_eq(text[0], "0", f"{name} version line")
                expect_eq(sorted(text[2:]), ["zkly 0 0", "zkly 1 0"], f"{name} entries")
            ok("SIGTERM: registration removed; meta.properties and both checkpoints written")
        finally:
            zk.stop()
            zk.close()
    print("protocol: OK")


if __name__ == "__main__":
    main(sys.argv[1])
