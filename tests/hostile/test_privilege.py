#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Privilege separation: a server running as an unprivileged system user
reads frames and nothing more (cannot open the ring read-write, cannot write
through its mapping, cannot signal capture); capture refuses to create a
ring that others could write, whatever the umask; the ring's mode and group
are as docs/architecture.md says (0640, --group); servers refuse non-loopback
addresses without --public; in `make run` nothing but nginx listens on a
non-loopback address.  The user tests need root (to create the system user
and switch to it) and skip with that reason otherwise."""
import ctypes
import grp
import os
import pwd
import re
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ in the tree
import hlib  # noqa: E402
from hlib import vt  # noqa: E402

USER = "vigil-test-web"
t = vt.Tap()
ROOT = os.geteuid() == 0


def ensure_user():
    try:
        return pwd.getpwnam(USER)
    except KeyError:
        r = subprocess.run(["useradd", "--system", "--no-create-home", "--user-group",
                            "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
                            USER], capture_output=True, text=True)
        if r.returncode != 0:
            t.diag(f"useradd: {r.stderr}")
            return None
        return pwd.getpwnam(USER)


def as_user(pw):
    def drop():
        os.setgroups([pw.pw_gid])
        os.setgid(pw.pw_gid)
        os.setuid(pw.pw_uid)
    return drop


# What the unprivileged user tries against the ring and capture; prints one
# line per attempt.  Runs in a child that has dropped to the user.
PROBE = r"""
import ctypes, ctypes.util, errno, mmap, os, signal, sys
path, cap_pid = sys.argv[1], int(sys.argv[2])
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                      ctypes.c_int, ctypes.c_long]
libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
def tryit(name, fn):
    try:
        fn()
        print(name, "allowed", flush=True)
    except OSError as e:
        print(name, "denied", errno.errorcode.get(e.errno, e.errno), flush=True)
tryit("open_rdwr", lambda: os.open(path, os.O_RDWR))
tryit("open_wronly", lambda: os.open(path, os.O_WRONLY))
fd = os.open(path, os.O_RDONLY)
print("open_rdonly allowed", flush=True)
size = os.fstat(fd).st_size
addr = libc.mmap(None, size, 3, 1, fd, 0)  # PROT_READ|PROT_WRITE, MAP_SHARED
print("mmap_rw", "denied" if addr in (None, ctypes.c_void_p(-1).value) else "allowed", flush=True)
addr = libc.mmap(None, size, 1, 1, fd, 0)  # PROT_READ, MAP_SHARED
print("mmap_ro", "allowed" if addr not in (None, ctypes.c_void_p(-1).value) else "denied", flush=True)
r = libc.mprotect(addr, 4096, 3)
print("mprotect_rw", "allowed" if r == 0 else "denied", flush=True)
def sig(s):
    def f():
        os.kill(cap_pid, s)
    return f
tryit("signal_0", sig(0))
tryit("signal_term", sig(signal.SIGTERM))
tryit("unlink_ring", lambda: os.unlink(path))
tryit("ftruncate", lambda: os.ftruncate(fd, 0))
sys.stdout.flush()
# Last: a write through the read-only mapping must kill us with SIGSEGV.
ctypes.memset(addr + 100, 0x41, 1)
print("write_through_mapping allowed", flush=True)
"""


def check_users():
    if not ROOT:
        for name in ("server as an unprivileged user", "ring read-write denied",
                     "capture refuses rings others could write"):
            t.skip(name, "needs root (creates a system user and switches to it)")
        return
    pw = ensure_user()
    if not t.ok(pw is not None, f"system user {USER} exists"):
        return
    cam = vt.camera_name("pv")
    cap = hlib.start_capture(cam, "--group", USER, size="160x120")
    path = vt.shm_path(cam)
    st = os.stat(path)
    t.eq(stat.S_IMODE(st.st_mode), 0o640, "ring mode is 0640")
    t.eq(st.st_gid, pw.pw_gid, f"ring group is --group ({USER})")
    t.eq(st.st_uid, 0, "ring owned by capture's user")
    lk = os.stat(path + ".lock")
    t.eq(stat.S_IMODE(lk.st_mode), 0o600, "lock file mode is 0600 (readers cannot hold it)")

    srv, addr = vt.start_server(cam, "--user", USER)
    t.ok(vt.wait_health(addr, 200, 5), "server as the unprivileged user serves the ring",
         srv.output()[-300:])
    with open(f"/proc/{srv.pid}/status") as f:
        status = f.read()
    uids = re.search(r"^Uid:\s+(.*)$", status, re.M).group(1).split()
    capeff = re.search(r"^CapEff:\s+(\S+)", status, re.M).group(1)
    nnp = re.search(r"^NoNewPrivs:\s+(\d)", status, re.M).group(1)
    t.ok(set(uids) == {str(pw.pw_uid)} and int(capeff, 16) == 0 and nnp == "1",
         "server runs with the user's ids only, no capabilities, no_new_privs",
         (uids, capeff, nnp))
    with open(f"/proc/{srv.pid}/maps") as f:
        maps = [ln for ln in f if f"vigil.{cam}" in ln]
    t.ok(maps and all(ln.split()[1] == "r--s" for ln in maps),
         "the server's mapping of the ring is read-only shared (r--s)", maps)

    # /usr/bin/python3: the user cannot run an interpreter under /root.
    py = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
    r = subprocess.run([py, "-c", PROBE, path, str(cap.pid)],
                       preexec_fn=as_user(pw), capture_output=True, text=True, timeout=10)
    out = dict(ln.split(" ", 1) for ln in r.stdout.splitlines() if " " in ln)
    t.ok(out.get("open_rdwr", "").startswith("denied"), "the user cannot open the ring read-write",
         r.stdout)
    t.ok(out.get("open_wronly", "").startswith("denied"), "nor write-only")
    t.ok(out.get("open_rdonly") == "allowed", "but can open it read-only (group)")
    t.eq(out.get("mmap_rw"), "denied", "cannot map it writable")
    t.eq(out.get("mprotect_rw"), "denied", "cannot make a read-only mapping writable")
    t.ok(out.get("signal_0", "").startswith("denied") and
         out.get("signal_term", "").startswith("denied"), "cannot signal capture", r.stdout)
    t.ok(out.get("unlink_ring", "").startswith("denied"), "cannot unlink the ring (sticky /dev/shm)")
    t.ok(out.get("ftruncate", "").startswith("denied"), "cannot truncate it")
    t.ok(r.returncode == -signal.SIGSEGV and "write_through_mapping" not in out,
         "a write through the read-only mapping dies with SIGSEGV", (r.returncode, r.stderr[-300:]))
    t.ok(cap.alive() and vt.health(addr)[0] == 200, "capture and server unaffected")
    srv.stop()
    cap.stop()

    # Capture refuses rings that others could write or that others own.
    for what, mode, owner in (("a lock file others may write (0666)", 0o666, 0),
                              ("a lock file owned by another user", 0o600, pw.pw_uid),
                              ("a lock file its group may write (0660)", 0o660, 0)):
        cam2 = vt.camera_name("pw")
        vt.remove_ring(cam2)
        lock = vt.shm_path(cam2) + ".lock"
        fd = os.open(lock, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600)
        os.fchmod(fd, mode)
        os.fchown(fd, owner, -1)
        os.close(fd)
        r = subprocess.run([vt.CAPTURE, "--camera", cam2, "--source", "testsrc", "--size",
                            "160x120"], capture_output=True, text=True, timeout=10)
        t.ok(r.returncode == 1 and "others may write" in r.stderr + r.stdout
             and not os.path.exists(vt.shm_path(cam2)),
             f"capture refuses {what}", (r.returncode, r.stderr[-300:]))
        vt.remove_ring(cam2)

    # umask 0 does not loosen the modes.
    cam3 = vt.camera_name("pu")
    vt.remove_ring(cam3)
    d = vt.start(["sh", "-c", f"umask 0; exec {vt.CAPTURE} --camera {cam3} --source testsrc "
                  "--size 160x120"], name=f"capture-{cam3}")
    import atexit
    atexit.register(vt.remove_ring, cam3)
    vt.wait_for(lambda: os.path.exists(vt.shm_path(cam3)) or not d.alive(), 5)
    m1 = stat.S_IMODE(os.stat(vt.shm_path(cam3)).st_mode)
    m2 = stat.S_IMODE(os.stat(vt.shm_path(cam3) + ".lock").st_mode)
    t.ok(m1 == 0o640 and m2 == 0o600, f"umask 0: ring {oct(m1)}, lock {oct(m2)}")
    d.stop()


def non_loopback_addr():
    """A local non-loopback IPv4 address, or None."""
    try:
        out = subprocess.run(["hostname", "-I"], capture_output=True, text=True).stdout
        for a in out.split():
            if ":" not in a and not a.startswith("127."):
                return a
    except OSError:
        pass
    return None


def check_public():
    port = vt.free_port()
    addrs = ["0.0.0.0:%d" % port, "[::]:%d" % port]
    ext = non_loopback_addr()
    if ext:
        addrs.append(f"{ext}:{port}")
    for a in addrs:
        r = subprocess.run([vt.SERVER, "--camera", "x", "--listen", a], capture_output=True,
                           text=True, timeout=10)
        t.ok(r.returncode == 2 and "--public" in r.stderr,
             f"server refuses --listen {a} without --public", (r.returncode, r.stderr[-200:]))
    for a in (f"127.0.0.1:{port}", f"[::1]:{port}", f"127.0.0.2:{port}"):
        cam = vt.camera_name("pl")
        d = vt.start([vt.SERVER, "--camera", cam, "--listen", a], name=f"server-{cam}")
        ok = vt.wait_for(lambda: vt.can_connect(a) or not d.alive(), 5)
        t.ok(ok and d.alive(), f"loopback {a} needs no --public", d.output()[-200:])
        d.stop()
    cam = vt.camera_name("pp")
    d = vt.start([vt.SERVER, "--camera", cam, "--listen", f"0.0.0.0:{port}", "--public"],
                 name=f"server-{cam}")
    ok = vt.wait_for(lambda: vt.can_connect(f"127.0.0.1:{port}") or not d.alive(), 5)
    t.ok(ok and d.alive(), "with --public, 0.0.0.0 is accepted", d.output()[-200:])
    d.stop()


def descendants(pid):
    out = {pid}
    changed = True
    while changed:
        changed = False
        for p in os.listdir("/proc"):
            if not p.isdigit() or int(p) in out:
                continue
            try:
                with open(f"/proc/{p}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            if ppid in out:
                out.add(int(p))
                changed = True
    return out


def listeners_of(pids):
    """(comm, local address) of every listening TCP/UDP socket of pids."""
    r = subprocess.run(["ss", "-H", "-lntup"], capture_output=True, text=True)
    found = []
    for line in r.stdout.splitlines():
        f = line.split()
        local = f[4]
        for m in re.finditer(r'\("([^"]+)",pid=(\d+)', line):
            if int(m.group(2)) in pids:
                found.append((m.group(1), local))
    return found


def is_loopback(local):
    host = local.rsplit(":", 1)[0].strip("[]")
    return host.startswith("127.") or host == "::1"


def check_make_run():
    run_sh = os.path.join(vt.ROOT, "deploy", "run.sh")
    tmp = tempfile.mkdtemp(prefix="vghp-", dir="/tmp")
    cam = vt.camera_name("pr")
    port, http_port = vt.free_port(), vt.free_port()
    env = dict(os.environ, RUN_DIR=tmp, PORT=str(port), HTTP_PORT=str(http_port),
               SERVERS="2", CAMERA=cam, SOURCE="testsrc", SIZE="320x240", FPS="10",
               VIGIL_BUILD=os.path.relpath(vt.BUILD, vt.ROOT))
    log = open(os.path.join(tmp, "run.log"), "wb")
    p = subprocess.Popen(["setsid", "bash", run_sh], env=env, stdout=log, stderr=subprocess.STDOUT)
    ok = vt.wait_for(lambda: vt.can_connect(f"127.0.0.1:{port}") or p.poll() is not None, 60)
    try:
        if not t.ok(ok and p.poll() is None, "make run (deploy/run.sh) starts",
                    open(os.path.join(tmp, "run.log"), errors="replace").read()[-600:]):
            return
        # Listening: nginx (its port answered) and whatever else make run
        # started by then; the servers listen before nginx starts.
        vt.wait_for(lambda: "nginx" in {c for c, _ in listeners_of(descendants(p.pid))}, 10)
        pids = descendants(p.pid)
        ls = listeners_of(pids)
        comms = {c for c, _ in ls}
        bad = [(c, a) for c, a in ls if not is_loopback(a) and c != "nginx"]
        t.ok(ls and "nginx" in comms and not bad,
             "in make run, only nginx listens on non-loopback addresses", ls)
        t.ok(not any(c.startswith("vigil-ca") for c, _ in ls), "capture has no network socket", ls)
    finally:
        os.killpg(p.pid, signal.SIGINT)
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        vt.remove_ring(cam)


t.run(check_users)
t.run(check_public)
t.run(check_make_run)
t.done()
