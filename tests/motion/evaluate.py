# SPDX-License-Identifier: MIT
"""Runs corpus clips through vigil-capture and vigil-server and judges the
motion the server reports against the clips' labels.

For one clip: vigil-capture --source stdin (or testsrc) with the clip's
flags, a vigil-server on a loopback port, an MJPEG client on /stream.mjpg;
the clip's JPEGs are written to capture's stdin at the clip's frame rate,
paced by the wall clock.  Every part's X-Timestamp, X-Frame-Seq, X-Motion
and X-Motion-Score is recorded; the first frame is clip time 0 and each
frame's clip time is its X-Timestamp minus the first one's.

Two paths to the motion state: the server's X-Motion headers (what the
issue measures), or, when the server sends no X-Motion (a server without
motion support), the ring itself: tools/ringcat runs beside the stream from
the start and prints each frame's flags (motion=0|1, score=, real_ns=);
its frames then stand in for the stream's, clip time from the ring's
realtime stamps.  Each result says which path ran ("server" or "ring").

Pass criteria (issue 11): every labelled motion is declared (X-Motion: 1)
within 0.5 s of its start and cleared within the hold time + 1 s of its end,
in one period; a period that matches no labelled motion is a false alarm.

Usage: python3 tests/motion/evaluate.py [NAME...]  (all clips by default);
prints the table and writes build/motion-corpus/report.txt.
"""
import concurrent.futures
import os
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)
import corpus  # noqa: E402
import vigiltest as vt  # noqa: E402

RINGCAT = os.path.join(vt.BUILD, "tools", "ringcat")
START_LIMIT = 0.5  # s from a motion's start to X-Motion: 1
CLEAR_EXTRA = 1.0  # s beyond the hold from a motion's end to X-Motion: 0


def split_jpegs(data):
    """Splits concatenated JPEGs at their start-of-image markers (FF D8 FF
    cannot occur inside entropy-coded data: FF there is stuffed)."""
    starts = []
    i = data.find(b"\xff\xd8\xff")
    while i >= 0:
        starts.append(i)
        i = data.find(b"\xff\xd8\xff", i + 3)
    return [data[a:b] for a, b in zip(starts, starts[1:] + [len(data)])]


def load_frames(label):
    with open(os.path.join(corpus.OUT, label["file"]), "rb") as f:
        return split_jpegs(f.read())


def _connectable(addr):
    host, _, port = addr.rpartition(":")
    try:
        socket.create_connection((host, int(port)), 1).close()
        return True
    except OSError:
        return False


class Run:
    """One clip through capture and server; .frames holds per frame (index,
    clip time, motion 0/1 or None, score or None); .error says what went
    wrong running it (not a judgement of the motion)."""

    def __init__(self, label):
        self.label = label
        self.frames = []
        self.error = None
        self.sent = 0
        self.no_header = 0
        self.done = threading.Event()  # the reader has the last frame
        self.path = None  # "server" (X-Motion) or "ring" (ringcat)
        self.ring_frames = []  # (seq, real_ns, motion, score, since_ns)
        self.inferred = 0  # ring path: frames ringcat did not see
        self.from_ring = 0  # server path: frames the stream client missed
        self.seq0 = self.ts0 = None  # the stream's first frame

    def run(self):
        try:
            self._run()
        except Exception as e:  # reported, never a crash of the harness
            self.error = self.error or f"{type(e).__name__}: {e}"
        return self

    def _run(self):
        lab = self.label
        cam = vt.camera_name("m")
        size = f"{lab['width']}x{lab['height']}"
        common = ["--size", size, "--fps", str(lab["fps"])] + lab["flags"]
        stdin = lab["source"] == "stdin"
        jpegs = load_frames(lab) if stdin else None
        if stdin:
            cap = vt.start_capture(cam, "--source", "stdin", *common,
                                   stdin=subprocess.PIPE)
        else:
            cap = vt.start_capture(cam, "--source", lab["source"], *common)
        if not cap.alive():
            self.error = (f"vigil-capture exited {cap.proc.returncode} at "
                          f"start: {cap.output().strip()[-300:]}")
            return
        addr = f"127.0.0.1:{vt.free_port()}"
        srv = vt.start([vt.SERVER, "--camera", cam, "--listen", addr],
                       name=f"server-{cam}")
        if not vt.wait_for(lambda: _connectable(addr) or not srv.alive(), 5) \
                or not srv.alive():
            self.error = f"vigil-server did not start: {srv.output()[-300:]}"
            return
        stream = vt.MjpegStream(addr, timeout=3)
        if stream.status != 200:
            self.error = f"/stream.mjpg answered {stream.status_line}"
            return
        ringcat = subprocess.Popen(
            [RINGCAT, "-n", "0", "-t", str(int((lab["duration"] + 8) * 1000)),
             cam], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True)
        ring_reader = threading.Thread(target=self._read_ring,
                                       args=(ringcat,), daemon=True)
        ring_reader.start()
        feeder = None
        if stdin:
            feeder = threading.Thread(target=self._feed, args=(cap, jpegs),
                                      daemon=True)
            feeder.start()
        n = lab["frames"]
        deadline = time.monotonic() + lab["duration"] + 5
        seq0 = ts0 = None
        try:
            while time.monotonic() < deadline:
                hdr, _, _ = stream.part()
                seq, ts = int(hdr["x-frame-seq"]), float(hdr["x-timestamp"])
                if seq0 is None:
                    seq0, ts0 = seq, ts
                    self.seq0, self.ts0 = seq, ts
                idx = seq - seq0
                m, s = hdr.get("x-motion"), hdr.get("x-motion-score")
                if m is None:
                    self.no_header += 1
                self.frames.append((idx, ts - ts0,
                                    None if m is None else int(m),
                                    None if s is None else int(s)))
                if idx >= n - 1:
                    break
        except (EOFError, OSError, ValueError) as e:
            if len(self.frames) < n:
                self.error = (f"stream ended after {len(self.frames)} of {n} "
                              f"frames: {e}; capture: "
                              f"{cap.output().strip()[-200:]}")
        finally:
            self.done.set()
            stream.close()
            if feeder:
                feeder.join(5)
            cap.stop()
            srv.stop()
            if ringcat.poll() is None:
                ringcat.terminate()
            ringcat.wait(5)
            ring_reader.join(5)
        self._choose_path()

    def _read_ring(self, proc):
        for line in proc.stdout:
            if not line.startswith("frame "):
                continue
            f = dict(kv.split("=", 1) for kv in line.split()[1:]
                     if "=" in kv)
            try:
                an = f.get("analysed") == "1"
                self.ring_frames.append(
                    (int(f["seq"]), int(f["real_ns"]),
                     int(f["motion"]) if an else None,
                     int(f["score"]) if an else None, int(f["since_ns"])))
            except (KeyError, ValueError):
                continue

    def _choose_path(self):
        """The server's X-Motion when it sends it; else the motion flag in
        the ring, by sequence number, of every frame the stream or ringcat
        saw.  ringcat reads the newest frame, so on a loaded machine it may
        miss one: such a frame's state is inferred from its neighbours (the
        same state on both sides; the next frame's since_ns when motion was
        declared in between; a clear in between counts as still declared,
        the worse case for the clear delay) and counted in .inferred."""
        if not self.frames or self.no_header < len(self.frames):
            self.path = "server"
            self._fill_from_ring()
            return
        self.path = "ring"
        by_seq = {f[0]: f for f in self.ring_frames if f[2] is not None}
        seqs = sorted(by_seq)
        if not seqs:
            return  # no_header stays: cannot judge
        real0 = round(self.ts0 * 1e6) * 1000  # X-Timestamp: us
        stream = {self.seq0 + idx: round((self.ts0 + t) * 1e6) * 1000
                  for idx, t, _, _ in self.frames}
        frames, unknown = [], 0
        for seq in sorted(set(stream) | {q for q in seqs if q >= self.seq0}):
            idx = seq - self.seq0
            if idx >= self.label["frames"]:
                continue
            if seq in by_seq:
                _, real, m, sc, _ = by_seq[seq]
                frames.append((idx, (real - real0) / 1e9, m, sc))
                continue
            real = stream[seq]
            self.inferred += 1
            before = [by_seq[q] for q in seqs if q < seq][-1:]
            after = [by_seq[q] for q in seqs if q > seq][:1]
            p = before[0] if before else None
            n = after[0] if after else None
            if p is None and n is None:
                m = None
            elif n is not None and n[2] == 1 and (p is None or p[2] != 1):
                m = 1 if real >= n[4] - 1000 else 0
            elif p is not None and n is not None and p[2] == n[2]:
                m = p[2]
            elif p is not None and n is not None:
                m = 1  # a clear somewhere in between: the later one
            else:
                m = (p or n)[2]
            unknown += m is None
            frames.append((idx, (real - real0) / 1e9, m, None))
        self.frames = frames
        self.no_header = unknown

    def _fill_from_ring(self):
        """Server path: the server sends a client that falls behind the
        newest frame, so on a loaded machine the test's own reader may miss
        one.  Such a frame's motion state is taken from the ring, as
        ringcat read it (the same result capture published), and counted
        in .from_ring; a frame neither saw stays missing."""
        if self.seq0 is None:
            return
        have = {idx for idx, _, _, _ in self.frames}
        real0 = round(self.ts0 * 1e6) * 1000  # X-Timestamp: us
        for seq, real, m, sc, _ in self.ring_frames:
            idx = seq - self.seq0
            if m is None or idx in have or not 0 <= idx < self.label["frames"]:
                continue
            self.frames.append((idx, (real - real0) / 1e9, m, sc))
            have.add(idx)
            self.from_ring += 1
        self.frames.sort()

    def _feed(self, cap, jpegs):
        fps = self.label["fps"]
        t0 = time.monotonic()
        try:
            for i, j in enumerate(jpegs):
                delay = t0 + i / fps - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                cap.proc.stdin.write(j)
                cap.proc.stdin.flush()
                self.sent += 1
            # End of input ends capture: not before the server has
            # streamed the last frame.
            self.done.wait(5)
        except OSError as e:
            self.error = f"writing frame {self.sent} to capture: {e}"
        finally:
            try:
                cap.proc.stdin.close()
            except OSError:
                pass



def periods(frames, end):
    """The declared motion periods: [start, end or None if still declared at
    the clip's end] in clip time."""
    out, on = [], None
    for _, t, m, _ in frames:
        if m and on is None:
            on = t
        elif not m and on is not None:
            out.append([on, t])
            on = None
    if on is not None:
        out.append([on, None])
    return out


def judge(run):
    """Returns a dict: expected, found, rows (per expected motion: start
    delay, clear delay, verdict), false alarms, failures (strings)."""
    lab = run.label
    res = dict(name=lab["name"], expected=lab["motion"], found=[], rows=[],
               false_alarms=[], failures=[], frames=len(run.frames),
               sent=run.sent, max_score=None, pace=None, path=run.path,
               inferred=run.inferred, from_ring=run.from_ring)
    if run.frames:
        # how far capture's timestamps stray from the clip's own clock
        res["pace"] = max(abs(t - i / lab["fps"]) for i, t, _, _ in run.frames)
    if run.error:
        res["failures"].append(f"run failed: {run.error}")
    if not run.frames:
        res["failures"].append("no frame received from /stream.mjpg")
        return res
    if len(run.frames) < lab["frames"]:
        got = {i for i, _, _, _ in run.frames}
        missing = [i for i in range(lab["frames"]) if i not in got]
        res["failures"].append(
            f"received {len(run.frames)} of {lab['frames']} frames (missing "
            f"{' '.join(map(str, missing[:12]))}"
            f"{' ...' if len(missing) > 12 else ''})")
    if run.no_header:
        res["failures"].append(
            f"no X-Motion header on {run.no_header} of {len(run.frames)} "
            f"frames ({run.path} path): cannot judge motion (is detection "
            "built in?)")
        return res
    scores = [s for _, _, _, s in run.frames if s is not None]
    res["max_score"] = max(scores) if scores else None
    found = periods(run.frames, lab["duration"])
    res["found"] = found
    hold = lab["hold"] or 0
    used = set()
    for s, e in lab["motion"]:
        row = dict(start=s, end=e, delay=None, clear=None, ok=False, why="")
        match = [i for i, (fs, fe) in enumerate(found)
                 if fs <= e + hold + CLEAR_EXTRA
                 and (fe is None or fe > s)]
        used.update(match)
        if not match:
            row["why"] = "never declared"
        else:
            fs, fe = found[match[0]]
            row["delay"] = fs - s
            last_end = found[match[-1]][1]
            row["clear"] = None if last_end is None else last_end - e
            if len(match) > 1:
                row["why"] = f"interrupted: {len(match)} periods"
            elif fs - s > START_LIMIT:
                row["why"] = f"declared {fs - s:.2f} s late"
            elif fs < s - 1.0 / lab["fps"] - 0.05:
                row["why"] = f"declared {s - fs:.2f} s before the motion"
            elif last_end is None:
                row["why"] = "never cleared"
            elif last_end - e > hold + CLEAR_EXTRA:
                row["why"] = (f"cleared {last_end - e:.2f} s after the end "
                              f"(limit {hold + CLEAR_EXTRA:.1f})")
            elif last_end < e:
                row["why"] = f"cleared {e - last_end:.2f} s before the end"
            else:
                row["ok"] = True
        if not row["ok"]:
            res["failures"].append(f"motion {s:.2f}-{e:.2f} s: {row['why']}")
        res["rows"].append(row)
    for i, p in enumerate(found):
        if i not in used:
            res["false_alarms"].append(p)
    if res["false_alarms"]:
        res["failures"].append(
            "false alarm: " + ", ".join(_iv(p) for p in res["false_alarms"]))
    return res


def _iv(p):
    return f"{p[0]:.2f}-{'open' if p[1] is None else f'{p[1]:.2f}'}"


def _f(v):
    return "-" if v is None else f"{v:+.2f}"


def table(results):
    lines = [f"{'clip':15} {'expected':33} {'found':33} {'start':>6} "
             f"{'clear':>6} {'false':>5} {'score':>5} {'pace':>5} "
             f"{'path':>6}  verdict"]
    for r in results:
        exp = " ".join(_iv(p) for p in r["expected"]) or "none"
        fnd = " ".join(_iv(p) for p in r["found"]) or "none"
        delays = [row["delay"] for row in r["rows"]]
        clears = [row["clear"] for row in r["rows"]]
        start = _f(max(delays)) if delays and None not in delays else "-"
        clear = _f(max(clears)) if clears and None not in clears else "-"
        score = "-" if r["max_score"] is None else str(r["max_score"])
        pace = "-" if r["pace"] is None else f"{r['pace']:.2f}"
        path = r.get("path") or "-"
        if r.get("from_ring"):
            path += f"+{r['from_ring']}"
        verdict = "PASS" if not r["failures"] else "FAIL: " + "; ".join(
            r["failures"])
        lines.append(f"{r['name']:15} {exp:33} {fnd:33} {start:>6} "
                     f"{clear:>6} {len(r['false_alarms']):>5} {score:>5} "
                     f"{pace:>5} {path:>6}  {verdict}")
    lines.append("start: worst delay from a motion's start to X-Motion: 1; "
                 "clear: worst delay from its end to X-Motion: 0 (limit: "
                 "hold + 1 s); false: periods matching no real motion; "
                 "score: highest X-Motion-Score (per mille); pace: worst "
                 "distance of a frame's X-Timestamp from its place in the "
                 "clip; path: where the motion state was read (server: "
                 "X-Motion headers, +N: N frames the loaded test client "
                 "missed, read from the ring; ring: ringcat, the server "
                 "sent no X-Motion); times in s from the first frame")
    return "\n".join(lines)


def evaluate(labels, parallel=2, on_result=None):
    """Runs the clips, `parallel` at a time; returns judgements in the
    labels' order and writes the report."""
    with concurrent.futures.ThreadPoolExecutor(parallel) as ex:
        futs = [ex.submit(Run(lab).run) for lab in labels]
        results = []
        for f in futs:
            r = judge(f.result())
            if on_result:
                on_result(r)
            results.append(r)
    with open(os.path.join(corpus.OUT, "report.txt"), "w") as f:
        f.write(table(results) + "\n\n" + clips(labels))
    return results


def clips(labels):
    """What each clip holds: for whoever tunes a detector against it."""
    out = []
    for lab in labels:
        out.append(f"{lab['name']}: {lab['description']}; {lab['frames']} "
                   f"frames {lab['width']}x{lab['height']} at {lab['fps']} "
                   f"fps, source {lab['source']}, flags "
                   f"{' '.join(lab['flags']) or 'none'}")
        out += [f"    {o}" for o in lab["objects"]]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    labels = corpus.generate(sys.argv[1:] or None, log=print)
    rs = evaluate(labels)
    print(table(rs))
    sys.exit(1 if any(r["failures"] for r in rs) else 0)
