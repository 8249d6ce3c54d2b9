#!/usr/bin/python3
"""Failover of a partition leader, real processes: one standalone `weir coord` and three
`weir broker`s on 127.0.0.1 (replication factor 3, min.insync.replicas 2). A librdkafka
producer (confluent-kafka) writes one record every 5 ms with acks=all; each run kills the
partition's leader with SIGKILL and measures from the kill to the first acknowledgement of a
record sent after it. The killed broker is started again and the ISR refilled before the next
run. Prints each run and the median and max.

Usage: broker-failover.py WEIR [--runs N] [--session-ms MS]

In Kafka's ZooKeeper mode the controller learns of a dead broker when its coord session
expires, so zookeeper.session.timeout.ms bounds failover from below (coord's tickTime is 2 s
here: sessions of 4 s at least)."""
import argparse, os, signal, statistics, sys, threading, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "broker",
                                "real"))
import cluster as harness  # noqa: E402
from confluent_kafka import Producer  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402


class Writer:
    """Sends a record every 5 ms; remembers when each was sent and when acknowledged."""

    def __init__(self, bootstrap, topic):
        self.p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 0,
                           "retry.backoff.ms": 20, "message.timeout.ms": 60000,
                           "topic.metadata.refresh.interval.ms": 1000})
        self.topic = topic
        self.acks = []  # (sent at, acknowledged at)
        self.failed = 0
        self.stop = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop:
            sent = time.monotonic()

            def done(err, msg, sent=sent):
                if err is None:
                    self.acks.append((sent, time.monotonic()))
                else:
                    self.failed += 1
            self.p.produce(self.topic, value=b"x" * 100, callback=done)
            self.p.poll(0.005)
        self.p.flush(30)

    def first_ack_sent_after(self, t):
        got = [a for s, a in self.acks if s >= t]
        return min(got) if got else None


def one_run(c, topic, run):
    leader = c.wait_leader(topic, isr=3, timeout=60)
    w = Writer(c.bootstrap(), topic)
    harness.wait_until("acknowledgements before the kill", lambda: len(w.acks) > 50, timeout=30)
    killed_at = time.monotonic()
    c.kill_broker(leader, sig=signal.SIGKILL)
    harness.wait_until("an acknowledgement after the kill",
                       lambda: w.first_ack_sent_after(killed_at) is not None, timeout=120,
                       interval=0.01)
    took = w.first_ack_sent_after(killed_at) - killed_at
    w.stop = True
    w.thread.join()
    new = c.wait_leader(topic, not_in=(leader,), timeout=60)
    print(f"run {run}: killed leader {leader}, new leader {new}, next acknowledged produce after "
          f"{took:.3f} s ({w.failed} deliveries failed)", flush=True)
    c.start_broker(leader)
    c.wait_leader(topic, isr=3, timeout=90)
    return took


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("weir")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--session-ms", type=int, default=6000)
    a = ap.parse_args()
    extra = harness.replication_props(extra=f"zookeeper.session.timeout.ms={a.session_ms}\n")
    c = harness.Cluster(a.weir, brokers=3, extra_props=extra)
    try:
        c.start_coord()
        for i in range(3):
            c.start_broker(i)
        c.wait_ready()
        topic = "failover"
        admin = AdminClient({"bootstrap.servers": c.bootstrap()})
        for f in admin.create_topics([NewTopic(topic, 1, 3)]).values():
            f.result(30)
        took = [one_run(c, topic, r) for r in range(a.runs)]
        print(f"failover (kill -9 of the leader to the next acknowledged produce), "
              f"zookeeper.session.timeout.ms={a.session_ms}, {a.runs} runs: "
              f"median {statistics.median(took):.3f} s, max {max(took):.3f} s, "
              f"min {min(took):.3f} s")
    finally:
        c.close()


if __name__ == "__main__":
    main()
