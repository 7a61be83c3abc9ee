#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The ring and the sockets under the sandboxing of the systemd units,
rebuilt by hand where systemd is not PID 1 (this test needs root and
unshare): capture and server as two different unprivileged users that share
only the ring's group (vigil-capture / vigil-web with group vigil), each in
its own network namespace (PrivateNetwork=yes), the server with /dev/shm
mounted read-only (ReadOnlyPaths=/dev/shm) and no supplementary group but
the ring's.  A client in the host's namespace reads frames through the
server's unix socket.  Controls: a server without the ring's group is
refused the ring, and the sandboxed server cannot write /dev/shm."""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import vigiltest as vt  # noqa: E402

t = vt.Tap()
UNSHARE, SETPRIV = shutil.which("unshare"), shutil.which("setpriv")
if os.getuid() != 0 or not UNSHARE or not SETPRIV:
    t.skip("sandboxed capture and server share the ring", "needs root, unshare and setpriv")
    t.done()
probe = subprocess.run([UNSHARE, "-n", "-m", "--propagation", "private", "true"],
                       capture_output=True)
if probe.returncode != 0:
    t.skip("sandboxed capture and server share the ring",
           f"unshare not permitted here: {probe.stderr.decode().strip()}")
    t.done()

# Numeric ids no account uses: "vigil-capture", "vigil-web", "vigil", "vigil-web" group.
used_uids = {int(line.split(":")[2]) for line in open("/etc/passwd")}
used_gids = {int(line.split(":")[2]) for line in open("/etc/group")}
base = 61000
while any(base + i in used_uids or base + i in used_gids for i in range(4)):
    base += 10
UID_CAP, UID_WEB, GID_VIGIL, GID_WEB = base, base + 1, base + 2, base + 3

camera = vt.camera_name("x")
tmp = tempfile.mkdtemp(prefix="vgsbx-", dir="/tmp")
os.chmod(tmp, 0o755)
rundir = os.path.join(tmp, "vigil-web-1")       # RuntimeDirectory=vigil-web-%i
os.mkdir(rundir, 0o750)
os.chown(rundir, UID_WEB, GID_WEB)
sock = os.path.join(rundir, "http.sock")

NETNS = [UNSHARE, "-n", "-m", "--propagation", "private"]
RO_SHM = "mount --bind /dev/shm /dev/shm && mount -o remount,bind,ro /dev/shm && "


def as_user(uid, gid, groups):
    g = ["--groups", ",".join(map(str, groups))] if groups else ["--clear-groups"]
    return [SETPRIV, "--reuid", str(uid), "--regid", str(gid)] + g + [
        "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all", "--"]


old = os.umask(0o027)                            # UMask=0027 of the capture unit
vt.remove_ring(camera)
cap = vt.start(NETNS + as_user(UID_CAP, GID_VIGIL, None) + [
    vt.CAPTURE, "--camera", camera, "--group", str(GID_VIGIL), "--source", "testsrc",
    "--size", "320x240", "--fps", "20"], name=f"capture-{camera}")
os.umask(old)
ring = vt.shm_path(camera)
vt.wait_for(lambda: os.path.exists(ring) or not cap.alive(), 10)
if not t.ok(cap.alive() and os.path.exists(ring),
            "capture runs as its own user in its own network namespace", cap.output()[-1500:]):
    t.done()
st = os.stat(ring)
t.ok(st.st_uid == UID_CAP and st.st_gid == GID_VIGIL and (st.st_mode & 0o777) == 0o640,
     "the ring is 0640, owned by capture's user and the vigil group",
     f"uid {st.st_uid} gid {st.st_gid} mode {oct(st.st_mode & 0o777)}")

old = os.umask(0o007)                            # UMask=0007 of the server unit
inner = RO_SHM + "touch /dev/shm/vigil-sandbox-probe 2>/dev/null && echo SHM-WRITABLE; exec \"$@\""
srv = vt.start(NETNS + ["sh", "-c", inner, "sh"] + as_user(UID_WEB, GID_WEB, [GID_VIGIL]) + [
    vt.SERVER, "--camera", camera, "--listen", f"unix:{sock}"], name=f"server-{camera}")
os.umask(old)


def healthz(path):
    try:
        return vt.http_get(f"unix:{path}", "/healthz", timeout=2)[0]
    except OSError:
        return None


ok = vt.wait_for(lambda: healthz(sock) == 200 or not srv.alive(), 10)
t.ok(srv.alive() and ok,
     "server (other user, group vigil, own network namespace, /dev/shm read-only) "
     "reads the ring: /healthz 200 through its socket", srv.output()[-1500:])
t.ok("SHM-WRITABLE" not in srv.output() and not os.path.exists("/dev/shm/vigil-sandbox-probe"),
     "the sandboxed server cannot write /dev/shm")
st = os.stat(sock)
t.ok(st.st_uid == UID_WEB and st.st_gid == GID_WEB and (st.st_mode & 0o777) == 0o660,
     "the socket is 0660, owned by the server's user and group (nginx joins that group)",
     f"uid {st.st_uid} gid {st.st_gid} mode {oct(st.st_mode & 0o777)}")
try:
    s = vt.MjpegStream(f"unix:{sock}")
    parts = [s.part() for _ in range(10)]
    s.close()
    good = all(vt.jpeg_ok(p[1]) for p in parts)
    seqs = [int(p[0]["x-frame-seq"]) for p in parts]
    t.ok(good and seqs == sorted(set(seqs)),
         "a client in the host's namespace streams frames across the namespaces (futex wake-ups "
         "on the read-only mapping)", seqs)
except Exception as e:
    t.ok(False, "a client in the host's namespace streams frames across the namespaces", repr(e))

# Control: the same server without the ring's group is refused the ring.
rundir2 = os.path.join(tmp, "vigil-web-2")
os.mkdir(rundir2, 0o750)
os.chown(rundir2, UID_WEB, GID_WEB)
sock2 = os.path.join(rundir2, "http.sock")
srv2 = vt.start(NETNS + ["sh", "-c", RO_SHM + 'exec "$@"', "sh"] + as_user(UID_WEB, GID_WEB, None) + [
    vt.SERVER, "--camera", camera, "--listen", f"unix:{sock2}"], name=f"server2-{camera}")
vt.wait_for(lambda: os.path.exists(sock2) or not srv2.alive(), 10)
st2 = healthz(sock2) if srv2.alive() else None
vt.wait_for(lambda: "ermission denied" in srv2.output() or not srv2.alive(), 3)
t.ok(st2 != 200 and "ermission denied" in srv2.output(),
     "control: a server without the vigil group cannot open the ring",
     f"healthz {st2}\n{srv2.output()[-800:]}")

for d in (srv2, srv, cap):
    d.stop()
vt.remove_ring(camera)
shutil.rmtree(tmp, ignore_errors=True)
t.done()
