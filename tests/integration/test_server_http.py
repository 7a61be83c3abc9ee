#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""vigil-server over real HTTP: endpoints, methods, queries, headers, the
page and its static files, limits (max-clients, EMFILE), unix sockets, bad
flags and SIGTERM.  Frames come from tests/tools/ringfeed (a minimal ring
writer) so this file does not depend on the capture daemon."""
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import vigiltest as vt  # noqa: E402
from vigiltest import (start_server, start_ringfeed, health, wait_health,  # noqa: E402
                       state, metrics, cpu_seconds, can_connect)

t = vt.Tap()
cam = vt.camera_name("http")
feed = start_ringfeed(cam, "--fps", "24", "--size", "640x480")
srv, addr = start_server(cam)
t.ok(srv.alive() and can_connect(addr), "server starts and accepts", srv.output())
t.ok(wait_health(addr, 200, 3) is not None, "healthz 200 with a live ring",
     health(addr))


def check_endpoints():
    st, h, body = vt.http_get(addr, "/")
    t.ok(st == 301 and h.get("location") == "/index.html", "/ redirects to /index.html",
         (st, h))

    st, h, body = vt.http_get(addr, "/index.html")
    t.ok(st == 200 and h.get("content-type", "").startswith("text/html"),
         "/index.html is HTML", (st, h))
    csp = h.get("content-security-policy", "")
    t.ok("default-src 'self'" in csp and "frame-ancestors 'none'" in csp
         and "script-src 'self'" in csp, "page has the strict CSP", csp)
    t.eq(h.get("cache-control"), "no-store", "page is no-store")
    t.eq(h.get("x-content-type-options"), "nosniff", "page is nosniff")
    page = body.decode()
    t.ok("{{" not in page, "no template markers left in the page",
         re.findall(r"\{\{[^}]*\}\}", page))
    urls = sorted(set(re.findall(r'/static/[A-Za-z0-9._/-]+', page)))
    bad = []
    for u in urls:
        st, h, b = vt.http_get(addr, u)
        if not (st == 200 and h.get("cache-control") ==
                "public, max-age=31536000, immutable" and len(b) > 0 and
                re.search(r"\.[0-9a-f]{8}(\.|$)", u)):
            bad.append((u, st, h.get("cache-control")))
    t.ok(urls and not bad, f"every /static/ URL of the page is served immutable "
         f"({len(urls)})", bad or "no static URL in the page")
    st, _, _ = vt.http_get(addr, "/static/vigil.js")
    t.eq(st, 404, "unversioned static name is 404")

    st, h, body = vt.http_get(addr, "/healthz")
    t.ok(st == 200 and body == b"ok\n" and h.get("cache-control") == "no-store",
         "healthz 200 ok, no-store", (st, body, h))

    st, h, body = vt.http_get(addr, "/metrics")
    text = body.decode()
    names = ["vigil_frames_received_total", "vigil_frames_sent_total",
             "vigil_frames_skipped_total", "vigil_bytes_sent_total",
             "vigil_stream_clients", "vigil_stream_clients_total",
             "vigil_ring_age_seconds", "vigil_ring_generation_changes_total",
             "vigil_measured_fps"]
    missing = [n for n in names if f"\n{n} " not in "\n" + text]
    t.ok(st == 200 and h.get("content-type", "").startswith("text/plain; version=0.0.4")
         and not missing, "metrics in Prometheus text format", missing or h)
    m = metrics(addr)
    t.ok(m.get(f'vigil_camera_status{{camera="{cam}",status="online"}}') == 1
         and m.get(f'vigil_camera_status{{camera="{cam}",status="offline"}}') == 0,
         "metrics: status online", m)

    s = state(addr)
    t.ok(s["camera"] == cam and s["status"] == "online" and s["width"] == 640
         and s["height"] == 480 and abs(s["fps"] - 24) < 0.01 and s["seq"] > 0
         and 0 <= s["frame_age_ms"] < 1000 and re.match(r"\d{4}-\d\d-\d\dT", s["time"])
         and s["generation"] >= 1, "state JSON", s)
    vt.wait_for(lambda: state(addr)["seq"] >= 12, 3)
    s = state(addr)
    t.ok(15 < s["measured_fps"] < 30, "state: measured fps near 24", s)

    st, h, body = vt.http_get(addr, "/snapshot.jpg")
    ok = st == 200 and h.get("content-type") == "image/jpeg" and vt.jpeg_ok(body)
    t.ok(ok and vt.jpeg_decode(body)[:2] == (640, 480) and h.get("cache-control") == "no-store"
         and re.match(r"^\d+\.\d{6}$", h.get("x-timestamp", "")) and int(h.get("x-frame-seq", 0)) > 0,
         "snapshot: a decodable 640x480 JPEG with timestamp and seq, no-store", (st, h))

    # curl, a real client, fetches a snapshot that decodes.
    out = f"/tmp/vigil-snap-{os.getpid()}.jpg"
    r = subprocess.run(["curl", "-sf", "-o", out, f"http://{addr}/snapshot.jpg"],
                       timeout=10)
    with open(out, "rb") as f:
        data = f.read()
    os.unlink(out)
    t.ok(r.returncode == 0 and vt.jpeg_ok(data), "curl fetches a snapshot that decodes",
         r.returncode)


def check_methods_and_errors():
    for path in ("/", "/index.html", "/snapshot.jpg", "/healthz", "/metrics",
                 "/state", "/stream.mjpg"):
        st, h, body = vt.http_get(addr, path, method="HEAD")
        if path == "/stream.mjpg":
            good = st == 200 and h.get("content-type", "").startswith(
                "multipart/x-mixed-replace;boundary=")
        else:
            good = st in (200, 301) and body == b""
        t.ok(good, f"HEAD {path}", (st, h))
    st, h, _ = vt.http_get(addr, "/snapshot.jpg", method="HEAD")
    t.ok(int(h.get("content-length", "0")) > 1000, "HEAD snapshot has the length of the JPEG", h)
    for method in ("POST", "PUT", "DELETE", "OPTIONS", "PATCH"):
        st, h, _ = vt.http_get(addr, "/stream.mjpg", method=method)
        t.ok(st == 405 and h.get("allow") == "GET, HEAD", f"{method} is 405 with Allow", (st, h))
    for path in ("/nope", "/stream.mjpeg", "/static/", "/index.htm", "/../etc/passwd",
                 "/static/../index.html"):
        st, _, _ = vt.http_get(addr, path)
        t.eq(st, 404, f"unknown path {path} is 404")
    for q in ("fps=0", "fps=abc", "fps=1001", "fps=-1", "fps=", "fps", "fps=2.5"):
        st, _, _ = vt.http_get(addr, "/stream.mjpg?" + q)
        t.eq(st, 400, f"bad query ?{q} is 400")
    st, _, _ = vt.http_get(addr, "/snapshot.jpg?t=12345")
    t.eq(st, 200, "unknown query keys are ignored (cache busters)")
    # Oversized request headers are refused, the server lives on.
    resp = vt.raw_request(addr, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: "
                          + b"a" * 20000 + b"\r\n\r\n")
    t.ok(not resp.startswith(b"HTTP/1.1 200"), "oversized headers are refused", resp[:60])
    # Ambiguous body framing (request smuggling) is refused and closed.
    resp = vt.raw_request(addr, b"POST /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n"
                          b"Content-Length: 44\r\n\r\nGET /snapshot.jpg HTTP/1.1\r\nHost: a\r\n\r\n",
                          timeout=3)
    t.ok(resp.startswith(b"HTTP/1.1 400") and resp.count(b"HTTP/1.1 ") == 1,
         "two Content-Lengths: 400 and no second answer", resp[:80])
    # Garbage is answered (or dropped), never crashes.
    vt.raw_request(addr, b"\x00\xff garbage\r\n\r\n", timeout=2)
    t.ok(srv.alive() and health(addr)[0] == 200, "server alive after bad requests")


def check_idle_timeout():
    # A connection that sends nothing is closed by the server's timeout: we
    # only check here that it does not block others.
    s = socket.create_connection(("127.0.0.1", int(addr.rsplit(":", 1)[1])))
    st, _ = health(addr)
    t.eq(st, 200, "an idle connection does not block others")
    s.close()


def check_max_clients():
    cam2 = vt.camera_name("max")
    f2 = start_ringfeed(cam2, "--fps", "10", "--size", "320x240")
    d, a2 = start_server(cam2, "--max-clients", "2")
    s1 = vt.MjpegStream(a2)
    s2 = vt.MjpegStream(a2)
    s1.part()
    s2.part()
    st, h, body = vt.http_get(a2, "/stream.mjpg")
    t.ok(st == 503 and h.get("retry-after") == "1", "beyond --max-clients: 503 with Retry-After",
         (st, h))
    st, _, _ = vt.http_get(a2, "/healthz")
    t.eq(st, 200, "other endpoints still answer at the limit")
    s1.close()

    def third():
        try:
            s3 = vt.MjpegStream(a2, timeout=2)
            ok = s3.status == 200
            s3.part()
            s3.close()
            return ok
        except Exception:
            return False
    t.ok(vt.wait_for(third, 3), "a slot freed by a leaving client is reused")
    m = metrics(a2)
    t.ok(m.get("vigil_stream_clients_rejected_total", 0) >= 1, "rejections counted", m)
    s2.close()
    d.stop()
    f2.stop()


def check_emfile():
    # 24 descriptors in all: the server runs out while accepting.  It must
    # back off (no busy loop) and serve again once connections go away.
    cam3 = vt.camera_name("fd")
    d, a3 = start_server(cam3, wrap=["prlimit", "--nofile=24:24"])
    conns = []
    for _ in range(40):
        try:
            conns.append(socket.create_connection(("127.0.0.1", int(a3.rsplit(":", 1)[1])), 2))
        except OSError:
            break
    # The server says so in its log when accept() first fails.
    full = vt.wait_for(lambda: "cannot accept on" in d.output(), 3)
    t.ok(full, "the server runs out of descriptors", d.output()[-300:])
    c0 = cpu_seconds(d.pid)
    time.sleep(1.0)  # the measuring window of the CPU it uses meanwhile
    used = cpu_seconds(d.pid) - c0
    t.ok(d.alive() and used < 0.2, f"out of descriptors: no busy loop ({used:.2f} s CPU in 1 s)",
         d.output()[-500:])
    busy = 0
    for c in conns:
        c.settimeout(0.05)
        try:
            busy += c.recv(64).startswith(b"HTTP/1.1 503")
        except OSError:
            pass
    t.ok(busy >= len(conns) - 24, f"connections beyond the descriptor limit answered 503 "
         f"({busy} of {len(conns)})")
    for c in conns:
        c.close()
    t.ok(vt.wait_for(lambda: health(a3)[0] == 503, 5),
         "serves again once descriptors are free (503: no capture)", health(a3))
    m = metrics(a3)
    t.ok(m.get("vigil_accept_errors_total", 0) >= 1, "accept errors counted", m.get("vigil_accept_errors_total"))
    d.stop()


def check_unix_socket():
    path = f"/tmp/vigil-test-{os.getpid()}.sock"
    # A stale socket file from a crashed server is replaced.
    old = socket.socket(socket.AF_UNIX)
    old.bind(path)
    old.close()
    d, ua = start_server(cam, listen=f"unix:{path}")
    st = os.stat(path)
    t.ok(stat.S_ISSOCK(st.st_mode) and (st.st_mode & 0o777) == 0o660,
         "unix socket replaces a stale one, mode 0660", oct(st.st_mode))
    code, body = health(ua)
    t.eq(code, 200, "healthz over the unix socket")
    s = vt.MjpegStream(ua)
    h, b, _ = s.part()
    t.ok(vt.jpeg_ok(b), "stream over the unix socket")
    s.close()
    t.eq(d.stop(), 0, "SIGTERM: exit 0")
    t.ok(not os.path.exists(path), "socket file removed at exit")


def check_flags():
    def run(*args):
        r = subprocess.run([vt.SERVER] + list(args), capture_output=True, timeout=5)
        return r.returncode, r.stderr.decode()
    for args, what in ((["--max-clients", "0"], "max-clients"),
                       (["--max-clients", "x"], "max-clients"),
                       (["--listen", "0.0.0.0:8081"], "--public"),
                       (["--listen", "[::]:8081"], "--public"),
                       (["--listen", "localhost:80"], "listen address"),
                       (["--listen", "127.0.0.1:99999"], "listen address"),
                       (["--camera", "a/b"], "camera name"),
                       (["--bogus"], "unknown option"),
                       (["--camera"], "needs a value"),
                       (["extra"], "unexpected argument")):
        rc, err = run(*args)
        t.ok(rc == 2 and what in err, f"bad flags {' '.join(args)}: exit 2 with a clear error",
             (rc, err))
    rc, out = subprocess.run([vt.SERVER, "--help"], capture_output=True, timeout=5).returncode, ""
    t.eq(rc, 0, "--help exits 0")
    r = subprocess.run([vt.SERVER, "--user", "nosuchuser-vigil", "--listen",
                        f"127.0.0.1:{vt.free_port()}"], capture_output=True, timeout=5)
    t.ok(r.returncode != 0 and b"nosuchuser-vigil" in r.stderr, "--user unknown: fatal",
         r.stderr)


def check_public():
    port = vt.free_port()
    d = vt.start([vt.SERVER, "--camera", cam, "--listen", f"0.0.0.0:{port}", "--public"],
                 name="server-public")
    t.ok(vt.wait_for(lambda: can_connect(f"127.0.0.1:{port}"), 5),
         "--public allows a non-loopback address")
    d.stop()


def check_user_drop():
    if os.geteuid() != 0:
        t.skip("--user drops privileges", "needs root")
        return
    d, a = start_server(cam, "--user", "nobody")
    ok = vt.wait_for(lambda: health(a)[0] is not None, 3)
    with open(f"/proc/{d.pid}/status") as f:
        st = f.read()
    uid = re.search(r"^Uid:\s+(.*)$", st, re.M).group(1).split()
    gid = re.search(r"^Gid:\s+(.*)$", st, re.M).group(1).split()
    groups = re.search(r"^Groups:\s*(.*)$", st, re.M).group(1).split()
    import pwd
    pw = pwd.getpwnam("nobody")
    t.ok(ok and set(uid) == {str(pw.pw_uid)} and set(gid) == {str(pw.pw_gid)}
         and groups in ([], [str(pw.pw_gid)]), "--user: all uids, gids and groups dropped",
         (uid, gid, groups))
    # /dev/shm rings are 0640: nobody cannot read this one, which is
    # reported, not fatal.
    code, body = health(a)
    t.ok(d.alive() and code in (200, 503), "after the drop the server runs", (code, body))
    d.stop()


def check_sigterm_with_streams():
    d, a = start_server(cam)
    streams = [vt.MjpegStream(a) for _ in range(3)]
    for s in streams:
        s.part()
    t0 = time.monotonic()
    rc = d.stop(signal.SIGTERM, 3)
    took = time.monotonic() - t0
    t.ok(rc == 0 and took < 1.0, f"SIGTERM with open streams: exit 0 in {took:.2f} s", rc)
    ended = 0
    for s in streams:
        try:
            while True:
                s.part()
        except (EOFError, OSError, ValueError):
            ended += 1
    t.eq(ended, 3, "streams ended at shutdown")


for fn in (check_endpoints, check_methods_and_errors, check_idle_timeout,
           check_max_clients, check_emfile, check_unix_socket, check_flags,
           check_public, check_user_drop, check_sigterm_with_streams):
    t.run(fn)
t.ok(srv.alive(), "server survived everything", srv.output()[-2000:])
t.done()
