# SPDX-License-Identifier: MIT
"""Integration tests of vigil-capture: the real binary, its ring read back
with tests/tools/ringcat (the reader API in C), frames decoded with
libjpeg-turbo.  Camera names are unique per run (shm names are global)."""
import os
import select
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import vigiltest as vt  # noqa: E402

RINGCAT = os.path.join(vt.BUILD, "tools", "ringcat")
t = vt.Tap()
tmp = tempfile.mkdtemp(prefix="vigil-capture-test-")


def run(argv, timeout=10, **kw):
    return subprocess.run(argv, capture_output=True, timeout=timeout, **kw)


def ringcat(camera, *args, timeout=10):
    """Runs ringcat to completion; returns (rc, [frame dicts], header dict)."""
    p = run([RINGCAT] + list(args) + [camera], timeout=timeout)
    frames, header = [], {}
    for line in p.stdout.decode().splitlines():
        kind, _, rest = line.partition(" ")
        fields = dict(kv.split("=", 1) for kv in rest.split() if "=" in kv)
        if kind == "frame":
            frames.append({k: (int(v) if v.lstrip("-").isdigit() else v)
                           for k, v in fields.items()})
        elif kind == "ring":
            header = fields
    return p.returncode, frames, header, p.stderr.decode()


class Reader:
    """ringcat in the background, frame lines read as they come."""

    def __init__(self, camera, *args):
        self.p = subprocess.Popen([RINGCAT] + list(args) + [camera],
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)

    def line(self, timeout=5):
        r, _, _ = select.select([self.p.stdout], [], [], timeout)
        if not r:
            return None
        return self.p.stdout.readline().decode().strip()

    def close(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait()


def capture(camera, *args, stdin=None):
    return vt.start_capture(camera, "--source", "testsrc", *args) \
        if stdin is None and "--source" not in args \
        else vt.start_capture(camera, *args, stdin=stdin)


def dump(camera, n, *args):
    d = tempfile.mkdtemp(dir=tmp)
    rc, frames, header, err = ringcat(camera, "-i", "-n", str(n), "-d", d,
                                      "-t", "5000", *args)
    return rc, frames, header, d, err


# ------------------------------------------------------------------ usage

def test_usage():
    bad = [
        ["--fps", "0"], ["--fps", "abc"], ["--size", "640"],
        ["--size", "8x8"], ["--rotate", "45"], ["--quality", "101"],
        ["--camera", "a/b"], ["--camera", "x" * 40], ["--source", "nope"],
        ["--slots", "1"], ["--slot-size", "12"], ["--bogus"], ["--fps"],
        ["extra-argument"], ["--group", "no-such-group-vigil"],
    ]
    for argv in bad:
        p = run([vt.CAPTURE] + argv)
        err = p.stderr.decode()
        t.ok(p.returncode == 2 and err.startswith("vigil-capture: ")
             and err.count("\n") == 1,
             f"bad flags {' '.join(argv)!r}: exit 2, one-line error",
             f"rc={p.returncode} stderr={err!r}")
    p = run([vt.CAPTURE, "--help"])
    out = p.stdout.decode()
    t.ok(p.returncode == 0 and all(f in out for f in (
        "--camera", "--source", "--size", "--fps", "--quality", "--rotate",
        "--hflip", "--vflip", "--overlay", "--slots", "--slot-size",
        "--group", "--follow")), "--help documents every option")
    p = run([vt.CAPTURE, "--version"])
    t.ok(p.returncode == 0 and p.stdout.startswith(b"vigil-capture "),
         "--version")


# ------------------------------------------------------------------ testsrc

def test_testsrc_default():
    cam = vt.camera_name("def")
    d = capture(cam)
    rc, frames, header, outdir, err = dump(cam, 3)
    t.ok(rc == 0 and len(frames) == 3, "testsrc: a reader gets frames", err)
    t.eq((header.get("width"), header.get("height"), header.get("fps")),
         ("1280", "720", "24/1"), "testsrc: ring header 1280x720, 24 fps")
    sizes = set()
    for f in frames:
        data = open(os.path.join(outdir, f"{f['seq']}.jpg"), "rb").read()
        t.eq(len(data), f["len"], f"frame {f['seq']}: length as announced")
        try:
            w, h, _ = vt.jpeg_decode(data)
            sizes.add((w, h, f["width"], f["height"]))
        except ValueError as e:
            t.ok(False, f"frame {f['seq']} decodes", str(e))
    t.eq(sizes, {(1280, 720, 1280, 720)}, "testsrc frames decode to 1280x720")

    # The frame rate, from the capture times of consecutive frames.
    rc, frames, _, err = ringcat(cam, "-n", "49", "-t", "6000")
    ok = rc == 0 and len(frames) == 49
    t.ok(ok, "testsrc: 49 frames read in time", err)
    if ok:
        seqs = frames[-1]["seq"] - frames[0]["seq"]
        secs = (frames[-1]["mono_ns"] - frames[0]["mono_ns"]) / 1e9
        fps = seqs / secs if secs > 0 else 0
        # Roughly: a busy machine (other tests run beside us) may make
        # capture miss a deadline now and then; the median frame interval
        # shows the pacing itself.
        t.ok(20.0 <= fps <= 25.5, f"testsrc gives about 24 fps (measured "
             f"{fps:.2f})")
        iv = sorted((b["mono_ns"] - a["mono_ns"]) / 1e6
                    for a, b in zip(frames, frames[1:]))
        med = iv[len(iv) // 2]
        t.ok(abs(med - 1000 / 24) < 4, f"testsrc frame interval median "
             f"{med:.2f} ms (41.67 wanted)")
        gaps = sum(1 for a, b in zip(frames, frames[1:])
                   if b["seq"] != a["seq"] + 1)
        t.ok(gaps <= 2, f"reader missed few frames ({gaps} gaps)")
    t.eq(d.stop(), 0, "SIGTERM: exit status 0")


def test_rotation_and_overlay():
    for rot, size, want in ((90, "640x360", (360, 640)),
                            (180, "640x360", (640, 360)),
                            (270, "320x240", (240, 320))):
        cam = vt.camera_name(f"r{rot}")
        d = capture(cam, "--size", size, "--rotate", str(rot), "--hflip")
        rc, frames, header, outdir, err = dump(cam, 1)
        ok = rc == 0 and len(frames) == 1
        t.ok(ok, f"--rotate {rot}: a frame", err)
        if ok:
            data = open(os.path.join(outdir, f"{frames[0]['seq']}.jpg"),
                        "rb").read()
            w, h, _ = vt.jpeg_decode(data)
            t.eq((w, h), want, f"--size {size} --rotate {rot} decodes to "
                 f"{want[0]}x{want[1]}")
            t.eq((int(header["width"]), int(header["height"])), want,
                 f"--rotate {rot}: ring header has the turned size")
        d.stop()

    # The overlay box darkens the top-left corner (75% white bar there).
    means = {}
    for name, args in (("on", []), ("off", ["--overlay", ""])):
        cam = vt.camera_name("ov" + name)
        d = capture(cam, "--size", "640x360", *args)
        rc, frames, _, outdir, err = dump(cam, 1)
        if rc == 0 and frames:
            data = open(os.path.join(outdir, f"{frames[0]['seq']}.jpg"),
                        "rb").read()
            w, h, px = vt.jpeg_decode(data)
            box = [px[y * w + x] for y in range(4, 14) for x in range(4, 60)]
            means[name] = (sum(box) / len(box), max(box))
        d.stop()
    t.ok("on" in means and "off" in means and means["on"][0] < 120
         and means["on"][1] > 200 and means["off"][0] > 150,
         "overlay: dark box with light text; --overlay '' leaves the picture",
         means)


# ------------------------------------------------------------------ stdin

def testsrc_jpegs(n, size="640x360"):
    """n distinct real JPEGs made by vigil-capture itself."""
    cam = vt.camera_name("mk")
    d = capture(cam, "--size", size, "--testsrc-motion", "always")
    rc, frames, _, outdir, err = dump(cam, n)
    d.stop()
    return [open(os.path.join(outdir, f"{f['seq']}.jpg"), "rb").read()
            for f in frames]


def with_comment(jpeg, size):
    """The same JPEG with COM segments of size bytes in all after SOI."""
    out = jpeg[:2]
    while size > 0:
        n = min(size, 65000)
        out += b"\xff\xfe" + (n + 2).to_bytes(2, "big") + b"c" * n
        size -= n
    return out + jpeg[2:]


def test_stdin():
    jp = testsrc_jpegs(3)
    if not t.ok(len(jp) == 3, "made JPEGs to feed"):
        return
    a, c = jp[0], jp[2]
    big = with_comment(jp[1], 200000)   # larger than a 128k slot
    garbage = b"garbage\xff\xd8\x00 between frames\xff"
    cam = vt.camera_name("in")
    d = vt.start_capture(cam, "--source", "stdin", "--slot-size", "128k",
                         "-v", stdin=subprocess.PIPE)
    t.ok(os.path.exists(vt.shm_path(cam)), "stdin: ring created")
    out = tempfile.mkdtemp(dir=tmp)
    r = Reader(cam, "-n", "3", "-d", out, "-t", "8000")
    # One at a time, so that the reader (which takes the newest) sees each.
    d.proc.stdin.write(garbage + a)
    d.proc.stdin.flush()
    l1 = r.line()
    d.proc.stdin.write(garbage + a[:len(a) // 2] + big + c)
    d.proc.stdin.flush()
    l2 = r.line()
    # A frame split over many small writes.
    for i in range(0, len(a), 1000):
        d.proc.stdin.write(a[i:i + 1000])
        d.proc.stdin.flush()
    l3 = r.line()
    r.close()
    got = sorted(os.listdir(out), key=lambda s: int(s.split(".")[0]))
    data = [open(os.path.join(out, g), "rb").read() for g in got]
    t.ok(l1 and l2 and l3 and len(data) == 3, "stdin: three frames published",
         f"{l1} {l2} {l3} {got}")
    if len(data) == 3:
        t.ok(data[0] == a, "stdin: frame 1 byte-identical")
        t.ok(data[1] == c, "stdin: the frame after garbage, a truncated and "
             "an oversize one is byte-identical (those were skipped)")
        t.ok(data[2] == a, "stdin: a frame fed in small writes is identical")
    rc, _, h, _ = ringcat(cam, "-i", "-n", "1", "-t", "200")
    t.eq(h.get("dropped"), "2", "stdin: the truncated and the oversize frame "
         "are counted in the ring's frames_dropped")
    d.proc.stdin.close()
    rc = d.proc.wait(5)
    t.eq(rc, 0, "stdin: end of input ends capture with status 0")
    log = d.output()
    t.ok("3 frames" in log and "1 truncated" in log and "1 oversize" in log
         and f"{2 * len(garbage)} garbage bytes" in log,
         "stdin: skipped garbage, truncated and oversize frames are counted",
         log)
    t.ok(not os.path.exists(vt.shm_path(cam)), "stdin: ring removed at exit")


def test_fifo():
    jp = testsrc_jpegs(2, "320x240")
    if not t.ok(len(jp) == 2, "made JPEGs for the fifo"):
        return
    path = os.path.join(tmp, "cam.fifo")
    os.mkfifo(path)
    cam = vt.camera_name("ff")
    d = vt.start_capture(cam, "--source", f"fifo:{path}", "--follow")
    r = Reader(cam, "-n", "2", "-t", "8000")
    for i, j in enumerate(jp):
        with open(path, "wb") as f:     # a new writer each time
            f.write(j)
        line = r.line()
        t.ok(line and f"len={len(j)}" in line,
             f"fifo --follow: writer {i + 1}'s frame published", line)
    r.close()
    t.ok(d.alive(), "fifo --follow: still running after writers left")
    t.eq(d.stop(signal.SIGINT), 0, "SIGINT: exit status 0")

    cam = vt.camera_name("fn")
    d = vt.start_capture(cam, "--source", f"fifo:{path}")
    with open(path, "wb") as f:
        f.write(jp[0])
    try:
        rc = d.proc.wait(5)
    except subprocess.TimeoutExpired:
        rc = None
    t.eq(rc, 0, "fifo without --follow: the writer's end ends capture")
    t.ok("1 frames" in d.output(), "fifo: the frame went through", d.output())


# ------------------------------------------------------------------ ring life

def test_heartbeat_and_group():
    """No frame for longer than the stale limit: the heartbeat keeps the
    ring healthy.  --group sets the segment's group, mode 0640."""
    import grp
    import stat
    try:
        gid = grp.getgrnam("video").gr_gid
        gname = "video"
    except KeyError:
        gid = os.getgid()
        gname = str(gid)
    cam = vt.camera_name("hb")
    d = vt.start_capture(cam, "--source", "stdin", "--group", gname,
                         stdin=subprocess.PIPE)
    st = os.stat(vt.shm_path(cam))
    t.eq((st.st_gid, stat.S_IMODE(st.st_mode)), (gid, 0o640),
         f"--group {gname}: the ring's group, mode 0640")
    # The pause is what is tested: longer than RING_STALE_MS, with no frame
    # at all.
    time.sleep(1.5)
    rc, _, h, err = ringcat(cam, "-i", "-n", "1", "-t", "200")
    t.eq(h.get("health"), "ok", "no frames for 1.5 s: heartbeat keeps the "
         "ring alive")
    d.proc.stdin.close()
    t.eq(d.proc.wait(5), 0, "empty stdin: exit status 0")


def test_single_owner_and_restart():
    cam = vt.camera_name("own")
    d = capture(cam, "--size", "320x240")
    rc, _, h1, _ = ringcat(cam, "-i", "-n", "1")
    p = run([vt.CAPTURE, "--camera", cam, "--source", "testsrc"], timeout=10)
    err = p.stderr.decode()
    t.ok(p.returncode == 1 and
         f"camera '{cam}' is already captured by pid {d.pid}" in err,
         "a second capture on the camera is refused (exit 1, message)", err)
    t.ok(d.alive(), "the first capture keeps running")

    g1 = int(h1.get("generation", 0))
    d.kill()
    t.ok(os.path.exists(vt.shm_path(cam)), "after kill -9 the segment stays")
    d2 = vt.start([vt.CAPTURE, "--camera", cam, "--source", "testsrc",
                   "--size", "320x240"], name=f"capture-{cam}-2")

    def generation():
        rc, _, h, _ = ringcat(cam, "-i", "-n", "1", "-t", "500")
        return int(h.get("generation", 0)) if rc == 0 else 0

    vt.wait_for(lambda: generation() > g1 or not d2.alive(), 5)
    rc, frames, h2, err = ringcat(cam, "-i", "-n", "1")
    g2 = int(h2.get("generation", 0))
    t.ok(rc == 0 and g2 == g1 + 1 and frames and frames[0]["generation"] == g2,
         f"restart after kill -9 takes over with a new generation ({g1} -> {g2})",
         err)

    # SIGTERM: readers see the ring closed, the name goes away, status 0.
    r = Reader(cam, "-c", "-t", "5000")
    t.eq(r.line(), "attached", "a reader attaches")
    t.eq(d2.stop(), 0, "SIGTERM: exit status 0")
    t.eq(r.line(), "closed", "SIGTERM: an attached reader sees the ring closed")
    r.close()
    t.ok(not os.path.exists(vt.shm_path(cam)), "SIGTERM: the ring is unlinked")


# ------------------------------------------------------------------ motion

def frame_of(line):
    kind, _, rest = (line or "").partition(" ")
    if kind != "frame":
        return None
    return {k: (int(v) if v.lstrip("-").isdigit() else v)
            for k, v in (kv.split("=", 1) for kv in rest.split() if "=" in kv)}


def test_motion():
    for argv in (["--motion", "maybe"], ["--motion-threshold", "0"],
                 ["--motion-area", "0"], ["--motion-frames", "0"],
                 ["--motion-hold", "-1"], ["--motion-mask", "1,2,3"],
                 ["--motion-lightswitch", "101"], ["--testsrc-motion", "5/6"],
                 ["--motion-mask", "90,0,20,10"]):
        p = run([vt.CAPTURE] + argv)
        err = p.stderr.decode()
        t.ok(p.returncode == 2 and err.startswith("vigil-capture: invalid ")
             and err.count("\n") == 1,
             f"bad flags {' '.join(argv)!r}: exit 2, one-line error",
             f"rc={p.returncode} stderr={err!r}")
    out = run([vt.CAPTURE, "--help"]).stdout.decode()
    t.ok(all(f in out for f in (
        "--motion ", "--motion-threshold", "--motion-area", "--motion-frames",
        "--motion-hold", "--motion-mask", "--motion-lightswitch",
        "--testsrc-motion")), "--help documents the motion flags")

    # testsrc: still, then a box crossing 3 s in for 1 s: motion declared
    # with a score and a grid, then cleared after the 1 s hold.
    cam = vt.camera_name("mo")
    d = capture(cam, "--size", "320x240", "--fps", "10", "--testsrc-motion",
                "20/1", "--motion-hold", "1")
    r = Reader(cam, "-n", "0", "-t", "12000")
    frames, on, off = [], None, None
    while off is None:
        f = frame_of(r.line())
        if f is None:
            break
        frames.append(f)
        if f["motion"] == 1 and on is None:
            on = f
        if f["motion"] == 0 and on is not None:
            off = f
    r.close()
    d.stop()
    t.ok(frames and all(f["analysed"] == 1 for f in frames),
         "motion on: every frame carries a result (analysed)",
         [f.get("analysed") for f in frames][:20])
    before = [f for f in frames if on is None or f["seq"] < on["seq"]]
    t.ok(len(before) >= 20 and all(f["motion"] == 0 for f in before),
         f"testsrc: a still scene before the crossing ({len(before)} frames "
         "without motion)")
    t.ok(on is not None and on["since_ns"] == on["real_ns"]
         and on["score"] > 0 and int(on["grid"], 16) != 0,
         "testsrc's crossing: motion declared, since = its frame's time, a "
         "score and a grid", on)
    t.ok(off is not None and off["since_ns"] == 0 and on is not None and
         1.0 <= (off["mono_ns"] - on["mono_ns"]) / 1e9 <= 3.0,
         "motion cleared after the crossing and the hold", (on, off))

    cam = vt.camera_name("mf")
    d = capture(cam, "--size", "320x240", "--fps", "10", "--motion", "off")
    rc, frames, _, _ = ringcat(cam, "-n", "5", "-t", "5000")
    d.stop()
    t.ok(rc == 0 and len(frames) == 5 and all(
        f["analysed"] == 0 and f["motion"] == 0 and f["score"] == 0
        for f in frames), "--motion off: frames carry no result", frames[:1])

    # stdin: a JPEG that does not decode is published without a result.
    good = testsrc_jpegs(1)[0]
    sos = good.find(b"\xff\xda")
    mid = sos + (len(good) - sos) // 2
    while good[mid - 1] == 0xFF:  # not after a stuffed FF: no marker made
        mid += 1
    bad = good[:mid] + bytes([0xAA, 0x55] * 100) + good[mid + 200:]
    cam = vt.camera_name("mj")
    d = vt.start_capture(cam, "--source", "stdin", stdin=subprocess.PIPE)
    r = Reader(cam, "-n", "0", "-t", "8000")
    got = []
    for j in (good, good, bad, good):
        d.proc.stdin.write(j)
        d.proc.stdin.flush()
        got.append(frame_of(r.line()))
    r.close()
    d.proc.stdin.close()
    d.proc.wait(5)
    log = d.output()
    t.ok(None not in got and [f["analysed"] for f in got] == [1, 1, 0, 1]
         and got[2]["len"] == len(bad),
         "stdin: a JPEG that does not decode is published without a motion "
         "result; the others carry one", got)
    t.ok("does not decode" in log and log.count("does not decode") == 1,
         "stdin: the undecodable JPEG is logged once", log)


def test_fps_max():
    """--fps max: testsrc unpaced, as fast as the encoders take frames."""
    for n in ("1", "2"):
        cam = vt.camera_name("max")
        d = capture(cam, "--size", "320x180", "--fps", "max",
                    "--testsrc-motion", "always", "--encode-threads", n)
        rc, frames, header, err = ringcat(cam, "-n", "200", "-t", "5000")
        ok = rc == 0 and len(frames) == 200
        t.ok(ok, f"--fps max, {n} thread(s): 200 frames read", err)
        if ok:
            seqs = frames[-1]["seq"] - frames[0]["seq"]
            secs = (frames[-1]["mono_ns"] - frames[0]["mono_ns"]) / 1e9
            fps = seqs / secs if secs > 0 else 0
            # 120 is the most any paced --fps N gives.
            t.ok(fps > 120, f"--fps max, {n} thread(s): {fps:.0f} fps, "
                 "faster than any --fps N")
            t.ok(all(b["seq"] > a["seq"] and b["mono_ns"] > a["mono_ns"]
                     for a, b in zip(frames, frames[1:])),
                 f"--fps max, {n} thread(s): frames in capture order")
        rc, frames, _, outdir, err = dump(cam, 2)
        sizes = []
        for f in frames:
            data = open(os.path.join(outdir, f"{f['seq']}.jpg"), "rb").read()
            try:
                sizes.append(vt.jpeg_decode(data)[:2])
            except ValueError as e:
                sizes.append(str(e))
        t.eq(sizes, [(320, 180)] * 2,
             f"--fps max, {n} thread(s): frames decode to 320x180")
        t.eq(d.stop(), 0, f"--fps max, {n} thread(s): SIGTERM, exit 0")
        t.ok("320x180, max fps" in d.output(),
             f"--fps max, {n} thread(s): logged", d.output())
    for src in ("stdin", "fifo:/nonexistent-vigil", "auto"):
        p = run([vt.CAPTURE, "--source", src, "--fps", "max"])
        err = p.stderr.decode()
        t.ok(p.returncode == 2 and err.startswith(
            "vigil-capture: invalid --fps 'max': only with --source testsrc")
             and err.count("\n") == 1,
             f"--fps max with --source {src}: exit 2, one-line error",
             f"rc={p.returncode} stderr={err!r}")


for fn in (test_usage, test_testsrc_default, test_rotation_and_overlay,
           test_stdin, test_fifo, test_heartbeat_and_group,
           test_single_owner_and_restart, test_motion, test_fps_max):
    t.run(fn)
t.done()
