#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""vigil-server serving several cameras: three rings written by ringfeed at
different sizes, --camera repeated and --cameras, every camera's URLs under
/cam/NAME/, the unprefixed URLs serving the first camera, /cameras, an
unknown camera (404), names that are not camera names (400), the sub-stream
URLs while no sub ring exists (404), per-camera /metrics series, bad
command lines, and ?idle_fps against ringfeed's motion schedule."""
import json
import os
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import vigiltest as vt  # noqa: E402
from vigiltest import start_server, start_ringfeed, http_get, metrics  # noqa: E402

t = vt.Tap()
t.need(vt.SERVER, vt.RINGFEED)

SIZES = [(160, 120), (320, 180), (240, 240)]


def jpeg_size(data):
    """(width, height) from a JPEG's SOF marker, or None."""
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker, length = data[i + 1], struct.unpack(">H", data[i + 2:i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            h, w = struct.unpack(">HH", data[i + 5:i + 9])
            return w, h
        i += 2 + length
    return None


def get_json(addr, path):
    st, hdr, body = http_get(addr, path)
    return st, json.loads(body) if st == 200 else body


def check_cameras():
    names = [vt.camera_name(x) for x in "abc"]
    srv, addr = start_server(names[0], "--camera", names[1], "--cameras",
                             names[2])
    feeds = [start_ringfeed(n, "--fps", "10", "--size", f"{w}x{h}")
             for n, (w, h) in zip(names, SIZES)]
    ok = vt.wait_for(lambda: all(c["status"] == "online"
                                 for c in get_json(addr, "/cameras")[1]["cameras"]), 5)
    st, cams = get_json(addr, "/cameras")
    t.ok(ok, "/cameras: all three online", cams)
    t.eq([c["name"] for c in cams["cameras"]], names,
         "/cameras lists the cameras in command-line order")
    t.eq([(c["width"], c["height"]) for c in cams["cameras"]], SIZES,
         "/cameras gives each camera's size")
    t.ok(all(c["fps"] == 10 and c["motion"] is False and c["sub"] is False
             for c in cams["cameras"]),
         "/cameras: fps, no motion, no sub-stream", cams)
    t.eq(sorted(cams["cameras"][0]), ["fps", "height", "motion", "name", "status", "sub", "width"],
         "/cameras' members")

    for n, size in zip(names, SIZES):
        st, _, body = http_get(addr, f"/cam/{n}/snapshot.jpg")
        t.ok(st == 200 and jpeg_size(body) == size,
             f"/cam/{n}/snapshot.jpg is that camera's picture {size}",
             (st, jpeg_size(body)))
        s = vt.MjpegStream(addr, f"/cam/{n}/stream.mjpg")
        parts = [s.part() for _ in range(3)]
        s.close()
        seqs = [int(h["x-frame-seq"]) for h, _, _ in parts]
        t.ok(all(jpeg_size(b) == size for _, b, _ in parts) and seqs == sorted(seqs)
             and seqs[0] > 0,
             f"/cam/{n}/stream.mjpg streams that camera's frames", seqs)
        st, js = get_json(addr, f"/cam/{n}/state")
        t.ok(st == 200 and js["camera"] == n and (js["width"], js["height"]) == size,
             f"/cam/{n}/state is that camera's", js)

    # The first camera, without the prefix, as before.
    st, _, body = http_get(addr, "/snapshot.jpg")
    t.eq(jpeg_size(body), SIZES[0], "/snapshot.jpg is the first camera's")
    s = vt.MjpegStream(addr, "/stream.mjpg")
    h, b, _ = s.part()
    s.close()
    t.eq(jpeg_size(b), SIZES[0], "/stream.mjpg is the first camera's")
    t.eq(get_json(addr, "/state")[1]["camera"], names[0], "/state is the first camera's")

    # Bad and unknown names, sub-streams that do not exist.
    for path, want in ((f"/cam/{vt.camera_name('zz')}/stream.mjpg", 404),
                       (f"/cam/{vt.camera_name('zz')}/state", 404),
                       ("/cam/bad.name/stream.mjpg", 400),
                       ("/cam/a%20b/state", 400),
                       ("/cam//state", 400),
                       ("/cam/" + "x" * 33 + "/state", 400),
                       (f"/cam/{names[1]}/nothing", 404),
                       (f"/cam/{names[1]}/sub.mjpg", 404),
                       (f"/cam/{names[1]}/sub.jpg", 404),
                       (f"/cam/{names[1]}/stream.mjpg?idle_fps=0", 400),
                       (f"/cam/{names[1]}/stream.mjpg?idle_fps=x", 400)):
        st, _, _ = http_get(addr, path)
        t.eq(st, want, f"{path}: {want}")

    # The camera's page.
    st, hdr, _ = http_get(addr, f"/cam/{names[1]}")
    t.ok(st == 301 and hdr.get("location") == f"/cam/{names[1]}/",
         "/cam/NAME redirects to /cam/NAME/", (st, hdr))
    for path in (f"/cam/{names[1]}/", f"/cam/{names[1]}/index.html"):
        st, _, body = http_get(addr, path)
        t.ok(st == 200 and f"<title>{names[1]} · vigil</title>".encode() in body
             and f'data-cameras="{",".join(names)}"'.encode() in body,
             f"{path}: the page of that camera, knowing every camera")
    st, _, body = http_get(addr, "/index.html")
    t.ok(st == 200 and f"<title>{names[0]} · vigil</title>".encode() in body,
         "/index.html names the first camera")

    # Per-camera series.
    def counted():
        m = metrics(addr)
        return all(m.get(f'vigil_camera_frames_received_total{{camera="{n}"}}', 0) > 0
                   and m.get(f'vigil_camera_online{{camera="{n}"}}') == 1 for n in names) and m
    m = vt.wait_for(counted, 3)
    t.ok(m, "/metrics: every camera's labelled frames and online series")
    m = metrics(addr)
    t.ok(m.get(f'vigil_camera_status{{camera="{names[0]}",status="online"}}') == 1
         and m.get("vigil_frames_received_total", 0) > 0,
         "/metrics: the unlabelled series are still there (the first camera)")

    # One camera stopping leaves the others online.
    feeds[1].stop()
    ok = vt.wait_for(lambda: [c["status"] for c in get_json(addr, "/cameras")[1]["cameras"]]
                     == ["online", "offline", "online"], 5)
    t.ok(ok, "a stopped capture: that camera alone goes offline",
         get_json(addr, "/cameras")[1])
    s = vt.MjpegStream(addr, f"/cam/{names[1]}/stream.mjpg")
    h, _, _ = s.part()
    s.close()
    t.eq(h["x-frame-seq"], "0", "an offline camera's stream gives the offline picture")
    for f in feeds:
        f.stop()
    srv.stop()


def check_usage():
    for args in (["--camera", "a", "--camera", "bad.name"], ["--cameras", "a,,b.c"],
                 ["--camera", "a", "--cameras", "b,a"], ["--cameras", "x" * 33]):
        r = subprocess.run([vt.SERVER] + args + ["--listen", "127.0.0.1:1"],
                           capture_output=True, text=True, timeout=10)
        t.ok(r.returncode == 2 and "camera" in r.stderr,
             f"vigil-server {' '.join(args)[:40]}: bad usage", r.stderr)


def kind_of(seq, schedule):
    cycle = sum(n for n, _ in schedule)
    at = (seq - 1) % cycle
    for n, k in schedule:
        if at < n:
            return k
        at -= n
    raise AssertionError


def check_idle_fps():
    cam = vt.camera_name("idle")
    fps, idle = 25, 2
    schedule = [(50, "q"), (25, "m")]   # 2 s quiet, 1 s motion
    srv, addr = start_server(vt.camera_name("first"), "--camera", cam)
    feed = start_ringfeed(cam, "--fps", str(fps), "--size", "160x120",
                          "--motion", ",".join(f"{n}{k}" for n, k in schedule))
    t.ok(vt.wait_for(lambda: get_json(addr, f"/cam/{cam}/state")[1]["status"] == "online", 5),
         "idle_fps camera online")
    s = vt.MjpegStream(addr, f"/cam/{cam}/stream.mjpg?idle_fps={idle}")
    parts = []
    end = time.monotonic() + 6.5
    while time.monotonic() < end:
        h, _, at = s.part()
        parts.append((int(h["x-frame-seq"]), h["x-motion"], at))
    s.close()
    feed.stop()
    srv.stop()
    seqs = [p[0] for p in parts if p[0] > 0]
    first, last = min(seqs), max(seqs)
    t.ok(all(p[1] == ("1" if kind_of(p[0], schedule) == "m" else "0") for p in parts if p[0] > 0),
         "each part's X-Motion follows the schedule")
    # Whole quiet and motion phases seen between the first and last part.
    quiet_counts, motion_missing, firsts = [], [], []
    seen = set(seqs)
    cycle = sum(n for n, _ in schedule)
    base = ((first - 1) // cycle + 1) * cycle + 1   # the first whole cycle
    while base + cycle - 1 <= last:
        quiet = range(base, base + schedule[0][0])
        motion = range(base + schedule[0][0], base + cycle)
        quiet_counts.append(sum(1 for q in quiet if q in seen))
        motion_missing += [m for m in motion if m not in seen]
        # Within one frame of X-Motion: 1 (the server sends the newest
        # frame when the socket takes one: on a loaded machine a frame
        # may give way to the next, never to a whole idle interval).
        firsts.append(motion[0] in seen or motion[1] in seen)
        base += cycle
    t.ok(len(quiet_counts) >= 1, "at least one whole quiet+motion cycle observed",
         (first, last))
    # 2 s quiet at idle_fps=2: 4 parts, 5 with the edges' rounding.
    t.ok(quiet_counts and all(2 <= n <= idle * 2 + 1 for n in quiet_counts),
         f"quiet phases: at most {idle} parts a second (got {quiet_counts} in 2 s)")
    t.ok(firsts and all(firsts),
         "each motion phase is delivered from its first frame or the next one",
         firsts)
    # Full rate: the idle cap lifted (at idle_fps=2 a 1 s phase would give
    # 2 parts); skip-to-newest may drop a few under load, never most.
    nmotion = schedule[1][0] * len(quiet_counts)
    t.ok(nmotion and len(motion_missing) <= nmotion // 5,
         "motion phases: full rate (at least 80 % of their frames delivered)",
         motion_missing[:10])
    # The first motion frame arrives one frame interval after the quiet
    # frame before it at most (not a whole idle interval).
    byseq = {p[0]: p[2] for p in parts}
    gaps = []
    for q in range(first, last):
        if kind_of(q + 1, schedule) == "m" and kind_of(q, schedule) == "q" and q + 1 in byseq:
            prev = max((s2 for s2 in byseq if s2 <= q), default=None)
            if prev is not None:
                gaps.append(byseq[q + 1] - byseq[prev])
    t.ok(gaps and all(g < 1.0 / idle + 0.2 for g in gaps), "motion frames come at once", gaps)

    # Without idle_fps, the quiet frames all come (the cap is the query's).
    srv, addr = start_server(cam)
    feed = start_ringfeed(cam, "--fps", str(fps), "--size", "160x120",
                          "--motion", "1000q")
    vt.wait_for(lambda: get_json(addr, "/state")[1]["status"] == "online", 5)
    s = vt.MjpegStream(addr, "/stream.mjpg")
    got = [int(s.part()[0]["x-frame-seq"]) for _ in range(12)]
    s.close()
    t.ok(got[-1] - got[1] == 10, "without idle_fps every quiet frame is sent", got)
    feed.stop()
    srv.stop()


def fixture_event(d, sec, cam):
    """An event's metadata file and thumbnail, as vigil-record writes them
    (test_server_events.py has the full set)."""
    ms = int(round(sec * 1000))
    i = time.strftime("%Y%m%dT%H%M%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z-{cam}"
    m = {"id": i, "camera": cam, "start": round(sec, 3), "end": round(sec + 10.5, 3),
         "last": round(sec + 10.5, 3), "frames": 210, "bytes": 123456, "score": 37,
         "grid": "0" * 144, "interrupted": False, "width": 640, "height": 480,
         "thumbnail": i + ".jpg", "files": [i + ".mkv"]}
    with open(os.path.join(d, i + ".json"), "w") as f:
        json.dump(m, f)
    with open(os.path.join(d, i + ".jpg"), "wb") as f:
        f.write(b"\xff\xd8" + cam.encode() + b"\xff\xd9")
    return i


def check_recordings():
    """--recordings DIR with several cameras: DIR/NAME is camera NAME's,
    DIR itself the first camera's when DIR/first is absent; a camera with
    neither has no events."""
    import tempfile
    names = [vt.camera_name(x) for x in ("ra", "rb", "rc")]
    d = tempfile.mkdtemp(prefix="vgcam-")
    os.mkdir(os.path.join(d, names[1]))
    t0 = 1764553512.125
    ida = fixture_event(d, t0, names[0])
    idb = fixture_event(os.path.join(d, names[1]), t0 + 60, names[1])
    srv, addr = start_server(names[0], "--cameras", f"{names[1]},{names[2]}",
                             "--recordings", d)
    st, js = get_json(addr, "/events")
    t.ok(st == 200 and [e["id"] for e in js["events"]] == [ida],
         "--recordings with several cameras: /events is DIR's (the first camera's)", js)
    st, js2 = get_json(addr, f"/cam/{names[0]}/events")
    t.eq(js2, js, "/cam/FIRST/events is the same")
    st, js = get_json(addr, f"/cam/{names[1]}/events")
    ev = js["events"][0] if st == 200 and js["events"] else {}
    t.ok(st == 200 and [e["id"] for e in js["events"]] == [idb]
         and ev.get("thumbnail") == f"/cam/{names[1]}/events/{idb}.jpg"
         and ev.get("play") == f"/cam/{names[1]}/events/{idb}.mjpg",
         "/cam/NAME/events: DIR/NAME's events, their URLs under /cam/NAME/", js)
    st, _, body = http_get(addr, ev.get("thumbnail", "/x"))
    t.ok(st == 200 and names[1].encode() in body, "that thumbnail URL serves NAME's thumbnail", st)
    st, _, _ = http_get(addr, f"/cam/{names[1]}/events/{ida}")
    t.eq(st, 404, "another camera's event is not under /cam/NAME/events")
    st, _, _ = http_get(addr, f"/cam/{names[2]}/events")
    t.eq(st, 404, "a camera without a recordings directory: no events (404)")
    with open(os.path.join(d, names[1], "state.json"), "w") as f:
        json.dump({"camera": names[1], "pid": 1, "recording": True, "event": None,
                   "events": 7, "bytes": 0, "free_bytes": 1000, "total_bytes": 2000,
                   "frames": 0, "frames_missed": 0, "camera_online": True,
                   "last_error": None, "last_error_time": None,
                   "updated": round(time.time(), 3)}, f)
    rb = get_json(addr, f"/cam/{names[1]}/state")[1].get("recorder", {})
    t.ok(rb.get("present") is True and rb.get("events") == 7,
         "/cam/NAME/state: that camera's recorder state (DIR/NAME/state.json)", rb)
    t.ok("recorder" not in get_json(addr, f"/cam/{names[2]}/state")[1],
         "a camera without recordings: no recorder in its /state")
    srv.stop()


def check_sub():
    """The sub-stream: the ring /vigil.NAME.sub.  ringfeed writes only
    /vigil.<camera> rings, so one is written under another name and renamed
    (a tmpfs rename: the writer's mapping, heartbeat and frames carry on
    under the new name)."""
    names = [vt.camera_name("sa"), vt.camera_name("sb")]
    srv, addr = start_server(names[0], "--camera", names[1])
    main = start_ringfeed(names[1], "--fps", "10", "--size", "320x180")
    tmp = vt.camera_name("sx")
    sub_path = vt.shm_path(names[1]) + ".sub"
    st, _, _ = http_get(addr, f"/cam/{names[1]}/sub.mjpg")
    t.eq(st, 404, "no sub ring: sub.mjpg is 404")
    st, _, _ = http_get(addr, f"/cam/{names[1]}/sub.jpg")
    t.eq(st, 404, "no sub ring: sub.jpg is 404")
    t.eq([c["sub"] for c in get_json(addr, "/cameras")[1]["cameras"]], [False, False],
         "/cameras: no sub-stream yet")
    sub = start_ringfeed(tmp, "--fps", "20", "--size", "160x90", "--motion", "1000q")
    try:
        os.rename(vt.shm_path(tmp), sub_path)
        ok = vt.wait_for(lambda: [c["sub"] for c in get_json(addr, "/cameras")[1]["cameras"]]
                         == [False, True], 3)
        t.ok(ok, "a ring /vigil.NAME.sub appears: /cameras says sub: true (attached by itself)")
        st, _, body = http_get(addr, f"/cam/{names[1]}/sub.jpg")
        t.ok(st == 200 and jpeg_size(body) == (160, 90), "sub.jpg is the sub ring's picture",
             (st, jpeg_size(body)))
        s = vt.MjpegStream(addr, f"/cam/{names[1]}/sub.mjpg")
        parts = [s.part() for _ in range(4)]
        s.close()
        t.ok(all(jpeg_size(b) == (160, 90) for _, b, _ in parts),
             "sub.mjpg streams the sub ring's frames")
        st, _, body = http_get(addr, f"/cam/{names[1]}/snapshot.jpg")
        t.eq(jpeg_size(body), (320, 180), "the main stream stays the main ring's")
        s = vt.MjpegStream(addr, f"/cam/{names[1]}/sub.mjpg?idle_fps=2")
        n, end = 0, time.monotonic() + 2.0
        while time.monotonic() < end:
            s.part()
            n += 1
        s.close()
        t.ok(2 <= n <= 6, f"sub.mjpg?idle_fps=2 on a still scene: {n} parts in 2 s (20 fps ring)")
        st, _, _ = http_get(addr, f"/cam/{names[0]}/sub.mjpg")
        t.eq(st, 404, "another camera's sub-stream stays 404")
        sub.stop()
        ok = vt.wait_for(lambda: [c["sub"] for c in get_json(addr, "/cameras")[1]["cameras"]]
                         == [False, False], 6)
        t.ok(ok, "the sub ring's writer gone: sub: false again")
        st, _, _ = http_get(addr, f"/cam/{names[1]}/sub.mjpg")
        t.eq(st, 404, "and sub.mjpg is 404 again")
    finally:
        sub.stop()
        try:
            os.unlink(sub_path)
        except FileNotFoundError:
            pass
    main.stop()
    srv.stop()


t.run(check_cameras)
t.run(check_sub)
t.run(check_recordings)
t.run(check_usage)
t.run(check_idle_fps)
t.done()
