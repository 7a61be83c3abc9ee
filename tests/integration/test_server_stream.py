#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""vigil-server's MJPEG stream with the real vigil-capture: byte-exact
passthrough of stdin frames, real clients (ffmpeg, curl), ?fps caps, slow
and vanishing clients, and two servers on one camera."""
import os
import socket
import struct
import subprocess
import tempfile
import threading
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import vigiltest as vt  # noqa: E402
from vigiltest import start_server, health, wait_health, metrics, parts_for, state  # noqa: E402

t = vt.Tap()


def make_jpegs(n, size="320x240"):
    d = tempfile.mkdtemp(prefix="vigil-jpegs-")
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i",
                    f"testsrc=size={size}:rate=10", "-frames:v", str(n),
                    "-q:v", "5", os.path.join(d, "f%03d.jpg")], check=True, timeout=30)
    out = []
    for i in range(1, n + 1):
        p = os.path.join(d, f"f{i:03d}.jpg")
        with open(p, "rb") as f:
            out.append(f.read())
        os.unlink(p)
    os.rmdir(d)
    return out


def live_part(stream, timeout=5):
    """The next part that is a live frame (the offline picture has seq 0)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        h, b, _ = stream.part()
        if int(h["x-frame-seq"]) > 0:
            return h, b
    raise TimeoutError("no live frame")


def check_stdin_byte_exact():
    cam = vt.camera_name("stdin")
    frames = make_jpegs(6)
    cap = vt.start_capture(cam, "--source", "stdin", stdin=subprocess.PIPE)
    srv, addr = start_server(cam)
    s = vt.MjpegStream(addr)
    t.ok(s.status == 200 and "transfer-encoding" not in s.headers, "stream: 200, no chunked encoding",
         s.headers)
    t.ok(s.headers.get("cache-control", "").startswith("no-store"), "stream is no-store", s.headers)
    # A snapshot asked before the first frame waits for it (up to 1 s).
    vt.wait_for(lambda: state(addr)["status"] == "stalled", 3)
    snap = {}

    def ask():
        snap["r"] = vt.http_get(addr, "/snapshot.jpg", timeout=5)
    # Every request counts once when the server dispatches it, each /metrics
    # read included: the snapshot is waiting once the count passes the reads.
    reads = [0]
    base = metrics(addr)["vigil_http_requests_total"]

    def snapshot_asked():
        reads[0] += 1
        return metrics(addr)["vigil_http_requests_total"] >= base + reads[0] + 1
    th = threading.Thread(target=ask)
    th.start()
    t.ok(vt.wait_for(snapshot_asked, 3), "the snapshot request reaches the server "
         "before the first frame")
    good = 0
    for i, data in enumerate(frames, 1):
        cap.proc.stdin.write(data)
        cap.proc.stdin.flush()
        h, b = live_part(s)
        if b == data and int(h["x-frame-seq"]) == i and int(h["content-length"]) == len(data) \
                and h["content-type"] == "image/jpeg":
            good += 1
        else:
            t.diag(f"frame {i}: seq {h.get('x-frame-seq')}, {len(b)} bytes vs {len(data)}")
        if i == 1:
            th.join(5)
            st, hh, body = snap.get("r", (None, {}, b""))
            t.ok(st == 200 and body == data, "a snapshot waiting for the first frame gets it",
                 (st, hh))
    t.eq(good, len(frames), "stdin frames come out byte-identical with the right X-Frame-Seq")
    ts = float(h["x-timestamp"])
    t.ok(abs(ts - time.time()) < 5, "X-Timestamp is the capture's wall clock", ts)
    # The snapshot is the newest frame, byte for byte.
    st, hh, body = vt.http_get(addr, "/snapshot.jpg")
    t.ok(st == 200 and body == frames[-1] and hh.get("x-frame-seq") == str(len(frames)),
         "snapshot is the newest frame, byte-identical", (st, hh))
    s.close()
    cap.proc.stdin.close()
    cap.stop()
    srv.stop()


cam = vt.camera_name("tsrc")
cap = vt.start_capture(cam, "--source", "testsrc", "--size", "1280x720", "--fps", "24")
srv, addr = start_server(cam)
t.ok(wait_health(addr, 200, 5) is not None, "healthz 200 with testsrc capture", health(addr))


def check_ffmpeg():
    r = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i",
                        f"http://{addr}/stream.mjpg", "-frames:v", "48", "-f", "null", "-"],
                       capture_output=True, timeout=30)
    t.ok(r.returncode == 0 and r.stderr.strip() == b"",
         "ffmpeg decodes 48 frames of the stream with no error", r.stderr[-800:])


def check_curl_snapshot():
    r = subprocess.run(["curl", "-sf", f"http://{addr}/snapshot.jpg"], capture_output=True,
                       timeout=10)
    ok = r.returncode == 0 and vt.jpeg_ok(r.stdout)
    t.ok(ok and vt.jpeg_decode(r.stdout)[:2] == (1280, 720),
         "curl fetches a 1280x720 snapshot that decodes", r.returncode)


def check_wire_and_frames():
    s = vt.MjpegStream(addr)
    parts = parts_for(s, 2.0)
    bad = [h for h, b in parts if not vt.jpeg_ok(b)]
    seqs = [int(h["x-frame-seq"]) for h, _ in parts]
    t.ok(len(parts) >= 36 and not bad, f"2 s of stream: {len(parts)} parts, all decode", bad[:2])
    t.ok(all(b > a for a, b in zip(seqs, seqs[1:])), "X-Frame-Seq increases", seqs[:10])
    s.close()


def check_fps_cap():
    for fps, lo, hi in ((5, 4.0, 6.0), (12, 9.5, 13.0)):
        s = vt.MjpegStream(addr, f"/stream.mjpg?fps={fps}")
        s.part()
        t0 = time.monotonic()
        n = len(parts_for(s, 3.0))
        rate = n / (time.monotonic() - t0)
        t.ok(lo <= rate <= hi, f"?fps={fps} caps the rate ({rate:.1f} fps)")
        s.close()


def fast_rate(seconds=2.0):
    s = vt.MjpegStream(addr)
    s.part()
    t0 = time.monotonic()
    n = len(parts_for(s, seconds))
    rate = n / (time.monotonic() - t0)
    s.close()
    return rate


def check_slow_clients():
    base = fast_rate()
    rss0 = vt.rss_kb(srv.pid)
    slow = []
    port = int(addr.rsplit(":", 1)[1])
    for _ in range(8):
        c = socket.socket()
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        c.connect(("127.0.0.1", port))
        c.sendall(b"GET /stream.mjpg HTTP/1.1\r\nHost: x\r\n\r\n")
        slow.append(c)  # never reads
    # Their sockets are full once the server skips frames for them.
    k0 = metrics(addr)["vigil_frames_skipped_total"]
    t.ok(vt.wait_for(lambda: metrics(addr)["vigil_frames_skipped_total"] > k0 + 8, 5),
         "the server skips frames for the clients that read nothing")
    rss1 = vt.rss_kb(srv.pid)
    rate = fast_rate(3.0)
    rss2 = vt.rss_kb(srv.pid)
    t.ok(rate >= 0.85 * base and rate > 18, f"8 clients that read nothing: fast client "
         f"{rate:.1f} fps (alone {base:.1f})")
    t.ok(rss2 - rss1 < 1024 and rss2 - rss0 < 8 * 1024,
         f"server RSS flat with stalled clients ({rss0} -> {rss1} -> {rss2} kB)")
    m = metrics(addr)
    t.ok(m["vigil_frames_skipped_total"] > 0, "frames skipped for slow clients are counted",
         m["vigil_frames_skipped_total"])
    t.ok(m["vigil_frame_buffers"] <= 8 + 8, "frame buffers bounded by one per slow client",
         m["vigil_frame_buffers"])
    for c in slow:
        c.close()


def check_vanishing_clients():
    fds0 = vt.fd_count(srv.pid)
    port = int(addr.rsplit(":", 1)[1])
    s = vt.MjpegStream(addr)
    for i in range(20):
        c = socket.socket()
        c.connect(("127.0.0.1", port))
        c.sendall(b"GET /stream.mjpg HTTP/1.1\r\nHost: x\r\n\r\n")
        got = 0
        while got < 1000 + 997 * i:  # stop at varying points inside a frame
            chunk = c.recv(65536)
            if not chunk:
                break
            got += len(chunk)
        if i % 2:
            # RST instead of FIN.
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()
    n = len(parts_for(s, 1.0))
    t.ok(srv.alive() and n >= 18, f"clients vanishing mid-frame: server fine, other client got {n} "
         "frames in 1 s")
    s.close()
    t.ok(vt.wait_for(lambda: vt.fd_count(srv.pid) <= fds0, 3),
         "no descriptor left behind", (fds0, vt.fd_count(srv.pid)))
    t.ok(vt.wait_for(lambda: metrics(addr)["vigil_stream_clients"] == 0, 3),
         "clients gauge back to 0")


def check_two_servers():
    srv2, addr2 = start_server(cam)
    s1 = vt.MjpegStream(addr)
    s2 = vt.MjpegStream(addr2)
    s1.part()
    s2.part()
    srv2.kill()
    n = len(parts_for(s1, 1.5))
    t.ok(n >= 30, f"two servers, one killed: the other's client unaffected ({n} frames in 1.5 s)")
    # The end is the connection closed or reset, not the client's timeout.
    end = None
    try:
        for _ in range(1000):
            s2.part()
    except (EOFError, ConnectionResetError) as e:
        end = e
    except (OSError, ValueError) as e:
        end = f"not an end of stream: {e!r}"
    t.ok(isinstance(end, (EOFError, ConnectionResetError)),
         "the killed server's client sees its stream end", end)
    s1.close()


def check_many_clients_one_copy():
    # Fan-out: 30 clients, the server copies each frame once.
    m0 = metrics(addr)
    streams = [vt.MjpegStream(addr) for _ in range(30)]
    for s in streams:
        s.part()
    time.sleep(1.0)  # the measuring window: about 24 frames
    m1 = metrics(addr)
    for s in streams:
        s.close()
    rx = m1["vigil_frames_received_total"] - m0["vigil_frames_received_total"]
    tx = m1["vigil_frames_sent_total"] - m0["vigil_frames_sent_total"]
    t.ok(rx < 40 and tx > 20 * rx, f"one ring copy per frame for 30 clients ({rx:.0f} copies, "
         f"{tx:.0f} parts sent)")


t.run(check_stdin_byte_exact)
for fn in (check_ffmpeg, check_curl_snapshot, check_wire_and_frames, check_fps_cap,
           check_slow_clients, check_vanishing_clients, check_two_servers,
           check_many_clients_one_copy):
    t.run(fn)
t.ok(srv.alive(), "server survived everything", srv.output()[-2000:])
t.done()
