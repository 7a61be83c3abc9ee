# SPDX-License-Identifier: MIT
"""Helpers of the hostile-input, fault and privilege tests (tests/hostile/).

Many stream viewers in one thread (selectors, strict wire-format parsing of
every part), process sampling (RSS, fds, CPU), descriptor limits.  Python
standard library only; builds on tests/lib/vigiltest.py.
"""
import os
import resource
import selectors
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import vigiltest as vt  # noqa: E402

# Small pictures: the viewers decode every part, on a busy 2-core machine.
SIZE = "320x240"
FPS = 24


def raise_nofile(want):
    """Raises this process's RLIMIT_NOFILE soft limit towards want; returns
    the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    new = min(want, hard) if hard != resource.RLIM_INFINITY else want
    if new > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def proc_state(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def start_capture(camera, *extra, size=SIZE, fps=FPS, keep=False):
    """testsrc capture at the hostile tests' size and rate; keep: leave the
    camera's old ring and lock in place (a restart after a crash takes them
    over and bumps the generation)."""
    return vt.start_capture(camera, "--source", "testsrc", "--size", size,
                            "--fps", str(fps), *extra, keep=keep)


def raw(addr, data, timeout=3, limit=1 << 20, whole=False):
    """Sends data (bytes, or a list of bytes sent one after the other) and
    returns (response bytes, how it ended): 'close', 'reset', 'timeout', or
    'complete' once the first response is whole (by its Content-Length),
    unless whole is set: then it reads until the server closes."""
    s = vt.connect(addr, timeout)
    out = b""
    how = "close"
    try:
        for chunk in data if isinstance(data, list) else [data]:
            try:
                s.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break  # the server answered and closed before the end
        while len(out) < limit:
            b = s.recv(65536)
            if not b:
                break
            out += b
            if not whole and _complete(out):
                how = "complete"
                break
    except socket.timeout:
        how = "timeout"
    except (ConnectionResetError, BrokenPipeError):
        how = "reset"
    finally:
        s.close()
    return out, how


def _complete(resp):
    i = resp.find(b"\r\n\r\n")
    if i < 0:
        return False
    head = resp[:i].lower()
    if b"multipart/x-mixed-replace" in head:
        return len(resp) > i + 4 + 64
    for line in head.split(b"\r\n"):
        if line.startswith(b"content-length:"):
            try:
                return len(resp) >= i + 4 + int(line.split(b":", 1)[1])
            except ValueError:
                return False
    return False


def status_of(resp):
    """The status code of the first response in resp, or None."""
    line = resp.split(b"\r\n", 1)[0]
    parts = line.split()
    if len(parts) >= 2 and parts[0].startswith(b"HTTP/1.") and parts[1].isdigit():
        return int(parts[1])
    return None


def all_statuses(resp):
    """Status codes of every response in resp (pipelined answers)."""
    import re
    return [int(m) for m in re.findall(rb"(?:^|\n)HTTP/1\.[01] (\d{3}) ", resp)]


class Sampler:
    """RSS (kB), fd count and CPU seconds of a process."""

    def __init__(self, pid):
        self.pid = pid

    def sample(self):
        return {"rss": vt.rss_kb(self.pid), "fds": vt.fd_count(self.pid),
                "cpu": vt.cpu_seconds(self.pid)}


# ------------------------------------------------------------ viewers

def _head(buf, limit, what):
    """Takes a head (lines up to a blank line) off the front of buf; None
    while it is incomplete, ValueError past limit bytes."""
    i = buf.find(b"\r\n\r\n")
    if i < 0:
        if len(buf) > limit:
            raise ValueError(f"{what} too long")
        return None
    lines = bytes(buf[:i]).decode("latin-1").split("\r\n")
    del buf[:i + 4]
    return lines


class _Viewer:
    __slots__ = ("sock", "buf", "state", "boundary", "clen", "status",
                 "parts", "error", "closed", "hdr", "t0", "fileno")

    def __init__(self, sock):
        self.sock = sock
        self.fileno = sock.fileno()
        self.buf = bytearray()
        self.state = "head"
        self.boundary = None
        self.clen = 0
        self.status = None
        self.parts = []   # (seq, offline, arrival, decoded ok or None)
        self.error = None
        self.closed = False
        self.hdr = None
        self.t0 = time.monotonic()


class Viewers:
    """n MJPEG viewers in one thread.  Every part is checked against the
    wire format of docs/architecture.md (as vigiltest.MjpegStream does); with decode,
    every part's JPEG is fully decoded (a torn or mixed frame fails)."""

    def __init__(self, addr, n, path="/stream.mjpg", decode=False,
                 connect_timeout=5):
        self.addr = addr
        self.decode = decode
        self.sel = selectors.DefaultSelector()
        self.viewers = []
        for _ in range(n):
            s = vt.connect(addr, connect_timeout)
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
            s.setblocking(False)
            v = _Viewer(s)
            self.viewers.append(v)
            self.sel.register(s, selectors.EVENT_READ, v)

    def run(self, seconds, until=None):
        """Reads for seconds (or until until() is true)."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if until is not None and until():
                return True
            for key, _ in self.sel.select(0.05):
                v = key.data
                try:
                    b = v.sock.recv(1 << 18)
                except BlockingIOError:
                    continue
                except OSError as e:
                    self._close(v, f"recv: {e}")
                    continue
                if not b:
                    self._close(v, None if v.state == "done" else "eof")
                    continue
                v.buf += b
                try:
                    self._parse(v)
                except ValueError as e:
                    self._close(v, str(e))
        return until() if until is not None else True

    def _close(self, v, err):
        if not v.closed:
            v.closed = True
            if err and v.error is None:
                v.error = err
            self.sel.unregister(v.sock)
            v.sock.close()

    def _parse(self, v):
        while True:
            if v.state == "head":
                head = _head(v.buf, 65536, "response head")
                if head is None:
                    return
                parts = head[0].split()
                v.status = int(parts[1])
                hdr = vt.header_dict(head[1:])
                v.hdr = hdr
                if v.status != 200:
                    v.state = "done"
                    return
                ct = hdr.get("content-type", "")
                if not ct.startswith("multipart/x-mixed-replace;boundary="):
                    raise ValueError(f"bad content-type {ct!r}")
                if "transfer-encoding" in hdr:
                    raise ValueError("chunked stream")
                v.boundary = ct.split("boundary=", 1)[1].encode()
                v.state = "open"
            elif v.state == "open":
                want = b"--" + v.boundary + b"\r\n"
                if len(v.buf) < len(want):
                    return
                if bytes(v.buf[:len(want)]) != want:
                    raise ValueError("body does not open with the boundary")
                del v.buf[:len(want)]
                v.state = "phead"
            elif v.state == "phead":
                lines = _head(v.buf, 4096, "part head")
                if lines is None:
                    return
                hdr = vt.header_dict(lines)
                for k in ("content-type", "content-length", "x-timestamp",
                          "x-frame-seq"):
                    if k not in hdr:
                        raise ValueError(f"part without {k}")
                v.clen = int(hdr["content-length"])
                v.hdr = hdr
                v.state = "body"
            elif v.state == "body":
                trailer = b"\r\n--" + v.boundary + b"\r\n"
                if len(v.buf) < v.clen + len(trailer):
                    return
                body = bytes(v.buf[:v.clen])
                if bytes(v.buf[v.clen:v.clen + len(trailer)]) != trailer:
                    raise ValueError("part not closed by the boundary")
                del v.buf[:v.clen + len(trailer)]
                seq = int(v.hdr["x-frame-seq"])
                ok = None
                if self.decode:
                    ok = vt.jpeg_ok(body)
                elif not (body.startswith(b"\xff\xd8") and body.endswith(b"\xff\xd9")):
                    ok = False
                v.parts.append((seq, seq == 0, time.monotonic(), ok))
                v.state = "phead"
            else:
                v.buf.clear()
                return

    def close(self):
        for v in self.viewers:
            self._close(v, None)

    # -------------------------------------------------------- results

    def errors(self):
        return [v.error for v in self.viewers if v.error]

    def open_count(self):
        return sum(1 for v in self.viewers if not v.closed)

    def bad_parts(self):
        return sum(1 for v in self.viewers for p in v.parts if p[3] is False)

    def live_fps(self, since, until):
        """Per-viewer live frames per second between two monotonic times."""
        span = until - since
        return [sum(1 for p in v.parts if not p[1] and since <= p[2] < until) / span
                for v in self.viewers]

    def mark(self):
        return time.monotonic()


def median(xs):
    xs = sorted(xs)
    if not xs:
        return 0.0
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def seq_runs(parts):
    """Splits a viewer's parts into runs of live sequence numbers separated
    by offline pictures; returns (runs, violations): a violation is a live
    seq not above the previous live seq of the same run."""
    runs, cur, bad = [], [], 0
    for seq, offline, _, _ in parts:
        if offline:
            if cur:
                runs.append(cur)
                cur = []
            continue
        if cur and seq <= cur[-1]:
            bad += 1
        cur.append(seq)
    if cur:
        runs.append(cur)
    return runs, bad


# ------------------------------------------------------------ viewer process

def view_in_child(addr, n, seconds, decode=True):
    """Starts n viewers in a separate process (so the attacking test's own
    load cannot slow them down); returns a Popen whose stdout will be one
    JSON line (see _view_main)."""
    import subprocess
    return subprocess.Popen([sys.executable, os.path.abspath(__file__), "view",
                             addr, str(n), str(seconds), "1" if decode else "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def view_result(p, timeout=60):
    import json
    out, err = p.communicate(timeout=timeout)
    try:
        return json.loads(out.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"error": f"viewer process failed: {err.decode()[-500:]}"}


def _view_main(addr, n, seconds, decode):
    import json
    vs = Viewers(addr, n, decode=decode)
    t0 = time.monotonic()
    # The first second is left out: connection set-up and the unpaced
    # first frame.
    vs.run(seconds)
    t1 = time.monotonic()
    fps = vs.live_fps(t0 + 1.0, t1)
    res = {"fps": fps, "errors": vs.errors(), "bad": vs.bad_parts(),
           "open": vs.open_count(),
           "parts": [len(v.parts) for v in vs.viewers],
           "seq_bad": sum(seq_runs(v.parts)[1] for v in vs.viewers)}
    vs.close()
    print(json.dumps(res), flush=True)


if __name__ == "__main__" and len(sys.argv) == 6 and sys.argv[1] == "view":
    _view_main(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]),
               sys.argv[5] == "1")
