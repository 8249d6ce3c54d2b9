#!/usr/bin/python3
"""kazoo (python3-kazoo) against one real `weir coord` started from ZooKeeper's standalone
zoo.cfg (tickTime, dataDir, clientPort: no server.N lines, no myid). It must serve within a
second, and a session with its ephemeral node must survive kill -9 and a restart of the server.
Usage: standalone_test.py WEIR"""
import os, shutil, signal, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ensemble import four_letter, free_port_block, session_probe

try:
    from kazoo.client import KazooClient, KazooState
except ImportError:
    print("SKIP: python3-kazoo is not installed (scripts/install-deps.sh installs it)")
    sys.exit(77)

weir = sys.argv[1]
root = tempfile.mkdtemp(prefix="weir-standalone-")
port = free_port_block(1, 20000 + (os.getpid() * 7) % 11000)
cfg = os.path.join(root, "zoo.cfg")
with open(cfg, "w") as f:
    f.write(f"tickTime=2000\ndataDir={root}/data\nclientPort={port}\n4lw.commands.whitelist=srvr,mntr\n")
proc = None


def start():
    global proc
    log = open(os.path.join(root, "stdout.log"), "ab")
    proc = subprocess.Popen([weir, "coord", "--config", cfg], stdout=log, stderr=log)
    log.close()
    started = time.time()
    while not session_probe(port, timeout=1):
        assert proc.poll() is None, f"weir coord exited with {proc.returncode}"
        assert time.time() - started < 10, "standalone server not serving after 10 s"
        time.sleep(0.02)
    return time.time() - started


try:
    took = start()
    print(f"standalone: serving {took:.2f} s after start")
    assert took < 1.0, f"standalone took {took:.2f} s to serve"
    srvr = four_letter(port, "srvr")
    assert "Mode: standalone" in srvr, srvr
    assert "not in the whitelist" in four_letter(port, "cons")
    zk = KazooClient(hosts=f"127.0.0.1:{port}", timeout=10)
    zk.start(timeout=10)
    zk.create("/kept", b"data")
    zk.create("/mine", b"e", ephemeral=True)
    session = zk.client_id[0]
    states = []
    zk.add_listener(states.append)

    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    took = start()
    print(f"standalone: serving {took:.2f} s after kill -9 and restart")
    deadline = time.time() + 15
    while zk.state != KazooState.CONNECTED or KazooState.SUSPENDED not in states:
        assert time.time() < deadline, f"kazoo did not reconnect: {zk.state} {states}"
        time.sleep(0.05)
    assert KazooState.LOST not in states, states
    assert zk.client_id[0] == session, "the session did not survive the restart"
    assert zk.get("/kept")[0] == b"data"
    assert zk.exists("/mine") is not None, "the live session's ephemeral node is gone"
    mntr = dict(line.split("\t", 1) for line in four_letter(port, "mntr").splitlines())
    assert mntr["zk_server_state"] == "standalone", mntr
    assert int(mntr["zk_num_alive_connections"]) == 1, mntr
    assert int(mntr["zk_ephemerals_count"]) == 1, mntr
    assert int(mntr["zk_open_file_descriptor_count"]) > 3, mntr  # real figures on a real server
    assert int(mntr["zk_max_latency"]) >= int(mntr["zk_min_latency"]) >= 0, mntr
    zk.stop()
    zk.close()
    # A fresh client sees the ephemeral gone once its session closed.
    other = KazooClient(hosts=f"127.0.0.1:{port}", timeout=10)
    other.start(timeout=10)
    assert other.exists("/mine") is None
    other.stop()
    other.close()
    # ZooKeeper's own zkCli.sh, when the zookeeper package is there.
    zkcli = "/usr/share/zookeeper/bin/zkCli.sh"
    if os.path.exists(zkcli) and shutil.which("java"):
        cli = subprocess.run([zkcli, "-server", f"127.0.0.1:{port}"], capture_output=True, text=True,
                             input='create /cli "x"\nget /cli\nls /\nquit\n', timeout=60,
                             env=dict(os.environ, CLIENT_JVMFLAGS="-Xshare:auto -XX:TieredStopAtLevel=1"))
        text = cli.stdout + cli.stderr
        assert "Created /cli" in text and "\nx\n" in text and "cli" in text, text
        print("standalone: zkCli OK")
    print("standalone: OK")
finally:
    if proc is not None and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
    if os.environ.get("WEIR_KEEP_COORD_DIRS"):
        print(f"standalone: kept {root}", file=sys.stderr)
    else:
        shutil.rmtree(root, ignore_errors=True)
