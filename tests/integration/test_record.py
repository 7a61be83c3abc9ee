# SPDX-License-Identifier: MIT
"""Integration tests of vigil-record: the real binary reading a ring that
tests/tools/recfeed writes (JPEGs with RING_FRAME_MOTION over labelled
spans, every published frame logged), clips checked with ffprobe.
Covers: one event from a-pre to b+post with exactly the frames published in
that span; kill -9 mid-event and recovery; clips cut at random offsets; a
capture restart inside an event; a full filesystem (a size-limited tmpfs,
needs root); the privilege drop."""
import atexit
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import vigiltest as vt  # noqa: E402

RECORD = os.path.join(vt.BUILD, "vigil-record")
RECFEED = os.path.join(vt.BUILD, "tools", "recfeed")
FPS = 20
t = vt.Tap()
tmp = tempfile.mkdtemp(prefix="vigil-record-test-")


def feed(camera, *args, log=None):
    argv = [RECFEED, "--camera", camera, "--fps", str(FPS)] + list(args)
    if log:
        argv += ["--log", log]
    d = vt.start(argv, name=f"recfeed-{camera}")
    atexit.register(vt.remove_ring, camera)
    vt.wait_for(lambda: os.path.exists(vt.shm_path(camera)) or not d.alive(),
                5)
    return d


def recorder(camera, rdir, *args):
    d = vt.start([RECORD, "--camera", camera, "--dir", rdir] + list(args),
                 name=f"record-{camera}")
    vt.wait_for(lambda: read_state(rdir) is not None or not d.alive(), 5)
    return d


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def read_state(rdir):
    return read_json(os.path.join(rdir, "state.json"))


def events(rdir):
    """The listed events (every metadata file must parse)."""
    out = []
    for name in sorted(os.listdir(rdir)):
        if name.endswith(".json") and name != "state.json" \
                and not name.startswith("."):
            m = read_json(os.path.join(rdir, name))
            if m is None:
                raise AssertionError(f"metadata '{name}' does not parse")
            out.append(m)
    return out


def feed_log(path):
    rows = []
    with open(path) as f:
        for line in f:
            i, seq, rt, mt, motion, length = map(int, line.split())
            rows.append({"i": i, "seq": seq, "rt": rt, "mt": mt,
                         "motion": motion, "len": length})
    return rows


def probe(path):
    """(rc, frames read, [packet pts in ms], [packet pos]) by ffprobe."""
    p = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
         "packet=pts_time,pos,size", "-of", "csv=p=0", path],
        capture_output=True, timeout=30)
    pts, pos = [], []
    for line in p.stdout.decode().splitlines():
        parts = line.split(",")
        if len(parts) >= 3 and parts[0] not in ("", "N/A"):
            pts.append(round(float(parts[0]) * 1000))
            pos.append(int(parts[2]) if parts[2].isdigit() else -1)
    c = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
         "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", path],
        capture_output=True, timeout=30)
    text = c.stdout.decode().strip().rstrip(",")
    n = int(text) if text.isdigit() else -1
    return c.returncode, n, pts, pos


def ended(rdir, n=1):
    ev = events(rdir)
    return len(ev) >= n and all(e["end"] is not None for e in ev) and ev


# ------------------------------------------------------------ checks

def check_usage():
    p = subprocess.run([RECORD, "--bogus"], capture_output=True, timeout=5)
    t.eq(p.returncode, 2, "bad flag: exit status 2")
    t.ok(b"unknown option '--bogus'" in p.stderr, "bad flag: clear error",
         p.stderr)
    p = subprocess.run([RECORD, "--camera", "c"], capture_output=True,
                       timeout=5)
    t.ok(p.returncode == 2 and b"--dir" in p.stderr, "missing --dir: usage")
    p = subprocess.run([RECORD, "--camera", "c", "--dir", tmp, "--min-free",
                        "95%"], capture_output=True, timeout=5)
    t.eq(p.returncode, 2, "--min-free 95%: refused")
    p = subprocess.run([RECORD, "--version"], capture_output=True, timeout=5)
    t.ok(p.returncode == 0 and p.stdout.startswith(b"vigil-record "),
         "--version")


def check_span(state):
    """a..b labelled motion: one event from a-pre to b+post."""
    cam = vt.camera_name("span")
    rdir = os.path.join(tmp, "span")
    log = os.path.join(tmp, "span.log")
    pre, post, a, b = 2, 2, 80, 120
    rec = recorder(cam, rdir, "--pre", str(pre), "--post", str(post),
                   "--min-free", "0")
    fd = feed(cam, "--count", "240", "--motion", f"{a}:{b}", log=log)
    ok = vt.wait_for(lambda: not fd.alive(), 30)
    t.ok(ok, "recfeed published its frames")
    ev = vt.wait_for(lambda: ended(rdir), 10)
    t.ok(rec.alive(), "recorder still running")
    t.ok(ev and len(ev) == 1, "exactly one event",
         [e["id"] for e in events(rdir)])
    if not ev or len(ev) != 1:
        return
    e = ev[0]
    rows = feed_log(log)
    ta = rows[a]["mt"]
    tb = rows[b - 1]["mt"]
    span = [r for r in rows
            if ta - pre * 10**9 <= r["mt"] <= tb + post * 10**9]
    want_start = rows[a]["rt"] / 1e9 - pre
    want_end = rows[b - 1]["rt"] / 1e9 + post
    t.ok(abs(e["start"] - want_start) <= 0.5,
         "event starts at a - pre (+-0.5 s)", (e["start"], want_start))
    t.ok(abs(e["end"] - want_end) <= 0.5, "event ends at b + post (+-0.5 s)",
         (e["end"], want_end))
    clip = os.path.join(rdir, e["files"][0])
    rc, n, pts, _ = probe(clip)
    t.eq(rc, 0, "ffprobe reads the clip")
    t.ok(abs(n - len(span)) <= 1,
         "ffprobe -count_frames: the frames published in the span (+-1)",
         (n, len(span)))
    t.eq(e["frames"], n, "metadata frames = frames in the clip")
    t.ok(all(x < y for x, y in zip(pts, pts[1:])), "timestamps in order")
    start_ms = round(e["start"] * 1000)
    times = {start_ms + p for p in pts}
    published = {r["rt"] // 10**6 for r in span}
    hit = sum(1 for ms in times
              if ms in published or ms - 1 in published or ms + 1 in published)
    allpub = sorted(r["rt"] // 10**6 for r in rows)
    miss = [(ms, min(allpub, key=lambda x: abs(x - ms)) - ms)
            for ms in sorted(times) if not ({ms - 1, ms, ms + 1} & published)]
    t.ok(not miss, "each frame keeps its capture time to the millisecond",
         (len(times), miss, e["start"]))
    t.eq(e["bytes"], os.path.getsize(clip), "metadata bytes = clip size")
    jpeg_bytes = sum(r["len"] for r in span)
    t.ok(os.path.getsize(clip) <= 1.05 * jpeg_bytes,
         "container overhead <= 5% of the JPEG bytes",
         (os.path.getsize(clip), jpeg_bytes))
    d = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0",
                        "-show_entries", "frame=pts", "-of", "csv=p=0",
                        clip], capture_output=True, timeout=60)
    decoded = len(d.stdout.decode().split())
    t.ok(d.returncode == 0 and not d.stderr.strip() and decoded == n,
         "every frame of the clip decodes without an error",
         (decoded, n, d.stderr[-500:]))
    t.ok(e["interrupted"] is False, "not interrupted")
    t.ok(isinstance(e["grid"], str) and len(e["grid"]) == 144,
         "grid: 72 bytes in hex")
    thumb = os.path.join(rdir, e["thumbnail"] or "")
    data = open(thumb, "rb").read() if os.path.isfile(thumb) else b""
    t.ok(vt.jpeg_ok(data), "thumbnail is a JPEG")
    t.ok(data in {open(os.path.join(rdir, e["files"][0]), "rb").read()
                  [p:p + len(data)] for p in range(0)} or len(data) in
         {r["len"] for r in span}, "thumbnail is a frame as captured")
    st = os.stat(clip)
    t.eq(st.st_mode & 0o777, 0o640, "clip mode 0640")
    t.eq(os.stat(rdir).st_mode & 0o777, 0o750, "directory mode 0750")
    s = read_state(rdir)
    t.ok(s and s["events"] == 1 and s["recording"] is False and
         s["event"] is None and s["bytes"] >= e["bytes"] and
         s["frames_missed"] == 0,
         "state.json: one event stored, not recording, nothing missed", s)
    left = [n for n in os.listdir(rdir) if n.endswith(".tmp")]
    t.eq(left, [], "no temporary files left")
    rec.stop()
    state["span_clip"] = clip


def check_cuts(state):
    """A clip cut anywhere still plays up to <= 1 s before the cut."""
    clip = state.get("span_clip")
    if not clip:
        t.ok(False, "cut test: no clip from the span test")
        return
    rc, n, pts, pos = probe(clip)
    data = open(clip, "rb").read()
    first = min(p for p in pos if p >= 0)
    rng = random.Random(12)
    bad = []
    for k in range(20):
        cut = rng.randrange(first + 1, len(data))
        path = os.path.join(tmp, f"cut{k}.mkv")
        with open(path, "wb") as f:
            f.write(data[:cut])
        # The last frame wholly before the cut, and what must still play.
        whole = [pts[i] for i in range(len(pts))
                 if pos[i] >= 0 and pos[i] + 1 < cut]
        need = (max(whole) - 1000) if whole else -1
        rc2, n2, pts2, _ = probe(path)
        got = max(pts2) if pts2 else -1
        # Before the first whole frame there is nothing to play, but the
        # file must still open.
        if rc2 != 0 or (need >= 0 and (n2 < 0 or got < need)):
            bad.append((cut, rc2, n2, got, need))
        os.unlink(path)
    t.ok(not bad, "20 random cuts: each opens and plays up to <= 1 s before "
         "the cut", bad)


def check_retention(state):
    """--keep-days and --max-size delete the oldest events first."""
    clip = state.get("span_clip")
    if not clip:
        t.ok(False, "retention test: no clip from the span test")
        return
    rdir = os.path.dirname(clip)
    cam = vt.camera_name("ret")
    fresh = events(rdir)[0]
    old = dict(fresh, id="20200101T000000.000Z-old", camera="old",
               start=1577836800.0, end=1577836801.0, last=1577836801.0,
               thumbnail=None, files=["20200101T000000.000Z-old.mkv"])
    shutil.copy(clip, os.path.join(rdir, old["files"][0]))
    with open(os.path.join(rdir, old["id"] + ".json"), "w") as f:
        json.dump(old, f)
    rec = recorder(cam, rdir, "--keep-days", "30", "--min-free", "0")
    gone = vt.wait_for(lambda: not os.path.exists(
        os.path.join(rdir, old["id"] + ".json")) and not os.path.exists(
        os.path.join(rdir, old["files"][0])), 5)
    t.ok(gone,
         "--keep-days 30: the 2020 event and its clip are deleted")
    t.ok(os.path.exists(os.path.join(rdir, fresh["id"] + ".json")),
         "--keep-days 30: today's event stays")
    rec.stop()
    rec = recorder(cam, rdir, "--max-size", "1k", "--min-free", "0")
    # The metadata goes first (unlisted at once), then the clip.
    gone = vt.wait_for(lambda: not os.path.exists(
        os.path.join(rdir, fresh["id"] + ".json")) and
        not os.path.exists(clip), 5)
    t.ok(gone,
         "--max-size 1k: the event over the limit is deleted")
    s = vt.wait_for(lambda: (read_state(rdir) or {}).get("events") == 0
                    and read_state(rdir), 5)
    t.ok(s and s["bytes"] == 0, "state.json: no events, no bytes", s)
    rec.stop()


def check_kill(state):
    """kill -9 mid-event, restart: the event is closed as interrupted."""
    cam = vt.camera_name("kill")
    rdir = os.path.join(tmp, "kill")
    fd = feed(cam, "--count", "0", "--motion", "10:1000000")
    rec = recorder(cam, rdir, "--pre", "1", "--post", "1", "--min-free", "0")

    def recording():
        ev = events(rdir)
        return ev and ev[0]["end"] is None and ev[0]["frames"] >= 40 and ev

    ev = vt.wait_for(recording, 15)
    t.ok(ev, "event being recorded, listed with end null")
    if not ev:
        return
    listed = ev[0]["frames"]
    rec.kill()
    first = ev[0]["id"]
    clip = os.path.join(rdir, ev[0]["files"][0])
    on_disk = probe(clip)[1]
    t.ok(on_disk >= listed - FPS, "after kill -9 the clip holds the frames "
         "up to <= 1 s before", (on_disk, listed))
    rec = recorder(cam, rdir, "--pre", "1", "--post", "1", "--min-free", "0")

    def closed():
        m = read_json(os.path.join(rdir, first + ".json"))
        return m and m["end"] is not None and m

    m = vt.wait_for(closed, 10)
    t.ok(m and m["interrupted"] is True, "restarted: event marked interrupted",
         m)
    if m:
        rc, n, pts, _ = probe(clip)
        t.ok(rc == 0 and n == m["frames"] and n >= on_disk,
             "interrupted clip opens with the frames its metadata says",
             (rc, n, m["frames"], on_disk))
        t.ok(abs(m["end"] - (m["start"] + max(pts) / 1000)) < 0.002,
             "interrupted end = last frame of the clip")
    nxt = vt.wait_for(lambda: [e for e in events(rdir) if e["id"] != first],
                      10)
    t.ok(nxt, "the restarted recorder goes on recording")
    fd.stop()
    rec.stop()


def check_restart_capture():
    """A capture restart (new generation) inside an event continues it."""
    cam = vt.camera_name("gen")
    rdir = os.path.join(tmp, "gen")
    rec = recorder(cam, rdir, "--pre", "1", "--post", "3", "--min-free", "0")
    log1, log2 = os.path.join(tmp, "gen1.log"), os.path.join(tmp, "gen2.log")
    fd = feed(cam, "--count", "60", "--motion", "20:60", log=log1)
    vt.wait_for(lambda: not fd.alive(), 20)
    fd = feed(cam, "--count", "60", "--motion", "0:20", log=log2)
    vt.wait_for(lambda: not fd.alive(), 20)
    ev = vt.wait_for(lambda: ended(rdir), 10)
    t.ok(ev and len(ev) == 1, "capture restart inside an event: one event",
         [e["id"] for e in events(rdir)])
    if ev and len(ev) == 1:
        rows = feed_log(log1) + feed_log(log2)
        n = probe(os.path.join(rdir, ev[0]["files"][0]))[1]
        t.ok(ev[0]["end"] >= rows[len(feed_log(log1)) + 19]["rt"] / 1e9 + 1.5,
             "the event goes on with the new capture's frames",
             (ev[0], rows[len(feed_log(log1)) + 19]))
        t.eq(n, ev[0]["frames"], "its clip holds the frames of both")
    rec.stop()


def ring_mapped(pid, camera):
    """1 when the process maps the camera's segment now."""
    want = "/vigil." + camera
    try:
        with open(f"/proc/{pid}/maps") as f:
            return any(line.rstrip().endswith(want) or
                       (want + " (deleted)") in line for line in f)
    except OSError:
        return False


def check_capture_crash():
    """kill -9 of the capture: the recorder stays on the dead segment (no
    re-opening on a timer), says the camera is offline, and attaches to the
    next capture as soon as it replaces the segment."""
    cam = vt.camera_name("crash")
    rdir = os.path.join(tmp, "crash")
    rec = recorder(cam, rdir, "--min-free", "0")
    fd = feed(cam, "--count", "0")
    online = vt.wait_for(lambda: (read_state(rdir) or {}).get(
        "camera_online"), 10)
    t.ok(online, "the recorder sees the camera online")
    fd.kill()
    offline = vt.wait_for(lambda: (read_state(rdir) or {}).get(
        "camera_online") is False, 10)
    t.ok(offline, "after kill -9 of the capture, state.json: camera offline")
    # While the dead segment is still under the name the recorder keeps its
    # mapping: sampled over 1.5 s (6 of the old 250 ms re-open periods) it
    # is never absent.
    samples = []
    end = time.monotonic() + 1.5
    while time.monotonic() < end:
        samples.append(ring_mapped(rec.pid, cam))
        time.sleep(0.01)
    t.ok(samples and all(samples),
         "the stale segment stays mapped (not re-opened on a timer)",
         f"{samples.count(False)} of {len(samples)} samples unmapped")
    fd = feed(cam, "--count", "0")
    back = vt.wait_for(lambda: (read_state(rdir) or {}).get(
        "camera_online"), 10)
    t.ok(back, "a new capture under the name: the recorder is online again")
    fd.stop()
    rec.stop()


def check_disk_full():
    """A small filesystem filled: retention frees room, recording resumes."""
    if os.geteuid() != 0:
        t.ok(False, "disk full: needs root to mount a tmpfs")
        return
    mnt = os.path.join(tmp, "small")
    os.makedirs(mnt)
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs",
                        mnt], capture_output=True)
    if not t.ok(p.returncode == 0, "mount a 4 MiB tmpfs", p.stderr):
        return
    try:
        cam = vt.camera_name("full")
        rdir = os.path.join(mnt, "rec")
        rec = recorder(cam, rdir, "--pre", "1", "--post", "1",
                       "--min-free", "0")
        # A first event of about 4 s, then one that outgrows the disk.
        fd = feed(cam, "--count", "700", "--motion", "20:60",
                  "--motion", "150:650")
        first = vt.wait_for(lambda: ended(rdir), 20)
        t.ok(first and len(first) == 1, "first event recorded")
        first_id = first[0]["id"] if first else None

        def full():
            s = read_state(rdir)
            return s and s["last_error"] and "No space" in s["last_error"] \
                and s
        s = vt.wait_for(full, 30)
        t.ok(s, "state.json tells the disk was full", read_state(rdir))
        resumed = vt.wait_for(lambda: "resumed" in rec.output(), 20)
        t.ok(resumed, "recording resumes after retention")
        t.ok(first_id and not os.path.exists(
            os.path.join(rdir, first_id + ".json")),
            "retention deleted the oldest event")
        vt.wait_for(lambda: not fd.alive(), 60)
        ev = vt.wait_for(lambda: ended(rdir), 10)
        t.ok(rec.alive(), "no crash")
        out = rec.output()
        t.ok(0 < out.count("disk full") <= 1 + out.count("resumed"),
             "the full disk is logged once per episode", out[-2000:])
        t.ok(ev and len(ev) == 1 and len(ev[0]["files"]) >= 2,
             "the event went on in a new file", (events(rdir), out[-3000:]))
        if ev:
            e = ev[0]
            total = 0
            for name in e["files"]:
                rc, n, _, _ = probe(os.path.join(rdir, name))
                t.ok(rc == 0 and n > 0, f"part '{name}' opens")
                total += max(n, 0)
            t.eq(e["frames"], total, "metadata frames = frames in the parts")
        left = [n for n in os.listdir(rdir) if n.endswith(".tmp")]
        t.eq(left, [], "no partial files left")
        rec.stop()
    finally:
        subprocess.run(["umount", "-l", mnt])


def check_user():
    """--user: files and directories owned by that user, 0640 / 0750."""
    if os.geteuid() != 0:
        t.ok(False, "--user: needs root")
        return
    import pwd
    pw = pwd.getpwnam("nobody")
    rdir = os.path.join(tmp, "user")
    os.chmod(tmp, 0o755)
    cam = vt.camera_name("user")
    rec = recorder(cam, rdir, "--user", "nobody")
    s = vt.wait_for(lambda: read_state(rdir), 5)
    t.ok(s, "runs as nobody and writes state.json")
    st = os.stat(rdir)
    t.ok(st.st_uid == pw.pw_uid and st.st_mode & 0o777 == 0o750,
         "directory owned by the user, 0750")
    st = os.stat(os.path.join(rdir, "state.json"))
    t.ok(st.st_uid == pw.pw_uid and st.st_mode & 0o777 == 0o640,
         "state.json owned by the user, 0640")
    status = open(f"/proc/{rec.pid}/status").read()
    uid = [ln for ln in status.splitlines() if ln.startswith("Uid:")][0]
    t.ok(all(int(x) == pw.pw_uid for x in uid.split()[1:]),
         "all user ids dropped", uid)
    rec.stop()


state = {}
t.run(check_usage)
t.run(check_span, state)
t.run(check_cuts, state)
t.run(check_retention, state)
t.run(check_kill, state)
t.run(check_restart_capture)
t.run(check_capture_crash)
t.run(check_disk_full)
t.run(check_user)
vt.stop_all()
shutil.rmtree(tmp, ignore_errors=True)
t.done()
