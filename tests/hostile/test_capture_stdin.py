#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Garbage on vigil-capture's stdin: random bytes, frames that never end,
broken marker structure, and a 1 GB "frame" streamed through the pipe
(never stored).  Between the garbage, whole JPEGs: exactly those are
published, byte for byte, in order; nothing else ever reaches the ring, and
capture's memory stays bounded."""
import os
import random
import select
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ in the tree
import hlib  # noqa: E402
from hlib import vt  # noqa: E402

RINGCAT = os.path.join(vt.BUILD, "tools", "ringcat")
SLOT = 1 << 20
GIANT = 1 << 30
rng = random.Random(7)  # deterministic garbage: a failure reproduces

t = vt.Tap()
tmp = tempfile.mkdtemp(prefix="vigil-hostile-")
r = subprocess.run(["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i",
                    "testsrc=size=320x240:rate=10", "-frames:v", "4", "-q:v", "4",
                    os.path.join(tmp, "f%d.jpg")], capture_output=True)
jpegs = [open(os.path.join(tmp, f"f{i}.jpg"), "rb").read() for i in range(1, 5)]
t.ok(r.returncode == 0 and all(vt.jpeg_ok(j) for j in jpegs), "reference JPEGs made",
     r.stderr[-300:])


def header_of(j):
    """SOI .. end of the SOS header: a frame that has started its scan."""
    i = j.index(b"\xff\xda")
    n = (j[i + 2] << 8) | j[i + 3]
    return j[:i + 2 + n]


def random_bytes(n):
    return rng.getrandbits(8 * n).to_bytes(n, "little")


def sprinkled(n):
    """Random bytes full of SOI and marker look-alikes."""
    b = bytearray(random_bytes(n))
    for _ in range(n // 64):
        i = rng.randrange(0, n - 4)
        b[i:i + 4] = rng.choice([b"\xff\xd8\xff\xe0", b"\xff\xd9\xff\xd8", b"\xff\xda\x00\x08",
                                 b"\xff\xd8\xff\xdb", b"\xff\xc0\x00\x11"])
    return bytes(b)


def no_eoi(k):
    """k frames that start their scan and never end (a new SOI comes)."""
    h = header_of(jpegs[0])
    return b"".join(h + bytes([0x55]) * rng.randrange(10, 5000) for _ in range(k))


def broken_lengths():
    j = jpegs[1]
    out = []
    for cut in (4, 6, 20, 100):  # a segment length pointing past the frame
        b = bytearray(j)
        b[cut:cut + 2] = b"\xff\xff" if cut % 4 else b"\x00\x01"
        out.append(bytes(b[:len(b) // 2]))
    return b"".join(out)


GARBAGE = [
    ("256 KB of random bytes", lambda: random_bytes(256 << 10)),
    ("random bytes sprinkled with SOI/EOI/SOS look-alikes", lambda: sprinkled(256 << 10)),
    ("truncated JPEGs", lambda: b"".join(j[:len(j) * 2 // 3] for j in jpegs)),
    ("300 frames without EOI", lambda: no_eoi(300)),
    ("broken segment lengths", broken_lengths),
    ("a lone EOI and stuffing", lambda: b"\xff\xd9" * 1000 + b"\xff\x00" * 1000),
    ("an oversize frame (3 slots)", lambda: header_of(jpegs[2]) + b"\x11" * (3 * SLOT) + b"\xff\xd9"),
]

import atexit  # noqa: E402
GIANT_KIND = "a 1 GB frame streamed through the pipe"
GARBAGE.append((GIANT_KIND, None))


def run_kind(name, make):
    """One capture per kind of garbage, so that a failure names its cause:
    j0, the garbage, then j1 j2 j3, each JPEG written on its own.  Exactly
    the 4 JPEGs must come out, byte for byte, in order."""
    cam = vt.camera_name("hst")
    vt.remove_ring(cam)
    atexit.register(vt.remove_ring, cam)
    cap = vt.start([vt.CAPTURE, "--camera", cam, "--source", "stdin", "--slot-size",
                    str(SLOT), "-v"], stdin=subprocess.PIPE, name=f"capture-{cam}")
    pipe = cap.proc.stdin
    pipe.write(jpegs[0])
    pipe.flush()
    if not vt.wait_for(lambda: os.path.exists(vt.shm_path(cam)) or not cap.alive(), 5):
        t.ok(False, f"{name}: capture starts", cap.output()[-300:])
        return
    dump = tempfile.mkdtemp(dir=tmp)
    cat = subprocess.Popen([RINGCAT, "-n", "100", "-t", "60000", "-d", dump, cam],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines = []
    next_frame(cat, lines, 5)
    peak = base_rss = vt.rss_kb(cap.pid)
    took = 0
    try:
        if make is not None:
            pipe.write(make())
        else:
            chunk = bytes([0x5a]) * (4 << 20)
            t0 = time.monotonic()
            pipe.write(header_of(jpegs[3]))
            sent = 0
            while sent < GIANT and time.monotonic() - t0 < 90:
                pipe.write(chunk)
                sent += len(chunk)
                if sent % (64 << 20) == 0:
                    pipe.flush()
                    peak = max(peak, vt.rss_kb(cap.pid))
            pipe.write(b"\xff\xd9")
            took = time.monotonic() - t0
            t.ok(sent == GIANT and cap.alive(), f"1 GB frame went through the pipe in "
                 f"{took:.1f} s", cap.output()[-300:])
            t.ok(peak < base_rss + 16 * 1024, f"capture RSS bounded while reading it "
                 f"({base_rss} -> peak {peak} kB)")
        for j in jpegs[1:]:
            pipe.write(j)
            pipe.flush()
            next_frame(cat, lines, 1)
        pipe.close()
    except BrokenPipeError:
        pass
    rc = cap.proc.wait(20)
    next_frame(cat, lines, 1)
    cat.kill()
    cat.wait()
    log = cap.output()
    pub = [ln for ln in log.splitlines() if "frames published" in ln]
    seqs = [int(d["seq"]) for d in lines]
    same = all(open(os.path.join(dump, f"{s}.jpg"), "rb").read() == jpegs[s - 1]
               for s in seqs if 1 <= s <= 4)
    t.ok(rc == 0 and pub and " 4 frames published" in pub[-1] and max(seqs or [0]) <= 4
         and same, f"{name}: skipped; exactly the 4 JPEGs around it published, byte for "
         f"byte", f"exit {rc}, ringcat saw {seqs}, {pub[-1:]}\n" + "\n".join(
             ln for ln in log.splitlines() if "skipped" in ln)[-600:])


def next_frame(cat, lines, timeout):
    """Collects ringcat's frame lines for up to timeout seconds or until one
    comes."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        rd, _, _ = select.select([cat.stdout], [], [], max(0, end - time.monotonic()))
        if not rd:
            break
        line = cat.stdout.readline().decode()
        if not line:
            break
        if line.startswith("frame "):
            lines.append(dict(kv.split("=") for kv in line.split()[1:]))
            return


for name, make in GARBAGE:
    run_kind(name, make)

# A bogus segment length just before the last frames, then end of input:
# the kept bytes are scanned again, so those frames still come out.
cam3 = vt.camera_name("hse")
vt.remove_ring(cam3)
atexit.register(vt.remove_ring, cam3)
bogus = b"\xff\xd8\xff\xe0\xbf\xba" + random_bytes(400)  # APP0 claiming 49 KB
r = subprocess.run([vt.CAPTURE, "--camera", cam3, "--source", "stdin", "--slot-size",
                    str(SLOT)], input=jpegs[0] + bogus + jpegs[1] + jpegs[2],
                   capture_output=True, timeout=20)
err = r.stderr.decode(errors="replace")
t.ok(r.returncode == 0 and " 3 frames published" in err,
     "bogus segment length before the last 2 frames, then EOF: all 3 published", err[-400:])

# Random bytes only, then end of input: nothing published, clean exit.
cam2 = vt.camera_name("hsr")
vt.remove_ring(cam2)
atexit.register(vt.remove_ring, cam2)
cap2 = vt.start([vt.CAPTURE, "--camera", cam2, "--source", "stdin", "--slot-size", str(SLOT)],
                stdin=subprocess.PIPE, name=f"capture-{cam2}")
try:
    for _ in range(16):
        cap2.proc.stdin.write(sprinkled(1 << 20))
    cap2.proc.stdin.close()
except BrokenPipeError:
    pass
rc = cap2.proc.wait(20)
out = subprocess.run([RINGCAT, "-i", "-n", "1", "-t", "300", cam2], capture_output=True)
t.ok(rc == 0 and b"frame " not in out.stdout,
     "16 MB of random bytes alone: nothing published, clean exit",
     (rc, out.stdout[-200:], cap2.output()[-300:]))
t.done()
