# SPDX-License-Identifier: MIT
"""Helpers of the vigil-server integration tests (test_server*.py)."""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import vigiltest as vt  # noqa: E402

RINGFEED = os.path.join(vt.BUILD, "tools", "ringfeed")


def can_connect(addr):
    try:
        if addr.startswith("unix:"):
            s = socket.socket(socket.AF_UNIX)
            s.settimeout(1)
            s.connect(addr[5:])
        else:
            host, _, port = addr.rpartition(":")
            s = socket.create_connection((host.strip("[]"), int(port)), 1)
        s.close()
        return True
    except OSError:
        return False


def start_server(camera, *extra, listen=None, env=None, wrap=None):
    """Starts vigil-server on a free loopback port (or listen); returns
    (daemon, addr) once it accepts connections.  wrap: argv prefix."""
    addr = listen or f"127.0.0.1:{vt.free_port()}"
    d = vt.start((wrap or []) + [vt.SERVER, "--camera", camera, "--listen", addr]
                 + list(extra), env=env, name=f"server-{camera}")
    vt.wait_for(lambda: can_connect(addr) or not d.alive(), 5)
    return d, addr


def start_ringfeed(camera, *args):
    """A minimal ring writer (tests/tools/ringfeed.c)."""
    vt.remove_ring(camera)
    d = vt.start([RINGFEED, "--camera", camera] + list(args),
                 name=f"ringfeed-{camera}")
    vt.wait_for(lambda: os.path.exists(vt.shm_path(camera)) or not d.alive(), 5)
    import atexit
    atexit.register(vt.remove_ring, camera)
    return d


def health(addr):
    try:
        st, _, body = vt.http_get(addr, "/healthz", timeout=2)
        return st, body.decode(errors="replace").strip()
    except OSError as e:
        return None, str(e)


def wait_health(addr, status, timeout):
    """Waits until /healthz answers status; returns the seconds it took or
    None."""
    t0 = time.monotonic()
    if vt.wait_for(lambda: health(addr)[0] == status, timeout):
        return time.monotonic() - t0
    return None


def state(addr):
    import json
    st, _, body = vt.http_get(addr, "/state", timeout=2)
    return json.loads(body)


def metrics(addr):
    st, _, body = vt.http_get(addr, "/metrics", timeout=2)
    out = {}
    for line in body.decode().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        k, _, v = line.rpartition(" ")
        out[k] = float(v)
    return out


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def parts_for(stream, seconds, limit=10000):
    """Reads parts for about `seconds`; returns a list of (headers, body)."""
    out = []
    end = time.monotonic() + seconds
    while time.monotonic() < end and len(out) < limit:
        h, b, _ = stream.part()
        out.append((h, b))
    return out
