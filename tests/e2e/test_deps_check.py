#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A plain `make` on a machine without a library (a pkg-config that does not
know libevent, or cmocka for the unit tests) or without pkg-config at all
stops at once, before compiling anything, with one line that names the
Debian package and `make deps`, and fails."""
import os
import shutil
import stat
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import vigiltest as vt  # noqa: E402

t = vt.Tap()
real = shutil.which("pkg-config")
if not real or not shutil.which("make"):
    t.ok(False, "pkg-config and make are needed")
    t.done()

tmp = tempfile.mkdtemp(prefix="vgdeps-", dir="/tmp")
env = dict(os.environ)
for v in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS"):
    env.pop(v, None)


def fake_pkg_config(absent):
    """A pkg-config that answers like the real one except that `absent` is
    not installed."""
    path = os.path.join(tmp, f"pkg-config-without-{absent}")
    with open(path, "w") as f:
        f.write(f"""#!/bin/sh
for a; do [ "$a" = {absent} ] && exit 1; done
exec {real} "$@"
""")
    os.chmod(path, stat.S_IRWXU)
    return path


def make(*args):
    build = os.path.join(tmp, "build")
    r = subprocess.run(["make", "-C", vt.ROOT, "--no-print-directory", f"BUILD={build}"] + list(args),
                       env=env, capture_output=True, text=True, timeout=60)
    lines = [x for x in (r.stdout + r.stderr).splitlines() if x.strip()]
    return r.returncode, lines, os.path.exists(build)


for goal, absent, package in ((None, "libevent", "libevent-dev"),
                              (None, "libturbojpeg", "libturbojpeg0-dev"),
                              ("unit-tests", "cmocka", "libcmocka-dev")):
    args = [f"PKG_CONFIG={fake_pkg_config(absent)}"] + ([goal] if goal else [])
    rc, lines, built = make(*args)
    what = f"make {goal or ''} without {absent}".replace("  ", " ")
    t.ok(rc != 0, f"{what}: fails", lines)
    t.ok(len(lines) == 1 and package in lines[0] and "make deps" in lines[0],
         f"{what}: one line naming {package} and make deps", lines)
    t.ok(not built, f"{what}: nothing compiled (no build folder)")

rc, lines, built = make(f"PKG_CONFIG={tmp}/no-such-pkg-config")
t.ok(rc != 0 and not built, "make without pkg-config: fails before compiling anything", lines)
t.ok(len(lines) == 1 and "pkg-config" in lines[0] and "make deps" in lines[0],
     "make without pkg-config: one line naming the pkg-config package and make deps", lines)

# The check does not get in the way of goals that compile nothing.
rc, lines, built = make(f"PKG_CONFIG={tmp}/no-such-pkg-config", "-n", "clean")
t.ok(rc == 0, "make clean needs no pkg-config", lines)

shutil.rmtree(tmp, ignore_errors=True)
t.done()
