#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Motion detection judged on the labelled corpus (tests/motion/).

Each clip of tests/motion/corpus.py runs through vigil-capture (--source
stdin at the clip's pace; testsrc for capture's own overlay clock) and a
vigil-server; the X-Motion headers of /stream.mjpg (or, from a server
without them, each frame's motion flag in the ring, read with
tools/ringcat) are compared with the clip's labels
(tests/motion/evaluate.py).  Per clip: the clip is sound
(frame count, size, decodes), every frame carries X-Motion, every real
motion is declared within 0.5 s of its start and cleared within the hold
+ 1 s of its end, and nothing else raises X-Motion: 1.  Four clips run at a
time.  The table goes to the TAP diagnostics and build/motion-corpus/
report.txt.
"""
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "motion"))
import vigiltest as vt  # noqa: E402
import corpus  # noqa: E402
import evaluate  # noqa: E402

t = vt.Tap()


def clip_sound(lab):
    """The clip file holds the labelled number of JPEGs, of the labelled
    size, that libjpeg-turbo decodes (first, middle and last checked)."""
    name = lab["name"]
    if lab["source"] != "stdin":
        t.ok(True, f"{name}: runs on --source {lab['source']} (no clip file)")
        return True
    try:
        jpegs = evaluate.load_frames(lab)
    except OSError as e:
        return t.ok(False, f"{name}: clip file readable", str(e))
    bad = []
    if len(jpegs) != lab["frames"]:
        bad.append(f"{len(jpegs)} JPEGs in {lab['file']}, labels say "
                   f"{lab['frames']}")
    for i in sorted({0, len(jpegs) // 2, len(jpegs) - 1}):
        if i < 0 or i >= len(jpegs):
            continue
        try:
            w, h, _ = vt.jpeg_decode(jpegs[i])
            if (w, h) != (lab["width"], lab["height"]):
                bad.append(f"frame {i} is {w}x{h}, labels say "
                           f"{lab['width']}x{lab['height']}")
        except ValueError as e:
            bad.append(f"frame {i} does not decode: {e}")
    return t.ok(not bad, f"{name}: clip of {lab['frames']} frames "
                f"{lab['width']}x{lab['height']} at {lab['fps']} fps decodes",
                "\n".join(bad))


def report(r, lab):
    name = r["name"]
    run_fail = [f for f in r["failures"]
                if f.startswith(("run failed", "no frame", "received",
                                 "no X-Motion"))]
    if r.get("path") == "ring":
        what = (f"{name}: every frame streamed and its motion state read "
                "from the ring (the server sends no X-Motion)")
    else:
        what = (f"{name}: every frame streamed with X-Motion and "
                "X-Motion-Score (a frame the loaded client missed: read "
                "from the ring)")
    t.ok(not run_fail, what, "\n".join(run_fail))
    judged = not run_fail
    rows = {(row["start"], row["end"]): row for row in r["rows"]}
    hold = lab["hold"] or 0
    for s, e in lab["motion"]:
        what = (f"{name}: motion {s:.2f}-{e:.2f} s declared within "
                f"{evaluate.START_LIMIT} s and cleared within "
                f"{hold + evaluate.CLEAR_EXTRA:.1f} s")
        row = rows.get((s, e))
        if not judged or row is None:
            t.ok(False, what, "cannot judge: " + "; ".join(run_fail))
            continue
        t.ok(row["ok"], what,
             f"{row['why']} (declared after {evaluate._f(row['delay'])} s, "
             f"cleared after {evaluate._f(row['clear'])} s; periods found: "
             + (" ".join(evaluate._iv(p) for p in r["found"]) or "none")
             + ")")
    what = (f"{name}: no false alarm" if lab["motion"]
            else f"{name}: no X-Motion: 1 at all ({lab['description']})")
    if not judged:
        t.ok(False, what, "cannot judge: " + "; ".join(run_fail))
    else:
        t.ok(not r["false_alarms"], what, "periods matching no real motion: "
             + " ".join(evaluate._iv(p) for p in r["false_alarms"]))


def main():
    t0 = time.monotonic()
    try:
        labels = corpus.generate(log=t.diag)
    except Exception as e:  # ffmpeg missing or failing: a failure, said so
        t.ok(False, "corpus generated (tests/motion/corpus.py)", repr(e))
        return
    t.ok(len(labels) >= 12, f"corpus generated: {len(labels)} clips in "
         f"{time.monotonic() - t0:.1f} s")
    sound = [lab for lab in labels if clip_sound(lab)]
    by_name = {lab["name"]: lab for lab in labels}
    t0 = time.monotonic()
    results = evaluate.evaluate(
        sound, parallel=4, on_result=lambda r: report(r, by_name[r["name"]]))
    t.diag(f"corpus run in {time.monotonic() - t0:.1f} s")
    t.diag(evaluate.table(results))
    t.ok(os.path.exists(os.path.join(corpus.OUT, "report.txt")),
         "report written to build/motion-corpus/report.txt")


t.run(main)
t.done()
