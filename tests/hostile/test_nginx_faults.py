#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The front door: hostile requests through nginx (the config `make run`
uses, TLS and basic auth) never reach a server as anything but a plain
request, never leak a file, and leave the servers unharmed; then nginx is
killed (-9, master and workers) and restarted while viewers watch the
servers directly: capture and servers do not notice (frame sequence runs
on, viewers keep their frame rate), and nginx serves again after restart."""
import base64
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ in the tree
import hlib  # noqa: E402
from hlib import vt  # noqa: E402

t = vt.Tap()
RINGCAT = os.path.join(vt.BUILD, "tools", "ringcat")
t.need(vt.NGINX)

tmp = tempfile.mkdtemp(prefix="vghn-", dir="/tmp")
cam = vt.camera_name("hn")
port, http_port = vt.free_port(), vt.free_port()
r, conf = vt.prepare_run(tmp, cam, port, http_port)
if not t.ok(conf, "run.sh --prepare makes the nginx config", r.stderr[-500:]):
    t.done()
CA = os.path.join(tmp, "ca.pem")
PASSWORD = open(os.path.join(tmp, "password")).read().strip()
AUTH = b"Authorization: Basic " + base64.b64encode(f"vigil:{PASSWORD}".encode()) + b"\r\n"

cap = hlib.start_capture(cam)
# The run folder is setgid: with umask 007 a socket is rw for its group,
# which nginx's workers are in.
servers = [vt.start_server(cam, listen=f"unix:{os.path.join(tmp, f'web{i}.sock')}",
                           umask=0o007) for i in (1, 2)]


def start_nginx():
    return vt.start_nginx(conf, tmp, port, name=f"nginx-{cam}")


nginx = start_nginx()
t.ok(nginx.alive() and all(s.alive() for s, _ in servers), "capture, 2 servers and nginx up",
     nginx.output()[-300:])
ctx = ssl.create_default_context(cafile=CA)


def tls(data, timeout=3):
    """Sends raw bytes over TLS to nginx; returns the response bytes."""
    s = socket.create_connection(("127.0.0.1", port), timeout)
    out = b""
    try:
        with ctx.wrap_socket(s, server_hostname="localhost") as ss:
            try:
                ss.sendall(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # refused before the whole request was sent (nginx 1.26): read what it said
            while len(out) < 1 << 20:
                b = ss.recv(65536)
                if not b:
                    break
                out += b
                if hlib._complete(out):
                    break
    except (socket.timeout, ssl.SSLError, ConnectionResetError, BrokenPipeError):
        pass
    return out


PASSWD = open("/etc/passwd", "rb").read()[:40]
HOSTILE = [
    ("traversal /../", b"GET /../../etc/passwd HTTP/1.1\r\nHost: localhost\r\n" + AUTH + b"\r\n"),
    ("traversal %2e%2e", b"GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: localhost\r\n" + AUTH + b"\r\n"),
    ("traversal %2f", b"GET /static/..%2f..%2fetc%2fpasswd HTTP/1.1\r\nHost: localhost\r\n" + AUTH + b"\r\n"),
    ("traversal overlong UTF-8", b"GET /%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd HTTP/1.1\r\nHost: localhost\r\n" + AUTH + b"\r\n"),
    ("traversal double-encoded", b"GET /%252e%252e/etc/passwd HTTP/1.1\r\nHost: localhost\r\n" + AUTH + b"\r\n"),
    ("NUL in the path", b"GET /index\x00.html HTTP/1.1\r\nHost: localhost\r\n" + AUTH + b"\r\n"),
    ("control bytes in a header", b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-A: \x01\x7f\r\n" + AUTH + b"\r\n",
     {200, 400}),
    ("header block over 64 KB", b"GET /state HTTP/1.1\r\nHost: localhost\r\n" + AUTH
     + b"".join(b"X-F%d: %s\r\n" % (i, b"v" * 60) for i in range(1100)) + b"\r\n"),
    ("invalid method", b"FOO /state HTTP/1.1\r\nHost: localhost\r\n" + AUTH + b"\r\n",
     {400, 405, 501}),
    # RFC 9112 3.2.2: absolute-form is served as the local resource.
    ("absolute URI for another host", b"GET http://evil.example/state HTTP/1.1\r\nHost: evil.example\r\n" + AUTH + b"\r\n",
     {200, 400}),
    ("huge query string", b"GET /state?" + b"q" * 100000 + b" HTTP/1.1\r\nHost: localhost\r\n" + AUTH + b"\r\n"),
    ("HTTP/0.9", b"GET /state\r\n\r\n"),
    ("garbage request line", b"\x16\x03\x01garbage\r\n\r\n"),
    ("no credentials on the stream", b"GET /stream.mjpg HTTP/1.1\r\nHost: localhost\r\n\r\n"),
    ("wrong credentials", b"GET /state HTTP/1.1\r\nHost: localhost\r\nAuthorization: Basic dmlnaWw6bm9wZQ==\r\n\r\n"),
]


def check_hostile():
    for case in HOSTILE:
        name, data = case[:2]
        allowed = case[2] if len(case) > 2 else None
        resp = tls(data)
        st = hlib.status_of(resp)
        leaked = b"root:x:" in resp or PASSWD in resp
        if allowed is None:
            good = st is None or 400 <= st < 500
            what = "refused"
        else:
            good = st is None or st in allowed
            what = "answered locally or refused"
        t.ok(not leaked and good, f"through nginx, {name}: {what} ({st})", resp[:160])
    t.ok(all(s.alive() for s, _ in servers) and cap.alive() and nginx.alive(),
         "servers, capture and nginx unharmed by the hostile requests")


def check_slowloris_front():
    """nginx's client_header_timeout bounds the whole request head: a
    dribbling client is cut off even though vigil-server alone would keep it
    (see test_http_flood.py)."""
    n = 50
    conns = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), 3)
        ss = ctx.wrap_socket(s, server_hostname="localhost")
        ss.sendall(b"GET /state HTTP/1.1\r\nHost: localhost\r\n")
        conns.append(ss)
    t0 = time.monotonic()
    open_ = list(conns)
    while open_ and time.monotonic() - t0 < 20:
        time.sleep(2)  # the dribbling pace is what is tested: a line every 2 s
        still = []
        for ss in open_:
            try:
                ss.sendall(b"X-Drip: 1\r\n")
                ss.settimeout(0.01)
                try:
                    if ss.recv(4096) == b"":
                        continue
                except (socket.timeout, ssl.SSLWantReadError):
                    pass
                still.append(ss)
            except (OSError, ssl.SSLError):
                pass
        open_ = still
    took = time.monotonic() - t0
    t.ok(not open_, f"through nginx, {n} slowloris connections cut off by the request-head "
         f"deadline ({n - len(open_)}/{n} in {took:.0f} s)")
    for ss in conns:
        try:
            ss.close()
        except OSError:
            pass
    t.ok(all(s.alive() for s, _ in servers), "servers unaffected by the slowloris")


def nginx_pids():
    out = set()
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open(f"/proc/{p}/cmdline", "rb") as f:
                    cmd = f.read()
            except OSError:
                continue
            if b"nginx" in cmd.split(b"\0")[0] and (conf.encode() in cmd or
                                                   int(p) == nginx.pid):
                out.add(int(p))
    # Workers carry no -c: they are the master's children.
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open(f"/proc/{p}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) in out:
                        out.add(int(p))
            except OSError:
                pass
    return out


def ring_seq():
    r = subprocess.run([RINGCAT, "-n", "1", "-t", "2000", cam], capture_output=True, text=True)
    m = re.search(r"seq=(\d+)", r.stdout)
    return int(m.group(1)) if m else None


def check_kill_nginx():
    global nginx
    pids_before = [s.pid for s, _ in servers] + [cap.pid]
    clients0 = vt.metrics(servers[0][1])["vigil_stream_clients"]
    viewers = hlib.view_in_child(servers[0][1], 3, 6.0)
    t.ok(vt.wait_for(lambda: vt.metrics(servers[0][1])["vigil_stream_clients"]
                     >= clients0 + 3, 10), "three direct viewers connected")
    s0, t0 = ring_seq(), time.monotonic()
    pids = nginx_pids()
    for p in pids:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    nginx.proc.wait(5)
    gone = vt.wait_for(lambda: not vt.can_connect(f"127.0.0.1:{port}"), 5)
    t.ok(len(pids) >= 2 and gone, f"nginx killed -9 (master and workers: {len(pids)})")
    time.sleep(2.0)  # the measuring window of the frame rate
    s1, t1 = ring_seq(), time.monotonic()
    rate = (s1 - s0) / (t1 - t0) if s0 and s1 else 0
    t.ok(rate > 0.8 * hlib.FPS, f"capture's frame sequence runs on ({rate:.1f} frames/s)")
    t.ok(all(os.path.exists(f"/proc/{p}") for p in pids_before) and
         all(vt.health(a)[0] == 200 for _, a in servers),
         "capture and both servers still up and healthy")
    res = hlib.view_result(viewers, 30)
    fps = res.get("fps", [])
    t.ok(fps and min(fps) >= 0.8 * hlib.FPS and not res.get("errors") and res.get("bad") == 0,
         f"direct viewers keep their frame rate while nginx dies (min {min(fps or [0]):.1f})", res)
    nginx = start_nginx()
    got = [b""]

    def snapshot_answered():
        # Past the rate limit's burst (the hostile requests used some of it).
        got[0] = tls(b"GET /snapshot.jpg HTTP/1.1\r\nHost: localhost\r\n" + AUTH +
                     b"Connection: close\r\n\r\n", timeout=5)
        return hlib.status_of(got[0]) != 429
    vt.wait_for(snapshot_answered, 5, step=0.5)
    resp = got[0]
    body = resp.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in resp else b""
    t.ok(hlib.status_of(resp) == 200 and vt.jpeg_ok(body),
         "nginx restarted: a snapshot through it decodes", resp[:120])


t.run(check_hostile)
t.run(check_slowloris_front)
t.run(check_kill_nginx)
nginx.stop()
for s, _ in servers:
    s.stop()
cap.stop()
t.done()
