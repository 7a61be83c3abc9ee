# SPDX-License-Identifier: MIT
"""Shared harness of vigil's integration tests (Python 3 standard library only).

A test script does:  t = Tap();  ...  t.ok(cond, "name");  t.done()
and prints TAP that tests/run.sh counts.  Daemons started through start()
are killed when the script exits, whatever happens.  JPEGs are decoded with
the system's libturbojpeg through ctypes, so a "valid frame" is one that
libjpeg-turbo decodes, not one that merely starts with FF D8.
"""
import atexit
import ctypes
import ctypes.util
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
import traceback

ROOT = os.environ.get("VIGIL_ROOT") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.join(ROOT, os.environ.get("VIGIL_BUILD", "build"))
CAPTURE = os.path.join(BUILD, "vigil-capture")
SERVER = os.path.join(BUILD, "vigil-server")


class Tap:
    """TAP producer: one line per check, the plan at the end."""

    def __init__(self):
        self.n = 0
        self.failed = 0
        atexit.register(self._atexit)
        self._done = False

    def ok(self, cond, name, diag=None):
        self.n += 1
        cond = bool(cond)
        print(("ok" if cond else "not ok") + f" {self.n} - {name}", flush=True)
        if not cond:
            self.failed += 1
            if diag is not None:
                for line in str(diag).splitlines():
                    print(f"#   {line}", flush=True)
        return cond

    def eq(self, got, want, name):
        return self.ok(got == want, name, f"got {got!r}, want {want!r}")

    def skip(self, name, reason):
        self.n += 1
        print(f"ok {self.n} - {name} # SKIP {reason}", flush=True)

    def diag(self, msg):
        for line in str(msg).splitlines():
            print(f"# {line}", flush=True)

    def run(self, fn, *args):
        """Runs a check function; an exception is a failed check, not a crash."""
        try:
            fn(*args)
        except Exception:
            self.ok(False, f"{fn.__name__} raised", traceback.format_exc())

    def done(self):
        self._done = True
        print(f"1..{self.n}", flush=True)
        stop_all()
        sys.exit(1 if self.failed else 0)

    def _atexit(self):
        if not self._done:
            print(f"1..{self.n}", flush=True)


# ------------------------------------------------------------ processes

_procs = []
_seq = [0]


def camera_name(tag="c"):
    """A camera name unique to this test run (shm names are global)."""
    _seq[0] += 1
    return f"t{os.getpid()}{tag}{_seq[0]}"[:32]


class Daemon:
    def __init__(self, argv, stdin=None, env=None, name=None):
        self.argv = argv
        self.name = name or os.path.basename(argv[0])
        self.log = os.path.join(BUILD, "test-logs",
                                f"{self.name}-{os.getpid()}-{len(_procs)}.log")
        os.makedirs(os.path.dirname(self.log), exist_ok=True)
        self.logf = open(self.log, "wb")
        self.proc = subprocess.Popen(argv, stdin=stdin, stdout=self.logf,
                                     stderr=subprocess.STDOUT, env=env)
        _procs.append(self)

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def signal(self, sig):
        if self.alive():
            self.proc.send_signal(sig)

    def stop(self, sig=None, timeout=5.0):
        """Signals (default SIGTERM) and waits; returns the exit status (kills
        after timeout)."""
        # (The default cannot be signal.SIGTERM: in the class body "signal"
        # is the method above.)
        if sig is None:
            sig = signal.SIGTERM
        self.signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None

    def kill(self):
        return self.stop(signal.SIGKILL)

    def output(self):
        self.logf.flush()
        with open(self.log, "rb") as f:
            return f.read().decode(errors="replace")


def start(argv, **kw):
    return Daemon(argv, **kw)


def stop_all():
    for d in _procs:
        if d.alive():
            d.stop(signal.SIGKILL, 2)


atexit.register(stop_all)


def shm_path(camera):
    return f"/dev/shm/vigil.{camera}"


def remove_ring(camera):
    for p in (shm_path(camera), shm_path(camera) + ".lock"):
        try:
            os.unlink(p)
        except FileNotFoundError:
            pass


def start_capture(camera, *args, stdin=None, wait=True, keep=False):
    """Starts vigil-capture; with wait, returns once its ring exists.  A
    leftover ring of the same name is removed first unless keep is set
    (a restart test keeps it, to see the takeover)."""
    if not keep:
        remove_ring(camera)
    d = start([CAPTURE, "--camera", camera] + list(args), stdin=stdin,
              name=f"capture-{camera}")
    if wait:
        wait_for(lambda: os.path.exists(shm_path(camera)) or not d.alive(), 5)
    atexit.register(remove_ring, camera)
    return d


def wait_for(cond, timeout, step=0.02):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(step)
    return cond()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------ HTTP

class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=5):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


def connection(addr, timeout=5):
    """addr: 'unix:/path' or ('127.0.0.1', port) or '127.0.0.1:port'."""
    if isinstance(addr, str) and addr.startswith("unix:"):
        return UnixHTTPConnection(addr[5:], timeout)
    if isinstance(addr, str):
        host, _, port = addr.rpartition(":")
        addr = (host.strip("[]"), int(port))
    return http.client.HTTPConnection(addr[0], addr[1], timeout=timeout)


def http_get(addr, path, method="GET", headers=None, timeout=5):
    """Returns (status, headers dict lower-cased, body bytes)."""
    c = connection(addr, timeout)
    try:
        c.request(method, path, headers=headers or {})
        r = c.getresponse()
        body = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, body
    finally:
        c.close()


def raw_request(addr, data, timeout=5, limit=1 << 20):
    """Sends raw bytes, returns what came back until close/timeout."""
    if isinstance(addr, str) and addr.startswith("unix:"):
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(timeout)
        s.connect(addr[5:])
    else:
        if isinstance(addr, str):
            host, _, port = addr.rpartition(":")
            addr = (host.strip("[]"), int(port))
        s = socket.create_connection(addr, timeout=timeout)
    out = b""
    try:
        s.sendall(data)
        while len(out) < limit:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    except (socket.timeout, ConnectionResetError):
        pass
    finally:
        s.close()
    return out


class MjpegStream:
    """A strict MJPEG client: checks the wire format of DESIGN.md on every
    part and yields (headers, jpeg bytes, arrival time)."""

    def __init__(self, addr, path="/stream.mjpg", timeout=5, sock=None,
                 headers=None):
        if sock is None:
            if isinstance(addr, str) and addr.startswith("unix:"):
                sock = socket.socket(socket.AF_UNIX)
                sock.settimeout(timeout)
                sock.connect(addr[5:])
            else:
                if isinstance(addr, str):
                    host, _, port = addr.rpartition(":")
                    addr = (host.strip("[]"), int(port))
                sock = socket.create_connection(addr, timeout=timeout)
        self.sock = sock
        self.sock.settimeout(timeout)
        self.buf = b""
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n{extra}\r\n"
                          .encode())
        head = self._until(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status_line = lines[0]
        self.status = int(lines[0].split()[1])
        self.headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            self.headers[k.strip().lower()] = v.strip()
        self.boundary = None
        ct = self.headers.get("content-type", "")
        if self.status == 200:
            if not ct.startswith("multipart/x-mixed-replace;boundary="):
                raise ValueError(f"bad stream content-type {ct!r}")
            if "transfer-encoding" in self.headers:
                raise ValueError("chunked encoding on the stream")
            b = ct.split("boundary=", 1)[1]
            if b.startswith('"'):
                raise ValueError("quoted boundary")
            self.boundary = b.encode()
            first = self._until(b"\r\n")
            if first != b"--" + self.boundary:
                raise ValueError(f"body does not open with the boundary: {first!r}")

    def _fill(self):
        chunk = self.sock.recv(262144)
        if not chunk:
            raise EOFError("stream closed")
        self.buf += chunk

    def _until(self, sep):
        while sep not in self.buf:
            if len(self.buf) > 1 << 20:
                raise ValueError("header too long")
            self._fill()
        i = self.buf.index(sep)
        out, self.buf = self.buf[:i], self.buf[i + len(sep):]
        return out

    def _take(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def part(self):
        """Reads one part; returns (headers, body, arrival monotonic time)."""
        head = self._until(b"\r\n\r\n")
        hdr = {}
        for line in head.decode("latin-1").split("\r\n"):
            k, _, v = line.partition(":")
            hdr[k.strip().lower()] = v.strip()
        for k in ("content-type", "content-length", "x-timestamp", "x-frame-seq"):
            if k not in hdr:
                raise ValueError(f"part without {k}: {hdr}")
        n = int(hdr["content-length"])
        body = self._take(n)
        # The part must be closed by the next boundary right after the JPEG.
        tail = self._take(4 + len(self.boundary))
        arrived = time.monotonic()
        if tail != b"\r\n--" + self.boundary:
            raise ValueError(f"part not closed by the boundary: {tail!r}")
        if self._take(2) != b"\r\n":
            raise ValueError("boundary line without CRLF")
        return hdr, body, arrived

    def close(self):
        self.sock.close()


# ------------------------------------------------------------ JPEG

_tj = None


def _turbojpeg():
    global _tj
    if _tj is None:
        name = ctypes.util.find_library("turbojpeg") or "libturbojpeg.so.0"
        _tj = ctypes.CDLL(name)
        _tj.tjInitDecompress.restype = ctypes.c_void_p
        _tj.tjDecompressHeader3.argtypes = [
            ctypes.c_void_p, ctypes.c_char_p, ctypes.c_ulong,
            ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int),
            ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int)]
        _tj.tjDecompress2.argtypes = [
            ctypes.c_void_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_void_p,
            ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int]
        _tj.tjDestroy.argtypes = [ctypes.c_void_p]
        _tj.tjGetErrorStr2.argtypes = [ctypes.c_void_p]
        _tj.tjGetErrorStr2.restype = ctypes.c_char_p
    return _tj


def jpeg_decode(data, gray=True):
    """Decodes fully; returns (width, height, pixels) with 8-bit gray pixels
    (or RGB with gray=False).  Raises ValueError on any decode error or
    warning (a truncated or corrupt JPEG is an error here)."""
    tj = _turbojpeg()
    h = tj.tjInitDecompress()
    try:
        w, ht, ss, cs = (ctypes.c_int(), ctypes.c_int(), ctypes.c_int(),
                         ctypes.c_int())
        if tj.tjDecompressHeader3(h, data, len(data), ctypes.byref(w),
                                  ctypes.byref(ht), ctypes.byref(ss),
                                  ctypes.byref(cs)) != 0:
            raise ValueError(tj.tjGetErrorStr2(h).decode())
        pf, bpp = (6, 1) if gray else (0, 3)  # TJPF_GRAY, TJPF_RGB
        buf = ctypes.create_string_buffer(w.value * ht.value * bpp)
        # TJFLAG_STOPONWARNING (8192): a warning is a failure.
        if tj.tjDecompress2(h, data, len(data), buf, w.value, 0, ht.value,
                            pf, 8192) != 0:
            raise ValueError(tj.tjGetErrorStr2(h).decode())
        return w.value, ht.value, buf.raw
    finally:
        tj.tjDestroy(h)


def jpeg_ok(data):
    try:
        jpeg_decode(data)
        return True
    except ValueError:
        return False


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))
