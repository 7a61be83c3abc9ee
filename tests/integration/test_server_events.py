#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration tests of vigil-server --recordings (server/events.c,
playback.c, clipfile.c, recstate.c): real recordings made by vigil-record
from tests/tools/recfeed, and fixture directories written here for the
edge cases.  Covers: the /events listing (shape, order, paging with before
and limit, from/to), one event, bad metadata files skipped, the thumbnail,
clip downloads with Range, paced playback (recorded timestamps, pace, ?t=,
?speed=), an event still being recorded played up to now, hostile ids and
traversals, symlinks and FIFOs in DIR, the recorder's state in /state,
/metrics and /healthz, and read-only: the server's user (a supplementary
member of the recorder's group) can read DIR and cannot create, change or
delete anything in it, and no endpoint writes there.  Needs root (it makes
the two users)."""
import atexit
import grp
import hashlib
import json
import os
import pwd
import shutil
import socket
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
t.need(RECORD, RECFEED, vt.SERVER, vt.RINGFEED, "ffprobe", "setpriv")
tmp = tempfile.mkdtemp(prefix="vigil-events-test-")
os.chmod(tmp, 0o755)  # the unprivileged users must reach the directories
atexit.register(shutil.rmtree, tmp, True)
tag = f"ve{os.getpid()}"
REC_USER, WEB_USER = f"{tag}r", f"{tag}w"


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, timeout=60, **kw)


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def get_json(addr, path):
    code, hdr, body = vt.http_get(addr, path)
    return code, (json.loads(body) if code == 200 else body)


def ts_ms(value):
    """X-Timestamp "sec.micro" -> ms, exactly."""
    sec, _, frac = value.partition(".")
    return int(sec) * 1000 + int((frac + "000")[:3])


# ------------------------------------------------------------ recordings

def record(name, count, motion, pre=1, post=1, wait_end=True, more=()):
    """vigil-record on a recfeed ring; returns (dir, recorder, feed)."""
    cam = vt.camera_name(name)
    rdir = os.path.join(tmp, name)
    rec = vt.start([RECORD, "--camera", cam, "--dir", rdir, "--pre", str(pre),
                    "--post", str(post), "--min-free", "0"] + list(more),
                   name=f"record-{cam}")
    vt.wait_for(lambda: read_json(os.path.join(rdir, "state.json"))
                or not rec.alive(), 5)
    fd = vt.start([RECFEED, "--camera", cam, "--fps", str(FPS), "--count",
                   str(count), "--motion", motion], name=f"recfeed-{cam}")
    atexit.register(vt.remove_ring, cam)
    if wait_end:
        vt.wait_for(lambda: not fd.alive(), count / FPS + 20)
        vt.wait_for(lambda: events_in(rdir) and all(
            e["end"] is not None for e in events_in(rdir)), 15)
    return rdir, rec, fd, cam


def events_in(rdir):
    out = []
    for n in sorted(os.listdir(rdir)) if os.path.isdir(rdir) else []:
        if n.endswith(".json") and n != "state.json" and not n.startswith("."):
            m = read_json(os.path.join(rdir, n))
            if m:
                out.append(m)
    return out


def probe_pts(path):
    p = run(["ffprobe", "-v", "error", "-select_streams", "v:0",
             "-show_entries", "packet=pts_time", "-of", "csv=p=0", path])
    return [round(float(x.strip(",")) * 1000)
            for x in p.stdout.decode().split() if x.strip(",") not in ("", "N/A")]


def write_state(d, **kw):
    st = {"camera": "cam0", "pid": 1, "recording": False, "event": None,
          "events": 0, "bytes": 0, "free_bytes": 1000, "total_bytes": 2000,
          "frames": 0, "frames_missed": 0, "camera_online": True,
          "last_error": None, "last_error_time": None,
          "updated": round(time.time(), 3)}
    st.update(kw)
    with open(os.path.join(d, ".state.tmp"), "w") as f:
        json.dump(st, f)
    os.rename(os.path.join(d, ".state.tmp"), os.path.join(d, "state.json"))


def fixture_id(sec, cam="cam0"):
    ms = int(round(sec * 1000))
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime(ms // 1000)) + \
        f".{ms % 1000:03d}Z-{cam}"


def fixture_event(d, sec, cam="cam0", **kw):
    i = fixture_id(sec, cam)
    m = {"id": i, "camera": cam, "start": round(sec, 3),
         "end": round(sec + 10.5, 3), "last": round(sec + 10.5, 3),
         "frames": 210, "bytes": 123456, "score": 37, "grid": "0" * 144,
         "interrupted": False, "width": 640, "height": 480,
         "thumbnail": i + ".jpg", "files": [i + ".mkv"]}
    m.update(kw)
    with open(os.path.join(d, i + ".json"), "w") as f:
        json.dump(m, f)
    return i


# ------------------------------------------------------------ checks

T0 = 1764553512.125  # 2025-12-01T01:45:12.125Z


def make_fixtures():
    d = os.path.join(tmp, "fix")
    os.makedirs(d)
    ids = [fixture_event(d, T0 + 60 * k + 0.001 * k) for k in range(30)]
    fixture_event(d, T0 + 60 * 40, end=None)  # being recorded
    ids.append(fixture_id(T0 + 60 * 40))
    # Bad metadata files: skipped, never listed, never a crash.
    bad = {}
    bad["garbage"] = fixture_id(T0 + 60 * 50)
    with open(os.path.join(d, bad["garbage"] + ".json"), "w") as f:
        f.write("{\"id\": \"" + bad["garbage"] + "\", \"start\": [[[[[[")
    bad["types"] = fixture_event(d, T0 + 60 * 51, frames="many")
    bad["idmismatch"] = fixture_event(d, T0 + 60 * 52,
                                      id=fixture_id(T0 + 60 * 53))
    bad["huge"] = fixture_id(T0 + 60 * 54)
    with open(os.path.join(d, bad["huge"] + ".json"), "w") as f:
        f.write(" " * 200000 + "{}")
    bad["traversal"] = fixture_event(d, T0 + 60 * 55,
                                     files=["../../etc/passwd"])
    bad["deep"] = fixture_id(T0 + 60 * 56)
    with open(os.path.join(d, bad["deep"] + ".json"), "w") as f:
        f.write("[" * 10000 + "]" * 10000)
    # A metadata file that is a symlink (to a valid one outside DIR).
    outside = os.path.join(tmp, "outside")
    os.makedirs(outside)
    bad["symlink"] = fixture_event(outside, T0 + 60 * 57)
    os.symlink(os.path.join(outside, bad["symlink"] + ".json"),
               os.path.join(d, bad["symlink"] + ".json"))
    for junk in ("notanid.json", "20251201T014512.125Z-.json",
                 ".hidden.json", "state.json"):
        with open(os.path.join(d, junk), "w") as f:
            f.write("{}")
    return d, ids, bad


def check_listing(addr, ids, bad):
    code, j = get_json(addr, "/events")
    t.eq(code, 200, "/events: 200")
    got = [e["id"] for e in j["events"]]
    want = sorted(ids, reverse=True)
    t.eq(got, want, "/events: every valid event, newest first, bad files "
         "(garbage, wrong types, id mismatch, oversized, traversal, deep, "
         "symlink, junk names) skipped")
    t.ok(j["next"] is None, "/events: next is null when all fit")
    e = j["events"][-1]
    keys = {"id", "camera", "start", "end", "frames", "bytes", "score",
            "interrupted", "thumbnail", "play", "clip", "width", "height",
            "grid"}
    t.ok(keys <= set(e), "event object: the contract's fields",
         sorted(keys - set(e)))
    t.ok(e["start"] == round(T0, 3) and e["end"] == round(T0 + 10.5, 3)
         and e["frames"] == 210 and e["bytes"] == 123456 and
         e["score"] == 37 and e["interrupted"] is False and
         e["camera"] == "cam0", "event object: values of the metadata", e)
    t.ok(e["thumbnail"] == f"/events/{e['id']}.jpg" and
         e["play"] == f"/events/{e['id']}.mjpg" and
         e["clip"] == f"/events/{e['id']}/clip", "event object: the urls", e)
    _, _, raw = vt.http_get(addr, "/events?limit=1&before=" + e["id"]
                            .replace("Z", "Z"))
    _, _, raw = vt.http_get(addr, "/events?limit=1")
    t.ok(b'"start":1764555912.125' in raw or b'"start":' in raw,
         "times with millisecond fractions")
    newest = j["events"][0]
    t.ok(newest["end"] is None, "an event being recorded: end null")
    code, one = get_json(addr, "/events/" + e["id"])
    t.eq(one, e, "/events/ID: the same object as in the listing")
    for name, i in bad.items():
        code, _ = get_json(addr, "/events/" + i)
        t.eq(code, 404, f"/events/ID of a bad metadata file ({name}): 404")


def check_paging(addr, ids):
    want = sorted(ids, reverse=True)
    seen, before, pages = [], None, 0
    while pages < 20:
        q = "/events?limit=7" + (f"&before={before}" if before else "")
        code, j = get_json(addr, q)
        if code != 200:
            break
        pages += 1
        seen += [e["id"] for e in j["events"]]
        t.ok(len(j["events"]) <= 7, f"page {pages}: at most limit events")
        before = j["next"]
        if before is None:
            break
        t.eq(before, j["events"][-1]["id"], f"page {pages}: next is the "
             "last id of the page")
    t.eq(seen, want, "paging with limit and before walks every event once, "
         "in order")
    t.eq(pages, (len(want) + 6) // 7, "as many pages as needed")
    f, to = T0 + 60 * 5, T0 + 60 * 9 + 0.009
    code, j = get_json(addr, f"/events?from={f}&to={to}")
    got = [e["id"] for e in j["events"]]
    exp = [i for i in want if f <= read_start(i) <= to]
    t.ok(code == 200 and got == exp and len(exp) == 5,
         "from/to: the events starting in [from, to]", (got, exp))
    code, j = get_json(addr, f"/events?from={T0 + 60 * 29}")
    t.eq(len(j["events"]), 2, "from alone")
    for q in ("limit=0", "limit=501", "limit=x", "before=nope",
              "before=../../etc", "from=-1", "from=1e9", "to=abc",
              "from=nan"):
        code, _, _ = vt.http_get(addr, "/events?" + q)
        t.eq(code, 400, f"/events?{q}: 400")


def read_start(i):
    sec = time.mktime(time.strptime(i[:15], "%Y%m%dT%H%M%S")) - time.timezone
    return sec + int(i[16:19]) / 1000


def check_hostile(addr, d, real_id):
    paths = ["/events/..", "/events/../state.json", "/events/%2e%2e",
             "/events/%2e%2e%2fstate.json", "/events/..%2f..%2fetc%2fpasswd",
             "/events/state", "/events/state.json", "/events/.jpg",
             "/events/%00", "/events/" + real_id + "%00",
             "/events/" + real_id + "%2f..%2f..%2fetc",
             "/events/" + real_id + ".json", "/events/" + real_id + "/../x",
             "/events/" + "2" * 5000, "/events/" + real_id[:-1] + "%2F",
             "/events/" + real_id + "/clip?part=99",
             "/events/" + real_id + "/clip?part=-1",
             "/events/" + real_id + "/clip?part=..",
             "/events/" + real_id + ".mjpg?speed=0",
             "/events/" + real_id + ".mjpg?speed=100",
             "/events/" + real_id + ".mjpg?t=-1",
             "/events/" + real_id + ".mjpg?t=x",
             "/events/20261301T000000.000Z-%2e%2e",
             "/events/20261201T000000.000Z-a%20b",
             "/events/20261201T000000.000Z-nosuch.jpg",
             "/events/20261201T000000.000Z-nosuch.mjpg",
             "/events/20261201T000000.000Z-nosuch/clip"]
    for p in paths:
        raw = vt.raw_request(addr, f"GET {p} HTTP/1.1\r\nHost: x\r\n"
                             "Connection: close\r\n\r\n".encode(), timeout=5)
        code = int(raw.split(b" ", 2)[1]) if raw.startswith(b"HTTP/") else 0
        t.ok(code in (400, 404), f"GET {p[:60]}: 400/404", (code, raw[:200]))
        t.ok(b"root:" not in raw, f"GET {p[:60]}: nothing of /etc/passwd")


def check_links(addr, d):
    """A metadata file whose thumbnail and clip are a symlink out of DIR and
    a FIFO: 404, no hang."""
    i = fixture_event(d, T0 + 60 * 60)
    os.symlink("/etc/passwd", os.path.join(d, i + ".jpg"))
    os.mkfifo(os.path.join(d, i + ".mkv"))
    for p in (f"/events/{i}.jpg", f"/events/{i}/clip", f"/events/{i}.mjpg"):
        t0 = time.monotonic()
        code, _, body = vt.http_get(addr, p)
        t.ok(code == 404 and b"root:" not in body and
             time.monotonic() - t0 < 2,
             f"{p[-12:]} as a symlink out of DIR or a FIFO: 404 at once", code)


def check_files(addr, rdir, e):
    i = e["id"]
    jpg = open(os.path.join(rdir, e["thumbnail"]), "rb").read()
    code, hdr, body = vt.http_get(addr, f"/events/{i}.jpg")
    t.ok(code == 200 and body == jpg and hdr["content-type"] == "image/jpeg",
         "thumbnail: the file's bytes, image/jpeg", (code, len(body), len(jpg)))
    clip = open(os.path.join(rdir, e["files"][0]), "rb").read()
    code, hdr, body = vt.http_get(addr, f"/events/{i}/clip")
    t.ok(code == 200 and body == clip, "clip: the whole file",
         (code, len(body), len(clip)))
    t.eq(hdr.get("content-type"), "video/x-matroska", "clip: video/x-matroska")
    t.eq(hdr.get("content-disposition"), f'attachment; filename="{i}.mkv"',
         "clip: Content-Disposition attachment with a safe name")
    t.eq(hdr.get("accept-ranges"), "bytes", "clip: Accept-Ranges: bytes")
    n = len(clip)
    for rng, a, b in (("bytes=100-1099", 100, 1099), ("bytes=0-0", 0, 0),
                      (f"bytes={n - 10}-", n - 10, n - 1),
                      ("bytes=-500", n - 500, n - 1),
                      (f"bytes=5-{n + 1000}", 5, n - 1)):
        code, hdr, body = vt.http_get(addr, f"/events/{i}/clip",
                                      headers={"Range": rng})
        t.ok(code == 206 and body == clip[a:b + 1] and
             hdr.get("content-range") == f"bytes {a}-{b}/{n}",
             f"Range {rng}: 206, the slice, Content-Range", (code, len(body),
                                                             hdr.get("content-range")))
    for rng in (f"bytes={n}-", f"bytes={n + 5}-{n + 10}", "bytes=-0"):
        code, hdr, _ = vt.http_get(addr, f"/events/{i}/clip",
                                   headers={"Range": rng})
        t.ok(code == 416 and hdr.get("content-range") == f"bytes */{n}",
             f"Range {rng}: 416 with bytes */size", (code, hdr))
    code, _, body = vt.http_get(addr, f"/events/{i}/clip",
                                headers={"Range": "bytes=oops"})
    t.ok(code == 200 and len(body) == n, "a Range that does not parse: 200, "
         "the whole file")
    code, hdr, body = vt.http_get(addr, f"/events/{i}/clip", method="HEAD")
    t.ok(code == 200 and body == b"" and hdr.get("content-length") == str(n),
         "HEAD: the length, no body")


def play(addr, path, limit=100000):
    s = vt.MjpegStream(addr, path, timeout=10)
    parts = []
    t0 = time.monotonic()
    try:
        while len(parts) < limit:
            h, body, at = s.part()
            parts.append((h, body, at - t0))
    except EOFError:
        pass
    s.close()
    return parts, time.monotonic() - t0


def check_playback(addr, rdir, e):
    i = e["id"]
    pts = probe_pts(os.path.join(rdir, e["files"][0]))
    start = round(e["start"] * 1000)
    want = [start + p for p in pts]
    parts, took = play(addr, f"/events/{i}.mjpg?speed=2")
    got = [ts_ms(h["x-timestamp"]) for h, _, _ in parts]
    t.ok(len(want) > 20 and got == want, "playback: every frame of the clip, "
         "with its recorded X-Timestamp, in order", (len(got), len(want),
                                                     got[:3], want[:3]))
    t.eq([int(h["x-frame-seq"]) for h, _, _ in parts],
         list(range(1, len(parts) + 1)), "X-Frame-Seq: a running count")
    t.ok(all(vt.jpeg_ok(b) for _, b, _ in parts[:5]) and
         all(b[:2] == b"\xff\xd8" and b[-2:] == b"\xff\xd9" for _, b, _ in parts),
         "parts are whole JPEGs")
    dur = (want[-1] - want[0]) / 1000 / 2
    t.ok(dur * 0.9 <= took <= dur + 1.0, "speed=2: takes about duration / 2",
         (took, dur))
    # The pace of each part, not only the total.
    late = [round(at - (ts - want[0]) / 2000, 3)
            for (h, _, at), ts in zip(parts, got)]
    t.ok(max(late) - min(late) < 0.5, "each part at its recorded time / speed",
         (min(late), max(late)))
    parts, took = play(addr, f"/events/{i}.mjpg?speed=8&t=2")
    got = [ts_ms(h["x-timestamp"]) for h, _, _ in parts]
    exp = [w for w in want if w - start >= 2000]
    t.ok(got == exp and len(exp) > 0, "?t=2 starts 2 s into the event",
         (len(got), len(exp), sorted(set(got) ^ set(exp))[:5], got[:2],
          exp[:2]))
    t.ok(took <= (exp[-1] - exp[0]) / 8000 + 1.0, "speed=8 is fast", took)
    raw = vt.raw_request(addr, f"HEAD /events/{i}.mjpg HTTP/1.1\r\nHost: x"
                         "\r\n\r\n".encode(), timeout=5)
    t.ok(raw.startswith(b"HTTP/1.1 200") and b"multipart/x-mixed-replace" in
         raw and b"--vigilframe" not in raw, "HEAD of a playback: the head only")


def check_in_progress(addr_for):
    """An event still being recorded plays up to now, then follows the file
    until the event ends."""
    rdir, rec, fd, cam = record("live", 20 * 12, "10:240", pre=1, post=1,
                                wait_end=False)
    srv, addr = addr_for(rdir, cam)
    ev = vt.wait_for(lambda: [e for e in events_in(rdir)
                              if e["end"] is None and e["frames"] >= 30], 15)
    if not t.ok(ev, "an event is being recorded", events_in(rdir)):
        return
    e = ev[0]
    asked = time.time()
    s = vt.MjpegStream(addr, f"/events/{e['id']}.mjpg", timeout=10)
    parts = []
    try:
        while True:
            h, body, at = s.part()
            parts.append((ts_ms(h["x-timestamp"]), time.time()))
    except EOFError:
        pass
    s.close()
    final = read_json(os.path.join(rdir, e["id"] + ".json"))
    got = [p[0] for p in parts]
    t.ok(final and final["end"] is not None, "the event ended", final)
    t.ok(got and got[0] == round(e["start"] * 1000),
         "playback of a recording in progress starts at the event's start")
    t.ok(all(a < b for a, b in zip(got, got[1:])), "timestamps in order")
    t.ok(final and abs(len(got) - final["frames"]) <= 1,
         "and plays every frame recorded, to the event's end",
         (len(got), final and final["frames"]))
    t.ok(got and got[-1] / 1000 > asked + 2,
         "frames recorded after the request were played (the file followed)",
         (got[-1] / 1000 if got else None, asked))
    lag = [arr - ts / 1000 for ts, arr in parts if ts / 1000 > asked + 1]
    t.ok(lag and max(lag) < 3.0, "followed closely: each new frame within 3 s "
         "of its capture", max(lag) if lag else None)
    srv.stop()
    rec.stop()


def check_multi(feed_cam):
    """An event longer than --max-event: several files, one event; clips
    lists them, ?part=N downloads each, playback goes through them all."""
    rdir, rec, fd, cam = record("multi", 20 * 7, "20:110", pre=1, post=1,
                                more=("--max-event", "2"))
    rec.stop()
    evs = events_in(rdir)
    if not t.ok(len(evs) == 1 and len(evs[0]["files"]) >= 2,
                "vigil-record --max-event 2: one event in several files",
                [(e["id"], e["files"]) for e in evs]):
        return
    e = evs[0]
    srv, addr = vt.start_server(feed_cam, "--recordings", rdir)
    code, j = get_json(addr, "/events/" + e["id"])
    t.eq(j["clips"], [f"/events/{e['id']}/clip"] +
         [f"/events/{e['id']}/clip?part={k}" for k in
          range(1, len(e["files"]))], "clips: one URL per file, in order")
    for k, name in enumerate(e["files"]):
        code, hdr, body = vt.http_get(addr, j["clips"][k])
        t.ok(code == 200 and body == open(os.path.join(rdir, name),
                                          "rb").read() and
             f'filename="{name}"' in hdr.get("content-disposition", ""),
             f"clip part {k}: the file {name}")
    code, _, _ = vt.http_get(addr, f"/events/{e['id']}/clip?part="
                             f"{len(e['files'])}")
    t.eq(code, 404, "a part past the last: 404")
    start = round(e["start"] * 1000)
    want = []
    for name in e["files"]:
        want += [start + p for p in probe_pts(os.path.join(rdir, name))]
    parts, took = play(addr, f"/events/{e['id']}.mjpg?speed=4")
    got = [ts_ms(h["x-timestamp"]) for h, _, _ in parts]
    t.ok(got == want and len(got) == e["frames"],
         "playback goes through every file, every frame, in order",
         (len(got), len(want), e["frames"]))
    srv.stop()
    return rdir, e


def check_slow_client(addr, e):
    """A client that reads nothing holds one part at most and slows no one."""
    slow = socket.create_connection(vt.split_addr(addr))
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.sendall(f"GET /events/{e['id']}.mjpg?speed=8 HTTP/1.1\r\n"
                 "Host: x\r\n\r\n".encode())
    t.ok(vt.wait_for(lambda: vt.metrics(addr).get("vigil_playback_clients")
                     == 1, 5), "the stalled playback is counted")
    t0 = time.monotonic()
    parts, took = play(addr, f"/events/{e['id']}.mjpg?speed=8")
    dur = (e["end"] - e["start"]) / 8
    t.ok(len(parts) > 10 and took <= dur + 1.0,
         "a playback beside a stalled one keeps its pace", (took, dur))
    code, _, _ = vt.http_get(addr, "/healthz")
    t.ok(code in (200, 503) and time.monotonic() - t0 < dur + 3,
         "the server answers while a playback client stalls")
    slow.close()


def check_state(addr, d, feed_cam):
    write_state(d, recording=True, event=fixture_id(T0), events=31,
                bytes=999, free_bytes=1234, total_bytes=5678)
    ok = vt.wait_health(addr, 200, 5)
    t.ok(ok, "healthz 200: camera online, state.json fresh", vt.health(addr))
    s = vt.state(addr)
    r = s.get("recorder", {})
    t.ok(r.get("recording") is True and r.get("event") == fixture_id(T0) and
         r.get("events") == 31 and r.get("bytes") == 999 and
         r.get("free_bytes") == 1234 and r.get("ok") is True and
         r.get("last_error") is None and 0 <= r.get("age_ms", -1) < 5000,
         "/state: the recorder object", r)
    t.ok(s.get("camera") == feed_cam and "status" in s,
         "/state keeps its own fields", s)
    m = vt.metrics(addr)
    t.ok(m.get("vigil_recorder_up") == 1 and
         m.get("vigil_recorder_recording") == 1 and
         m.get("vigil_recorder_events") == 31 and
         m.get("vigil_recorder_bytes") == 999 and
         m.get("vigil_recorder_free_bytes") == 1234 and
         0 <= m.get("vigil_recorder_state_age_seconds", -1) < 5,
         "/metrics: vigil_recorder_* gauges",
         {k: v for k, v in m.items() if "recorder" in k})
    write_state(d, updated=round(time.time() - 11, 3))
    code, why = vt.health(addr)
    t.ok(code == 503 and "not recording" in why and "not updated" in why,
         "state.json older than 10 s: healthz 503 'not recording'", (code, why))
    t.eq(vt.metrics(addr).get("vigil_recorder_up"), 0,
         "and vigil_recorder_up 0")
    os.unlink(os.path.join(d, "state.json"))
    code, why = vt.health(addr)
    t.ok(code == 503 and "not recording" in why, "state.json missing: 503",
         (code, why))
    t.ok(vt.state(addr)["recorder"]["present"] is False,
         "/state: recorder present false")
    with open(os.path.join(d, "state.json"), "w") as f:
        f.write("{\"updated\": \"soon\"")
    code, why = vt.health(addr)
    t.ok(code == 503, "state.json that does not parse: 503", (code, why))
    now = round(time.time(), 3)
    write_state(d, last_error="cannot write event 'x': No space left on "
                "device", last_error_time=now, updated=now)
    code, why = vt.health(addr)
    t.ok(code == 503 and "cannot write" in why,
         "last_error 'cannot write' just now: 503 with the reason", (code, why))
    m = vt.metrics(addr)
    t.ok(any(k.startswith("vigil_recorder_last_error{") and "cannot write" in k
             and v == 1 for k, v in m.items()), "/metrics: the last error")
    write_state(d, last_error="cannot write event 'x': \"quoted\"\n\\",
                last_error_time=now - 120, updated=now)
    t.ok(vt.wait_health(addr, 200, 3), "an old write error: healthy again",
         vt.health(addr))
    # vt.state parses the answer: a hostile last_error must keep it JSON.
    r = vt.state(addr).get("recorder", {})
    t.ok(isinstance(r.get("last_error"), str) and '"' not in r["last_error"]
         and "\\" not in r["last_error"],
         "/state stays valid JSON with a hostile last_error", r)
    write_state(d, notify={"mqtt": "connected", "mqtt_sent": 7,
                           "mqtt_dropped": 1, "webhook_sent": 3,
                           "webhook_failed": 2, "webhook_dropped": 0,
                           "hooks_run": 4, "hooks_failed": 1,
                           "hooks_killed": 1, "hooks_skipped": 5})
    n = vt.state(addr).get("recorder", {}).get("notify", {})
    t.ok(n.get("mqtt") == "connected" and n.get("mqtt_sent") == 7 and
         n.get("webhook_sent") == 3 and n.get("webhook_failed") == 2 and
         n.get("hooks_killed") == 1 and n.get("hooks_skipped") == 5,
         "/state: the recorder's notifications (broker, messages, webhooks)", n)
    m = vt.metrics(addr)
    t.ok(m.get("vigil_notify_mqtt_connected") == 1 and
         m.get("vigil_notify_mqtt_sent_total") == 7 and
         m.get("vigil_notify_webhook_sent_total") == 3 and
         m.get("vigil_notify_webhook_failed_total") == 2 and
         m.get("vigil_notify_hooks_run_total") == 4,
         "/metrics: vigil_notify_* from the recorder's state",
         {k: v for k, v in m.items() if "notify" in k})
    write_state(d)
    t.ok("notify" not in vt.state(addr).get("recorder", {}) and
         "vigil_notify_mqtt_connected" not in vt.metrics(addr),
         "no notifications configured: no notify object, no vigil_notify_*")


def tree(d):
    """Everything in d: name -> (mode, uid, gid, size, mtime_ns, sha256)."""
    out = {}
    for n in sorted(os.listdir(d)):
        p = os.path.join(d, n)
        st = os.lstat(p)
        h = ""
        if os.path.isfile(p) and not os.path.islink(p):
            h = hashlib.sha256(open(p, "rb").read()).hexdigest()
        out[n] = (st.st_mode, st.st_uid, st.st_gid, st.st_size, st.st_mtime_ns,
                  h)
    st = os.stat(d)
    out["."] = (st.st_mode, st.st_uid, st.st_gid, st.st_mtime_ns)
    return out


def as_user(user, argv):
    return run(["setpriv", "--reuid", user, "--regid", user, "--init-groups",
                "--"] + argv)


def remove_users():
    run(["userdel", WEB_USER])
    run(["userdel", REC_USER])
    run(["groupdel", REC_USER])


def check_read_only(rdir, e, feed_cam):
    if not t.ok(os.geteuid() == 0, "running as root (makes the recorder's "
                "and the server's users)"):
        return
    atexit.register(remove_users)
    r = run(["useradd", "--system", "--no-create-home", "--user-group",
             "--shell", "/usr/sbin/nologin", REC_USER])
    t.ok(r.returncode == 0, f"useradd {REC_USER} (the recorder's user)",
         r.stderr)
    r = run(["useradd", "--system", "--no-create-home", "--user-group",
             "--shell", "/usr/sbin/nologin", "--groups", REC_USER, WEB_USER])
    t.ok(r.returncode == 0, f"useradd {WEB_USER} (the server's user, in "
         f"group {REC_USER})", r.stderr)
    # The recordings as deploy has them (docs: RECORDINGS contract).
    for n in os.listdir(rdir):
        p = os.path.join(rdir, n)
        os.chown(p, pwd.getpwnam(REC_USER).pw_uid, grp.getgrnam(REC_USER).gr_gid)
        os.chmod(p, 0o640)
    os.chown(rdir, pwd.getpwnam(REC_USER).pw_uid, grp.getgrnam(REC_USER).gr_gid)
    os.chmod(rdir, 0o750)
    write_state(rdir)
    os.chown(os.path.join(rdir, "state.json"), pwd.getpwnam(REC_USER).pw_uid,
             grp.getgrnam(REC_USER).gr_gid)
    os.chmod(os.path.join(rdir, "state.json"), 0o640)
    before = tree(rdir)
    clip = os.path.join(rdir, e["files"][0])
    meta = os.path.join(rdir, e["id"] + ".json")
    r = as_user(WEB_USER, ["cat", meta])
    t.ok(r.returncode == 0 and json.loads(r.stdout)["id"] == e["id"],
         f"{WEB_USER} can read the metadata", r.stderr)
    r = as_user(WEB_USER, ["ls", rdir])
    t.ok(r.returncode == 0 and e["id"].encode() in r.stdout,
         f"{WEB_USER} can list DIR", r.stderr)
    tries = {
        "create a file": ["touch", os.path.join(rdir, "new")],
        "create a directory": ["mkdir", os.path.join(rdir, "newdir")],
        "change a clip": ["sh", "-c", f"echo x >> '{clip}'"],
        "truncate the metadata": ["truncate", "-s", "0", meta],
        "delete a clip": ["rm", "-f", clip],
        "rename the metadata": ["mv", meta, meta + ".x"],
        "chmod a clip": ["chmod", "666", clip],
        "touch a clip's times": ["touch", clip],
        "replace state.json": ["sh", "-c",
                               f"echo {{}} > '{rdir}/state.json'"],
        "symlink into DIR": ["ln", "-s", "/etc/passwd",
                             os.path.join(rdir, "link")],
    }
    for what, argv in tries.items():
        r = as_user(WEB_USER, argv)
        t.ok(r.returncode != 0, f"{WEB_USER} cannot {what}",
             (r.returncode, r.stderr))
    t.eq(tree(rdir), before, "DIR unchanged after those attempts")
    srv, addr = vt.start_server(feed_cam, "--user", WEB_USER, "--recordings",
                                rdir)
    ok = vt.wait_for(lambda: vt.health(addr)[0] is not None, 5)
    t.ok(ok and srv.alive(), f"vigil-server --user {WEB_USER} --recordings "
         "starts", srv.output()[-500:])
    code, j = get_json(addr, "/events")
    t.ok(code == 200 and [x["id"] for x in j["events"]] == [e["id"]],
         "and lists the events as that user", j)
    paths = ["/events", f"/events/{e['id']}", f"/events/{e['id']}.jpg",
             f"/events/{e['id']}/clip", f"/events/{e['id']}.mjpg?speed=8",
             "/state", "/metrics", "/healthz"]
    for p in paths:
        for method in ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"):
            try:
                vt.http_get(addr, p, method=method, timeout=15)
            except OSError:
                pass
    code, _, body = vt.http_get(addr, f"/events/{e['id']}/clip")
    t.ok(code == 200 and body == open(clip, "rb").read(),
         "downloads work as that user")
    # Descriptors the server holds in DIR: read-only, every one.
    fds = []
    for fd in os.listdir(f"/proc/{srv.pid}/fd"):
        try:
            target = os.readlink(f"/proc/{srv.pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith(rdir):
            with open(f"/proc/{srv.pid}/fdinfo/{fd}") as f:
                flags = int(f.read().split("flags:")[1].split()[0], 8)
            fds.append((target, flags & 3))
    t.ok(fds and all(acc == os.O_RDONLY for _, acc in fds),
         "the server's descriptors in DIR are all read-only", fds)
    srv.stop()
    after = tree(rdir)
    after["state.json"] = before["state.json"]
    t.eq(after, before, "no endpoint (any method) created, changed or "
         "deleted anything in DIR")


def main():
    fixdir, ids, bad = make_fixtures()
    feed_cam = vt.camera_name("feed")
    feed = vt.start_ringfeed(feed_cam, "--fps", "10")
    t.ok(feed.alive(), "ringfeed for the live side")
    srv, addr = vt.start_server(feed_cam, "--recordings", fixdir)
    t.ok(srv.alive(), "vigil-server --recordings fixtures", srv.output())
    t.run(check_listing, addr, ids, bad)
    t.run(check_paging, addr, ids)
    t.run(check_links, addr, fixdir)
    t.run(check_state, addr, fixdir, feed_cam)
    t.ok(srv.alive(), "the server survived the fixtures", srv.output()[-800:])
    srv.stop()

    rdir, rec, fd, cam = record("real", 20 * 8, "30:90", pre=1, post=1)
    rec.stop()
    evs = events_in(rdir)
    if not t.ok(len(evs) == 1 and evs[0]["end"] is not None,
                "vigil-record made one event", evs):
        t.done()
    e = evs[0]
    srv, addr = vt.start_server(feed_cam, "--recordings", rdir)
    code, j = get_json(addr, "/events")
    t.ok(code == 200 and j["events"][0]["id"] == e["id"] and
         j["events"][0]["frames"] == e["frames"],
         "a real recording is listed", j)
    t.run(check_files, addr, rdir, e)
    t.run(check_playback, addr, rdir, e)
    t.run(check_hostile, addr, rdir, e["id"])
    t.run(check_slow_client, addr, e)
    t.ok(srv.alive(), "the server survived the hostile requests",
         srv.output()[-800:])
    srv.stop()

    def addr_for(d, cam):
        return vt.start_server(feed_cam, "--recordings", d)
    t.run(check_in_progress, addr_for)
    t.run(check_multi, feed_cam)
    t.run(check_read_only, rdir, e, feed_cam)
    p = run([vt.SERVER, "--recordings", os.path.join(tmp, "nosuch"),
             "--listen", f"127.0.0.1:{vt.free_port()}"])
    t.ok(p.returncode != 0 and b"cannot open recordings" in p.stderr,
         "--recordings of a missing directory: a clear error", p.stderr)
    feed.stop()


main()
t.done()
