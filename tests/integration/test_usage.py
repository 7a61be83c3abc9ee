#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Every daemon speaks one command-line dialect (common/usage.h): --version
prints "PROG VERSION", --help starts with "usage: PROG [options]" and ends
with the exit statuses, a bad flag is one line "PROG: ... (see PROG --help)"
on stderr with exit status 2."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import vigiltest as vt  # noqa: E402

t = vt.Tap()


def run(*argv):
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=10)


versions = set()
for path in (vt.CAPTURE, vt.SERVER):
    prog = os.path.basename(path)
    r = run(path, "--version")
    m = re.fullmatch(re.escape(prog) + r" (\d+\.\d+\.\d+\S*)\n", r.stdout)
    t.ok(r.returncode == 0 and m is not None, f"{prog} --version: '{prog} VERSION'",
         (r.returncode, r.stdout))
    if m:
        versions.add(m.group(1))
    r = run(path, "--help")
    t.ok(r.returncode == 0 and r.stdout.startswith(f"usage: {prog} [options]\n")
         and "--version" in r.stdout and "-h, --help" in r.stdout
         and re.search(r"^Exit status: 0 .*2 bad usage\.$", r.stdout, re.M),
         f"{prog} --help: usage line, --help and --version, exit statuses",
         r.stdout[-400:])
    for bad, what in ((["--bogus"], "unknown option '--bogus'"),
                      (["--camera"], "option '--camera' needs a value"),
                      (["extra"], "unexpected argument 'extra'")):
        r = run(path, *bad)
        t.ok(r.returncode == 2 and r.stderr == f"{prog}: {what} (see {prog} --help)\n",
             f"{prog} {' '.join(bad)}: exit 2, one line naming the flag and --help",
             (r.returncode, r.stderr))
t.eq(len(versions), 1, "both daemons report the same version")
t.done()
