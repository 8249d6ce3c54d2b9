#!/usr/bin/python3
"""kazoo (python3-kazoo) against three real `weir coord` servers: CRUD, sequential nodes,
ephemerals, watches, transactions, a session that moves when its server stops, and the time
a write takes to succeed again after the leader is killed. No session in this test may ever
be told it expired. Usage: kazoo_test.py WEIR"""
import logging, os, signal, sys, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ensemble import Ensemble

try:
    from kazoo.client import KazooClient
    from kazoo.exceptions import ConnectionLoss, SessionExpiredError
except ImportError:
    print("SKIP: python3-kazoo is not installed (scripts/install-deps.sh installs it)")
    sys.exit(77)


class Recorder(logging.Handler):
    """Keeps kazoo's log lines: a client that logs "Session has expired" was told so by a
    server (a ConnectResponse with timeout 0), which must not happen to a live session."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


recorder = Recorder()
logging.getLogger("kazoo").addHandler(recorder)
logging.getLogger("kazoo").setLevel(logging.INFO)
logging.basicConfig(level=logging.WARNING, format="%(relativeCreated)d %(name)s %(message)s")

with Ensemble(sys.argv[1]) as ens:
    port = ens.client_port
    assert ens.four(1, "ruok") == "imok"
    zk = KazooClient(hosts=f"127.0.0.1:{port(1)}", timeout=4)
    zk.start(timeout=15)
    zk.create("/k", b"v0")
    assert zk.get("/k")[0] == b"v0"
    zk.set("/k", b"v1", version=0)
    assert zk.get("/k")[1].version == 1
    seq = [zk.create("/k/s-", sequence=True) for _ in range(3)]
    assert seq == ["/k/s-0000000000", "/k/s-0000000001", "/k/s-0000000002"], seq
    assert sorted(zk.get_children("/k")) == ["s-0000000000", "s-0000000001", "s-0000000002"]
    fired = threading.Event()
    zk.get("/k", watch=lambda e: fired.set())
    other = KazooClient(hosts=f"127.0.0.1:{port(2)}", timeout=4)
    other.start(timeout=15)
    other.set("/k", b"v2")
    assert fired.wait(5), "watch did not fire"
    t = zk.transaction()
    t.check("/k", 99)
    t.create("/k/never")
    res = t.commit()
    assert zk.exists("/k/never") is None, res
    eph = other.create("/e", ephemeral=True)
    other.stop()  # closeSession: the ephemeral goes at once
    zk.sync("/e")
    assert zk.exists(eph) is None

    # A session moves: its server stops, the client reconnects elsewhere with its session.
    mover = KazooClient(hosts=ens.hosts(), timeout=6)
    mover.start(timeout=15)
    mover.create("/mover", ephemeral=True)
    moved_from = ens.server_of_port(mover._connection._socket.getpeername()[1])
    sid = mover.client_id[0]
    ens.kill(moved_from, signal.SIGTERM)
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            if mover.exists("/mover") is not None:
                break
        except (ConnectionLoss, SessionExpiredError):
            time.sleep(0.1)
    assert mover.client_id[0] == sid
    assert mover.exists("/mover") is not None
    ens.start(moved_from)
    ens.wait_serving()
    mover.stop()

    # Leader failover: kill -9 the leader, time until the next write of a client that knows
    # every server succeeds. While kazoo reconnects it fails calls with ConnectionLoss or (its
    # way of saying "not connected") SessionExpiredError; the session must be the same after.
    writer = KazooClient(hosts=ens.hosts(), timeout=6)
    writer.start(timeout=15)
    writer.set("/k", b"before-failover")
    sid = writer.client_id[0]
    leader = ens.leader()
    ens.kill(leader, signal.SIGKILL)
    start = time.time()
    while True:
        try:
            writer.set("/k", b"after-failover")
            break
        except (ConnectionLoss, SessionExpiredError):
            assert time.time() - start < 20, "no successful write 20 s after killing the leader"
            time.sleep(0.01)
    print(f"leader failover (kazoo): {time.time() - start:.2f} s (killed server {leader})", flush=True)
    assert writer.client_id[0] == sid
    assert writer.get("/k")[0] == b"after-failover"
    ens.start(leader)
    ens.wait_serving()
    writer.stop()
    zk.stop()

    expired = [l for l in recorder.lines if "Session has expired" in l]
    assert not expired, f"a live session was told it expired: {expired}"
    print("kazoo test passed")
