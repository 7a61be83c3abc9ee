# SPDX-License-Identifier: MIT
"""Integration tests of vigil-capture's sub-stream: the ring
/vigil.<camera>.sub beside the main one, read back with tests/tools/ringcat
-s .sub (the reader API in C), frames decoded with libjpeg-turbo."""
import os
import select
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import vigiltest as vt  # noqa: E402

RINGCAT = os.path.join(vt.BUILD, "tools", "ringcat")
t = vt.Tap()
tmp = tempfile.mkdtemp(prefix="vigil-capture-sub-test-")


def sub_path(camera):
    return vt.shm_path(camera) + ".sub"


def parse(out):
    frames, header = [], {}
    for line in out.splitlines():
        kind, _, rest = line.partition(" ")
        fields = dict(kv.split("=", 1) for kv in rest.split() if "=" in kv)
        if kind == "frame":
            frames.append({k: (int(v) if v.lstrip("-").isdigit() else v)
                           for k, v in fields.items()})
        elif kind == "ring":
            header = fields
    return frames, header


def ringcat(camera, *args, sub=True, timeout=15):
    argv = [RINGCAT] + (["-s", ".sub"] if sub else []) + list(args) + [camera]
    p = subprocess.run(argv, capture_output=True, timeout=timeout)
    frames, header = parse(p.stdout.decode())
    return p.returncode, frames, header, p.stderr.decode()


class Reader:
    """ringcat in the background, frame lines read as they come."""

    def __init__(self, camera, *args, sub=True):
        argv = [RINGCAT] + (["-s", ".sub"] if sub else []) + list(args)
        self.p = subprocess.Popen(argv + [camera], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)

    def line(self, timeout=5):
        r, _, _ = select.select([self.p.stdout], [], [], timeout)
        if not r:
            return None
        return self.p.stdout.readline().decode().strip()

    def frames(self):
        """Everything until ringcat exits."""
        out, _ = self.p.communicate(timeout=30)
        return parse(out.decode())[0]

    def close(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait()


def capture(camera, *args, stdin=None):
    if "--source" not in args:
        args = ("--source", "testsrc") + args
    d = vt.start_capture(camera, *args, stdin=stdin)
    vt.wait_for(lambda: os.path.exists(sub_path(camera)) or not d.alive(), 5)
    return d


def decoded_size(camera, n=1):
    """(rc, [(w, h) decoded], [frames], header) of n sub frames."""
    d = tempfile.mkdtemp(dir=tmp)
    rc, frames, header, err = ringcat(camera, "-i", "-n", str(n), "-d", d)
    sizes = []
    for f in frames:
        data = open(os.path.join(d, f"{f['seq']}.jpg"), "rb").read()
        try:
            w, h, _ = vt.jpeg_decode(data)
            sizes.append((w, h))
        except ValueError as e:
            sizes.append(str(e))
    return rc, sizes, frames, header, err


# ------------------------------------------------------------------ usage

def test_usage():
    for argv in (["--sub-size", "640"], ["--sub-size", "8x8"],
                 ["--sub-size", "on"], ["--sub-fps", "0"],
                 ["--sub-fps", "x"], ["--sub-quality", "0"],
                 ["--sub-quality", "101"]):
        p = subprocess.run([vt.CAPTURE] + argv, capture_output=True,
                           timeout=10)
        err = p.stderr.decode()
        t.ok(p.returncode == 2 and err.startswith("vigil-capture: invalid ")
             and err.count("\n") == 1,
             f"bad flags {' '.join(argv)!r}: exit 2, one-line error",
             f"rc={p.returncode} stderr={err!r}")
    out = subprocess.run([vt.CAPTURE, "--help"], capture_output=True,
                         timeout=10).stdout.decode()
    t.ok(all(f in out for f in ("--sub-size", "--sub-fps", "--sub-quality")),
         "--help documents the sub-stream flags")


# ------------------------------------------------------------------ sizes

def test_sizes():
    for args, want in ((("--size", "1280x720"), (640, 360)),
                       (("--size", "800x600"), (640, 480)),
                       (("--size", "1280x720", "--rotate", "90"), (360, 640)),
                       (("--size", "640x480", "--rotate", "270"),
                        (480, 640)),
                       (("--size", "1280x720", "--sub-size", "320x240"),
                        (320, 240)),
                       (("--size", "320x240"), (320, 240))):
        cam = vt.camera_name("sz")
        d = capture(cam, *args)
        rc, sizes, frames, header, err = decoded_size(cam, 2)
        t.ok(rc == 0 and sizes == [want, want] and
             all((f["width"], f["height"]) == want for f in frames) and
             (int(header.get("width", 0)), int(header.get("height", 0)))
             == want, f"{' '.join(args)}: sub frames {want[0]}x{want[1]} "
             "(header, frames, decoded)", (rc, sizes, header, err))
        t.eq(d.stop(), 0, f"{' '.join(args)}: SIGTERM, exit 0")
        t.ok(not os.path.exists(sub_path(cam)),
             f"{' '.join(args)}: sub ring removed at exit")


def test_off():
    cam = vt.camera_name("off")
    d = vt.start_capture(cam, "--source", "testsrc", "--size", "320x240",
                         "--sub-size", "off")
    rc, frames, _, err = ringcat(cam, "-n", "2", sub=False)
    t.ok(rc == 0 and len(frames) == 2, "--sub-size off: the main ring works",
         err)
    t.ok(not os.path.exists(sub_path(cam)),
         "--sub-size off: no sub ring once the main ring has frames")
    rc, _, _, err = ringcat(cam, "-n", "1", "-t", "500")
    t.ok(rc == 1 and "No such file" in err,
         "--sub-size off: a reader of the sub ring finds none", err)
    t.eq(d.stop(), 0, "--sub-size off: SIGTERM, exit 0")


# ------------------------------------------------------------------ rate

def rate(frames):
    secs = (frames[-1]["mono_ns"] - frames[0]["mono_ns"]) / 1e9
    return (len(frames) - 1) / secs if secs > 0 else 0


def test_rate():
    for args, lo, hi in ((("--fps", "24"), 9.0, 10.6),
                         (("--fps", "24", "--sub-fps", "5"), 4.5, 5.3),
                         (("--fps", "5", "--sub-fps", "10"), 4.5, 5.3)):
        cam = vt.camera_name("rt")
        d = capture(cam, "--size", "640x360", *args)
        rc, frames, header, err = ringcat(cam, "-i", "-n", "21", "-t",
                                          "8000")
        ok = rc == 0 and len(frames) == 21
        t.ok(ok, f"{' '.join(args)}: 21 sub frames read", err)
        if ok:
            r = rate(frames)
            t.ok(lo <= r <= hi, f"{' '.join(args)}: sub-stream at "
                 f"{r:.2f} fps ({lo}..{hi})")
            t.ok(all(b["seq"] == a["seq"] + 1
                     for a, b in zip(frames, frames[1:])),
                 f"{' '.join(args)}: sub frames numbered 1, 2, ... "
                 "without gaps")
        d.stop()


# ------------------------------------------------------------------ motion

def test_motion_flags():
    """Each sub frame is the main frame of the same capture time: flags,
    score, since and grid copied, through a crossing object's motion."""
    cam = vt.camera_name("mf")
    d = capture(cam, "--size", "640x360", "--fps", "10", "--sub-fps", "5",
                "--testsrc-motion", "20/2", "--motion-hold", "1")
    # The main reader reads 2 s longer; each reader starts at the newest
    # frame when it attaches, so the sub frames compared are those of the
    # time both read (a reader started late under load missed a main frame).
    main = Reader(cam, "-n", "80", "-t", "15000", sub=False)
    sub = Reader(cam, "-n", "30", "-t", "15000")
    mf, sf = main.frames(), sub.frames()
    d.stop()
    by_time = {f["mono_ns"]: f for f in mf}
    both = [s for s in sf if mf and
            mf[0]["mono_ns"] <= s["mono_ns"] <= mf[-1]["mono_ns"]]
    pairs = [(s, by_time.get(s["mono_ns"])) for s in both]
    t.ok(len(both) >= 25 and all(m is not None for _, m in pairs),
         "every sub frame has the main frame of its capture time",
         (len(mf), len(sf), len(both)))
    keys = ("flags", "motion", "analysed", "score", "since_ns", "grid",
            "real_ns")
    same = [s for s, m in pairs if m is not None and
            all(s[k] == m[k] for k in keys)]
    t.eq(len(same), len(pairs), "sub frames carry their main frame's motion "
         "flags, score, since and grid")
    t.ok(any(s["motion"] == 1 for s in sf) and
         any(s["motion"] == 0 for s in sf),
         "the sub-stream shows motion declared and not",
         [s["motion"] for s in sf])


# ------------------------------------------------------------------ JPEG

def testsrc_jpegs(n, size):
    cam = vt.camera_name("mk")
    d = vt.start_capture(cam, "--source", "testsrc", "--size", size,
                         "--testsrc-motion", "always", "--sub-size", "off")
    dd = tempfile.mkdtemp(dir=tmp)
    rc, frames, _, _ = ringcat(cam, "-n", str(n), "-d", dd, sub=False)
    d.stop()
    return [open(os.path.join(dd, f"{f['seq']}.jpg"), "rb").read()
            for f in frames]


def test_jpeg_source():
    # 1280x720: a 1/2 decode is the size; 960x540: a 3/4 decode, then a
    # resize to 640x360.
    for size in ("1280x720", "960x540"):
        jp = testsrc_jpegs(3, size)
        if not t.ok(len(jp) == 3, f"made {size} JPEGs"):
            continue
        cam = vt.camera_name("jp")
        d = capture(cam, "--source", "stdin", "--size", size,
                    stdin=subprocess.PIPE)
        dd = tempfile.mkdtemp(dir=tmp)
        r = Reader(cam, "-n", "3", "-t", "8000", "-d", dd)
        got = []
        for j in jp:
            d.proc.stdin.write(j)
            d.proc.stdin.flush()
            got.append(r.line())
            # Capture times a sub-stream interval (100 ms) apart, so that
            # each JPEG makes a sub frame.
            time.sleep(0.12)
        r.close()
        d.proc.stdin.close()
        rc = d.proc.wait(5)
        frames = [parse(g or "")[0] for g in got]
        ok = all(len(f) == 1 for f in frames)
        t.ok(ok, f"stdin {size}: each JPEG makes a sub frame", got)
        if ok:
            sizes = []
            for f in frames:
                data = open(os.path.join(dd, f"{f[0]['seq']}.jpg"),
                            "rb").read()
                w, h, px = vt.jpeg_decode(data)
                sizes.append((w, h, f[0]["width"], f[0]["height"],
                              f[0]["analysed"]))
            t.eq(sizes, [(640, 360, 640, 360, 1)] * 3,
                 f"stdin {size}: sub frames decode to 640x360, carry the "
                 "motion result")
        t.eq(rc, 0, f"stdin {size}: end of input, exit 0")
        t.ok(not os.path.exists(sub_path(cam)),
             f"stdin {size}: sub ring removed at exit")


def test_jpeg_looks_alike():
    """The sub picture is the main picture made small: the mean of the
    scaled-down main frame and of the sub frame agree."""
    cam = vt.camera_name("lk")
    d = capture(cam, "--size", "1280x720", "--fps", "10",
                "--testsrc-motion", "off", "--overlay", "")
    dm, ds = tempfile.mkdtemp(dir=tmp), tempfile.mkdtemp(dir=tmp)
    rc1, sf, _, _ = ringcat(cam, "-n", "1", "-d", ds)
    rc2, mf, _, _ = ringcat(cam, "-n", "1", "-d", dm, sub=False)
    d.stop()
    if not t.ok(rc1 == 0 and rc2 == 0 and sf and mf, "frames of both rings"):
        return
    w1, h1, p1 = vt.jpeg_decode(open(os.path.join(
        dm, f"{mf[0]['seq']}.jpg"), "rb").read())
    w2, h2, p2 = vt.jpeg_decode(open(os.path.join(
        ds, f"{sf[0]['seq']}.jpg"), "rb").read())
    # 16x9 blocks of each picture, their mean luma compared.
    diffs = []
    for by in range(9):
        for bx in range(16):
            def mean(px, w, h):
                x0, y0 = bx * w // 16, by * h // 9
                x1, y1 = (bx + 1) * w // 16, (by + 1) * h // 9
                v = [px[y * w + x] for y in range(y0, y1, 2)
                     for x in range(x0, x1, 2)]
                return sum(v) / len(v)
            diffs.append(abs(mean(p1, w1, h1) - mean(p2, w2, h2)))
    t.ok(max(diffs) < 12, f"sub picture matches the main one block by block "
         f"(largest mean luma difference {max(diffs):.1f})")


# ------------------------------------------------------------------ threads

def test_encode_threads():
    for bad in ("0", "17", "x"):
        p = subprocess.run([vt.CAPTURE, "--encode-threads", bad],
                           capture_output=True, timeout=10)
        err = p.stderr.decode()
        t.ok(p.returncode == 2 and err.startswith("vigil-capture: invalid ")
             and err.count("\n") == 1,
             f"--encode-threads {bad}: exit 2, one-line error", err)
    for n in ("1", "2", "4"):
        cam = vt.camera_name("th")
        d = capture(cam, "--size", "1280x720", "--fps", "60",
                    "--testsrc-motion", "always", "--encode-threads", n)
        dd = tempfile.mkdtemp(dir=tmp)
        r = Reader(cam, "-n", "90", "-t", "10000", "-d", dd, sub=False)
        frames = r.frames()
        sub_rc, sub_frames, _, err = ringcat(cam, "-n", "5")
        t.ok(len(frames) == 90 and all(
            b["seq"] > a["seq"] and b["mono_ns"] > a["mono_ns"]
            for a, b in zip(frames, frames[1:])),
            f"--encode-threads {n}: 90 frames, published in capture order",
            len(frames))
        # A frame unblocked by a slower one before it is published right
        # after it: a reader may miss some, never get them out of order.
        gaps = sum(1 for a, b in zip(frames, frames[1:])
                   if b["seq"] != a["seq"] + 1)
        t.ok(gaps <= 15, f"--encode-threads {n}: the reader got most "
             f"frames ({gaps} gaps in 90)")
        bad = []
        for f in frames[::15]:
            data = open(os.path.join(dd, f"{f['seq']}.jpg"), "rb").read()
            try:
                w, h, _ = vt.jpeg_decode(data)
                if (w, h) != (1280, 720) or len(data) != f["len"]:
                    bad.append((f["seq"], w, h))
            except ValueError as e:
                bad.append((f["seq"], str(e)))
        t.eq(bad, [], f"--encode-threads {n}: frames decode to 1280x720")
        t.ok(sub_rc == 0 and len(sub_frames) == 5,
             f"--encode-threads {n}: the sub-stream runs", err)
        last = frames[-1]["seq"] if frames else 0
        t.eq(d.stop(), 0, f"--encode-threads {n}: SIGTERM, exit 0")
        log = d.output()
        pub = [ln for ln in log.splitlines() if "frames published" in ln]
        want = f"{n} encode thread" + ("" if n == "1" else "s")
        t.ok(want in log and pub and
             int(pub[-1].split("': ")[1].split()[0]) >= last,
             f"--encode-threads {n}: logged; every frame in flight "
             "published before the ring closed", log)


# ------------------------------------------------------------------ restart

def test_restart():
    cam = vt.camera_name("rs")
    d = capture(cam, "--size", "320x240")
    rc, f1, h1, err = ringcat(cam, "-i", "-n", "1")
    g1 = int(h1.get("generation", 0))
    t.ok(rc == 0 and f1, "sub ring: a frame before the restart", err)
    d.kill()
    t.ok(os.path.exists(sub_path(cam)), "after kill -9 the sub segment stays")
    r = Reader(cam, "-c", "-t", "8000")
    t.eq(r.line(), "attached", "a reader attaches to the crashed sub ring")
    d2 = vt.start_capture(cam, "--source", "testsrc", "--size", "320x240",
                          keep=True, name=f"capture-{cam}-2")
    t.eq(r.line(), "closed", "the restart marks the old sub ring closed")
    r.close()

    def generation():
        rc, _, h, _ = ringcat(cam, "-i", "-n", "1", "-t", "500")
        return int(h.get("generation", 0)) if rc == 0 else 0

    vt.wait_for(lambda: generation() > g1 or not d2.alive(), 5)
    rc, frames, h2, err = ringcat(cam, "-i", "-n", "3")
    g2 = int(h2.get("generation", 0))
    t.ok(rc == 0 and len(frames) == 3 and g2 == g1 + 1 and
         all(f["generation"] == g2 for f in frames),
         f"restart: the sub ring has a new generation ({g1} -> {g2}) and "
         "frames", err)
    t.eq(d2.stop(), 0, "restart: SIGTERM, exit 0")
    t.ok(not os.path.exists(sub_path(cam)), "restart: sub ring removed")


for fn in (test_usage, test_sizes, test_off, test_rate, test_motion_flags,
           test_jpeg_source, test_jpeg_looks_alike, test_encode_threads,
           test_restart):
    t.run(fn)
t.done()
