#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A representative set of the integration and hostile tests again, with the
ASan+UBSan daemons of build/san (VIGIL_BUILD=build/san; `make SAN=1`
builds them, this test builds nothing).  Each program's TAP results are
passed on, prefixed with its name, and every daemon log it left is scanned
for sanitizer reports (a report is a failure even when the program's own
checks passed, e.g. a leak reported at exit)."""
import glob
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
sys.dont_write_bytecode = True  # no __pycache__ in the tree
import vigiltest as vt  # noqa: E402

SAN = os.path.join(vt.ROOT, "build", "san")
PROGRAMS = [
    "tests/integration/test_server_http.py",
    "tests/integration/test_server_lifecycle.py",
    "tests/integration/test_capture.py",
    "tests/hostile/test_http_input.py",
    "tests/hostile/test_capture_stdin.py",
    "tests/hostile/test_faults.py",
]
REPORT = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|"
                    r"SUMMARY: (AddressSanitizer|UndefinedBehaviorSanitizer)")

t = vt.Tap()
for b in ("vigil-server", "vigil-capture", "tools/ringcat", "tools/ringfeed"):
    if not os.access(os.path.join(SAN, b), os.X_OK):
        t.ok(False, f"build/san/{b} exists (make SAN=1 unit-tests)")
        t.done()

env = dict(os.environ, VIGIL_BUILD="build/san",
           ASAN_OPTIONS="detect_leaks=1:abort_on_error=1",
           UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
for prog in PROGRAMS:
    path = os.path.join(vt.ROOT, prog)
    if not os.path.exists(path):
        t.ok(False, f"{prog} exists")
        continue
    name = os.path.basename(prog)[:-3]
    t0 = time.monotonic()
    p = subprocess.Popen([sys.executable, path], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, cwd=vt.ROOT)
    out, _ = p.communicate(timeout=400)
    lines = out.decode(errors="replace").splitlines()
    n = bad = 0
    for i, line in enumerate(lines):
        m = re.match(r"^(not ok|ok) \d+ - (.*)$", line)
        if not m:
            continue
        n += 1
        desc = m.group(2)
        if "# SKIP" in desc:
            t.skip(f"[san {name}] {desc.split('# SKIP')[0].strip()}",
                   desc.split("# SKIP", 1)[1].strip())
            continue
        diag = []
        for follow in lines[i + 1:i + 12]:
            if not follow.startswith("#"):
                break
            diag.append(follow.lstrip("# "))
        if m.group(1) == "not ok":
            bad += 1
        t.ok(m.group(1) == "ok", f"[san {name}] {desc}", "\n".join(diag) or None)
    plan = [int(x) for x in re.findall(r"^1\.\.(\d+)$", "\n".join(lines), re.M)]
    t.ok(p.returncode == 0 or bad > 0,
         f"[san {name}] exits cleanly ({n} results in {time.monotonic() - t0:.0f} s)",
         "\n".join(lines[-15:]))
    t.ok(plan and plan[-1] == n, f"[san {name}] ran its whole plan", (plan, n))
    reports = []
    # The daemons' logs (vt.start names them capture-*, server-*, ...);
    # test tools such as ringfeed are not what this run is about.
    logs = glob.glob(os.path.join(SAN, "test-logs", f"*-{p.pid}-*.log"))
    for log in [x for x in logs if re.match(r"(capture|server)", os.path.basename(x))]:
        text = open(log, errors="replace").read()
        if REPORT.search(text):
            reports.append((os.path.basename(log), REPORT.search(text).group(0)))
    t.ok(not reports, f"[san {name}] no sanitizer report in its daemons' logs", reports)
t.done()
