#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""`make run` as a user runs it: started in the background with its make
variables, it prints a URL and a password that open the page and the stream;
Ctrl-C (SIGINT to the process group, as a terminal sends it) and a signal
to make alone (SIGTERM or SIGKILL, as a service manager sends it) leave no
process behind; a second run reuses certificate and password; a port in use
and a failing child get a clear message and leave nothing running."""
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import vigiltest as vt  # noqa: E402

t = vt.Tap()
for tool in ("curl", "make"):
    if not shutil.which(tool):
        t.ok(False, f"{tool} is missing")
        t.done()

run_dir = tempfile.mkdtemp(prefix="vgrun-", dir="/tmp")
camera = vt.camera_name("m")
port, http_port = vt.free_port(), vt.free_port()
CA = os.path.join(run_dir, "ca.pem")
make_vars = [f"PORT={port}", f"HTTP_PORT={http_port}", "ADDR=127.0.0.1",
             f"RUN_DIR={run_dir}", f"CAMERA={camera}", "SOURCE=testsrc",
             "SIZE=640x360", "FPS=15", "SERVERS=2"]
env = dict(os.environ)
env.pop("MAKEFLAGS", None)
env.pop("MAKELEVEL", None)
if os.environ.get("VIGIL_BUILD", "build") != "build":
    make_vars.append("SAN=1")


class MakeRun:
    def __init__(self, extra=()):
        self.lines = []
        self.p = subprocess.Popen(["make", "-s", "-C", vt.ROOT, "run"] + make_vars + list(extra),
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, env=env, text=True,
                                  start_new_session=True)
        self.sid = self.p.pid
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.p.stdout:
            self.lines.append(line.rstrip("\n"))

    def output(self):
        return "\n".join(self.lines)

    def banner(self, timeout=180):
        def find():
            for line in self.lines:
                if line.startswith("open https://"):
                    return line
            return None if self.p.poll() is None else "exited"
        return vt.wait_for(find, timeout, 0.05)

    def wait(self, timeout):
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill_all(self):
        try:
            os.killpg(self.sid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.wait(5)


def leftovers(sid):
    """Processes of the session `make run` started in, or naming its run
    folder or camera (a daemon that escaped the session)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            stat = open(f"/proc/{d}/stat").read()
            cmd = open(f"/proc/{d}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] == "Z":
            continue
        if int(fields[3]) == sid or run_dir in cmd or camera in cmd:
            out.append((int(d), cmd.strip()))
    return out


def nothing_left(mr, what):
    left = vt.wait_for(lambda: not leftovers(mr.sid), 10) or leftovers(mr.sid)
    t.ok(left is True or not left, f"{what}: no process left behind", left)
    if left is not True and left:
        mr.kill_all()


def curl(*args):
    r = subprocess.run(["curl", "-sS", "--cacert", CA, "-o", "-", "-w", "\n%{http_code}"]
                       + list(args), capture_output=True, timeout=20)
    body, _, code = r.stdout.rpartition(b"\n")
    return int(code or 0), body


def port_open(p):
    try:
        with socket.create_connection(("127.0.0.1", p), timeout=1):
            return True
    except OSError:
        return False


# ------------------------------------------------------------ first run
mr = MakeRun()
banner = mr.banner()
m = re.fullmatch(rf"open https://127\.0\.0\.1:{port}/  user: vigil  password: (\S+)", banner or "")
if not t.ok(m, "make run prints 'open https://<host>:PORT/  user: vigil  password: ...'",
            mr.output()[-3000:]):
    mr.kill_all()
    t.done()
password = m.group(1)
t.eq(open(os.path.join(run_dir, "password")).read().strip(), password,
     "the printed password is the one kept in the run folder")
code, body = curl("-u", f"vigil:{password}", f"https://localhost:{port}/index.html")
t.ok(code == 200 and b"<html" in body.lower(), "the printed password opens the page (curl --cacert run/ca.pem)",
     code)
code, _ = curl(f"https://localhost:{port}/index.html")
t.eq(code, 401, "without the password: 401")
hdr_file = os.path.join(run_dir, "curl-headers")
code, body = curl("--max-time", "1.5", "-D", hdr_file, "-u", f"vigil:{password}",
                  f"https://localhost:{port}/stream.mjpg")
ct = re.search(r"(?im)^content-type: multipart/x-mixed-replace;boundary=(\S+)",
               open(hdr_file, errors="replace").read())
jpegs = []
if ct:
    for part in body.split(b"--" + ct.group(1).encode() + b"\r\n")[1:]:
        head, _, rest = part.partition(b"\r\n\r\n")
        n = re.search(rb"(?i)content-length: (\d+)", head)
        if n and len(rest) >= int(n.group(1)) + 2:
            jpegs.append(rest[:int(n.group(1))])
good = [j for j in jpegs if vt.jpeg_ok(j)]
t.ok(len(good) >= 5 and len(good) == len(jpegs), "the stream delivers JPEG frames",
     f"{len(good)} of {len(jpegs)} decode")
code, _ = curl("-o", "/dev/null", f"http://127.0.0.1:{http_port}/")
t.eq(code, 301, "the HTTP port redirects")
# The recorder: printed, running as make run's child, its state fresh.
rec_dir = os.path.join(run_dir, "recordings", camera)
t.ok(re.search(rf"^  recordings: {re.escape(rec_dir)}/ ", mr.output(), re.M),
     "make run prints where the recordings go", mr.output()[-1500:])
recs = [(pid, cmd) for pid, cmd in leftovers(mr.sid)
        if "vigil-record " in cmd and f"--dir {rec_dir}" in cmd and "--max-size" in cmd]
t.ok(len(recs) == 1, "vigil-record runs under make run (--dir run/recordings/<camera>, "
     "--max-size)", leftovers(mr.sid))


def rec_state():
    try:
        with open(os.path.join(rec_dir, "state.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


first = rec_state()
fresh = vt.wait_for(lambda: (rec_state() or {}).get("updated", 0) > (first or {}).get("updated", 0)
                    and rec_state(), 5)
t.ok(fresh and fresh.get("camera_online") is True and time.time() - fresh["updated"] < 10,
     "the recorder's state.json is rewritten, fresh, with the camera online", fresh)
rec_mode = os.stat(rec_dir).st_mode & 0o777 if os.path.isdir(rec_dir) else None
t.eq(rec_mode, 0o750, "the recordings folder is 0750")
ca_hash = hashlib.sha256(open(CA, "rb").read()).hexdigest()
cert_hash = hashlib.sha256(open(os.path.join(run_dir, "cert.pem"), "rb").read()).hexdigest()

os.killpg(mr.sid, signal.SIGINT)
rc = mr.wait(15)
t.ok(rc is not None, "Ctrl-C (SIGINT to the process group) ends make run within 15 s", rc)
t.ok("stopped" in mr.output(), "make run says it stopped", mr.output()[-500:])
nothing_left(mr, "after Ctrl-C")
t.ok(not port_open(port), "the port is free again")

# ------------------------------------------------------------ second run
mr = MakeRun()
banner = mr.banner()
t.ok(banner and banner.endswith(f"password: {password}"),
     "a second make run reuses the password", banner)
t.eq(hashlib.sha256(open(CA, "rb").read()).hexdigest(), ca_hash, "... and the CA certificate")
t.eq(hashlib.sha256(open(os.path.join(run_dir, "cert.pem"), "rb").read()).hexdigest(), cert_hash,
     "... and the server certificate")
# A child that dies (a server killed) stops the whole camera, with a message.
victim = [pid for pid, cmd in leftovers(mr.sid) if "vigil-server" in cmd and "web2.sock" in cmd
          and not cmd.startswith("setpriv")]
t.ok(victim, "server 2 found among make run's processes", leftovers(mr.sid))
if victim:
    os.kill(victim[0], signal.SIGKILL)
    rc = mr.wait(15)
    t.ok(rc not in (None, 0), "a server killed under make run: make run fails", rc)
    t.ok(re.search(r"vigil-server 2 exited.*stopping everything", mr.output()),
         "... saying which child died", mr.output()[-800:])
    nothing_left(mr, "after a child died")
else:
    mr.kill_all()

# ------------------------------------------------------------ run.sh killed outright
mr = MakeRun()
banner = mr.banner()
runsh = [pid for pid, cmd in leftovers(mr.sid)
         if cmd.split()[0].endswith("bash") and "deploy/run.sh" in cmd]
t.ok(banner and banner.startswith("open https://") and runsh, "a third make run starts",
     mr.output()[-800:])
if runsh:
    # No trap runs on SIGKILL: the children's parent-death signal stops them.
    os.kill(runsh[0], signal.SIGKILL)
    mr.wait(15)
    nothing_left(mr, "run.sh killed with SIGKILL")
else:
    mr.kill_all()

# ------------------------------------------------------------ make itself killed
# What a script or a service manager does: a signal to make's own pid, not to
# its process group.  The whole camera must stop with it and free the port.
for sig in (signal.SIGTERM, signal.SIGKILL):
    mr = MakeRun()
    banner = mr.banner()
    served = banner and banner.startswith("open https://") and port_open(port)
    t.ok(served, f"make run serves before make gets {sig.name}", mr.output()[-800:])
    if not served:
        mr.kill_all()
        continue
    os.kill(mr.p.pid, sig)
    mr.wait(15)
    nothing_left(mr, f"make killed with {sig.name}")
    t.ok(vt.wait_for(lambda: not port_open(port), 10), f"make killed with {sig.name}: the port is closed")

# ------------------------------------------------------------ port in use
busy = socket.socket()
busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
busy.bind(("127.0.0.1", port))
busy.listen(1)
mr = MakeRun()
rc = mr.wait(120)
busy.close()
t.ok(rc not in (None, 0) and re.search(rf"port {port} is already in use", mr.output()),
     "port in use: make run fails with a clear message", mr.output()[-800:])
nothing_left(mr, "port in use")

# ------------------------------------------------------------ a child that cannot start
mr = MakeRun(["SIZE=7x5000000"])
rc = mr.wait(120)
t.ok(rc not in (None, 0) and re.search(r"vigil-capture did not start", mr.output()),
     "capture refusing its options: make run fails with a clear message", mr.output()[-800:])
nothing_left(mr, "capture failed")

# ------------------------------------------------------------ a missing camera
mr = MakeRun(["SOURCE=v4l2:/dev/video-vigil-missing"])
rc = mr.wait(120)
out = mr.output()
t.ok(rc not in (None, 0) and re.search(r"vigil-capture did not start", out)
     and "/dev/video-vigil-missing" in out,
     "a missing camera: make run fails, naming the device", out[-800:])
nothing_left(mr, "missing camera")

vt.remove_ring(camera)
shutil.rmtree(run_dir, ignore_errors=True)
t.done()
