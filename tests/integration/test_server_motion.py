#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""vigil-server's motion interface, end to end from a ring writer that
publishes known motion results (tests/tools/ringfeed.c --motion): every
part's X-Motion, X-Motion-Score and X-Motion-Analysed against what was
published for its X-Frame-Seq, /state's motion object (score, since, grid
bits), the /metrics gauges and the count of motion periods, frames without
a result, a ring without any, and no camera at all."""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import vigiltest as vt  # noqa: E402
from vigiltest import start_server, start_ringfeed, metrics, parts_for, state  # noqa: E402

t = vt.Tap()
t.need(vt.SERVER, vt.RINGFEED)

COLS, ROWS = 32, 18
# 10 quiet frames, a motion period of 8, 4 frames without a result, a new
# period of 8 (a new "since"), 10 quiet: 40 frames, repeated.
SCHEDULE = [(10, "q"), (8, "m"), (4, "n"), (8, "m"), (10, "q")]
CYCLE = sum(n for n, _ in SCHEDULE)
FPS = 25


def grid_bytes(cells):
    """ring.h's layout: cell (c, r) is bit c % 8 of byte r * 4 + c // 8."""
    g = bytearray(COLS * ROWS // 8)
    for c, r in cells:
        g[r * (COLS // 8) + c // 8] |= 1 << (c % 8)
    return bytes(g)


# A diagonal band and one corner: any mix-up of rows, columns or bit order
# shows.
CELLS = {(c, r) for c in range(COLS) for r in range(ROWS) if (c + 2 * r) % 7 == 0} | {(31, 17)}
GRID = grid_bytes(CELLS)
EMPTY = bytes(len(GRID))


def kind(seq):
    at = (seq - 1) % CYCLE
    for n, k in SCHEDULE:
        if at < n:
            return k
        at -= n
    raise AssertionError


def want_headers(seq):
    k = kind(seq) if seq > 0 else "n"   # seq 0: the offline picture
    score = {"m": 100 + seq % 900, "q": seq % 10, "n": 0}[k]
    return {"x-motion": "1" if k == "m" else "0", "x-motion-score": str(score),
            "x-motion-analysed": "0" if k == "n" else "1"}


def period_start(seq):
    """The sequence number of the first frame of seq's motion period."""
    while seq > 1 and kind(seq - 1) == "m":
        seq -= 1
    return seq


def periods_up_to(seq):
    """Motion periods begun in frames 1..seq."""
    return sum(1 for s in range(1, seq + 1) if kind(s) == "m" and (s == 1 or kind(s - 1) != "m"))


def check_no_camera():
    cam = vt.camera_name("none")
    srv, addr = start_server(cam)
    m = state(addr)["motion"]
    t.eq(m, {"enabled": False, "active": False, "score": 0, "since": None,
             "grid": {"cols": COLS, "rows": ROWS, "bits": EMPTY.hex()}, "periods": 0},
         "no camera: /state's motion is disabled, quiet, with an empty grid")
    mm = metrics(addr)
    t.eq([mm.get(k) for k in ("vigil_motion_enabled", "vigil_motion_active",
                              "vigil_motion_score_permille", "vigil_motion_periods_total")],
         [0, 0, 0, 0], "no camera: the motion metrics are 0")
    s = vt.MjpegStream(addr)
    h, _, _ = s.part()
    t.ok(h["x-frame-seq"] == "0" and all(h.get(k) == v for k, v in want_headers(0).items()),
         "the offline picture says X-Motion: 0, X-Motion-Score: 0, X-Motion-Analysed: 0", h)
    s.close()
    srv.stop()


def check_motion_off():
    cam = vt.camera_name("off")
    srv, addr = start_server(cam)
    feed = start_ringfeed(cam, "--fps", "20", "--size", "160x120")
    t.ok(vt.wait_for(lambda: state(addr)["seq"] > 3, 5), "ringfeed without --motion: frames flow")
    m = state(addr)["motion"]
    t.ok(not m["enabled"] and not m["active"] and m["score"] == 0 and m["grid"]["bits"] == EMPTY.hex(),
         "frames without results: /state says motion is not enabled", m)
    t.eq(metrics(addr)["vigil_motion_enabled"], 0, "vigil_motion_enabled 0 without results")
    s = vt.MjpegStream(addr)
    parts = [h for h, _ in parts_for(s, 0.5)]
    t.ok(parts and all(h["x-motion"] == "0" and h["x-motion-score"] == "0" and
                       h["x-motion-analysed"] == "0" for h in parts),
         "every part without a result: X-Motion 0, X-Motion-Score 0, X-Motion-Analysed 0",
         parts[:2])
    s.close()
    feed.stop()
    srv.stop()


def check_schedule():
    cam = vt.camera_name("mo")
    # The server first, so that it reads the ring from its first frame and
    # sees every period begin.
    srv, addr = start_server(cam)
    spec = ",".join(f"{n}{k}" for n, k in SCHEDULE)
    feed = start_ringfeed(cam, "--fps", str(FPS), "--size", "160x120",
                          "--motion", spec, "--motion-grid", GRID.hex())
    t.ok(vt.wait_for(lambda: state(addr)["status"] == "online", 5), "ringfeed --motion: online")

    # The wire: the part's header lines in the documented order.
    sock = vt.connect(addr)
    sock.sendall(b"GET /stream.mjpg HTTP/1.1\r\nHost: x\r\n\r\n")
    raw = b""
    while raw.count(b"\r\n\r\n") < 2:
        raw += sock.recv(65536)
    sock.close()
    head = raw.split(b"\r\n\r\n")[1].split(b"\r\n")[1:]
    names = [x.split(b":")[0].decode() for x in head]
    t.eq(names, ["Content-Type", "Content-Length", "X-Timestamp", "X-Frame-Seq", "X-Motion",
                 "X-Motion-Score", "X-Motion-Analysed"], "a part's header lines, in order")

    answers, stop = [], threading.Event()

    def poll():
        while not stop.is_set():
            answers.append((state(addr), metrics(addr)))
            time.sleep(0.015)
    th = threading.Thread(target=poll)
    th.start()
    s = vt.MjpegStream(addr)
    parts = parts_for(s, 2.5 * CYCLE / FPS)
    stop.set()
    th.join()
    s.close()

    live = [h for h, _ in parts if h["x-frame-seq"] != "0"]
    bad = [(h["x-frame-seq"], {k: h.get(k) for k in want_headers(1)})
           for h in live if any(h.get(k) != v for k, v in want_headers(int(h["x-frame-seq"])).items())]
    kinds = {kind(int(h["x-frame-seq"])) for h in live}
    t.ok(len(live) > 2 * CYCLE and kinds == {"m", "q", "n"},
         f"{len(live)} parts over 2.5 schedules, with motion, quiet and no-result frames", kinds)
    t.ok(not bad, "every part's X-Motion, X-Motion-Score, X-Motion-Analysed are what was "
         "published for its seq", bad[:5])
    stamps = {int(h["x-frame-seq"]): float(h["x-timestamp"]) for h in live}

    bad, seen = [], set()
    since_checked = 0
    for st, mm in answers:
        seq, m = st["seq"], st["motion"]
        if seq < 1:
            continue
        k = kind(seq)
        seen.add(k)
        want = {"enabled": True, "active": k == "m",
                "score": int(want_headers(seq)["x-motion-score"]),
                "grid": {"cols": COLS, "rows": ROWS, "bits": (GRID if k == "m" else EMPTY).hex()},
                "periods": periods_up_to(seq)}
        got = {x: m[x] for x in want}
        if got != want:
            bad.append((seq, got, want))
        if k != "m" and m["since"] is not None:
            bad.append((seq, "since", m["since"]))
        if k == "m":
            first = period_start(seq)
            if first in stamps:
                since_checked += 1
                # since: milliseconds of the period's first frame's capture time
                if abs(m["since"] - stamps[first]) > 0.0011:
                    bad.append((seq, "since", m["since"], stamps[first]))
        # /metrics in the same state as /state's frame (or a later one)
        mseq = int(mm["vigil_ring_sequence"])
        if mseq >= seq and mm["vigil_motion_periods_total"] != periods_up_to(mseq):
            bad.append((mseq, "periods_total", mm["vigil_motion_periods_total"],
                        periods_up_to(mseq)))
        if mm["vigil_motion_active"] != (1 if kind(mseq) == "m" else 0) or \
                mm["vigil_motion_score_permille"] != int(want_headers(mseq)["x-motion-score"]) or \
                mm["vigil_motion_enabled"] != 1:
            bad.append((mseq, "metrics", {k: v for k, v in mm.items() if "motion" in k}))
    t.ok(len(answers) > 20 and seen == {"m", "q", "n"},
         f"{len(answers)} /state and /metrics answers, at motion, quiet and no-result frames",
         seen)
    t.ok(not bad, "/state's motion (enabled, active, score, grid bits, periods) and the "
         "motion metrics match the newest frame's published result", bad[:5])
    t.ok(since_checked > 0, f"/state's since is the capture time of the period's first "
         f"frame ({since_checked} answers checked)")
    n = int(metrics(addr)["vigil_motion_periods_total"])
    t.ok(n >= 4, f"vigil_motion_periods_total counts every period begun ({n})")

    # The camera stops in the middle of a motion period: its last frame's
    # motion does not stay "active".
    t.ok(vt.wait_for(lambda: state(addr)["motion"]["active"], 3), "motion declared again")
    feed.stop()
    t.ok(vt.wait_for(lambda: state(addr)["status"] != "online", 5), "ringfeed stopped: not online")
    m, mm = state(addr)["motion"], metrics(addr)
    t.ok(not m["enabled"] and not m["active"] and m["score"] == 0 and m["since"] is None and
         m["grid"]["bits"] == EMPTY.hex() and m["periods"] == n and
         mm["vigil_motion_active"] == 0 and mm["vigil_motion_score_permille"] == 0,
         "a camera that stopped during motion: no motion declared, periods kept", (m, n))
    srv.stop()


t.run(check_no_camera)
t.run(check_motion_off)
t.run(check_schedule)
t.done()
