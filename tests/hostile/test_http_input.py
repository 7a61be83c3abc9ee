#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Hostile requests against a live vigil-server (with a live capture):
malformed request lines, oversized header blocks, NUL and control bytes,
invalid methods, absolute URIs, path traversal in every encoding, huge
query strings, pipelining, HTTP/0.9, request bodies and smuggling attempts.
Each gets the right status or a close, never a crash; memory and
descriptors come back to where they were."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ in the tree
import hlib  # noqa: E402
from hlib import vt  # noqa: E402

t = vt.Tap()
cam = vt.camera_name("hin")
cap = hlib.start_capture(cam)
srv, addr = vt.start_server(cam)
t.ok(srv.alive() and vt.wait_health(addr, 200, 5), "server up with a live capture",
     srv.output()[-500:])
sampler = hlib.Sampler(srv.pid)
base = sampler.sample()
PASSWD = open("/etc/passwd", "rb").read()


def expect(name, data, allowed, close_ok=True, forbid=None, whole=False):
    """Sends data; passes when the first status is in allowed (or the
    server closed without answering, when close_ok).  whole: reads until
    the server closes (or 2 s pass), to see every response it sends."""
    resp, how = hlib.raw(addr, data, timeout=2 if whole else 3, whole=whole)
    st = hlib.status_of(resp)
    good = (st in allowed) or (close_ok and st is None and how in ("close", "reset"))
    if forbid is not None and forbid(resp):
        good = False
    t.ok(good and srv.alive(), name, f"status {st}, {how}, {resp[:160]!r}")
    return resp


def check_request_lines():
    expect("garbage request line: 400 or close", b"GARBAGE\r\n\r\n", {400})
    expect("method only: 400 or close", b"GET\r\n\r\n", {400})
    expect("empty request line: 400 or close", b"\r\n\r\n\r\n", {400})
    expect("four-part request line: 400 or close", b"GET / HTTP/1.1 x\r\n\r\n", {400})
    expect("HTTP/9.9: refused", b"GET /healthz HTTP/9.9\r\nHost: a\r\n\r\n",
           {400, 505})
    expect("HTTP/1.x with junk version: refused", b"GET /healthz HTTP/1.x\r\nHost: a\r\n\r\n",
           {400, 505})
    expect("request line of 100 KB: refused",
           b"GET /" + b"a" * 100000 + b" HTTP/1.1\r\n\r\n", {400, 413, 414, 431})
    expect("bare LF line ends: answered or refused",
           b"GET /healthz HTTP/1.1\nHost: a\n\n", {200, 400})
    expect("leading spaces: refused or answered",
           b"   GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n", {200, 400, 501})


def check_nul_control():
    expect("NUL in the path: 400/404", b"GET /index\x00.html HTTP/1.1\r\nHost: a\r\n\r\n",
           {400, 404})
    expect("NUL in the method: 400/405", b"G\x00T /healthz HTTP/1.1\r\nHost: a\r\n\r\n",
           {400, 405, 501})
    expect("control bytes in a header value: answered or refused",
           b"GET /healthz HTTP/1.1\r\nHost: a\r\nX-A: \x01\x02\x1b[31m\x7f\r\n\r\n",
           {200, 400})
    expect("NUL in a header name: answered or refused",
           b"GET /healthz HTTP/1.1\r\nHost: a\r\nX\x00B: c\r\n\r\n", {200, 400})
    expect("header without a colon: refused", b"GET /healthz HTTP/1.1\r\nNoColonHere\r\n\r\n",
           {400})
    expect("obsolete line folding: answered or refused",
           b"GET /healthz HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n", {200, 400})
    expect("8-bit bytes in the path: 400/404", b"GET /\xff\xfe\x80 HTTP/1.1\r\nHost: a\r\n\r\n",
           {400, 404})
    expect("CR inside the path: refused", b"GET /heal\rthz HTTP/1.1\r\nHost: a\r\n\r\n",
           {400, 404})


def check_big_headers():
    many = b"".join(b"X-Fill-%d: %s\r\n" % (i, b"v" * 60) for i in range(1100))  # ~75 KB
    expect("header block over 64 KB (many headers): refused",
           b"GET /healthz HTTP/1.1\r\nHost: a\r\n" + many + b"\r\n", {400, 413, 431})
    expect("one header line of 70 KB: refused",
           b"GET /healthz HTTP/1.1\r\nHost: a\r\nX-Big: " + b"v" * 70000 + b"\r\n\r\n",
           {400, 413, 431})
    expect("1 MB of header bytes with no end: refused",
           b"GET /healthz HTTP/1.1\r\n" + b"X: " + b"v" * (1 << 20), {400, 413, 431})
    expect("10000 empty-valued headers: refused",
           b"GET /healthz HTTP/1.1\r\n" + b"A:\r\n" * 10000 + b"\r\n", {400, 413, 431})


def check_methods():
    for m in (b"FOO", b"get", b"PROPFIND", b"BREW", b"M" * 5000, b"G\xc3\xa9T"):
        expect(f"method {m[:12]!r}: 400/405/501",
               m + b" /healthz HTTP/1.1\r\nHost: a\r\n\r\n", {400, 405, 501})
    for m in (b"POST", b"PUT", b"DELETE", b"OPTIONS", b"TRACE", b"PATCH"):
        expect(f"{m.decode()} /stream.mjpg: 405",
               m + b" /stream.mjpg HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", {405})
    expect("CONNECT to another host: refused",
           b"CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n",
           {400, 405, 501})
    expect("TRACE does not echo", b"TRACE / HTTP/1.1\r\nHost: a\r\nCookie: secret\r\n\r\n",
           {400, 405, 501}, forbid=lambda r: b"secret" in r)


def check_absolute_uri():
    expect("absolute URI for another host: served locally or refused, never proxied",
           b"GET http://evil.example/healthz HTTP/1.1\r\nHost: evil.example\r\n\r\n",
           {200, 400, 404})
    expect("absolute URI with credentials: refused or local",
           b"GET http://u:p@127.0.0.1:1/etc/passwd HTTP/1.1\r\nHost: a\r\n\r\n",
           {400, 404}, forbid=lambda r: b"root:" in r)
    expect("authority-form target: refused", b"GET evil.example:80 HTTP/1.1\r\nHost: a\r\n\r\n",
           {400, 404})
    expect("asterisk-form target: refused", b"GET * HTTP/1.1\r\nHost: a\r\n\r\n", {400, 404})
    expect("network-path //host/: 404, or the local redirect (never off-site)",
           b"GET //evil.example/ HTTP/1.1\r\nHost: a\r\n\r\n", {301, 400, 404},
           forbid=lambda r: hlib.status_of(r) == 301 and b"\r\nLocation: /index.html\r\n" not in r)
    expect("file: URI: refused", b"GET file:///etc/passwd HTTP/1.1\r\nHost: a\r\n\r\n",
           {400, 404}, forbid=lambda r: b"root:" in r)


TRAVERSALS = [
    "/../../../../etc/passwd",
    "/static/../../../../etc/passwd",
    "/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/%2E%2E/%2E%2E/etc/passwd",
    "/static/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/..%2f..%2f..%2fetc%2fpasswd",
    "/%252e%252e/%252e%252e/etc/passwd",
    "/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd",
    "/%c0%ae%c0%ae%c0%af%c0%ae%c0%ae%c0%afetc%c0%afpasswd",
    "/static/..%c0%af..%c0%afetc/passwd",
    "/%e0%80%ae%e0%80%ae/etc/passwd",
    "/..%5c..%5c..%5cetc%5cpasswd",
    "/..\\..\\..\\etc\\passwd",
    "/static/vigil.js%00../../etc/passwd",
    "/index.html/../../etc/passwd",
    "/./././etc/passwd",
    "/static//../../etc/passwd",
    "/%2fetc%2fpasswd",
    "//etc/passwd",
    "/static/%2e%2e/index.html",
    "/.%2e/.%2e/etc/passwd",
    "/proc/self/environ",
    "/static/../../proc/self/maps",
]


def check_traversal():
    for p in TRAVERSALS:
        expect(f"traversal {p}: 400/404, no file content",
               f"GET {p} HTTP/1.1\r\nHost: a\r\n\r\n".encode("latin-1"), {400, 404},
               forbid=lambda r: b"root:x:" in r or PASSWD[:40] in r
               or b"VIGIL_ROOT" in r or b"[heap]" in r)


def check_queries():
    expect("query of 7 KB (within the header limit): answered",
           b"GET /healthz?" + b"a=b&" * 1700 + b" HTTP/1.1\r\nHost: a\r\n\r\n", {200, 400})
    expect("query of 200 KB: refused",
           b"GET /healthz?" + b"x" * 200000 + b" HTTP/1.1\r\nHost: a\r\n\r\n",
           {400, 413, 414, 431})
    for q in (b"fps=%00", b"fps=99999999999999999999999", b"fps=-1", b"fps=1e3",
              b"fps=0x10", b"fps=%", b"fps=%zz", b"fps= 5"):
        expect(f"stream ?{q.decode()}: 400", b"GET /stream.mjpg?" + q +
               b" HTTP/1.1\r\nHost: a\r\n\r\n", {400})
    expect("repeated fps (first one wins, or refused)",
           b"GET /stream.mjpg?fps=5&fps=abc HTTP/1.1\r\nHost: a\r\n\r\n", {200, 400})
    for q in (b"=&&&==", b"%", b"a=%GG", b"&", b"a" * 4000, b"%00=%00", b"a=b=c;d"):
        expect(f"odd query ?{q[:20].decode()}: 200 or 400",
               b"GET /healthz?" + q + b" HTTP/1.1\r\nHost: a\r\n\r\n", {200, 400})


def check_pipelining():
    one = b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n"
    resp, how = hlib.raw(addr, one * 3 + b"GET /healthz HTTP/1.1\r\nHost: a\r\n"
                         b"Connection: close\r\n\r\n", whole=True)
    t.eq(hlib.all_statuses(resp), [200] * 4, "4 pipelined requests: 4 answers in order")
    resp, how = hlib.raw(addr, one * 200 + b"GET /healthz HTTP/1.1\r\nHost: a\r\n"
                         b"Connection: close\r\n\r\n", timeout=5, whole=True)
    st = hlib.all_statuses(resp)
    t.ok(srv.alive() and len(st) == 201 and set(st) == {200},
         "201 pipelined requests in one write: each answered", (len(st), set(st), how))
    resp, how = hlib.raw(addr, one + b"GARBAGE\r\n\r\n" + one, timeout=2, whole=True)
    st = hlib.all_statuses(resp)
    t.ok(st[:1] == [200] and 200 not in st[2:] and len(st) <= 2,
         "pipelined garbage after a good request: answered, then 400 or close", st)
    # A stream request followed by more requests on the same connection:
    # the extra bytes are discarded, the stream goes on.
    s = vt.connect(addr)
    s.sendall(b"GET /stream.mjpg HTTP/1.1\r\nHost: a\r\n\r\n" + one * 50)
    st = vt.MjpegStream(addr, sock=s, timeout=3)
    ok = True
    try:
        for _ in range(3):
            _, body, _ = st.part()
            ok = ok and vt.jpeg_ok(body)
    except (ValueError, EOFError, OSError) as e:
        ok = False
        t.diag(f"stream: {e}")
    st.close()
    t.ok(ok, "pipelined requests behind a stream request are ignored, frames go on")


def check_http09_and_bodies():
    resp, how = hlib.raw(addr, b"GET /healthz\r\n\r\n")
    t.ok(srv.alive() and (resp == b"" or hlib.status_of(resp) in (400, 505, 200)),
         "HTTP/0.9 request: HTTP/1.x answer or close, never a bare body",
         (resp[:80], how))
    expect("body on GET is refused or ignored",
           b"GET /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", {200, 400, 413})
    t0 = time.monotonic()
    expect("POST announcing 1 GB: refused at once",
           b"POST /stream.mjpg HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000000\r\n\r\n",
           {400, 405, 413})
    t.ok(time.monotonic() - t0 < 3, "without waiting for the body")
    expect("negative Content-Length: refused",
           b"GET /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", {400, 413})
    expect("Content-Length overflow: refused",
           b"GET /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n",
           {400, 413})
    expect("two Content-Lengths (smuggling): refused or not a second request",
           b"POST /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nContent-Length: 44\r\n\r\n"
           b"GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n", {400, 405, 413}, whole=True,
           forbid=lambda r: b"vigil_frames" in r)
    expect("CL + TE chunked (smuggling): refused or one answer",
           b"POST /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n"
           b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /metrics HTTP/1.1\r\nHost: a\r\n\r\n",
           {400, 405, 413}, whole=True, forbid=lambda r: b"vigil_frames" in r)
    expect("endless chunked body: refused",
           [b"POST /healthz HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"ffff\r\n" + b"z" * 65535 + b"\r\n"] * 4, {400, 405, 413})
    expect("Expect: 100-continue with a big body: refused",
           b"PUT /snapshot.jpg HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
           b"Content-Length: 50000000\r\n\r\n", {100, 400, 405, 413, 417})


def check_stream_variants():
    # Range, conditional and upgrade headers on the stream: a normal stream
    # or a refusal, never a partial MJPEG.
    for extra in (b"Range: bytes=0-10\r\n", b"Upgrade: websocket\r\nConnection: Upgrade\r\n",
                  b"If-None-Match: *\r\n", b"Accept-Encoding: gzip\r\n"):
        resp, _ = hlib.raw(addr, b"GET /stream.mjpg HTTP/1.1\r\nHost: a\r\n" + extra + b"\r\n",
                           timeout=1, limit=4096)
        st = hlib.status_of(resp)
        t.ok(st in (200, 400) and b"Content-Encoding" not in resp.split(b"\r\n\r\n")[0]
             and (st != 200 or b"multipart/x-mixed-replace" in resp),
             f"stream with {extra.split(b':')[0].decode()}: plain stream or refusal",
             resp[:120])


t.run(check_request_lines)
t.run(check_nul_control)
t.run(check_big_headers)
t.run(check_methods)
t.run(check_absolute_uri)
t.run(check_traversal)
t.run(check_queries)
t.run(check_pipelining)
t.run(check_http09_and_bodies)
t.run(check_stream_variants)

t.ok(srv.alive() and vt.health(addr)[0] == 200, "server alive and healthy after all of it",
     srv.output()[-1000:])
ok = vt.wait_for(lambda: sampler.sample()["fds"] <= base["fds"], 12)
after = sampler.sample()
t.ok(ok, f"descriptors back to baseline ({base['fds']} -> {after['fds']})")
t.ok(after["rss"] < base["rss"] + 16 * 1024,
     f"RSS bounded ({base['rss']} -> {after['rss']} kB)")
t.eq(srv.stop(), 0, "server exits 0 on SIGTERM afterwards")
cap.stop()
t.done()
