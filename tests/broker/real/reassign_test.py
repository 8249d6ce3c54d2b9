#!/usr/bin/python3
"""Partition reassignment on four real `weir broker` processes: a partition of a topic placed on
brokers {0,1,2} moves to {1,2,3} while kafka-python produces with acks=all. Afterwards every
broker's Metadata shows replicas and ISR {1,2,3} and a leader among them, broker 3 holds the log
and broker 0 has deleted its directory, ListPartitionReassignments lists nothing, and every
acknowledged record is read back. kafka-python 2.0.2 (Debian's) has no admin call for KIP-455,
so AlterPartitionReassignments and ListPartitionReassignments go as raw v0 requests (flexible:
request header v2, response header v1). Usage: reassign_test.py WEIR"""
import os, socket, struct, sys, threading

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import Cluster, expect_eq, ok, replication_props, wait_until  # noqa: E402

try:
    import logging
    from confluent_kafka.admin import AdminClient, NewTopic
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
except ImportError as e:
    print(f"SKIP: a Kafka client module is missing ({e})")
    sys.exit(77)
logging.getLogger("kafka").setLevel(logging.CRITICAL)


def uvarint(n):
    out = b""
    while n >= 0x80:
        out += bytes([(n & 0x7F) | 0x80])
        n >>= 7
    return out + bytes([n])


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, fmt):
        v = struct.unpack_from(">" + fmt, self.data, self.pos)
        self.pos += struct.calcsize(">" + fmt)
        return v[0]

    def uvarint(self):
        n, shift = 0, 0
        while True:
            b = self.data[self.pos]
            self.pos += 1
            n |= (b & 0x7F) << shift
            if b < 0x80:
                return n
            shift += 7

    def string(self):  # compact nullable
        n = self.uvarint()
        if n == 0:
            return None
        s = self.data[self.pos:self.pos + n - 1].decode()
        self.pos += n - 1
        return s

    def ints(self):
        return [self.take("i") for _ in range(self.uvarint() - 1)]


def flexible_request(port, api_key, body):
    """A v0 request of a flexible-from-0 api; the response body after header v1."""
    client = b"weir-reassign-test"
    frame = struct.pack(">hhih", api_key, 0, 77, len(client)) + client + b"\x00" + body
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(struct.pack(">i", len(frame)) + frame)
        data = b""
        while len(data) < 4 or len(data) < 4 + struct.unpack(">i", data[:4])[0]:
            chunk = s.recv(65536)
            assert chunk, "the broker closed the connection"
            data += chunk
    r = Reader(data[4:])
    expect_eq(r.take("i"), 77, "correlation id")
    expect_eq(r.uvarint(), 0, "response header tagged fields")
    return r


def alter(port, topic, partition, replicas):
    """AlterPartitionReassignments v0: (top-level error, partition error)."""
    reps = b"\x00" if replicas is None else uvarint(len(replicas) + 1) + b"".join(
        struct.pack(">i", b) for b in replicas)
    body = (struct.pack(">i", 30000) + uvarint(2) + uvarint(len(topic) + 1) + topic.encode() +
            uvarint(2) + struct.pack(">i", partition) + reps + b"\x00" + b"\x00" + b"\x00")
    r = flexible_request(port, 45, body)
    r.take("i")
    top = r.take("h")
    r.string()
    if r.uvarint() != 2:
        return top, None
    r.string()
    r.uvarint()
    r.take("i")
    return top, r.take("h")


def ongoing(port):
    """ListPartitionReassignments v0 (all topics): {(topic, p): (replicas, adding, removing)}."""
    r = flexible_request(port, 46, struct.pack(">i", 30000) + b"\x00" + b"\x00")
    r.take("i")
    expect_eq(r.take("h"), 0, "ListPartitionReassignments error")
    r.string()
    out = {}
    for _ in range(r.uvarint() - 1):
        name = r.string()
        for _ in range(r.uvarint() - 1):
            p = r.take("i")
            out[(name, p)] = (r.ints(), r.ints(), r.ints())
            r.uvarint()
        r.uvarint()
    return out


def main(weir):
    with Cluster(weir, brokers=4, extra_props=replication_props(rf=3, min_isr=2)) as c:
        a = AdminClient({"bootstrap.servers": c.bootstrap(), "client.id": "weir-reassign-admin"})
        (f,) = a.create_topics([NewTopic("moving", 1, replica_assignment=[[0, 1, 2]])],
                               operation_timeout=15, request_timeout=20).values()
        f.result(timeout=30)
        c.wait_isr("moving", 0, size=3)
        expect_eq(alter(c.broker_port(1), "nope", 0, [1, 2, 3]), (0, 3), "unknown topic")
        expect_eq(alter(c.broker_port(1), "moving", 0, [1, 1, 2]), (0, 39), "duplicate replica")
        expect_eq(alter(c.broker_port(1), "moving", 0, None), (0, 85), "nothing to cancel")
        acked, failed, stop = [], [], threading.Event()

        def produce():
            p = KafkaProducer(bootstrap_servers=c.bootstrap(), acks="all", retries=1000,
                              retry_backoff_ms=200, request_timeout_ms=10000, linger_ms=5,
                              metadata_max_age_ms=2000)
            i = 0
            while not stop.is_set():
                v = f"value-{i}"
                i += 1
                try:
                    md = p.send("moving", value=v.encode(), partition=0).get(timeout=60)
                    acked.append((md.offset, v))
                except Exception as e:  # a failed send is not a loss; counted
                    failed.append((v, repr(e)))
            p.close(10)

        t = threading.Thread(target=produce)
        t.start()
        wait_until("300 acknowledged records", lambda: len(acked) >= 300, timeout=60)
        expect_eq(alter(c.broker_port(2), "moving", 0, [1, 2, 3]), (0, 0), "reassign to 1,2,3")

        def moved():
            views = [c.partition("moving", 0, via=i) for i in range(4)]
            return all(st and st[0] == 0 and sorted(st[2]) == [1, 2, 3] and sorted(st[3]) == [1, 2, 3]
                       and st[1] in (1, 2, 3) for st in views)
        wait_until("every broker shows replicas and ISR 1,2,3", moved, timeout=60)
        n = len(acked)
        wait_until("300 more acknowledged records", lambda: len(acked) >= n + 300, timeout=60)
        stop.set()
        t.join(120)
        expect_eq(ongoing(c.broker_port(0)), {}, "ongoing reassignments after completion")
        wait_until("broker 0 deleted moving-0",
                   lambda: not os.path.isdir(c.partition_dir(0, "moving", 0)), timeout=30)
        expect_eq(os.path.isdir(c.partition_dir(3, "moving", 0)), True, "broker 3 holds moving-0")
        cons = KafkaConsumer(bootstrap_servers=c.bootstrap(), auto_offset_reset="earliest",
                             enable_auto_commit=False, consumer_timeout_ms=10000)
        cons.assign([TopicPartition("moving", 0)])
        cons.seek_to_beginning()
        log = {}
        for m in cons:
            log[m.offset] = m.value.decode()
            if len(log) > max(o for o, _ in acked):
                break
        cons.close()
        lost = [(o, v) for o, v in acked if log.get(o) != v]
        expect_eq(lost, [], "acknowledged records missing or changed")
        ok(f"reassigned 0,1,2 -> 1,2,3 under acks=all: {len(acked)} acknowledged, all read back "
           f"({len(failed)} sends failed, not acknowledged)")


if __name__ == "__main__":
    main(sys.argv[1])
