#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""vigil-server --user keeps the user's supplementary groups.  The ring is
readable by its group only (0640, vigil-capture --group); a server user that
is in that group as a supplementary member (as the "vigil" group of
deploy/sysusers.d/vigil.conf makes it), not as its primary group, must still
read it when vigil-server starts as root with --user and no --group.
Needs root: it creates a temporary system user and group (unique names,
removed at exit)."""
import atexit
import grp
import os
import pwd
import stat
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import vigiltest as vt  # noqa: E402
from vigiltest import start_server, wait_health  # noqa: E402

t = vt.Tap()
tag = f"vg{os.getpid()}"
USER, GROUP = f"{tag}u", f"{tag}g"


def run(argv):
    return subprocess.run(argv, capture_output=True, text=True, timeout=30)


def remove_accounts():
    run(["userdel", USER])
    run(["groupdel", GROUP])


def check_supplementary_group():
    if not t.ok(os.geteuid() == 0, "running as root (creates a user, drops to it)"):
        return
    atexit.register(remove_accounts)
    r = run(["groupadd", "--system", GROUP])
    if not t.ok(r.returncode == 0, f"groupadd {GROUP}", r.stderr):
        return
    # Its own primary group (--user-group); GROUP only as a supplementary one.
    r = run(["useradd", "--system", "--no-create-home", "--user-group",
             "--shell", "/usr/sbin/nologin", "--groups", GROUP, USER])
    if not t.ok(r.returncode == 0, f"useradd {USER}", r.stderr):
        return
    pw, gr = pwd.getpwnam(USER), grp.getgrnam(GROUP)
    t.ok(pw.pw_gid != gr.gr_gid and USER in gr.gr_mem,
         "the user is in the ring's group as a supplementary member only",
         (pw.pw_gid, gr.gr_gid, gr.gr_mem))

    cam = vt.camera_name("grp")
    cap = vt.start_capture(cam, "--source", "testsrc", "--size", "160x120",
                           "--fps", "10", "--group", GROUP)
    st = os.stat(vt.shm_path(cam))
    t.ok(cap.alive() and st.st_gid == gr.gr_gid and stat.S_IMODE(st.st_mode) == 0o640,
         "the ring belongs to the group, mode 0640", (oct(st.st_mode), st.st_gid, cap.output()))

    srv, addr = start_server(cam, "--user", USER)
    ok = wait_health(addr, 200, 5) is not None
    t.ok(ok, "vigil-server --user (no --group) reads the ring through the "
         "supplementary group", srv.output()[-600:])
    if ok:
        code, _, body = vt.http_get(addr, "/snapshot.jpg")
        t.ok(code == 200 and vt.jpeg_ok(body), "and serves frames that decode",
             (code, len(body)))
    with open(f"/proc/{srv.pid}/status") as f:
        status = f.read()
    groups = [int(g) for g in status.split("Groups:")[1].splitlines()[0].split()]
    t.ok(gr.gr_gid in groups and 0 not in groups,
         "the server holds the user's groups, root's none", groups)
    srv.stop()
    cap.stop()


t.run(check_supplementary_group)
t.done()
