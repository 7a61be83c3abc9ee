#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The soak of `make soak` (tests/soak.sh): capture (testsrc) and two
servers under SOAK_VIEWERS viewers for SOAK_MINUTES, with viewers joining
and leaving all the time and capture restarted (alternately kill -9 and
SIGTERM) every SOAK_RESTART_S seconds.  Prints one table row per
SOAK_SAMPLE_S window: servers' peak RSS and descriptors (sampled every
second), capture's RSS, servers' CPU, the
viewers' delivered frame rate, invalid parts; then a verdict: memory and
descriptors flat, frame rate held.  Exit 0 when flat.

Viewers: most are bench/loadgen (C, epoll, strict wire-format checks, frame
rate per client), started afresh for every window (so they all leave and
join again each window); the rest churn continuously from this process (one
leaves and another joins every SOAK_CHURN_S seconds).

Environment: SOAK_MINUTES (30), SOAK_VIEWERS (200), SOAK_SAMPLE_S (60, or
a tenth of the run when shorter), SOAK_RESTART_S (300, or a sixth of the
run), SOAK_SIZE (640x480), SOAK_FPS (24), SOAK_CHURN (50 of the viewers),
SOAK_CHURN_S (0.2)."""
import os
import random
import re
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ in the tree
import hlib  # noqa: E402
from hlib import vt  # noqa: E402

MINUTES = float(os.environ.get("SOAK_MINUTES", "30"))
TOTAL = MINUTES * 60
VIEWERS = int(os.environ.get("SOAK_VIEWERS", "200"))
SAMPLE = float(os.environ.get("SOAK_SAMPLE_S", str(max(10, min(60, TOTAL / 10)))))
RESTART = float(os.environ.get("SOAK_RESTART_S", str(min(300, TOTAL / 6))))
SIZE = os.environ.get("SOAK_SIZE", "640x480")
FPS = int(os.environ.get("SOAK_FPS", "24"))
CHURN = min(VIEWERS, int(os.environ.get("SOAK_CHURN", "50")))
CHURN_S = float(os.environ.get("SOAK_CHURN_S", "0.2"))
LOADGEN = os.path.join(vt.BUILD, "bench", "loadgen")


def out(line=""):
    print(line, flush=True)


class Churn(threading.Thread):
    """CHURN viewers that keep leaving and joining; reads and drops bytes."""

    def __init__(self, addrs):
        super().__init__(daemon=True)
        self.addrs = addrs
        self.stop = False
        self.sel = selectors.DefaultSelector()
        self.socks = []
        self.joined = self.left = self.refused = self.failed = 0

    def join_one(self):
        try:
            s = socket.create_connection(vt.split_addr(random.choice(self.addrs)), 2)
            s.sendall(b"GET /stream.mjpg HTTP/1.1\r\nHost: soak\r\n\r\n")
            s.setblocking(False)
            self.sel.register(s, selectors.EVENT_READ, [b"", False])
            self.socks.append(s)
            self.joined += 1
        except OSError:
            self.failed += 1

    def leave_one(self):
        s = self.socks.pop(random.randrange(len(self.socks)))
        self.sel.unregister(s)
        s.close()
        self.left += 1

    def run(self):
        for _ in range(CHURN):
            self.join_one()
        nxt = time.monotonic() + CHURN_S
        while not self.stop:
            for key, _ in self.sel.select(0.05):
                try:
                    b = key.fileobj.recv(1 << 18)
                except BlockingIOError:
                    continue
                except OSError:
                    b = b""
                st = key.data
                if not st[1]:
                    st[0] += b[:16]
                    if len(st[0]) >= 12:
                        st[1] = True
                        if not st[0].startswith(b"HTTP/1.1 200"):
                            self.refused += 1
                if not b:
                    self.sel.unregister(key.fileobj)
                    self.socks.remove(key.fileobj)
                    key.fileobj.close()
                    self.failed += 1
                    self.join_one()
            if time.monotonic() >= nxt and self.socks:
                nxt += CHURN_S
                self.leave_one()
                self.join_one()
        for s in list(self.socks):
            self.sel.unregister(s)
            s.close()
        self.socks.clear()


def main():
    hlib.raise_nofile(VIEWERS * 4 + 1000)
    cam = vt.camera_name("soak")
    cap = hlib.start_capture(cam, size=SIZE, fps=FPS)
    servers = [vt.start_server(cam) for _ in range(2)]
    addrs = [a for _, a in servers]
    for a in addrs:
        if not vt.wait_health(a, 200, 10):
            out(f"soak: server {a} not healthy")
            return 1
    base = [hlib.Sampler(s.pid).sample() for s, _ in servers]
    out(f"soak: {MINUTES:g} min, {VIEWERS} viewers ({VIEWERS - CHURN} loadgen, re-joining "
        f"every {SAMPLE:g} s window; {CHURN} churning, one leaves and one joins every "
        f"{CHURN_S:g} s), {SIZE} at {FPS} fps, capture restarted every {RESTART:g} s, 2 servers")
    out(f"soak: baseline before any viewer: server RSS {base[0]['rss']}/{base[1]['rss']} kB, "
        f"fds {base[0]['fds']}/{base[1]['fds']}")
    out()
    out(f"{'time':>6} {'srv1 RSS':>9} {'srv2 RSS':>9} {'fds1':>5} {'fds2':>5} "
        f"{'cap RSS':>8} {'cpu1%':>6} {'cpu2%':>6} {'fps min':>7} {'fps med':>7} "
        f"{'invalid':>7} {'churn j/l':>10} restart")
    churn = Churn(addrs)
    churn.start()
    t0 = time.monotonic()
    next_restart = t0 + RESTART
    restarts = 0
    rows = []
    lg_n = VIEWERS - CHURN
    while time.monotonic() - t0 < TOTAL - 1:
        window = min(SAMPLE, TOTAL - (time.monotonic() - t0))
        if window < 5:
            break
        c0 = [vt.cpu_seconds(s.pid) for s, _ in servers]
        w0 = time.monotonic()
        lg = None
        if lg_n > 0:
            per = lg_n // 2
            lg = subprocess.Popen([LOADGEN, "--connect", addrs[0], "--connect", addrs[1],
                                   "--clients", str(per * 2), "--warmup", "2",
                                   "--duration", f"{max(1, window - 3):.0f}"],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        restarted = ""
        end = w0 + window
        peak = [{"rss": 0, "fds": 0} for _ in servers]
        next_sample = w0 + 1
        while time.monotonic() < end:
            if time.monotonic() >= next_sample:
                next_sample += 1
                for i, (sv, _) in enumerate(servers):
                    x = hlib.Sampler(sv.pid).sample()
                    peak[i]["rss"] = max(peak[i]["rss"], x["rss"])
                    peak[i]["fds"] = max(peak[i]["fds"], x["fds"])
            if time.monotonic() >= next_restart:
                restarts += 1
                how = signal.SIGKILL if restarts % 2 else signal.SIGTERM
                cap.stop(how)
                cap = hlib.start_capture(cam, size=SIZE, fps=FPS, keep=True)
                restarted += ("kill -9 " if how == signal.SIGKILL else "SIGTERM ")
                next_restart += RESTART
            time.sleep(0.2)  # the sampling pace of the soak
        res = {}
        if lg is not None:
            try:
                text, _ = lg.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                lg.kill()
                text, _ = lg.communicate()
            res = dict(kv.split("=", 1) for kv in text.split() if "=" in kv)
        smp = [hlib.Sampler(s.pid).sample() for s, _ in servers]
        cpu = [(smp[i]["cpu"] - c0[i]) * 100 / (time.monotonic() - w0) for i in range(2)]
        row = {"t": time.monotonic() - t0,
               "rss": [max(p["rss"], x["rss"]) for p, x in zip(peak, smp)],
               "fds": [max(p["fds"], x["fds"]) for p, x in zip(peak, smp)], "cap": vt.rss_kb(cap.pid), "cpu": cpu,
               "fps_min": float(res.get("fps_min", 0)), "fps_med": float(res.get("fps_med", 0)),
               "invalid": int(res.get("invalid", 0)), "restart": restarted}
        rows.append(row)
        out(f"{row['t'] / 60:5.1f}m {row['rss'][0]:7d}kB {row['rss'][1]:7d}kB "
            f"{row['fds'][0]:5d} {row['fds'][1]:5d} {row['cap']:6d}kB {cpu[0]:6.1f} "
            f"{cpu[1]:6.1f} {row['fps_min']:7.1f} {row['fps_med']:7.1f} {row['invalid']:7d} "
            f"{churn.joined:>4}/{churn.left:<5} {restarted}")
        if not all(s.alive() for s, _ in servers):
            out("soak: a server died")
            break
    churn.stop = True
    churn.join(10)
    alive = all(s.alive() for s, _ in servers)
    vt.wait_for(lambda: all(vt.fd_count(s.pid) <= b["fds"] for (s, _), b in zip(servers, base)),
                15)
    end = [hlib.Sampler(s.pid).sample() for s, _ in servers]
    out()
    fails = []
    if not alive:
        fails.append("a server died")
    if len(rows) >= 3:
        ref = rows[1]["rss"]  # after the first window: pools and buffers made
        last = rows[-1]["rss"]
        for i in range(2):
            if last[i] > ref[i] + max(4096, ref[i] // 10):
                fails.append(f"server {i + 1} RSS grew {ref[i]} -> {last[i]} kB")
        caps = [r["cap"] for r in rows]
        if max(caps) > min(caps) + 16384:
            fails.append(f"capture RSS varies {min(caps)}..{max(caps)} kB")
    for i in range(2):
        if end[i]["fds"] > base[i]["fds"]:
            fails.append(f"server {i + 1} holds {end[i]['fds']} fds after the viewers left "
                         f"(baseline {base[i]['fds']})")
    steady = [r for r in rows if not r["restart"]]
    if steady and min(r["fps_med"] for r in steady) < 0.8 * FPS:
        fails.append(f"median viewer fps fell to {min(r['fps_med'] for r in steady):.1f}")
    if sum(r["invalid"] for r in rows):
        fails.append(f"{sum(r['invalid'] for r in rows)} invalid parts")
    out(f"soak: {len(rows)} windows, {restarts} capture restarts, {churn.joined} churn joins, "
        f"{churn.left} leaves, {churn.refused} refused, {churn.failed} dropped")
    out(f"soak: after the viewers left: server fds {end[0]['fds']}/{end[1]['fds']} (baseline "
        f"{base[0]['fds']}/{base[1]['fds']}), RSS {end[0]['rss']}/{end[1]['rss']} kB")
    if fails:
        out("soak: NOT FLAT: " + "; ".join(fails))
    else:
        out("soak: flat: memory and descriptors steady, frame rate held")
    for s, _ in servers:
        s.stop()
    cap.stop()
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
