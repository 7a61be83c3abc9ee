#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""vigil-server across the capture's lifecycle: started with no capture,
capture starting, killed (-9), stopped cleanly, restarted (new generation,
same open stream), and a ring of another layout version."""
import os
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import vigiltest as vt  # noqa: E402
from vigiltest import start_server, health, wait_health, state, metrics  # noqa: E402

t = vt.Tap()
cam = vt.camera_name("life")
vt.remove_ring(cam)
srv, addr = start_server(cam)


def next_kind(stream, want_live, timeout):
    """Reads parts until one is live (seq > 0) or offline (seq 0) as
    wanted; returns (headers, body, seconds) or None."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        h, b, _ = stream.part()
        if (int(h["x-frame-seq"]) > 0) == want_live:
            return h, b, time.monotonic() - t0
    return None


code, reason = health(addr)
t.ok(code == 503 and "no capture" in reason, "no capture: healthz 503 with the reason", reason)
st = state(addr)
t.eq(st["status"], "offline", "state: offline")
st_code, h, _ = vt.http_get(addr, "/snapshot.jpg", timeout=5)
t.ok(st_code == 503 and h.get("retry-after"), "no capture: snapshot 503 with Retry-After after waiting",
     (st_code, h))

s = vt.MjpegStream(addr)
h1, b1, _ = s.part()
ok = int(h1["x-frame-seq"]) == 0 and vt.jpeg_ok(b1) and vt.jpeg_decode(b1)[:2] == (1280, 720)
t.ok(ok, "no capture: the stream shows a 1280x720 'camera offline' picture", h1)
h2, b2, _ = s.part()
gap = float(h2["x-timestamp"]) - float(h1["x-timestamp"])
t.ok(0.7 < gap < 1.5 and int(h2["x-frame-seq"]) == 0, f"offline picture repeated ({gap:.2f} s apart)")

# Pixels: a dark picture with light text.
w, hgt, px = vt.jpeg_decode(b1)
bright = sum(1 for v in px[::97] if v > 128) / len(px[::97])
dark = sum(1 for v in px[::97] if v < 60) / len(px[::97])
t.ok(0.01 < bright < 0.3 and dark > 0.6, f"offline picture: dark with text ({bright:.2%} light)")

cap = vt.start_capture(cam, "--source", "testsrc", "--size", "640x360", "--fps", "24")
took = wait_health(addr, 200, 3)
t.ok(took is not None and took < 2.5, f"capture starts: healthz 200 in {took} s")
r = next_kind(s, True, 3)
t.ok(r is not None and vt.jpeg_decode(r[1])[:2] == (640, 360),
     "the open stream switches to live frames")
gen1 = state(addr)["generation"]

# Killed: the heartbeat goes stale.
cap.kill()
took = wait_health(addr, 503, 3)
t.ok(took is not None and took < 2.0, f"capture killed: healthz 503 in {took and round(took, 2)} s")
code, reason = health(addr)
t.ok("not responding" in reason or "no capture" in reason, "503 says why", reason)
r = next_kind(s, False, 3)
t.ok(r is not None and vt.jpeg_decode(r[1])[:2] == (640, 360),
     "stream clients get the offline picture, at the ring's size", r and r[0])

# Restarted over the crashed one's ring (not removed): a new generation,
# followed without dropping the client.
cap = vt.start([vt.CAPTURE, "--camera", cam, "--source", "testsrc", "--size", "640x360",
                "--fps", "24"], name=f"capture-{cam}")
took = wait_health(addr, 200, 3)
t.ok(took is not None, f"capture restarted: healthz 200 in {took and round(took, 2)} s")
r = next_kind(s, True, 3)
gen2 = state(addr)["generation"]
t.ok(r is not None and gen2 != gen1, f"the same stream receives frames of the new generation "
     f"({gen1} -> {gen2})")
n = 0
t0 = time.monotonic()
while time.monotonic() - t0 < 1.0:
    h, b, _ = s.part()
    n += int(h["x-frame-seq"]) > 0 and vt.jpeg_ok(b)
t.ok(n >= 18, f"...at full rate ({n} in 1 s)")
t.ok(metrics(addr)["vigil_ring_generation_changes_total"] >= 1, "generation change counted")

# Clean stop: the ring is closed at once.
t0 = time.monotonic()
t.eq(cap.stop(), 0, "capture stops cleanly")
took = wait_health(addr, 503, 3)
t.ok(took is not None and took < 1.0, f"capture stopped: healthz 503 in {took and round(took, 2)} s")
t.ok(next_kind(s, False, 3) is not None, "offline picture after a clean stop")
s.close()

# A ring of another layout version: refused with a clear reason.
vt.remove_ring(cam)
hdr = struct.pack("<QIIII", 0x474e49524c474956, 99, 4096, 2, 4096) + b"\0" * (4096 - 24)
fd = os.open(vt.shm_path(cam), os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o640)
os.write(fd, hdr + b"\0" * 8192)
os.close(fd)
ok = vt.wait_for(lambda: "version" in health(addr)[1], 3)
code, reason = health(addr)
t.ok(ok and code == 503 and "99" in reason, "ring of another layout version: 503 with the versions",
     reason)
vt.remove_ring(cam)

t.ok(srv.alive(), "server survived the whole lifecycle", srv.output()[-1500:])
t.eq(srv.stop(), 0, "SIGTERM: exit 0")
t.done()
