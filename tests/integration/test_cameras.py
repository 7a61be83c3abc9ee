#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The camera side of vigil-capture without a camera: `--source auto` falls
back to testsrc, `--list-sources` says when there are none, `--source
libcamera` fails clearly, a webcam frame without Huffman tables (fixed by
capture's jpegfix) decodes in libjpeg-turbo and in ffmpeg, and the
rpicam-vid style pipe (MJPEG on stdin, here made by ffmpeg) is published
byte for byte."""
import os
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import vigiltest as vt  # noqa: E402

t = vt.Tap()
RINGCAT = os.path.join(vt.BUILD, "tools", "ringcat")
JPEGFIX = os.path.join(vt.BUILD, "tools", "jpegfix")


def run(argv, timeout=20, **kw):
    return subprocess.run(argv, capture_output=True, timeout=timeout, **kw)


def list_sources():
    r = run([vt.CAPTURE, "--list-sources"])
    return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


def machine_has_cameras():
    rc, out, _ = list_sources()
    return rc == 0 and "no cameras found" not in out


def check_list_sources():
    rc, out, err = list_sources()
    t.eq(rc, 0, "--list-sources exits 0")
    has_video = any(n.startswith("video") for n in os.listdir("/dev"))
    if not has_video and "libcamera:" not in out.replace("libcamera: not", ""):
        t.ok("no cameras found" in out, "--list-sources with no camera says so", out + err)
        if subprocess.run(["pkg-config", "--exists", "libcamera"]).returncode == 0:
            # CI builds the libcamera source whenever libcamera-dev is there.
            want = run(["pkg-config", "--modversion", "libcamera"]).stdout.decode().strip()
            t.ok(f"libcamera {want}: no cameras" in out,
                 f"the libcamera source is built in (libcamera {want}) and finds no camera", out)
        else:
            t.ok("libcamera: not built in" in out,
                 "--list-sources says libcamera is not built in", out)
    else:
        t.ok("no cameras found" not in out and ("v4l2:" in out or "libcamera:" in out),
             "--list-sources lists the cameras this machine has", out)
        t.skip("--list-sources reports libcamera", "this machine has cameras")


def check_auto_falls_back():
    if machine_has_cameras():
        t.skip("--source auto falls back to testsrc", "this machine has a camera")
        t.skip("auto: testsrc frames decode", "this machine has a camera")
        return
    cam = vt.camera_name("auto")
    # No --source at all: auto is the default.
    cap = vt.start_capture(cam, "--size", "320x240", "--fps", "10")
    r = run([RINGCAT, "-n", "2", "-t", "5000", "-d", tempfile.mkdtemp(prefix="vigil-auto-"),
             cam])
    lines = r.stdout.decode().split("\n")
    out = cap.output()
    t.ok("source auto: using 'testsrc'" in out and "no camera found" in out,
         "--source auto falls back to testsrc, with one line saying why", out)
    frames = [ln for ln in lines if ln.startswith("frame ")]
    ok = r.returncode == 0 and len(frames) == 2 and all("width=320 height=240" in f
                                                       for f in frames)
    t.ok(ok, "auto: testsrc frames reach the ring at the requested size",
         r.stdout.decode() + r.stderr.decode())
    cap.stop()


def check_libcamera_absent():
    rc, out, _ = list_sources()
    if "libcamera:" in out.replace("libcamera: not", ""):
        t.skip("--source libcamera without a camera fails clearly", "this machine has one")
        return
    cam = vt.camera_name("lc")
    r = run([vt.CAPTURE, "--camera", cam, "--source", "libcamera"])
    err = r.stderr.decode(errors="replace")
    t.ok(r.returncode == 1 and ("no libcamera camera" in err or "without libcamera" in err),
         "--source libcamera with no camera: a clear error and exit 1",
         f"rc={r.returncode}\n{err}")
    t.ok(not os.path.exists(vt.shm_path(cam)), "no ring is left behind by a failed source")


def jpeg_segments(data):
    """(marker, start, end) of each header segment up to SOS."""
    i, out = 2, []
    while True:
        assert data[i] == 0xFF, f"marker expected at {i}"
        m = data[i + 1]
        n = data[i + 2] << 8 | data[i + 3]
        out.append((m, i, i + 2 + n))
        if m == 0xDA:
            return out
        i += 2 + n


def strip_dht(data):
    segs = jpeg_segments(data)
    out = bytearray(data[:2])
    for m, a, b in segs[:-1]:
        if m != 0xC4:
            out += data[a:b]
    out += data[segs[-1][1]:]
    return bytes(out)


def ffmpeg_gray(data, size):
    r = run(["ffmpeg", "-v", "error", "-xerror", "-f", "mjpeg", "-i", "-", "-f", "rawvideo",
             "-pix_fmt", "gray", "-"], input=data)
    if r.returncode != 0 or len(r.stdout) != size[0] * size[1]:
        raise ValueError(r.stderr.decode(errors="replace") or "short output")
    return r.stdout


def check_dht_fix():
    # A webcam-like frame: 4:2:2, baseline, the standard tables (which is
    # what webcams that leave DHT out assume).
    r = run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=640x480:rate=1",
             "-frames:v", "1", "-c:v", "mjpeg", "-huffman", "default", "-pix_fmt", "yuvj422p",
             "-q:v", "4", "-f", "mjpeg", "-"])
    orig = r.stdout
    t.ok(r.returncode == 0 and orig[:2] == b"\xff\xd8", "ffmpeg made a reference JPEG",
         r.stderr.decode(errors="replace"))
    stripped = strip_dht(orig)
    t.ok(all(m != 0xC4 for m, _, _ in jpeg_segments(stripped)) and len(stripped) < len(orig),
         "the webcam-style frame has no DHT segment")

    fx = run([JPEGFIX], input=stripped)
    fixed = fx.stdout
    t.ok(fx.returncode == 0 and b"inserted" in fx.stderr, "jpegfix inserts the tables",
         fx.stderr.decode(errors="replace"))
    t.ok(any(m == 0xC4 for m, _, _ in jpeg_segments(fixed)), "the fixed frame has a DHT segment")
    t.eq(len(fixed), len(stripped) + 420, "exactly one 420-byte DHT segment was added")

    try:
        w, h, px = vt.jpeg_decode(fixed)
        _, _, want = vt.jpeg_decode(orig)
        t.ok((w, h) == (640, 480) and px == want,
             "fixed frame decodes in libjpeg-turbo (no warning) to the original's pixels")
    except ValueError as e:
        t.ok(False, "fixed frame decodes in libjpeg-turbo", str(e))
    try:
        t.ok(ffmpeg_gray(fixed, (640, 480)) == ffmpeg_gray(orig, (640, 480)),
             "fixed frame decodes in ffmpeg (-xerror) to the original's pixels")
    except ValueError as e:
        t.ok(False, "fixed frame decodes in ffmpeg", str(e))

    again = run([JPEGFIX], input=fixed)
    t.ok(again.returncode == 0 and b"has-tables" in again.stderr and again.stdout == fixed,
         "a frame with tables passes jpegfix untouched")
    bad = run([JPEGFIX], input=b"\x89PNG\r\n\x1a\nnot a jpeg")
    t.eq(bad.returncode, 1, "jpegfix refuses what is not a JPEG")


def check_rpicam_style_pipe():
    """`rpicam-vid -t 0 --codec mjpeg -o - | vigil-capture --source stdin`:
    the same byte stream, made here by ffmpeg at 24 fps in real time."""
    cam = vt.camera_name("pipe")
    ff = subprocess.Popen(["ffmpeg", "-v", "error", "-re", "-f", "lavfi", "-i",
                           "testsrc2=size=1280x720:rate=24", "-t", "4", "-c:v", "mjpeg",
                           "-q:v", "5", "-f", "mjpeg", "-"],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    cap = vt.start_capture(cam, "--source", "stdin", stdin=subprocess.PIPE)
    sent = bytearray()

    def pump():
        try:
            while True:
                chunk = ff.stdout.read1(65536)
                if not chunk:
                    break
                sent.extend(chunk)
                cap.proc.stdin.write(chunk)
                cap.proc.stdin.flush()
        except (BrokenPipeError, ValueError):
            pass
        finally:
            try:
                cap.proc.stdin.close()
            except BrokenPipeError:
                pass

    th = threading.Thread(target=pump, daemon=True)
    th.start()
    d = tempfile.mkdtemp(prefix="vigil-pipe-")
    r = run([RINGCAT, "-n", "10", "-t", "8000", "-d", d, cam])
    lines = [ln for ln in r.stdout.decode().split("\n") if ln.startswith("frame ")]
    t.ok(r.returncode == 0 and len(lines) == 10, "pipe: 10 frames reach the ring",
         r.stdout.decode() + r.stderr.decode())
    th.join(15)
    ff.wait(15)
    rc = cap.stop(timeout=10)
    files = sorted(os.listdir(d))
    exact = decoded = 0
    for name in files:
        with open(os.path.join(d, name), "rb") as f:
            data = f.read()
        if data in sent:
            exact += 1
        try:
            w, h, _ = vt.jpeg_decode(data)
            decoded += (w, h) == (1280, 720)
        except ValueError:
            pass
        os.unlink(os.path.join(d, name))
    os.rmdir(d)
    t.ok(files and exact == len(files), "pipe: frames are published byte for byte",
         f"{exact} of {len(files)}")
    t.ok(files and decoded == len(files), "pipe: frames decode at 1280x720",
         f"{decoded} of {len(files)}")
    t.eq(rc, 0, "pipe: capture ends cleanly when the pipe closes")


for fn in (check_list_sources, check_auto_falls_back, check_libcamera_absent, check_dht_fix,
           check_rpicam_style_pipe):
    t.run(fn)
t.done()
