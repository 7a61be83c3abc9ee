#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""make install into a temporary DESTDIR with a packager's PREFIX=/usr lays
out the daemons in sbin, the systemd units with the prefix filled in, the
sysusers.d and tmpfiles.d snippets, the nginx files, /etc/default/vigil
(never overwriting one that is there), every man page and document of the
tree; make uninstall with the same variables removes all of it."""
import glob
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import vigiltest as vt  # noqa: E402

t = vt.Tap()
if not shutil.which("make"):
    t.ok(False, "make is missing")
    t.done()

D = tempfile.mkdtemp(prefix="vgstage-", dir="/tmp")
env = dict(os.environ)
for v in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS"):
    env.pop(v, None)
layout = [f"DESTDIR={D}", "PREFIX=/usr"]


def make(goal):
    r = subprocess.run(["make", "-s", "-C", vt.ROOT, "--no-print-directory", goal] + layout,
                       env=env, capture_output=True, text=True, timeout=600)
    return r.returncode, r.stdout + r.stderr


def landed():
    out = {}
    for dirpath, _, files in os.walk(D):
        for f in files:
            p = os.path.join(dirpath, f)
            out[os.path.relpath(p, D)] = stat.S_IMODE(os.lstat(p).st_mode)
    return out


rc, out = make("install")
t.ok(rc == 0, "make install DESTDIR=... PREFIX=/usr succeeds", out[-2000:])
files = landed()
for f in sorted(files):
    t.diag(f"{oct(files[f])} {f}")

want = {"usr/sbin/vigil-capture": 0o755, "usr/sbin/vigil-server": 0o755,
        "usr/sbin/vigil-setup-tls": 0o755, "usr/sbin/vigil-record": 0o755,
        "usr/lib/sysusers.d/vigil.conf": 0o644, "usr/lib/tmpfiles.d/vigil.conf": 0o644,
        "etc/default/vigil": 0o644,
        "etc/nginx/sites-available/vigil": 0o644,
        "etc/nginx/snippets/vigil-server.conf": 0o644,
        "etc/nginx/snippets/vigil-http.conf": 0o644}
units = [os.path.basename(u) for u in glob.glob(os.path.join(vt.ROOT, "deploy/systemd/*.service"))]
t.ok(units, "the tree has systemd units")
for u in units:
    want[f"usr/lib/systemd/system/{u}"] = 0o644
docs = ["README.md", "LICENSE"] + [os.path.relpath(p, vt.ROOT)
                                   for p in glob.glob(os.path.join(vt.ROOT, "docs/*.md"))]
for d in docs:
    if os.path.exists(os.path.join(vt.ROOT, d)):
        want[f"usr/share/doc/vigil/{os.path.basename(d)}"] = 0o644
# Every file of man/ is a page whose name ends in its section.
man = glob.glob(os.path.join(vt.ROOT, "man/*"))
for m in man:
    sect = m[-1]
    want[f"usr/share/man/man{sect}/{os.path.basename(m)}"] = 0o644
wrong = [f"{f}: " + (oct(files[f]) if f in files else "missing") for f, mode in want.items()
         if files.get(f) != mode]
t.ok(not wrong, f"binaries in sbin, units, sysusers, tmpfiles, nginx, default, "
     f"{len(man)} man pages and {len([w for w in want if '/doc/' in w])} documents landed",
     "\n".join(wrong))

text = "".join(open(os.path.join(D, "usr/lib/systemd/system", u)).read() for u in units)
t.ok(re.search(r"^ExecStart=/usr/sbin/vigil-capture ", text, re.M)
     and re.search(r"^ExecStart=/usr/sbin/vigil-server ", text, re.M)
     and re.search(r"^ExecStart=/usr/sbin/vigil-record ", text, re.M)
     and "exec /usr/sbin/vigil-capture " in text,
     "the units run the daemons from PREFIX's sbin",
     "\n".join(x for x in text.splitlines() if x.startswith("ExecStart")))
left = sorted(set(re.findall(r"@[A-Z_]+@", text)))
t.ok(not left, "no @...@ placeholder left in the installed units", left)
r = subprocess.run([os.path.join(D, "usr/sbin/vigil-server"), "--help"], capture_output=True,
                   text=True, timeout=10)
t.ok(r.returncode == 0 and "--camera" in r.stdout + r.stderr, "the installed vigil-server runs",
     r.stdout[-500:] + r.stderr[-500:])

# An administrator's /etc/default/vigil survives a second install and the
# uninstall; everything else goes.
default = os.path.join(D, "etc/default/vigil")
with open(default, "a") as f:
    f.write("VIGIL_CAMERA=garden\n")
rc, out = make("install")
t.ok(rc == 0 and open(default).read().endswith("VIGIL_CAMERA=garden\n"),
     "a second make install keeps a changed /etc/default/vigil", out[-1000:])
rc, out = make("uninstall")
t.ok(rc == 0, "make uninstall succeeds", out[-2000:])
t.eq(sorted(landed()), ["etc/default/vigil"],
     "make uninstall removes every installed file but the changed /etc/default/vigil")
os.unlink(default)
make("install")
rc, out = make("uninstall")
t.eq(sorted(landed()), [], "install then uninstall: nothing left (an unchanged default goes too)")

shutil.rmtree(D, ignore_errors=True)
t.done()
