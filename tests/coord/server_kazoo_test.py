#!/usr/bin/python3
"""Three `weir coord` processes on 127.0.0.1 serving kazoo: CRUD, sequential, ephemerals,
watches, multi, and a session that moves to another server. Usage: server_kazoo_test.py WEIR"""
import os, shutil, signal, socket, subprocess, sys, tempfile, threading, time
from kazoo.client import KazooClient

weir = sys.argv[1]
base = 21000 + os.getpid() % 2000 * 10
root = tempfile.mkdtemp(prefix="weir-coord-")
procs = []

def four(port, word):
    try:
        return four_raw(port, word)
    except OSError:
        return ""

def four_raw(port, word):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(word.encode())
        out = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                return out.decode()
            out += chunk

try:
    servers = "".join(f"server.{i}=127.0.0.1:{base + 2 * i}:{base + 100 + i}\n" for i in (1, 2, 3))
    for i in (1, 2, 3):
        d = os.path.join(root, f"s{i}")
        os.makedirs(d)
        cfg = os.path.join(d, "zoo.cfg")
        with open(cfg, "w") as f:
            f.write(f"tickTime=200\ninitLimit=10\nsyncLimit=5\ndataDir={d}\n{servers}")
        with open(os.path.join(d, "myid"), "w") as f:
            f.write(f"{i}\n")
        procs.append(subprocess.Popen([weir, "coord", "--config", cfg]))
    hosts = ",".join(f"127.0.0.1:{base + 100 + i}" for i in (1, 2, 3))
    deadline = time.time() + 30
    while not any("Mode: leader" in four(base + 100 + i, "srvr") for i in (1, 2, 3)):
        assert time.time() < deadline, "no leader"
        assert all(p.poll() is None for p in procs), "a server exited"
        time.sleep(0.3)
    assert four(base + 101, "ruok") == "imok"

    zk = KazooClient(hosts=f"127.0.0.1:{base + 101}", timeout=4)
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
    other = KazooClient(hosts=f"127.0.0.1:{base + 102}", timeout=4)
    other.start(timeout=15)
    other.set("/k", b"v2")
    assert fired.wait(5), "watch did not fire"
    t = zk.transaction()
    t.check("/k", 99)
    t.create("/k/never")
    res = t.commit()
    assert zk.exists("/k/never") is None, res
    eph = other.create("/e", ephemeral=True)
    sid = other.client_id
    other.stop()  # closeSession: the ephemeral goes at once
    time.sleep(0.3)
    assert zk.exists(eph) is None
    # A session moves: the first server dies, the client reconnects elsewhere with its session.
    mover = KazooClient(hosts=hosts, timeout=6)
    mover.start(timeout=15)
    mover.create("/mover", ephemeral=True)
    port = mover._connection._socket.getpeername()[1]
    idx = port - base - 100 - 1
    sid = mover.client_id[0]
    procs[idx].send_signal(signal.SIGTERM)
    procs[idx].wait(10)
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            if mover.exists("/mover") is not None:
                break
        except Exception:
            time.sleep(0.3)
    assert mover.client_id[0] == sid
    assert mover.exists("/mover") is not None
    mover.stop()
    zk.stop()
    print("kazoo test passed")
finally:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
    shutil.rmtree(root, ignore_errors=True)
