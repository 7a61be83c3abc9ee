# SPDX-License-Identifier: MIT
"""End to end: a labelled clip through a real capture into a recording.

The corpus clip enter_stop (tests/motion/corpus.py: one motion, a car
entering from t=a to t=b), after a 3 s lead-in of its own still first
frames, is written at real pace to `vigil-capture
--source stdin` (motion on, --motion-hold 1).  tests/tools/ringcat logs
every frame the ring publishes (seq, capture time, motion flag);
vigil-record (--pre 2 --post 2) records from the ring and vigil-server
--recordings serves the events.  Checks (issue 12, first "Done when"):
exactly one event; it starts at the first motion-flagged frame - pre and
ends at the last motion-flagged frame + post (+-0.5 s, by the ring's own
frame times: what the recorder sees); `ffprobe -count_frames` of its clip
reads the frames the ring published in [start, end] (+-1); the playback
stream /events/ID.mjpg?speed=8 carries those frames' capture times, in
strictly increasing order, to the millisecond; the thumbnail is a JPEG."""
import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "motion"))
import vigiltest as vt  # noqa: E402
import corpus  # noqa: E402
import evaluate  # noqa: E402

RECORD = os.path.join(vt.BUILD, "vigil-record")
RINGCAT = os.path.join(vt.BUILD, "tools", "ringcat")
CLIP = "enter_stop"
PRE, POST, HOLD = 2, 2, 1
# The clip's motion starts 2 s in, no more than --pre: a lead-in of its
# first 1.5 s (still: the car enters at 2 s) fed twice before it lets the
# start check tell --pre 2 from a pre-roll cut short by the clip's start.
STILL, LOOPS = 15, 2
t = vt.Tap()
t.need(vt.CAPTURE, vt.SERVER, RECORD, RINGCAT, "ffprobe", "ffmpeg")
tmp = tempfile.mkdtemp(prefix="vigil-record-capture-")
atexit.register(shutil.rmtree, tmp, True)


class Ring:
    """ringcat's frame lines, read in a thread: seq -> (real_ns, motion)."""

    def __init__(self, camera):
        self.frames = {}
        self.header = threading.Event()
        self.proc = subprocess.Popen(
            [RINGCAT, "-i", "-n", "0", "-t", "0", camera],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        atexit.register(self.stop)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for line in self.proc.stdout:
            if line.startswith("ring "):
                self.header.set()
            if not line.startswith("frame "):
                continue
            f = dict(kv.split("=", 1) for kv in line.split()[1:]
                     if "=" in kv)
            self.frames[int(f["seq"])] = (int(f["real_ns"]),
                                          int(f["motion"]))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)
        self.thread.join(5)


def get_json(addr, path):
    st, _, body = vt.http_get(addr, path)
    return json.loads(body) if st == 200 else None


def check():
    lab = corpus.generate([CLIP])[0]
    a, b = lab["motion"][0]
    t.ok(len(lab["motion"]) == 1, f"clip {CLIP}: one labelled motion",
         lab["motion"])
    jpegs = evaluate.load_frames(lab)
    t.eq(len(jpegs), lab["frames"], "clip split into its frames")
    t.ok(STILL / lab["fps"] < a, "the lead-in frames are before the motion")
    lead = STILL * LOOPS / lab["fps"]
    jpegs = jpegs[:STILL] * LOOPS + jpegs
    a, b = a + lead, b + lead  # in feed time
    flags = [f for f in lab["flags"]]
    if "--motion-hold" in flags:
        i = flags.index("--motion-hold")
        del flags[i:i + 2]
    cam = vt.camera_name("rc")
    rdir = os.path.join(tmp, "rec")
    cap = vt.start_capture(cam, "--source", "stdin", "--size",
                           f"{lab['width']}x{lab['height']}", "--fps",
                           str(lab["fps"]), "--motion-hold", str(HOLD),
                           *flags, stdin=subprocess.PIPE)
    if not t.ok(cap.alive() and os.path.exists(vt.shm_path(cam)),
                "vigil-capture --source stdin made its ring",
                cap.output()[-500:]):
        return
    ring = Ring(cam)
    rec = vt.start([RECORD, "--camera", cam, "--dir", rdir, "--pre",
                    str(PRE), "--post", str(POST), "--min-free", "0"],
                   name=f"record-{cam}")

    def online():
        try:
            with open(os.path.join(rdir, "state.json")) as f:
                return json.load(f).get("camera_online")
        except (OSError, ValueError):
            return None

    ready = (vt.wait_for(lambda: online() or not rec.alive(), 10) and
             ring.header.wait(10))
    # The recordings directory exists now: the server can open it.
    srv, addr = vt.start_server(cam, "--recordings", rdir)
    ready = ready and srv.alive()
    if not t.ok(ready and rec.alive(),
                "recorder online, ringcat attached, server up",
                rec.output()[-500:] + srv.output()[-500:]):
        return

    sent = [0]

    def feed():
        t0 = time.monotonic()
        try:
            for i, j in enumerate(jpegs):
                delay = t0 + i / lab["fps"] - time.monotonic()
                if delay > 0:
                    time.sleep(delay)  # the clip's pace, not a wait
                cap.proc.stdin.write(j)
                cap.proc.stdin.flush()
                sent[0] += 1
        except OSError:
            pass

    t_feed = time.time()
    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()

    def ended():
        ev = get_json(addr, "/events")
        return ev and ev["events"] and all(
            e["end"] is not None for e in ev["events"]) and ev["events"]

    # The event ends about b + hold + post s into the clip.
    evs = vt.wait_for(ended, b + HOLD + POST + 15)
    feeder.join(lab["duration"] + 10)
    t.eq(sent[0], len(jpegs), "every frame of the clip was written")
    # End of input: capture closes the ring, ringcat has had every frame.
    try:
        cap.proc.stdin.close()
    except OSError:
        pass
    cap.stop(timeout=10)
    ring.stop()
    t.ok(rec.alive() and srv.alive(), "recorder and server still running")
    # Listed again now the clip is over: a late second event shows (ended
    # or not).
    evs = (get_json(addr, "/events") or {}).get("events") if evs else evs
    t.ok(evs and len(evs) == 1, "exactly one event",
         [(e["id"], e["start"], e["end"]) for e in evs or []])
    if not evs or len(evs) != 1:
        return
    e = evs[0]
    frames = sorted(ring.frames.items())  # [(seq, (real_ns, motion))]
    seq0, seqn = frames[0][0], frames[-1][0]
    missed = (seqn - seq0 + 1) - len(frames)
    t.diag(f"ring: {len(frames)} frames seen by ringcat, seq {seq0}..{seqn}, "
           f"{missed} missed; clip {len(jpegs)} frames")
    t.ok(len(frames) >= len(jpegs) - 2 and missed <= 3,
         "ringcat saw the clip's frames (<= 3 missed)",
         (len(frames), len(jpegs), missed))
    moving = [(s, ns) for s, (ns, m) in frames if m]
    if not t.ok(moving, "the ring has motion-flagged frames"):
        return
    m1, m2 = moving[0][1] / 1e9, moving[-1][1] / 1e9
    # The clip's time 0: its first frame in the ring.
    c0 = frames[0][1][0] / 1e9
    t.diag(f"labelled motion a={a:.3f} s, b={b:.3f} s (feed time: clip "
           f"time + {lead:.1f} s of lead-in); first motion flag at "
           f"{m1 - c0:.3f} s, last at {m2 - c0:.3f} s (feed time)")
    t.diag(f"event {e['id']}: start {e['start'] - c0:.3f} s, end "
           f"{e['end'] - c0:.3f} s (feed time); want "
           f"{m1 - PRE - c0:.3f} / {m2 + POST - c0:.3f}; labelled "
           f"a-pre {a - PRE:.3f}, b+post {b + POST:.3f}")
    t.ok(abs(e["start"] - (m1 - PRE)) <= 0.5,
         "event starts at the first motion frame - pre (+-0.5 s)",
         (e["start"] - c0, m1 - PRE - c0))
    t.ok(abs(e["end"] - (m2 + POST)) <= 0.5,
         "event ends at the last motion frame + post (+-0.5 s)",
         (e["end"] - c0, m2 + POST - c0))
    t.ok(e["interrupted"] is False and e["end"] is not None,
         "ended, not interrupted")

    # The frames the ring published in [start, end] (ms: the event's times
    # are the frames' capture times in ms).
    lo, hi = round(e["start"] * 1000), round(e["end"] * 1000)
    span = [(s, ns) for s, (ns, _) in frames
            if lo - 1 <= ns // 10**6 <= hi + 1]
    published = span[-1][0] - span[0][0] + 1 if span else 0
    with open(os.path.join(rdir, e["id"] + ".json")) as f:
        meta = json.load(f)
    clip = os.path.join(rdir, meta["files"][0])
    c = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
         "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", clip],
        capture_output=True, timeout=30)
    text = c.stdout.decode().strip().rstrip(",")
    n = int(text) if text.isdigit() else -1
    t.diag(f"ffprobe -count_frames: {n}; ring published {published} in "
           f"[start, end]; event lists {e['frames']}")
    t.ok(c.returncode == 0 and abs(n - published) <= 1,
         "ffprobe -count_frames: the frames published in the span (+-1)",
         (n, published, c.stderr[-300:]))
    t.eq(e["frames"], n, "the event's frames = frames in the clip")

    # Playback at speed 8: every part's X-Timestamp, to the end.
    stream = vt.MjpegStream(addr, f"/events/{e['id']}.mjpg?speed=8",
                            timeout=10)
    t.eq(stream.status, 200, "/events/ID.mjpg?speed=8 answers 200")
    ts, bad_jpeg = [], 0
    t0 = time.monotonic()
    try:
        while len(ts) <= n + 5:
            hdr, body, _ = stream.part()
            ts.append(round(float(hdr["x-timestamp"]) * 1000))
            bad_jpeg += not body.startswith(b"\xff\xd8")
    except EOFError:
        pass
    finally:
        stream.close()
    took = time.monotonic() - t0
    t.diag(f"playback: {len(ts)} parts in {took:.2f} s "
           f"(event {e['end'] - e['start']:.2f} s at speed 8)")
    t.eq(len(ts), n, "playback: one part per frame of the clip")
    t.ok(bad_jpeg == 0, "playback: every part is a JPEG")
    t.ok(all(x < y for x, y in zip(ts, ts[1:])),
         "playback: X-Timestamp strictly increasing")
    # Each timestamp is a published frame's capture time (ms, +-1 for the
    # rounding); a frame ringcat missed must lie in a gap of its seqs.
    by_ms = sorted((ns // 10**6, s) for s, ns in span)
    seen = [x for x, _ in by_ms]
    gaps = [(p[0], q[0]) for p, q in zip(by_ms, by_ms[1:]) if q[1] - p[1] > 1]
    off = [x for x in ts if not any(abs(x - y) <= 1 for y in seen)
           and not any(g0 < x < g1 for g0, g1 in gaps)]
    matched = sum(1 for x in ts if any(abs(x - y) <= 1 for y in seen))
    t.diag(f"playback timestamps matching ring capture times: {matched} of "
           f"{len(ts)}")
    t.ok(not off and matched >= len(ts) - missed,
         "playback: X-Timestamps are the ring's capture times (ms)",
         (off[:10], matched, len(ts)))
    t.ok(ts and ts[0] == lo and ts[-1] <= hi + 1,
         "playback: from the event's start to its end",
         (ts[:1], ts[-1:], lo, hi))

    st, hdr, body = vt.http_get(addr, f"/events/{e['id']}.jpg")
    t.ok(st == 200 and hdr.get("content-type") == "image/jpeg" and
         vt.jpeg_ok(body), "thumbnail: a JPEG",
         (st, hdr.get("content-type"), len(body)))
    t.diag(f"whole test: {time.time() - t_feed:.1f} s from the first frame")
    rec.stop()
    srv.stop()


t.run(check)
vt.stop_all()
t.done()
