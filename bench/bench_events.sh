#!/bin/bash
# SPDX-License-Identifier: MIT
# vigil-server --recordings: time to answer /events with 10,000 events in
# DIR (fixture metadata files, as vigil-record writes them), a page of 50:
# the newest page, a page deep in the list (?before=), a from/to window,
# and one event.  Wall time of each request over a kept-alive loopback
# connection, as a client sees it.  Target: a page of 50 in <= 100 ms.
set -eu
cd "$(dirname "$0")/.."
n=${EVENTS_BENCH_N:-10000}
reps=${EVENTS_BENCH_REPS:-30}
dir=$(mktemp -d /tmp/vigil-bench-events.XXXXXX)
srv=
cleanup() {
	[ -n "$srv" ] && kill "$srv" 2>/dev/null && wait "$srv" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT

python3 - "$dir" "$n" <<'PY'
import json, os, sys, time
d, n = sys.argv[1], int(sys.argv[2])
t0 = 1764553512.125
for k in range(n):
    s = t0 + 37.5 * k
    ms = int(round(s * 1000))
    i = time.strftime("%Y%m%dT%H%M%S", time.gmtime(ms // 1000)) + \
        f".{ms % 1000:03d}Z-cam0"
    m = {"id": i, "camera": "cam0", "start": round(s, 3),
         "end": round(s + 20.5, 3), "last": round(s + 20.5, 3),
         "frames": 410, "bytes": 20512345, "score": 37,
         "grid": "0f" * 72, "interrupted": False, "width": 1280,
         "height": 720, "thumbnail": i + ".jpg", "files": [i + ".mkv"]}
    with open(os.path.join(d, i + ".json"), "w") as f:
        json.dump(m, f)
PY

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
build/vigil-server --camera benchev --listen "127.0.0.1:$port" --recordings "$dir" 2>/dev/null &
srv=$!

echo "== vigil-server /events: $n events in DIR, $reps requests each, ms per request"
python3 - "$port" "$reps" "$n" <<'PY'
import http.client, json, sys, time
port, reps, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
for _ in range(200):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("GET", "/healthz"); c.getresponse().read(); break
    except OSError:
        time.sleep(0.05)
def get(path):
    c.request("GET", path)
    r = c.getresponse()
    return r.status, r.read()
st, body = get("/events?limit=50")
page1 = json.loads(body)
assert st == 200 and len(page1["events"]) == 50, st
st, body = get("/events?limit=500")
mid = json.loads(body)["events"][-1]["id"]
first = page1["events"][0]
cases = [("newest page of 50", "/events?limit=50"),
         ("page of 50 ?before= (deep)", "/events?limit=50&before=" + mid),
         ("from/to window", f"/events?limit=50&from={first['start'] - 3600}&to={first['start']}"),
         ("one event", "/events/" + first["id"])]
print(f"{'request':<30} {'p50':>8} {'p90':>8} {'max':>8}  {'<=100 ms':>8}")
worst = 0
for name, path in cases:
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        st, body = get(path)
        ts.append((time.perf_counter() - t0) * 1000)
        assert st == 200, (path, st)
    ts.sort()
    p50, p90, mx = ts[len(ts) // 2], ts[int(len(ts) * 0.9)], ts[-1]
    worst = max(worst, p90)
    print(f"{name:<30} {p50:8.2f} {p90:8.2f} {mx:8.2f}  {'yes' if p90 <= 100 else 'NO':>8}")
sys.exit(0 if worst <= 100 else 1)
PY
echo
