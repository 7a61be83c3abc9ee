#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""deploy/install.sh staged into a folder (DESTDIR: files only, no packages,
accounts or systemctl), then the installed Pi nginx site run for real: its
paths moved into the folder and its ports to free loopback ones, in front of
a real capture and two servers.  Checks the file layout and modes, that the
password is printed once and stored only hashed, that a second install keeps
certificate and password, and that the Pi site answers like the local one."""
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import vigiltest as vt  # noqa: E402

t = vt.Tap()
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
INSTALL = os.path.join(vt.ROOT, "deploy", "install.sh")
for need in (vt.CAPTURE, vt.SERVER, NGINX):
    if not os.access(need, os.X_OK):
        t.ok(False, f"{need} is missing")
        t.done()
if subprocess.run(["getent", "group", "www-data"], capture_output=True).returncode != 0:
    t.skip("staged install", "no www-data group (nginx not installed)")
    t.done()

D = tempfile.mkdtemp(prefix="vginst-", dir="/tmp")
os.makedirs(os.path.join(D, "etc/fail2ban/jail.d"))    # as if fail2ban were installed
env = dict(os.environ, DESTDIR=D)
r = subprocess.run([INSTALL, "--servers", "2", "--no-start"], env=env, capture_output=True,
                   text=True, timeout=120)
t.ok(r.returncode == 0, "DESTDIR install.sh succeeds", r.stdout[-1000:] + r.stderr[-1000:])
m = re.search(r"^user: vigil  password: (\S+)$", r.stdout, re.M)
t.ok(m, "the first password is printed", r.stdout)
password = m.group(1) if m else ""

files = {
    "usr/local/sbin/vigil-capture": 0o755, "usr/local/sbin/vigil-server": 0o755,
    "usr/local/sbin/vigil-setup-tls": 0o755, "usr/local/share/doc/vigil/README.md": 0o644,
    "usr/local/sbin/vigil-record": 0o755,
    "etc/systemd/system/vigil-record@.service": 0o644,
    "etc/systemd/system/vigil-capture@.service": 0o644,
    "etc/systemd/system/vigil-capture-rpicam@.service": 0o644,
    "etc/systemd/system/vigil-server@.service": 0o644,
    "etc/sysusers.d/vigil.conf": 0o644, "etc/tmpfiles.d/vigil.conf": 0o644,
    "etc/default/vigil": 0o644, "etc/nginx/sites-available/vigil": 0o644,
    "etc/nginx/snippets/vigil-http.conf": 0o644, "etc/nginx/snippets/vigil-server.conf": 0o644,
    "etc/nginx/snippets/vigil-ciphers.conf": 0o644,
    "etc/vigil/htpasswd": 0o640, "etc/vigil/tls/key.pem": 0o600, "etc/vigil/tls/ca.key": 0o600,
    "etc/vigil/tls/cert.pem": 0o644, "etc/vigil/tls/ca.pem": 0o644,
    "etc/fail2ban/jail.d/vigil.conf": 0o644,
}
wrong = []
for f, mode in files.items():
    try:
        got = stat.S_IMODE(os.stat(os.path.join(D, f)).st_mode)
        if got != mode:
            wrong.append(f"{f}: {oct(got)}, want {oct(mode)}")
    except FileNotFoundError:
        wrong.append(f"{f}: missing")
t.ok(not wrong, "installed files with their modes (keys 0600, htpasswd 0640)", "\n".join(wrong))
units = "".join(open(os.path.join(D, "etc/systemd/system", u)).read()
                for u in os.listdir(os.path.join(D, "etc/systemd/system")))
t.ok("/usr/local/sbin/vigil-capture " in units and "/usr/local/sbin/vigil-server " in units
     and "/usr/local/sbin/vigil-record " in units
     and not re.search(r"@[A-Z]+@", units), "the units run the daemons from /usr/local/sbin")
t.ok(os.path.realpath(os.path.join(D, "etc/nginx/sites-enabled/vigil"))
     == os.path.join(D, "etc/nginx/sites-available/vigil"), "the site is enabled")
ht = os.path.join(D, "etc/vigil/htpasswd")
import grp  # noqa: E402
t.eq(grp.getgrgid(os.stat(ht).st_gid).gr_name, "www-data", "htpasswd readable by nginx's group")
text = open(ht).read()
t.ok(text.startswith("vigil:$6$") and password and password not in text,
     "htpasswd: a SHA-512 crypt hash; the plain text is stored nowhere")
leak = subprocess.run(["grep", "-rlF", password or "x", D], capture_output=True, text=True).stdout
t.ok(password and not leak.strip(), "the password is in no installed file", leak)

before = {f: open(os.path.join(D, f), "rb").read()
          for f in ("etc/vigil/htpasswd", "etc/vigil/tls/cert.pem", "etc/vigil/tls/ca.pem")}
r2 = subprocess.run([INSTALL, "--servers", "2", "--no-start"], env=env, capture_output=True,
                    text=True, timeout=120)
after = {f: open(os.path.join(D, f), "rb").read() for f in before}
t.ok(r2.returncode == 0 and before == after and "password:" not in r2.stdout,
     "a second install keeps certificate and password and prints no password",
     r2.stdout[-800:] + r2.stderr[-800:])

# ---------------------------------------------------------------- the Pi site, live
port, http_port = vt.free_port(), vt.free_port()
camera = vt.camera_name("i")
site = open(os.path.join(D, "etc/nginx/sites-available/vigil")).read()
site = site.replace("/etc/nginx/snippets/", f"{D}/etc/nginx/snippets/")
site = site.replace("/etc/vigil/", f"{D}/etc/vigil/")
site = site.replace("/var/log/nginx/", f"{D}/")
site = site.replace("/var/www/html", f"{D}/www")
site = re.sub(r"unix:/run/vigil-web-(\d+)/http.sock", rf"unix:{D}/web\1.sock", site)
site = re.sub(r"^\s*listen \[::\]:\d+.*\n", "", site, flags=re.M)
site = site.replace("listen 80 default_server;", f"listen 127.0.0.1:{http_port} default_server;")
site = site.replace("listen 443 ssl http2 default_server sndbuf=256k;",
                    f"listen 127.0.0.1:{port} ssl http2 default_server sndbuf=256k;")
site = site.replace("return 301 https://$host$request_uri;",
                    f"return 301 https://$host:{port}$request_uri;")
os.makedirs(os.path.join(D, "nginx", "tmp"), exist_ok=True)
user = "user nobody nogroup;\n" if os.getuid() == 0 else ""
conf = os.path.join(D, "nginx", "nginx.conf")
with open(conf, "w") as f:
    f.write(f"""{user}daemon off;
worker_processes 1;
pid {D}/nginx/nginx.pid;
error_log {D}/nginx-error.log;
events {{ worker_connections 256; }}
http {{
    client_body_temp_path {D}/nginx/tmp/body;
    proxy_temp_path {D}/nginx/tmp/proxy;
    fastcgi_temp_path {D}/nginx/tmp/fastcgi;
    uwsgi_temp_path {D}/nginx/tmp/uwsgi;
    scgi_temp_path {D}/nginx/tmp/scgi;
{site}
}}
""")
if os.getuid() == 0:
    # nginx's workers run as nobody here: let them reach htpasswd and, through
    # a setgid folder of their group, the sockets (which the servers make 0660).
    os.chown(D, -1, grp.getgrnam("nogroup").gr_gid)
    os.chmod(D, 0o2755)
    for p in ("etc", "etc/vigil"):
        os.chmod(os.path.join(D, p), 0o755)
    os.chmod(ht, 0o644)
r = subprocess.run([NGINX, "-t", "-p", f"{D}/nginx/", "-c", conf, "-e", f"{D}/nginx-error.log"],
                   capture_output=True, text=True, timeout=30)
t.ok(r.returncode == 0, "nginx -t accepts the installed Pi site", r.stderr)

cap = vt.start_capture(camera, "--source", "testsrc", "--size", "320x240", "--fps", "10")
old = os.umask(0o007)
srv = [vt.start([vt.SERVER, "--camera", camera, "--listen", f"unix:{D}/web{i}.sock"],
                name=f"server{i}-{camera}") for i in (1, 2)]
os.umask(old)
ng = vt.start([NGINX, "-p", f"{D}/nginx/", "-c", conf, "-e", f"{D}/nginx-error.log"],
              name=f"nginx-{camera}")


def tcp_ok(p):
    try:
        with socket.create_connection(("127.0.0.1", p), timeout=1):
            return True
    except OSError:
        return False


up = vt.wait_for(lambda: (tcp_ok(port) and all(os.path.exists(f"{D}/web{i}.sock") for i in (1, 2)))
                 or not ng.alive(), 10)
t.ok(up and ng.alive(), "the Pi site runs", ng.output()[-1000:])
CA = os.path.join(D, "etc/vigil/tls/ca.pem")


def curl(*args):
    r = subprocess.run(["curl", "-sS", "--cacert", CA, "-o", "/dev/null", "-w",
                        "%{http_code} %{http_version} %{redirect_url}"] + list(args),
                       capture_output=True, text=True, timeout=20)
    return r.stdout


vt.wait_for(lambda: curl(f"https://localhost:{port}/healthz").startswith("200"), 5)
t.ok(curl(f"https://localhost:{port}/index.html").startswith("401 2"),
     "Pi site: no password, 401 over HTTP/2")
got = curl("-u", f"vigil:{password}", f"https://localhost:{port}/index.html")
t.ok(got.startswith("200 2"), "Pi site: the installed password opens the page",
     got + "\n" + open(f"{D}/vigil.error.log", errors="replace").read()[-1500:])
t.ok(curl("-u", f"vigil:{password}", f"https://localhost:{port}/snapshot.jpg").startswith("200"),
     "Pi site: snapshot")
t.eq(curl(f"http://127.0.0.1:{http_port}/x?y=1"), f"301 1.1 https://127.0.0.1:{port}/x?y=1",
     "Pi site: port 80 answers 301 to https")


def check_accounts():
    """sysusers.d and tmpfiles.d applied to a copy of this machine's account
    files (--root): the accounts, groups and memberships the units rely on,
    and the modes of the secrets."""
    su, tf = shutil.which("systemd-sysusers"), shutil.which("systemd-tmpfiles")
    if not su or not tf:
        t.skip("sysusers.d / tmpfiles.d applied", "systemd-sysusers / systemd-tmpfiles missing")
        return
    R = tempfile.mkdtemp(prefix="vgroot-", dir="/tmp")
    try:
        os.makedirs(f"{R}/etc/vigil/tls")
        for f in ("passwd", "group", "shadow", "gshadow"):
            if os.path.exists(f"/etc/{f}"):
                shutil.copy(f"/etc/{f}", f"{R}/etc/{f}")
        r = subprocess.run([su, f"--root={R}", os.path.join(vt.ROOT, "deploy/sysusers.d/vigil.conf")],
                           capture_output=True, text=True, timeout=30)
        groups = {}
        for line in open(f"{R}/etc/group"):
            g = line.strip().split(":")
            groups[g[0]] = (g[2], set(filter(None, g[3].split(","))))
        users = {u[0]: u for u in (line.strip().split(":") for line in open(f"{R}/etc/passwd"))}
        ok = (r.returncode == 0 and "vigil-capture" in users and "vigil-web" in users
              and "vigil-rec" in users and int(users["vigil-rec"][2]) < 1000
              and users["vigil-rec"][3] == groups["vigil-rec"][0]
              and "vigil-rec" in groups["vigil"][1]
              and "vigil-web" in groups["vigil-rec"][1]
              and not groups["vigil-rec"][1] - {"vigil-web"}
              and users["vigil-capture"][3] == groups["vigil"][0]
              and int(users["vigil-capture"][2]) < 1000 and int(users["vigil-web"][2]) < 1000
              and "vigil-capture" in groups["video"][1]
              and "vigil-web" in groups["vigil"][1]
              and users["vigil-web"][3] == groups["vigil-web"][0]
              and "www-data" in groups["vigil-web"][1])
        t.ok(ok, "sysusers: system users vigil-capture (group vigil, in video), vigil-web "
             "(in vigil) and vigil-rec (in vigil); www-data in vigil-web; vigil-web alone "
             "in vigil-rec", r.stderr + str({k: groups.get(k) for k in ("vigil", "vigil-web", "vigil-rec", "video")}))
        for f in ("htpasswd", "tls/key.pem", "tls/ca.key"):
            open(f"{R}/etc/vigil/{f}", "w").close()
            os.chmod(f"{R}/etc/vigil/{f}", 0o666)
        r = subprocess.run([tf, f"--root={R}", "--create",
                            os.path.join(vt.ROOT, "deploy/tmpfiles.d/vigil.conf")],
                           capture_output=True, text=True, timeout=30)
        modes = {f: oct(stat.S_IMODE(os.stat(f"{R}/etc/vigil/{f}").st_mode))
                 for f in ("htpasswd", "tls/key.pem", "tls/ca.key")}
        t.ok(r.returncode == 0 and modes == {"htpasswd": "0o640", "tls/key.pem": "0o600",
                                             "tls/ca.key": "0o600"},
             "tmpfiles: secrets get their modes back", (r.stderr, modes))
        rd = os.stat(f"{R}/var/lib/vigil/recordings")
        rec_gid = int(groups["vigil-rec"][0])
        t.ok(stat.S_IMODE(rd.st_mode) == 0o750 and rd.st_uid == int(users["vigil-rec"][2])
             and rd.st_gid == rec_gid,
             "tmpfiles: /var/lib/vigil/recordings 0750 vigil-rec:vigil-rec",
             (oct(rd.st_mode), rd.st_uid, rd.st_gid))
    finally:
        shutil.rmtree(R, ignore_errors=True)


t.run(check_accounts)
ng.stop(signal.SIGTERM)
for s in srv:
    s.stop()
cap.stop()
shutil.rmtree(D, ignore_errors=True)
t.done()
