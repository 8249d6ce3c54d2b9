#!/usr/bin/python3
"""Runs the ZooKeeper C client test program against three real `weir coord` servers and does
what it asks on its '@' lines (kill -9 and restart a server, kill the leader).
Usage: c_client_test.py WEIR C_CLIENT_TEST"""
import os, signal, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ensemble import Ensemble

weir, program = sys.argv[1], sys.argv[2]

# Generous session limits: the machine is shared and slow at times, and the test chooses its
# own timeouts (1.5 s for the session it lets expire, 8 s for the one that must survive).
with Ensemble(weir, extra_config="maxSessionTimeout=20000\n") as ens:
    child = subprocess.Popen([program, ens.hosts()], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True, bufsize=1)
    seen = []
    try:
        for line in child.stdout:
            line = line.rstrip("\n")
            print(line, flush=True)
            seen.append(line)
            if not line.startswith("@"):
                continue
            words = line[1:].split()
            if words[0] == "kill9-restart":
                # The server the client is connected to dies without a goodbye and comes back.
                i = ens.server_of_port(int(words[1]))
                ens.kill(i, signal.SIGKILL)
                ens.start(i)
                answer = "ok"
            elif words[0] == "kill-leader":
                leader = ens.wait_serving()  # every server back from earlier steps first
                ens.kill(leader, signal.SIGKILL)
                answer = f"ok {leader}"
            elif words[0] == "wait-serving":
                ens.wait_serving()
                answer = "ok"
            elif words[0] == "start":
                ens.start(int(words[1]))
                ens.wait_serving()
                answer = "ok"
            else:
                answer = f"unknown request {words[0]}"
            print(f"driver: {line[1:]} -> {answer}", flush=True)
            child.stdin.write(answer + "\n")
            child.stdin.flush()
        rc = child.wait(30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert rc == 0, f"c_client_test exited with {rc}"
    assert "c client test passed" in seen
    assert any(l.startswith("leader failover: ") for l in seen)
    print("c client ensemble test passed")
