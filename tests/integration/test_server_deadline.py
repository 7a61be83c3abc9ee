#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""vigil-server's request-head deadline is a timer: a client that sends a
header line every 4 s (never idle long enough for an inactivity timeout) is
cut DEADLINE_HEAD_S (10 s) after its first bytes, not when its next line
happens to arrive after the deadline (12 s here, 18 s for a line every 9 s).
A complete request is answered as before."""
import os
import select
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import vigiltest as vt  # noqa: E402
from vigiltest import start_server, start_ringfeed, wait_health  # noqa: E402

HEAD_DEADLINE_S = 10.0  # server/deadline.h DEADLINE_HEAD_S
LINE_EVERY_S = 4.0
# The old check fired at the first line after the deadline: 12 s here.
LATEST_S = 11.5
BOUND_S = 20.0  # the wait for the end of the connection, in all

t = vt.Tap()
cam = vt.camera_name("deadline")
feed = start_ringfeed(cam, "--fps", "10", "--size", "320x240")
srv, addr = start_server(cam)
t.ok(srv.alive() and wait_health(addr, 200, 5) is not None,
     "server up with a live ring", srv.output())


def connect():
    host, _, port = addr.rpartition(":")
    return socket.create_connection((host, int(port)), 2)


def dribble():
    """Sends a request head one line every LINE_EVERY_S; returns the seconds
    from connect to the server's end of the connection (EOF or reset), or
    None when it did not end within BOUND_S, and the lines sent."""
    s = connect()
    t0 = time.monotonic()
    s.sendall(b"GET /snapshot.jpg HTTP/1.1\r\n")
    sent, next_line = 1, t0 + LINE_EVERY_S
    try:
        while time.monotonic() - t0 < BOUND_S:
            wait = max(0.0, min(next_line, t0 + BOUND_S) - time.monotonic())
            r, _, _ = select.select([s], [], [], wait)
            if r:
                try:
                    data = s.recv(4096)
                except ConnectionResetError:
                    return time.monotonic() - t0, sent, b""
                if not data:
                    return time.monotonic() - t0, sent, b""
                return time.monotonic() - t0, sent, data
            if time.monotonic() >= next_line:
                try:
                    s.sendall(b"X-Dribble-%d: x\r\n" % sent)
                except OSError:
                    return time.monotonic() - t0, sent, b""
                sent += 1
                next_line += LINE_EVERY_S
        return None, sent, b""
    finally:
        s.close()


def check_dribbler_cut():
    took, sent, data = dribble()
    t.ok(took is not None, f"a dribbling request head is cut within {BOUND_S:.0f} s",
         f"{sent} lines sent, still open")
    if took is None:
        return
    t.ok(data == b"", "the server answers nothing, it ends the connection",
         data[:200])
    t.ok(HEAD_DEADLINE_S - 0.05 <= took <= LATEST_S,
         f"cut {HEAD_DEADLINE_S:.0f}..{LATEST_S} s after the first bytes "
         f"(a timer, not the next line)",
         f"cut after {took:.2f} s, {sent} lines sent")
    t.ok(srv.alive(), "server still running", srv.output())


def check_complete_request_answered():
    """The deadline does not touch a request whose head comes in whole."""
    s = connect()
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    s.settimeout(3)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    t.ok(data.startswith(b"HTTP/1.1 200"), "a complete request is answered",
         data[:200])
    s.close()


t.run(check_complete_request_answered)
t.run(check_dribbler_cut)
t.done()
