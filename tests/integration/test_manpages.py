# SPDX-License-Identifier: MIT
"""The manual pages cannot drift from the daemons: every option that
vigil-capture, vigil-server and vigil-record --help print must be documented in the
daemon's page (an ".It Fl ..." entry of its option lists), and every page of
man/ must render with man -l without a warning.  Adding a flag to --help
and not to the page fails here with the flag's name."""
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import vigiltest as vt  # noqa: E402

t = vt.Tap()
MAN = os.path.join(vt.ROOT, "man")
PAGES = ["vigil.7", "vigil-capture.8", "vigil-server.8", "vigil-record.8",
         "vigil-setup-tls.8"]

# An option as --help prints it: a dash or two after a blank, "[", "(", ","
# or "|", then a letter ("left-right", "-1.0" and "[A-Za-z0-9_-]" are not).
OPTION = re.compile(r"(?:^|(?<=[\s\[(,|]))(--?[A-Za-z][A-Za-z0-9-]*)")


def help_options(binary):
    """The set of options that `binary --help` prints, and its output."""
    p = subprocess.run([binary, "--help"], capture_output=True, text=True,
                       timeout=10)
    text = p.stdout + p.stderr
    return p.returncode, set(OPTION.findall(text)), text


def documented_options(page):
    """Options that the page documents in an item of an option list:
    ".It Fl -camera Ar name" gives --camera, ".It Fl v , Fl -verbose"
    gives -v and --verbose."""
    opts = set()
    for line in open(page, encoding="utf-8"):
        if not line.startswith(".It "):
            continue
        for flag in re.findall(r"\bFl\s+([^\s]+)", line):
            flag = flag.rstrip(",;.")
            if flag and flag not in ("|",):
                opts.add("-" + flag)
    return opts


# ------------------------------------------------------------ option coverage

for daemon in ("vigil-capture", "vigil-server", "vigil-record"):
    binary = os.path.join(vt.BUILD, daemon)
    page = os.path.join(MAN, daemon + ".8")
    if not t.ok(os.access(binary, os.X_OK), f"{daemon} is built ({binary})"):
        continue
    rc, opts, text = help_options(binary)
    t.eq(rc, 0, f"{daemon} --help exits 0")
    # A sanity floor, so that a parser that finds nothing cannot pass.
    t.ok({"--camera", "--help", "-h", "-v"} <= opts,
         f"{daemon} --help: options found ({len(opts)})",
         f"found {sorted(opts)} in:\n{text}")
    if not t.ok(os.path.isfile(page), f"man/{daemon}.8 exists"):
        continue
    documented = documented_options(page)
    for opt in sorted(opts):
        t.ok(opt in documented,
             f"{daemon} {opt}: documented in man/{daemon}.8",
             f"{daemon} --help prints {opt}, but man/{daemon}.8 has no "
             f"'.It Fl {opt[1:]}' entry for it")

# ------------------------------------------------------------ rendering

man = shutil.which("man")
t.ok(man, "man is installed (Debian packages man-db and groff-base)",
     "install them: apt-get install man-db groff-base")
for name in PAGES:
    page = os.path.join(MAN, name)
    if not t.ok(os.path.isfile(page), f"man/{name} exists"):
        continue
    if not man:
        t.ok(False, f"man/{name} renders with man -l", "man is not installed")
        continue
    env = dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8", MANPAGER="cat",
               PAGER="cat")
    p = subprocess.run([man, "--warnings", "-l", page], capture_output=True,
                       text=True, env=env, timeout=30)
    out = p.stdout
    title = name.rsplit(".", 1)[0].upper()
    t.ok(p.returncode == 0 and not p.stderr.strip(),
         f"man/{name} renders with man -l without a warning",
         f"exit {p.returncode}, stderr:\n{p.stderr}")
    t.ok(re.search(r"^NAME\s*$", out, re.M) and title in out
         and re.search(r"^SEE ALSO\s*$", out, re.M),
         f"man/{name}: the rendered page has its title, NAME and SEE ALSO",
         out[:600])
    width = max((len(line) for line in out.splitlines()), default=0)
    t.ok(width <= 80, f"man/{name}: rendered lines fit MANWIDTH=80 ({width})")
    if name.endswith(".8"):
        for sec in ("SYNOPSIS", "FILES", "EXIT STATUS", "EXAMPLES"):
            t.ok(re.search(rf"^{sec}\s*$", out, re.M),
                 f"man/{name} has a {sec} section")
    if name in ("vigil-capture.8", "vigil-server.8", "vigil-record.8"):
        t.ok(re.search(r"^SIGNALS\s*$", out, re.M),
             f"man/{name} has a SIGNALS section")

t.done()
