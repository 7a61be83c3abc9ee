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
import json
import os
import shutil
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
RINGFEED = os.path.join(BUILD, "tools", "ringfeed")
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
RUN_SH = os.path.join(ROOT, "deploy", "run.sh")


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

    def need(self, *things):
        """Ends the test with a failure unless every thing is there: a path
        (an executable) or the name of a program on PATH."""
        for x in things:
            if not (os.access(x, os.X_OK) if "/" in x else shutil.which(x)):
                self.ok(False, f"{x} is missing (deploy/deps.sh, make)")
                self.done()

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
    for p in (shm_path(camera), shm_path(camera) + ".lock",
              shm_path(camera) + ".sub", shm_path(camera) + ".sub.lock"):
        try:
            os.unlink(p)
        except FileNotFoundError:
            pass


def start_capture(camera, *args, stdin=None, wait=True, keep=False,
                  binary=None, name=None):
    """Starts vigil-capture (or binary, another ring writer such as
    tools/ringfeed); with wait, returns once its ring exists.  A leftover
    ring of the same name is removed first unless keep is set (a restart
    test keeps it, to see the takeover)."""
    if not keep:
        remove_ring(camera)
    exe = binary or CAPTURE
    d = start([exe, "--camera", camera] + list(args), stdin=stdin,
              name=name or f"{os.path.basename(exe)}-{camera}")
    if wait:
        wait_for(lambda: os.path.exists(shm_path(camera)) or not d.alive(), 5)
    atexit.register(remove_ring, camera)
    return d


def start_ringfeed(camera, *args):
    """A minimal ring writer (tests/tools/ringfeed.c)."""
    return start_capture(camera, *args, binary=RINGFEED)


def start_server(camera, *extra, listen=None, env=None, wrap=None,
                 binary=None, umask=None, name=None, wait=True):
    """Starts vigil-server (or binary) for camera on listen (default: a free
    loopback port); returns (daemon, addr), with wait once it accepts
    connections (or has died).  wrap: an argv prefix (prlimit, valgrind);
    umask: the umask it starts under (a unix socket's mode follows it)."""
    addr = listen or f"127.0.0.1:{free_port()}"
    argv = (wrap or []) + [binary or SERVER, "--camera", camera,
                           "--listen", addr] + list(extra)
    old = os.umask(umask) if umask is not None else None
    try:
        d = start(argv, env=env, name=name or f"server-{camera}")
    finally:
        if old is not None:
            os.umask(old)
    if wait:
        wait_for(lambda: can_connect(addr) or not d.alive(), 5)
    return d, addr


def prepare_run(run_dir, camera, port, http_port, **more):
    """deploy/run.sh --prepare: makes run_dir (TLS key and certificate, CA,
    password, htpasswd) and an nginx config for port/http_port on 127.0.0.1
    in front of 2 servers, client cipher preference; more: other variables
    of run.sh.  Returns (the finished process, path of nginx.conf or
    None)."""
    env = dict(os.environ, RUN_DIR=run_dir, PORT=str(port),
               HTTP_PORT=str(http_port), ADDR="127.0.0.1", SERVERS="2",
               CAMERA=camera, TLS_CIPHERS="client")
    env.update({k: str(v) for k, v in more.items()})
    r = subprocess.run([RUN_SH, "--prepare"], env=env, capture_output=True,
                       text=True, timeout=60)
    lines = r.stdout.strip().splitlines()
    return r, (lines[-1] if r.returncode == 0 and lines else None)


def start_nginx(conf, run_dir, port=None, name=None, timeout=10):
    """Starts nginx on a config made by deploy/run.sh --prepare in run_dir;
    with port, returns once it accepts TCP connections there (or has
    died)."""
    d = start([NGINX, "-p", os.path.join(run_dir, "nginx") + "/", "-c", conf,
               "-e", os.path.join(run_dir, "logs", "nginx.error.log")],
              name=name or f"nginx-{os.path.basename(run_dir)}")
    if port is not None:
        wait_for(lambda: can_connect(f"127.0.0.1:{port}") or not d.alive(),
                 timeout)
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


def split_addr(addr):
    """'host:port' or '[v6]:port' -> (host, port)."""
    host, _, port = addr.rpartition(":")
    return host.strip("[]"), int(port)


def connect(addr, timeout=5):
    """A connected socket to 'unix:/path', 'host:port' or (host, port)."""
    if isinstance(addr, str) and addr.startswith("unix:"):
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(timeout)
        try:
            s.connect(addr[5:])
        except OSError:
            s.close()
            raise
        return s
    if isinstance(addr, str):
        addr = split_addr(addr)
    return socket.create_connection(addr, timeout)


def can_connect(addr):
    try:
        connect(addr, 1).close()
        return True
    except OSError:
        return False


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
        addr = split_addr(addr)
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


def health(addr):
    """(status, reason) of /healthz; (None, error) if it cannot be asked."""
    try:
        st, _, body = http_get(addr, "/healthz", timeout=2)
        return st, body.decode(errors="replace").strip()
    except OSError as e:
        return None, str(e)


def wait_health(addr, status, timeout):
    """Waits until /healthz answers status; returns the seconds it took
    (always > 0) or None."""
    t0 = time.monotonic()
    if wait_for(lambda: health(addr)[0] == status, timeout):
        return max(time.monotonic() - t0, 1e-9)
    return None


def state(addr):
    """/state as a dict."""
    st, _, body = http_get(addr, "/state", timeout=2)
    return json.loads(body)


def metrics(addr):
    """/metrics as {"name{labels}": value}."""
    st, _, body = http_get(addr, "/metrics", timeout=2)
    out = {}
    for line in body.decode().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        k, _, v = line.rpartition(" ")
        out[k] = float(v)
    return out


def parts_for(stream, seconds, limit=10000):
    """Reads parts of an MjpegStream for about `seconds`; returns a list of
    (headers, body)."""
    out = []
    end = time.monotonic() + seconds
    while time.monotonic() < end and len(out) < limit:
        h, b, _ = stream.part()
        out.append((h, b))
    return out


def header_dict(lines):
    """Header lines ("Name: value") -> {lower-cased name: value}."""
    out = {}
    for line in lines:
        k, _, v = line.partition(":")
        out[k.strip().lower()] = v.strip()
    return out


def raw_request(addr, data, timeout=5, limit=1 << 20):
    """Sends raw bytes, returns what came back until close/timeout."""
    s = connect(addr, timeout)
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
    """A strict MJPEG client: checks the wire format of docs/architecture.md on every
    part and yields (headers, jpeg bytes, arrival time)."""

    def __init__(self, addr, path="/stream.mjpg", timeout=5, sock=None,
                 headers=None):
        if sock is None:
            sock = connect(addr, timeout)
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
        self.headers = header_dict(lines[1:])
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
        hdr = header_dict(head.decode("latin-1").split("\r\n"))
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


def cpu_seconds(pid):
    """User + system CPU seconds a process has used."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid):
    """Pids whose parent is pid."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    return out
