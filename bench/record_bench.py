#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The recorder's cost (issue 12): CPU per recorded frame beside `cat`
writing the same number of bytes, and bytes written per byte of JPEG.

One round: tests/tools/recfeed publishes COUNT frames of SIZE (noise JPEGs,
every one flagged as motion) at FPS into a ring; vigil-record (--pre 0
--post 1) records them as one event into a directory of this filesystem.
The recorder's CPU is the on-CPU time of all its threads (/proc schedstat)
from the first frame to the event's end; its writes are /proc/PID/io
(write_bytes: what reached the block layer; wchar: what write() was given)
and the size of what it left in the directory.  Then `cat` copies a file
of the same JPEG bytes (in the page cache) into the same directory; its CPU
is the child's rusage.  A second reference, dd conv=fdatasync, writes the
same bytes and syncs them once: the recorder must sync about once a second
and fdatasync does the writeback in the caller's context, while cat's
writeback happens later in kernel threads that are charged to nobody.
Rounds alternate recorder, cat and dd, each reference followed by a sync
(so that its writeback does not run into the next round, where it is
nobody's CPU but slows the next command's memory); medians shown.
RECORD_BENCH_OTHER=
PATH adds another vigil-record binary (an older build) to every round.
Usage: record_bench.py BUILD [ROUNDS] [COUNT] [FPS] [SIZE]"""
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

B = sys.argv[1] if len(sys.argv) > 1 else "build"
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 3
COUNT = int(sys.argv[3]) if len(sys.argv) > 3 else 600
FPS = int(sys.argv[4]) if len(sys.argv) > 4 else 60
SIZE = sys.argv[5] if len(sys.argv) > 5 else "1280x720"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
work = tempfile.mkdtemp(prefix="recbench-", dir=os.path.join(ROOT, B))
procs = []


def cleanup(*_):
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()
    shutil.rmtree(work, ignore_errors=True)


def wait_for(cond, timeout, step=0.02):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(step)
    return cond()


def cpu_ns(pid):
    """On-CPU ns of every thread of pid."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except OSError:
            pass
    return total


def io(pid):
    out = {}
    with open(f"/proc/{pid}/io") as f:
        for line in f:
            k, v = line.split(":")
            out[k] = int(v)
    return out


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def ended_event(d):
    for n in os.listdir(d):
        if n.endswith(".json") and n != "state.json":
            e = read_json(os.path.join(d, n))
            if e and e.get("end") is not None:
                return e
    return None


def record_round(r, binary):
    cam = f"recb{os.getpid()}x{r}"
    d = os.path.join(work, cam)
    log = os.path.join(work, f"{cam}.feed")
    rec = subprocess.Popen([binary, "--camera", cam, "--dir", d,
                            "--pre", "0", "--post", "1", "--min-free", "0"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(rec)
    if not wait_for(lambda: read_json(os.path.join(d, "state.json")), 10):
        sys.exit("record_bench: vigil-record did not start")
    c0, io0 = cpu_ns(rec.pid), io(rec.pid)
    feed = subprocess.Popen([os.path.join(B, "tools", "recfeed"), "--camera", cam, "--fps",
                             str(FPS), "--count", str(COUNT), "--size", SIZE, "--motion",
                             f"0:{COUNT}", "--hold", "--log", log],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(feed)
    ev = wait_for(lambda: ended_event(d), COUNT / FPS + 30, 0.05)
    c1, io1 = cpu_ns(rec.pid), io(rec.pid)
    feed.send_signal(signal.SIGTERM)
    rec.send_signal(signal.SIGTERM)
    feed.wait()
    rec.wait()
    for cam_file in (f"/dev/shm/vigil.{cam}", f"/dev/shm/vigil.{cam}.lock"):
        try:
            os.unlink(cam_file)
        except OSError:
            pass
    if not ev:
        sys.exit("record_bench: no event recorded")
    lengths = [int(line.split()[5]) for line in open(log)]
    # The frames published before the recorder attached are not recorded:
    # the JPEG bytes of the event, at the feed's mean frame size.
    jpeg = round(sum(lengths) * ev["frames"] / len(lengths))
    on_disk = sum(os.path.getsize(os.path.join(d, n)) for n in os.listdir(d))
    shutil.rmtree(d)
    return {"frames": ev["frames"], "published": len(lengths), "jpeg": jpeg,
            "cpu": (c1 - c0) / 1e9, "write_bytes": io1["write_bytes"] - io0["write_bytes"],
            "wchar": io1["wchar"] - io0["wchar"], "on_disk": on_disk}


def cat_round(nbytes, argv=None):
    src, dst = os.path.join(work, "src"), os.path.join(work, "dst")
    if not os.path.exists(src) or os.path.getsize(src) != nbytes:
        with open(src, "wb") as f:
            f.write(os.urandom(nbytes))
    with open(src, "rb") as f:  # into the page cache
        while f.read(1 << 20):
            pass
    with open(dst, "wb") as out:
        p = subprocess.Popen(argv or ["cat", src], stdout=out)
        _, _, ru = os.wait4(p.pid, 0)
        p.returncode = 0
    os.unlink(dst)
    # Its writeback, done later by kernel threads, must not run into the
    # next round (measured: it made the recorder's ring thread, a copy
    # bound by memory, up to twice as costly in the round after).
    os.sync()
    return ru.ru_utime + ru.ru_stime


signal.signal(signal.SIGTERM, lambda *_: (cleanup(), sys.exit(1)))
try:
    other = os.environ.get("RECORD_BENCH_OTHER")
    bins = [("vigil-record", os.path.join(B, "vigil-record"))]
    if other:
        bins.append(("other", other))
    recs = {name: [] for name, _ in bins}
    cats, dds = [], []
    for r in range(ROUNDS):
        for name, binary in bins:
            recs[name].append(record_round(r, binary))
        first = recs["vigil-record"][-1]
        cats.append(cat_round(first["jpeg"]))
        dds.append(cat_round(first["jpeg"], ["dd", f"if={os.path.join(work, 'src')}", "bs=256k",
                                             "conv=fdatasync", "status=none"]))
    med = statistics.median
    base = recs["vigil-record"]
    frames = med(x["frames"] for x in base)
    jpeg = med(x["jpeg"] for x in base)
    cat_us = med(c / x["frames"] * 1e6 for c, x in zip(cats, base))
    dd_us = med(c / x["frames"] * 1e6 for c, x in zip(dds, base))
    print(f"-- {ROUNDS} rounds of {COUNT} frames {SIZE} at {FPS} fps, "
          f"{jpeg / COUNT / 1024:.0f} KB per JPEG; medians")
    print(f"{'':34} {'value':>10} {'target':>8}")
    print(f"{'frames recorded / published':34} {frames:>6.0f}/{COUNT:<3}")
    print(f"{'cat, same bytes, per frame (us)':34} {cat_us:>10.1f}")
    print(f"{'dd conv=fdatasync, per frame (us)':34} {dd_us:>10.1f}")
    for name, _ in bins:
        xs = recs[name]
        rec_us = med(x["cpu"] / x["frames"] * 1e6 for x in xs)
        ratios = [x["cpu"] / c for c, x in zip(cats, xs)]
        dratios = [x["cpu"] / c for c, x in zip(dds, xs)]
        print(f"{name + ' CPU per frame (us)':34} {rec_us:>10.1f}")
        print(f"{name + ' / cat':34} {med(ratios):>10.2f} {'<= 1.5':>8}"
              f"   (rounds: {' '.join(f'{x:.2f}' for x in ratios)})")
        print(f"{name + ' / dd conv=fdatasync':34} {med(dratios):>10.2f}")
    wb = med(x["write_bytes"] / x["jpeg"] for x in base)
    wc = med(x["wchar"] / x["jpeg"] for x in base)
    od = med(x["on_disk"] / x["jpeg"] for x in base)
    print(f"{'disk bytes per JPEG byte':34} {wb:>10.3f} {'<= 1.05':>8}   (write_bytes)")
    print(f"{'write() bytes per JPEG byte':34} {wc:>10.3f}")
    print(f"{'files left per JPEG byte':34} {od:>10.3f}")
finally:
    cleanup()
