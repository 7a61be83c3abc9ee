#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""vigil-server under valgrind memcheck with 50 streaming clients (plus
every other endpoint, bad requests, clients vanishing mid-frame and a
capture restart): 0 errors and 0 bytes definitely lost at exit."""
import os
import re
import shutil
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ in the tree
import hlib  # noqa: E402
from hlib import vt  # noqa: E402

t = vt.Tap()


def check_memcheck(log, what, tail):
    """No memcheck error and no definite leak in valgrind's log."""
    text = open(log, errors="replace").read()
    m = re.search(r"ERROR SUMMARY: (\d+) errors", text)
    t.ok(m and m.group(1) == "0", f"{what}: {m.group(0) if m else 'no summary'}",
         "\n".join(text.splitlines()[-tail:]))
    lost = re.search(r"definitely lost: ([\d,]+) bytes", text)
    t.ok(("All heap blocks were freed" in text) or (lost and lost.group(1) == "0"),
         f"{what}: {lost.group(0) if lost else 'all heap blocks freed'}")

VALGRIND = shutil.which("valgrind")
if VALGRIND is None:
    t.ok(False, "valgrind is installed (deploy/deps.sh test set)")
    t.done()

hlib.raise_nofile(4096)
cam = vt.camera_name("vg")
cap = hlib.start_capture(cam, size="320x240")
log = os.path.join(vt.BUILD, "test-logs", f"valgrind-server-{os.getpid()}.log")
srv, addr = vt.start_server(
    cam, wrap=[VALGRIND, "--tool=memcheck", "--leak-check=full", "--show-leak-kinds=definite",
               "--errors-for-leak-kinds=definite", "--track-origins=yes",
               "--num-callers=30", f"--log-file={log}"])
# Under valgrind the server loads and instruments every shared library it
# links (libavformat's for playback: over a hundred), which takes tens of
# seconds on a loaded 2-core machine before it listens.
ok = vt.wait_for(lambda: vt.health(addr)[0] == 200 or not srv.alive(), 180)
if not t.ok(srv.alive() and ok, "server runs under valgrind",
            srv.output()[-500:] + "\n" + (open(log, errors="replace").read()[-1500:]
                                         if os.path.exists(log) else "no valgrind log")):
    srv.stop()
    cap.stop()
    t.done()

vs = hlib.Viewers(addr, 50, connect_timeout=20)
vs.run(6.0)
got = [sum(1 for p in v.parts if not p[1]) for v in vs.viewers]
t.ok(min(got) >= 10 and not vs.errors(),
     f"50 streaming clients receive frames under valgrind (min {min(got)}, median "
     f"{hlib.median(got)} in 6 s)", vs.errors()[:3])

# Every other path through the code while they stream.
for path in ("/", "/index.html", "/snapshot.jpg", "/healthz", "/metrics", "/state",
             "/nope", "/stream.mjpg?fps=abc", "/favicon.ico"):
    try:
        vt.http_get(addr, path, timeout=10)
    except OSError:
        pass
for path in ("/snapshot.jpg", "/stream.mjpg"):
    vt.http_get(addr, path, method="HEAD", timeout=10)
for data in (b"GARBAGE\r\n\r\n", b"POST /x HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
             b"GET /healthz HTTP/1.1\r\n" + b"X: y\r\n" * 3000 + b"\r\n"):
    hlib.raw(addr, data, timeout=10)
# Clients that vanish mid-frame (reset) and a slow one that reads nothing.
for _ in range(10):
    s = vt.connect(addr, 10)
    s.sendall(b"GET /stream.mjpg HTTP/1.1\r\nHost: a\r\n\r\n")
    s.recv(1000)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
slow = vt.connect(addr, 10)
slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
slow.sendall(b"GET /stream.mjpg HTTP/1.1\r\nHost: a\r\n\r\n")
# A capture restart: offline picture, re-attach, new generation.
cap.kill()
vs.run(3.0)
cap = hlib.start_capture(cam, size="320x240", keep=True)
vs.run(4.0)
t.ok(not vs.errors() and vs.open_count() == 50, "clients survive the capture restart",
     vs.errors()[:3])
vs.close()
slow.close()
rc = srv.stop(timeout=60)
t.eq(rc, 0, "server exits 0 on SIGTERM under valgrind")
check_memcheck(log, "memcheck", 60)
cap.stop()

# vigil-capture too: its stdin source fed JPEGs between random bytes, then
# end of input (the splitter is what faces hostile input in capture).
import random  # noqa: E402
import subprocess  # noqa: E402
cam2 = vt.camera_name("vgc")
vt.remove_ring(cam2)
log2 = os.path.join(vt.BUILD, "test-logs", f"valgrind-capture-{os.getpid()}.log")
rng = random.Random(3)
r = subprocess.run(["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i",
                    "testsrc=size=320x240:rate=10", "-frames:v", "5", "-f", "image2pipe",
                    "-vcodec", "mjpeg", "-"], capture_output=True, timeout=30)
parts = r.stdout.split(b"\xff\xd9\xff\xd8")
frames = [(b"" if i == 0 else b"\xff\xd8") + p + (b"" if i == len(parts) - 1 else b"\xff\xd9")
          for i, p in enumerate(parts)]
feed = b"".join(rng.getrandbits(8 * 3000).to_bytes(3000, "little") + f for f in frames)
c = subprocess.run([VALGRIND, "--tool=memcheck", "--leak-check=full",
                    "--show-leak-kinds=definite", "--errors-for-leak-kinds=definite",
                    f"--log-file={log2}", vt.CAPTURE, "--camera", cam2, "--source", "stdin",
                    "--slot-size", "1M"], input=feed, capture_output=True, timeout=120)
vt.remove_ring(cam2)
err = c.stderr.decode(errors="replace")
t.ok(c.returncode == 0 and f" {len(frames)} frames published" in err and len(frames) == 5,
     "capture under valgrind: 5 JPEGs among garbage published, clean exit", err[-400:])
check_memcheck(log2, "capture memcheck", 40)
t.done()
