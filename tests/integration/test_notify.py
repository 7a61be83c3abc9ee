# SPDX-License-Identifier: MIT
"""Integration tests of vigil-record's notifications with real parts: a
Debian mosquitto broker on a loopback port with a password file, a paho
subscriber, a local HTTPS receiver checking the webhook signatures, and the
recorder fed by tests/tools/recfeed (labelled motion spans).
Covers: the order and timing of motion/event messages, the retained
snapshot, the discovery messages, signed webhooks (and a tampered one
rejected), the broker killed mid-event and restarted, kill -9 of the
recorder (last will), no broker at first, a hook that hangs, and
notify-only mode (no --dir)."""
import atexit
import hashlib
import hmac
import http.server
import json
import os
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import vigiltest as vt  # noqa: E402

t = vt.Tap()
try:
    import paho.mqtt.client as paho
except ImportError:
    t.ok(False, "python3-paho-mqtt is missing (deploy/deps.sh --install)")
    t.done()

RECORD = os.path.join(vt.BUILD, "vigil-record")
RECFEED = os.path.join(vt.BUILD, "tools", "recfeed")
FPS = 20
USER, PASSWORD = "vigil", "s3cret pass"
SECRET = b"webhook-secret-0123456789"
tmp = tempfile.mkdtemp(prefix="vigil-notify-test-")
PUBLIC = "https://cam.example/vigil"

# The keys Home Assistant's documentation requires of each component's
# discovery config (https://www.home-assistant.io/integrations/mqtt/ for
# discovery and the device block; binary_sensor.mqtt, image.mqtt and
# sensor.mqtt for the components), plus what this project promises.
HASS_REQUIRED = {
    "binary_sensor": ["state_topic"],
    "image": ["image_topic"],
    "sensor": ["state_topic"],
}
HASS_OURS = ["unique_id", "name", "device", "availability_topic"]
DEVICE_KEYS = ["identifiers", "name", "manufacturer", "model", "sw_version"]


# ------------------------------------------------------------ parts

class Broker:
    """mosquitto on a loopback port, with a password file."""

    def __init__(self, port=None, tls=None):
        self.port = port or vt.free_port()
        self.tls_port = vt.free_port() if tls else None
        self.dir = tempfile.mkdtemp(dir=tmp, prefix="broker-")
        self.pw = os.path.join(self.dir, "passwd")
        subprocess.run(["mosquitto_passwd", "-c", "-b", self.pw, USER,
                        PASSWORD], check=True, capture_output=True,
                       timeout=10)
        self.conf = os.path.join(self.dir, "mosquitto.conf")
        with open(self.conf, "w") as f:
            f.write(f"listener {self.port} 127.0.0.1\n"
                    "allow_anonymous false\n"
                    f"password_file {self.pw}\n"
                    "persistence false\n")
            if os.getuid() == 0:
                f.write("user root\n")  # or it drops to 'mosquitto'
            if tls:
                f.write(f"listener {self.tls_port} 127.0.0.1\n"
                        f"cafile {tls['ca']}\ncertfile {tls['cert']}\n"
                        f"keyfile {tls['key']}\n")
        self.d = None
        self.start()

    def start(self):
        self.d = vt.start(["mosquitto", "-c", self.conf],
                          name=f"mosquitto-{self.port}")
        ok = vt.wait_for(lambda: vt.can_connect(f"127.0.0.1:{self.port}")
                         or not self.d.alive(), 10)
        if not ok or not self.d.alive():
            raise AssertionError("mosquitto did not start: " +
                                 self.d.output())

    def kill(self):
        self.d.kill()

    def url(self):
        return f"mqtt://127.0.0.1:{self.port}"


class Subscriber:
    """A paho client on vigil/# and homeassistant/#: every message with
    its arrival time (CLOCK_REALTIME) and retain flag."""

    def __init__(self, port, topics=("vigil/#", "homeassistant/#")):
        self.msgs = []
        self.lock = threading.Lock()
        self.subscribed = threading.Event()
        self.topics = topics
        self.c = paho.Client(protocol=paho.MQTTv311)
        self.c.username_pw_set(USER, PASSWORD)
        self.c.on_connect = self._on_connect
        self.c.on_subscribe = lambda c, u, mid, q: self.subscribed.set()
        self.c.on_disconnect = lambda c, u, rc: self.subscribed.clear()
        self.c.on_message = self._on_message
        self.c.reconnect_delay_set(1, 1)
        self.c.connect_async("127.0.0.1", port, keepalive=10)
        self.c.loop_start()
        if not self.subscribed.wait(10):
            raise AssertionError("the subscriber did not subscribe")

    def _on_connect(self, c, userdata, flags, rc):
        if rc == 0:
            c.subscribe([(x, 1) for x in self.topics])

    def _on_message(self, c, userdata, m):
        with self.lock:
            self.msgs.append((time.time(), m.topic, bytes(m.payload),
                              bool(m.retain)))

    def all(self, topic=None):
        with self.lock:
            return [m for m in self.msgs if topic is None or m[1] == topic]

    def wait(self, topic, pred=lambda p: True, timeout=10, after=0):
        """The first message on topic (from index after) whose payload
        satisfies pred."""
        def find():
            for i, m in enumerate(self.all()):
                if i >= after and m[1] == topic and pred(m[2]):
                    return (i,) + m
            return None
        return vt.wait_for(find, timeout)

    def close(self):
        self.c.loop_stop()
        self.c.disconnect()


class Receiver:
    """An HTTPS server checking X-Vigil-Signature: 200 when valid, 401
    when not."""

    def __init__(self):
        self.calls = []
        self.cert = os.path.join(tmp, "cert.pem")
        self.key = os.path.join(tmp, "key.pem")
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", self.key,
             "-out", self.cert, "-days", "2", "-subj", "/CN=127.0.0.1",
             "-addext", "subjectAltName=IP:127.0.0.1"],
            check=True, capture_output=True, timeout=30)
        rec = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                sig = self.headers.get("X-Vigil-Signature", "")
                want = "sha256=" + hmac.new(SECRET, body,
                                            hashlib.sha256).hexdigest()
                valid = hmac.compare_digest(sig, want)
                rec.calls.append({"valid": valid, "body": body,
                                  "path": self.path, "sig": sig})
                self.send_response(200 if valid else 401)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, self.key)
        self.srv.socket = ctx.wrap_socket(self.srv.socket, server_side=True)
        self.port = self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def url(self, path="/hook"):
        return f"https://127.0.0.1:{self.port}{path}"

    def post(self, body, sig):
        """A POST of our own (the tampered one): the status."""
        ctx = ssl.create_default_context(cafile=self.cert)
        import http.client
        c = http.client.HTTPSConnection("127.0.0.1", self.port, context=ctx,
                                        timeout=5)
        c.request("POST", "/tamper", body=body,
                  headers={"X-Vigil-Signature": sig,
                           "Content-Type": "application/json"})
        st = c.getresponse().status
        c.close()
        return st


def secret_files():
    pw = os.path.join(tmp, "mqtt-password")
    with open(pw, "w") as f:
        f.write(PASSWORD + "\n")
    ws = os.path.join(tmp, "webhook-secret")
    with open(ws, "wb") as f:
        f.write(SECRET + b"\n")
    os.chmod(pw, 0o600)
    os.chmod(ws, 0o600)
    return pw, ws


def feed(camera, *args, log=None):
    argv = [RECFEED, "--camera", camera, "--fps", str(FPS)] + list(args)
    if log:
        argv += ["--log", log]
    d = vt.start(argv, name=f"recfeed-{camera}")
    atexit.register(vt.remove_ring, camera)
    vt.wait_for(lambda: os.path.exists(vt.shm_path(camera)) or not d.alive(),
                5)
    return d


def recorder(camera, rdir, *args):
    argv = [RECORD, "--camera", camera] + (["--dir", rdir] if rdir else [])
    d = vt.start(argv + list(args), name=f"record-{camera}")
    if rdir:
        vt.wait_for(lambda: read_json(os.path.join(rdir, "state.json"))
                    or not d.alive(), 5)
    return d


def mqtt_args(broker, pwfile, *more):
    return ["--mqtt", broker.url(), "--mqtt-user", USER,
            "--mqtt-password-file", pwfile] + list(more)


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def events(rdir):
    out = []
    for name in sorted(os.listdir(rdir)):
        if name.endswith(".json") and name != "state.json" \
                and not name.startswith("."):
            m = read_json(os.path.join(rdir, name))
            if m is not None:
                out.append(m)
    return out


def ended(rdir, n=1):
    ev = events(rdir)
    return len(ev) >= n and all(e["end"] is not None for e in ev) and ev


def feed_log(path):
    rows = []
    with open(path) as f:
        for line in f:
            i, seq, rt, mt, motion, length = map(int, line.split())
            rows.append({"i": i, "rt": rt, "mt": mt, "motion": motion})
    return rows


def frames_in(path):
    p = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
         "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", path],
        capture_output=True, timeout=30)
    text = p.stdout.decode().strip().rstrip(",")
    return int(text) if p.returncode == 0 and text.isdigit() else -1


def state_notify(rdir):
    st = read_json(os.path.join(rdir, "state.json"))
    return st.get("notify") if st else None


def is_jpeg(b):
    return len(b) > 4 and b[:2] == b"\xff\xd8" and b[-2:] == b"\xff\xd9"


def check_discovery(msgs, cam, name):
    """The retained discovery messages of cam, each complete."""
    got = {}
    for _, topic, payload, retain in msgs:
        parts = topic.split("/")
        if len(parts) == 5 and parts[0] == "homeassistant" and \
                parts[2] == f"vigil_{cam}" and parts[4] == "config":
            got[parts[1]] = (json.loads(payload), retain)
    t.eq(sorted(got), sorted(HASS_REQUIRED), f"{name}: discovery components")
    for comp, (cfg, retain) in got.items():
        t.ok(retain, f"{name}: discovery {comp} is retained")
        missing = [k for k in HASS_REQUIRED[comp] + HASS_OURS
                   if k not in cfg]
        missing += ["device." + k for k in DEVICE_KEYS
                    if k not in cfg.get("device", {})]
        t.ok(not missing, f"{name}: discovery {comp} complete", missing)
        t.eq(cfg.get("availability_topic"), f"vigil/{cam}/availability",
             f"{name}: {comp} availability wired")
        t.eq(cfg.get("device", {}).get("identifiers"), [f"vigil_{cam}"],
             f"{name}: {comp} one device per camera")
    if "binary_sensor" in got:
        b = got["binary_sensor"][0]
        t.ok(b.get("device_class") == "motion" and
             b.get("state_topic") == f"vigil/{cam}/motion" and
             b.get("payload_on") == "ON" and b.get("payload_off") == "OFF",
             f"{name}: motion binary_sensor", b)
    if "image" in got:
        i = got["image"][0]
        t.ok(i.get("image_topic") == f"vigil/{cam}/snapshot" and
             i.get("content_type") == "image/jpeg", f"{name}: image", i)
    if "sensor" in got:
        s = got["sensor"][0]
        t.ok(s.get("device_class") == "timestamp" and
             s.get("state_topic") == f"vigil/{cam}/event" and
             "value_json.start" in s.get("value_template", ""),
             f"{name}: last event timestamp sensor", s)


# ------------------------------------------------------------ checks

def check_event(broker, rx, pw, ws):
    """One motion span: messages in order and on time, snapshot, discovery,
    webhooks, state.json."""
    cam = vt.camera_name("ev")
    rdir = os.path.join(tmp, "ev")
    log = os.path.join(tmp, "ev.log")
    sub = Subscriber(broker.port)
    a, b, post = 40, 100, 2
    rec = recorder(cam, rdir, "--pre", "1", "--post", str(post),
                   "--min-free", "0", "--public-url", PUBLIC,
                   "--webhook", rx.url(), "--webhook-secret-file", ws,
                   "--webhook-ca", rx.cert, *mqtt_args(broker, pw))
    online = sub.wait(f"vigil/{cam}/availability", lambda p: p == b"online")
    t.ok(online, "availability online on connection")
    fd = feed(cam, "--count", "200", "--motion", f"{a}:{b}", log=log)
    t.ok(vt.wait_for(lambda: not fd.alive(), 30), "recfeed published")
    ev = vt.wait_for(lambda: ended(rdir), 10)
    t.ok(ev and len(ev) == 1, "one event recorded")
    if not ev:
        return
    e = ev[0]
    on = sub.wait(f"vigil/{cam}/motion", lambda p: p == b"ON")
    start = sub.wait(f"vigil/{cam}/event",
                     lambda p: json.loads(p)["type"] == "start")
    off = sub.wait(f"vigil/{cam}/motion", lambda p: p == b"OFF",
                   after=on[0] if on else 0)
    end = sub.wait(f"vigil/{cam}/event",
                   lambda p: json.loads(p)["type"] == "end")
    t.ok(on and start and off and end, "motion ON, start, OFF, end all came",
         [(m[1], m[2][:40]) for m in sub.all()])
    if not (on and start and off and end):
        return
    t.ok(on[0] < start[0] < off[0] < end[0],
         "in order: motion ON, event start, motion OFF, event end")
    rows = feed_log(log)
    motion_start = rows[a]["rt"] / 1e9
    t.ok(0 <= on[1] - motion_start < 1.0,
         f"motion ON {on[1] - motion_start:.3f} s after the motion started")
    # The event ends when its last frame is --post old; the recorder sees
    # that with the next frame (or its idle tick).
    t.ok(0 <= off[1] - (e["end"]) < 1.0 + 0.3,
         f"motion OFF {off[1] - e['end']:.3f} s after the event's last frame")
    t.ok(0 <= end[1] - e["end"] < 1.3,
         f"event end {end[1] - e['end']:.3f} s after the event's last frame")
    js, je = json.loads(start[3]), json.loads(end[3])
    t.ok(js["id"] == e["id"] and je["id"] == e["id"] and
         js["camera"] == cam and js["end"] is None and
         abs(je["end"] - e["end"]) < 0.002 and
         abs(js["start"] - e["start"]) < 0.002 and je["score"] == e["score"],
         "event JSON: id, camera, start, end, peak score", (js, je, e))
    t.ok(je.get("page") == f"{PUBLIC}/#events/{e['id']}" and
         je.get("thumbnail") == f"{PUBLIC}/events/{e['id']}.jpg" and
         je.get("clip") == f"{PUBLIC}/events/{e['id']}/clip",
         "event JSON: page, thumbnail, clip URLs", je)
    # A fresh subscriber sees what is retained.
    late = Subscriber(broker.port)
    snap = late.wait(f"vigil/{cam}/snapshot", timeout=5)
    t.ok(snap and snap[4] and is_jpeg(snap[3]),
         "retained snapshot is a JPEG (SOI..EOI)")
    with open(os.path.join(rdir, e["thumbnail"]), "rb") as f:
        thumb = f.read()
    t.ok(snap and snap[3] == thumb,
         "the snapshot is the event's peak frame (its thumbnail)")
    m = late.wait(f"vigil/{cam}/motion", timeout=5)
    t.ok(m and m[4] and m[3] == b"OFF", "retained motion state OFF")
    vt.wait_for(lambda: len([x for x in late.all()
                             if x[1].startswith("homeassistant/")]) >= 3, 5)
    check_discovery(late.all(), cam, "discovery")
    late.close()
    # Webhooks: both calls, valid signatures, a timestamp against replays.
    calls = vt.wait_for(lambda: len(rx.calls) >= 2 and rx.calls, 15) or []
    bodies = [json.loads(c["body"]) for c in calls]
    t.eq([c["valid"] for c in calls], [True, True],
         "webhook: two calls with valid signatures")
    t.eq([x.get("type") for x in bodies], ["start", "end"],
         "webhook: start then end")
    t.ok(all(abs(x.get("timestamp", 0) - time.time()) < 60 for x in bodies),
         "webhook: body has a current timestamp")
    t.ok(all(x.get("id") == e["id"] for x in bodies), "webhook: event id")
    if calls:
        last = calls[1]
        tampered = last["body"].replace(b'"end"', b'"End"', 1)
        t.eq(rx.post(tampered, last["sig"]), 401,
             "receiver rejects a tampered body with the original signature")
        t.eq(rx.post(last["body"], last["sig"]), 200,
             "receiver accepts the untouched body")
    n = vt.wait_for(lambda: (state_notify(rdir) or {}).get("webhook_sent")
                    == 2 and state_notify(rdir), 5)
    t.ok(n and n["mqtt"] == "connected" and n["mqtt_sent"] >= 9 and
         n["webhook_failed"] == 0 and n["mqtt_dropped"] == 0,
         "state.json notify: connected, sent counted", n)
    t.ok(rec.alive(), "recorder running")
    out = rec.output()
    t.ok(PASSWORD not in out and SECRET.decode() not in out,
         "no secret in the log")
    rec.stop()
    off_line = sub.wait(f"vigil/{cam}/availability",
                        lambda p: p == b"offline", timeout=5)
    t.ok(off_line, "clean stop publishes offline")
    sub.close()


def check_broker_restart(pw):
    """The broker killed mid-event and restarted 5 s later."""
    broker = Broker()
    cam = vt.camera_name("br")
    rdir = os.path.join(tmp, "br")
    log = os.path.join(tmp, "br.log")
    sub = Subscriber(broker.port)
    a, b = 20, 360
    rec = recorder(cam, rdir, "--pre", "1", "--post", "2", "--min-free", "0",
                   *mqtt_args(broker, pw))
    t.ok(sub.wait(f"vigil/{cam}/availability", lambda p: p == b"online"),
         "restart: online")
    fd = feed(cam, "--count", "420", "--motion", f"{a}:{b}", log=log)
    start = sub.wait(f"vigil/{cam}/event",
                     lambda p: json.loads(p)["type"] == "start", timeout=10)
    t.ok(start, "restart: event started")
    sub.close()
    broker.kill()
    t.ok(vt.wait_for(lambda: (state_notify(rdir) or {}).get("mqtt") ==
                     "disconnected", 5), "restart: state.json disconnected")
    # The outage itself is the scenario: 5 s without a broker.
    time.sleep(5)
    t.ok(fd.alive(), "restart: the motion is still going on")
    broker.start()
    sub = Subscriber(broker.port)
    t.ok(vt.wait_for(lambda: (state_notify(rdir) or {}).get("mqtt") ==
                     "connected", 15), "restart: reconnected on its own")
    late = Subscriber(broker.port, topics=(f"vigil/{cam}/motion",))
    on = late.wait(f"vigil/{cam}/motion", timeout=5)
    t.ok(on and on[4] and on[3] == b"ON",
         "restart: motion ON published again, retained", on)
    late.close()
    t.ok(vt.wait_for(lambda: not fd.alive(), 40), "restart: feed done")
    off = sub.wait(f"vigil/{cam}/motion", lambda p: p == b"OFF", timeout=10)
    end = sub.wait(f"vigil/{cam}/event",
                   lambda p: json.loads(p)["type"] == "end", timeout=10)
    t.ok(off and end and off[0] < end[0], "restart: final OFF, then end")
    ev = vt.wait_for(lambda: ended(rdir), 10)
    t.ok(ev and len(ev) == 1, "restart: one event")
    if ev:
        e = ev[0]
        rows = feed_log(log)
        want = [r for r in rows if e["start"] * 1e9 - 1e6 <= r["rt"] <=
                e["end"] * 1e9 + 1e6]
        n = sum(frames_in(os.path.join(rdir, f)) for f in e["files"])
        t.ok(n == e["frames"] == len(want) and not e["interrupted"],
             "restart: the event's recording is complete",
             f"clip {n}, meta {e['frames']}, published {len(want)}")
        t.ok(end and json.loads(end[3])["id"] == e["id"],
             "restart: end message names the event")
    rec.stop()
    sub.close()
    broker.kill()


def check_kill9(pw):
    """kill -9: the broker publishes the last will; the next start says
    online."""
    broker = Broker()
    cam = vt.camera_name("k9")
    rdir = os.path.join(tmp, "k9")
    sub = Subscriber(broker.port)
    rec = recorder(cam, rdir, *mqtt_args(broker, pw))
    on = sub.wait(f"vigil/{cam}/availability", lambda p: p == b"online")
    t.ok(on, "kill -9: online")
    rec.kill()
    off = sub.wait(f"vigil/{cam}/availability", lambda p: p == b"offline",
                   timeout=5, after=on[0] if on else 0)
    t.ok(off, "kill -9: the broker publishes offline (last will)")
    late = Subscriber(broker.port, topics=(f"vigil/{cam}/availability",))
    r = late.wait(f"vigil/{cam}/availability", timeout=5)
    t.ok(r and r[4] and r[3] == b"offline", "kill -9: offline is retained")
    late.close()
    rec = recorder(cam, rdir, *mqtt_args(broker, pw))
    again = sub.wait(f"vigil/{cam}/availability", lambda p: p == b"online",
                     after=off[0] if off else 0)
    t.ok(again, "kill -9: next start publishes online")
    rec.stop()
    sub.close()
    broker.kill()


def check_no_broker(pw, ws):
    """No broker at all, no webhook receiver: recording unaffected; the
    webhooks are tried, then dropped and counted; the broker is connected
    once it appears."""
    port = vt.free_port()
    dead = vt.free_port()
    cam = vt.camera_name("nb")
    rdir = os.path.join(tmp, "nb")
    log = os.path.join(tmp, "nb.log")
    rec = recorder(cam, rdir, "--pre", "1", "--post", "1", "--min-free", "0",
                   "--mqtt", f"mqtt://127.0.0.1:{port}", "--mqtt-user", USER,
                   "--mqtt-password-file", pw, "--webhook",
                   f"http://127.0.0.1:{dead}/hook", "--webhook-secret-file",
                   ws)
    fd = feed(cam, "--count", "120", "--motion", "20:60", log=log)
    t.ok(vt.wait_for(lambda: not fd.alive(), 20), "no broker: fed")
    ev = vt.wait_for(lambda: ended(rdir), 10)
    t.ok(ev and len(ev) == 1 and ev[0]["frames"] > 40 and
         not ev[0]["interrupted"], "no broker: the event is recorded")
    if ev:
        n = sum(frames_in(os.path.join(rdir, f)) for f in ev[0]["files"])
        t.eq(n, ev[0]["frames"], "no broker: the clip holds every frame")
    t.eq((state_notify(rdir) or {}).get("mqtt"), "disconnected",
         "no broker: state.json says disconnected")
    t.ok(rec.alive(), "no broker: recorder running")
    # Start and end: 4 tries each (backoff 1, 2, 4 s), then dropped.
    n = vt.wait_for(lambda: (state_notify(rdir) or {}).get("webhook_failed")
                    == 2 and state_notify(rdir), 30)
    t.ok(n and n["webhook_sent"] == 0,
         "no receiver: both webhook calls given up and counted", n)
    t.ok("no success after 4 tries" in rec.output(),
         "no receiver: the drop is logged")
    broker = Broker(port)
    t.ok(vt.wait_for(lambda: (state_notify(rdir) or {}).get("mqtt") ==
                     "connected", 15), "no broker: connects once it appears")
    sub = Subscriber(broker.port)
    m = sub.wait(f"vigil/{cam}/availability", timeout=5)
    t.ok(m and m[3] == b"online" and m[4], "no broker: online, retained")
    # The event's messages waited in the queue: discovery (3), online,
    # motion, then ON, start, snapshot, OFF, end, snapshot: 11 at least.
    n = vt.wait_for(lambda: (state_notify(rdir) or {}).get("mqtt_sent", 0)
                    >= 11 and state_notify(rdir), 5)
    t.ok(n and n["mqtt_dropped"] == 0,
         "no broker: the queued event messages are delivered late", n)
    snap = sub.wait(f"vigil/{cam}/snapshot", timeout=5)
    if ev:
        with open(os.path.join(rdir, ev[0]["thumbnail"]), "rb") as f:
            t.ok(snap and snap[4] and snap[3] == f.read(),
                 "no broker: the event's snapshot is retained")
    rec.stop()
    sub.close()
    broker.kill()


def check_hook():
    """A hook that hangs is killed at its limit; recording goes on; the
    environment is the event's and nothing else."""
    cam = vt.camera_name("hk")
    rdir = os.path.join(tmp, "hk")
    out = os.path.join(tmp, "hook-out")
    os.makedirs(out)
    hang = os.path.join(tmp, "hang.sh")
    with open(hang, "w") as f:
        f.write(f"#!/bin/sh\nenv > {out}/start.env\necho $$ > {out}/pid\n"
                "exec sleep 1000\n")
    endh = os.path.join(tmp, "end.sh")
    with open(endh, "w") as f:
        f.write(f"#!/bin/sh\nenv > {out}/end.env\nexit 3\n")
    os.chmod(hang, 0o755)
    os.chmod(endh, 0o755)
    rec = recorder(cam, rdir, "--pre", "1", "--post", "1", "--min-free", "0",
                   "--on-event-start", hang, "--on-event-end", endh,
                   "--hook-timeout", "2")
    fd = feed(cam, "--count", "240", "--motion", "20:40", "--motion",
              "120:140")
    t.ok(vt.wait_for(lambda: os.path.exists(f"{out}/pid"), 10),
         "hook: start hook ran")
    with open(f"{out}/pid") as f:
        pid = int(f.read())
    t.ok(vt.wait_for(lambda: not os.path.exists(f"/proc/{pid}") or
                     open(f"/proc/{pid}/stat").read().split()[2] == "Z", 10),
         "hook: the hanging hook is gone after its limit")
    t.ok(vt.wait_for(lambda: not fd.alive(), 20), "hook: fed")
    ev = vt.wait_for(lambda: ended(rdir, 2), 10)
    t.ok(ev and len(ev) == 2, "hook: recording went on (two events)")
    # Two events: each start hook hangs and is killed, each end hook
    # exits 3.
    n = vt.wait_for(lambda: (state_notify(rdir) or {}).get("hooks_run")
                    == 4 and state_notify(rdir), 10)
    t.ok(n and n["hooks_killed"] == 2 and n["hooks_failed"] == 4 and
         n["hooks_skipped"] == 0,
         "hook: runs, kills and failures counted", n)
    env = {}
    with open(f"{out}/start.env") as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("=")
            env[k] = v
    extra = set(env) - {"PATH", "PWD", "SHLVL", "_", "VIGIL_CAMERA",
                        "VIGIL_EVENT_ID", "VIGIL_EVENT_START",
                        "VIGIL_EVENT_END", "VIGIL_EVENT_SCORE",
                        "VIGIL_EVENT_CLIP", "VIGIL_EVENT_THUMBNAIL",
                        "VIGIL_EVENT_TYPE"}
    t.ok(not extra, "hook: a clean environment", extra)
    if ev:
        e = ([x for x in ev if x["id"] == env.get("VIGIL_EVENT_ID")] +
             [ev[0]])[0]
        t.ok(env.get("VIGIL_CAMERA") == cam and
             env.get("VIGIL_EVENT_ID") == e["id"] and
             env.get("VIGIL_EVENT_CLIP") == os.path.join(rdir, e["files"][0])
             and env.get("VIGIL_EVENT_THUMBNAIL") ==
             os.path.join(rdir, e["thumbnail"]),
             "hook: start environment names the event", env)
    t.ok(vt.wait_for(lambda: os.path.exists(f"{out}/end.env"), 5),
         "hook: end hook ran")
    rec.stop()


def make_ca():
    """A CA and a broker certificate for 127.0.0.1 signed by it, and a
    second, unrelated CA."""
    d = tempfile.mkdtemp(dir=tmp, prefix="pki-")
    f = {k: os.path.join(d, k) for k in
         ("ca.pem", "ca.key", "srv.key", "srv.csr", "srv.pem", "ext",
          "other.pem", "other.key")}
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
          "-nodes"]

    def run(*argv):
        subprocess.run(["openssl"] + list(argv), check=True,
                       capture_output=True, timeout=30)
    run("req", "-x509", *ec, "-keyout", f["ca.key"], "-out", f["ca.pem"],
        "-days", "2", "-subj", "/CN=vigil test CA")
    run("req", "-x509", *ec, "-keyout", f["other.key"], "-out",
        f["other.pem"], "-days", "2", "-subj", "/CN=other CA")
    run("req", *ec, "-keyout", f["srv.key"], "-out", f["srv.csr"], "-subj",
        "/CN=127.0.0.1")
    with open(f["ext"], "w") as x:
        x.write("subjectAltName=IP:127.0.0.1\n")
    run("x509", "-req", "-in", f["srv.csr"], "-CA", f["ca.pem"], "-CAkey",
        f["ca.key"], "-CAcreateserial", "-days", "2", "-out", f["srv.pem"],
        "-extfile", f["ext"])
    os.chmod(f["srv.key"], 0o644)  # mosquitto may run as another user
    return f


def check_tls(pw):
    """mqtts:// with --mqtt-ca; a wrong CA is refused and tried again."""
    pki = make_ca()
    broker = Broker(tls={"ca": pki["ca.pem"], "cert": pki["srv.pem"],
                         "key": pki["srv.key"]})
    t.ok(vt.wait_for(lambda: vt.can_connect(f"127.0.0.1:{broker.tls_port}"),
                     5), "tls: broker's TLS listener is up")
    sub = Subscriber(broker.port)
    cam = vt.camera_name("tl")
    url = f"mqtts://127.0.0.1:{broker.tls_port}"
    rec = vt.start([RECORD, "--camera", cam, "--mqtt", url, "--mqtt-user",
                    USER, "--mqtt-password-file", pw, "--mqtt-ca",
                    pki["ca.pem"]], name=f"record-{cam}")
    t.ok(sub.wait(f"vigil/{cam}/availability", lambda p: p == b"online"),
         "tls: connected over mqtts with --mqtt-ca")
    rec.stop()
    bad = vt.camera_name("tb")
    rec = vt.start([RECORD, "--camera", bad, "--mqtt", url, "--mqtt-user",
                    USER, "--mqtt-password-file", pw, "--mqtt-ca",
                    pki["other.pem"]], name=f"record-{bad}")
    t.ok(vt.wait_for(lambda: broker.d.output().count("unknown ca") >= 2,
                     10), "tls: a wrong CA is refused, and tried again")
    t.ok(vt.wait_for(lambda: "TLS handshake failed" in rec.output(), 5) and
         not sub.all(f"vigil/{bad}/availability"),
         "tls: the refusal is logged, nothing published",
         diag=rec.output()[-2000:])
    rec.stop()
    sub.close()
    broker.kill()


def check_notify_only(broker, pw):
    """Without --dir: nothing recorded, events still notified."""
    cam = vt.camera_name("no")
    sub = Subscriber(broker.port)
    rec = vt.start([RECORD, "--camera", cam, "--post", "1",
                    *mqtt_args(broker, pw)], name=f"record-{cam}")
    t.ok(sub.wait(f"vigil/{cam}/availability", lambda p: p == b"online"),
         "notify-only: online")
    fd = feed(cam, "--count", "100", "--motion", "20:40")
    end = sub.wait(f"vigil/{cam}/event",
                   lambda p: json.loads(p)["type"] == "end", timeout=15)
    t.ok(end, "notify-only: event end message")
    snap = sub.wait(f"vigil/{cam}/snapshot", timeout=5)
    t.ok(snap and is_jpeg(snap[3]), "notify-only: snapshot")
    t.ok(rec.alive(), "notify-only: recorder running")
    fd.stop()
    rec.stop()
    sub.close()


def main():
    t.need(RECORD, RECFEED, "mosquitto", "mosquitto_passwd", "openssl",
           "ffprobe")
    pw, ws = secret_files()
    p = subprocess.run([RECORD, "--camera", "c", "--mqtt", "ftp://x"],
                       capture_output=True, timeout=5)
    t.ok(p.returncode == 2 and b"--mqtt" in p.stderr, "bad --mqtt: usage")
    p = subprocess.run([RECORD, "--camera", "c"], capture_output=True,
                       timeout=5)
    t.ok(p.returncode == 2 and b"--dir" in p.stderr,
         "neither --dir nor a notification: usage")
    broker = Broker()
    rx = Receiver()
    t.run(check_event, broker, rx, pw, ws)
    t.run(check_notify_only, broker, pw)
    broker.kill()
    t.run(check_kill9, pw)
    t.run(check_no_broker, pw, ws)
    t.run(check_hook)
    t.run(check_tls, pw)
    t.run(check_broker_restart, pw)
    t.done()


if __name__ == "__main__":
    main()
