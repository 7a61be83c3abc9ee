#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The benchmark's second reference: the design of the original picamera
MJPEG streaming recipe, rewritten here from its description (not copied).

- an output object the encoder writes into; a write that starts with a JPEG
  SOI marks a new frame, so the *previous* buffer content is published then
  (a frame is served only once the next one starts: about one frame
  interval of latency),
- a threading.Condition that every client thread waits on,
- http.server with one thread per client, writing each part with
  wfile.write (boundary "FRAME", quoted by nobody, the part closed by
  "\\r\\n" and the next boundary when the next frame comes).

It is fed the same frames as the servers: records from tools/ringcat -r on
stdin ("VGLF", u32 length, i64 capture time ns, u64 sequence, JPEG).  The
one change to the recipe is a listen backlog of 1024 (the stdlib's 5 would
make hundreds of viewers connecting at once wait for SYN retries), and each
part carries X-Timestamp / X-Frame-Seq so the load generator can measure it.

Usage: build/tools/ringcat -r -n 0 -t 0 CAMERA | picamera_ref.py PORT
"""
import io
import socketserver
import struct
import sys
import threading
from http import server


class StreamingOutput:
    def __init__(self):
        self.frame = None
        self.meta = (0, 0)
        self.buffer = io.BytesIO()
        self.buffer_meta = (0, 0)
        self.condition = threading.Condition()

    def write(self, buf, meta):
        if buf.startswith(b"\xff\xd8"):
            # A new frame begins: publish the one collected so far.
            self.buffer.truncate()
            with self.condition:
                self.frame = self.buffer.getvalue()
                self.meta = self.buffer_meta
                self.condition.notify_all()
            self.buffer.seek(0)
            self.buffer_meta = meta
        return self.buffer.write(buf)


output = StreamingOutput()


class StreamingHandler(server.BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        if self.path != "/stream.mjpg":
            self.send_error(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Age", "0")
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Pragma", "no-cache")
        self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=FRAME")
        self.end_headers()
        try:
            while True:
                with output.condition:
                    output.condition.wait()
                    frame = output.frame
                    ts, seq = output.meta
                self.wfile.write(b"--FRAME\r\n")
                self.send_header("Content-Type", "image/jpeg")
                self.send_header("Content-Length", str(len(frame)))
                self.send_header("X-Timestamp", f"{ts // 1000000000}.{ts % 1000000000 // 1000:06d}")
                self.send_header("X-Frame-Seq", str(seq))
                self.end_headers()
                self.wfile.write(frame)
                self.wfile.write(b"\r\n")
        except Exception:
            pass


class StreamingServer(socketserver.ThreadingMixIn, server.HTTPServer):
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 1024


def feed(stream):
    while True:
        rec = stream.read(24)
        if len(rec) < 24 or rec[:4] != b"VGLF":
            break
        length, ts, seq = struct.unpack("<IqQ", rec[4:])
        output.write(stream.read(length), (ts, seq))


def main():
    srv = StreamingServer(("127.0.0.1", int(sys.argv[1])), StreamingHandler)
    threading.Thread(target=feed, args=(sys.stdin.buffer,), daemon=True).start()
    srv.serve_forever()


if __name__ == "__main__":
    main()
