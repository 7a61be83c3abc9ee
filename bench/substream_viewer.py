#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# One MJPEG viewer for bench/bench_substream.sh (stdlib only).
#   substream_viewer.py rate SECONDS URL...   one viewer per URL, all at once
#       for SECONDS after each has its first part: prints "bits/s parts/s"
#       per URL, one line each, in argument order.
#   substream_viewer.py jump TIMEOUT URL      reads parts until the first
#       with X-Motion: 1 and the one after it: prints "gap_ms idle_gap_ms"
#       (arrival gap after the first motion part; gap before it).
import http.client
import sys
import threading
import time
import urllib.parse


def open_stream(url):
    u = urllib.parse.urlsplit(url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    c.request("GET", u.path + ("?" + u.query if u.query else ""))
    r = c.getresponse()
    if r.status != 200:
        raise SystemExit("%s: HTTP %d" % (url, r.status))
    return r


def parts(r):
    """Yields (arrival time, headers dict, body length) per part."""
    while True:
        line = r.fp.readline()
        if not line:
            return
        if not line.startswith(b"--"):
            continue
        h = {}
        while True:
            line = r.fp.readline()
            if not line:
                return
            line = line.strip()
            if not line:
                break
            k, _, v = line.decode("latin-1").partition(":")
            h[k.strip().lower()] = v.strip()
        n = int(h.get("content-length", "0"))
        body = r.fp.read(n)
        if len(body) != n:
            return
        yield time.monotonic(), h, n


def rate(secs, url, out, i):
    r = open_stream(url)
    it = parts(r)
    next(it)
    t0 = time.monotonic()
    nbytes = 0
    count = 0
    while True:
        t, h, n = next(it)
        if t - t0 > secs:
            break
        nbytes += n + 200  # a part's boundary and headers: about 200 bytes
        count += 1
    out[i] = "%.0f %.2f" % (nbytes * 8 / secs, count / secs)


def main():
    mode = sys.argv[1]
    if mode == "rate":
        secs = float(sys.argv[2])
        urls = sys.argv[3:]
        out = ["0 0"] * len(urls)
        th = [threading.Thread(target=rate, args=(secs, u, out, i))
              for i, u in enumerate(urls)]
        for t in th:
            t.start()
        for t in th:
            t.join()
        print("\n".join(out))
    elif mode == "jump":
        deadline = time.monotonic() + float(sys.argv[2])
        prev = None
        prev_motion = None
        first = None
        for t, h, _ in parts(open_stream(sys.argv[3])):
            if first is not None:
                print("%.0f %.0f" % ((t - first) * 1000, idle))
                return
            if h.get("x-motion") == "1" and prev_motion == "0":
                first = t
                idle = (t - prev) * 1000
            prev = t
            prev_motion = h.get("x-motion")
            if t > deadline:
                break
        print("nan nan")
    else:
        raise SystemExit("usage: substream_viewer.py rate|jump ...")


if __name__ == "__main__":
    main()
