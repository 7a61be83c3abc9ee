# SPDX-License-Identifier: MIT
"""The labelled motion corpus: clips made with ffmpeg, with their labels.

Each clip is a file of concatenated JPEGs (what `vigil-capture --source
stdin` reads) plus a JSON label file beside it:

    name, description, source ("stdin", or "testsrc" for the one clip that
    needs capture's own overlay), file, fps, width, height, frames, duration,
    motion: [[start, end], ...]   seconds from the first frame; real motion,
                                  intervals closer than hold + 1 s merged
    hold: the --motion-hold the clip runs with (None: no motion expected)
    flags: extra vigil-capture flags the clip needs (a mask, a hold)
    objects: what moves, its size in pixels and speed (for the reader)

The scene is synthetic (no photo or footage ships with Debian that fits):
a yard and a street drawn with lavfi (sky, houses, windows, road, hedge,
grain), people drawn as figures with a head, arms and two walking poses,
and temporal sensor noise on every clip.  A motion starts when the first
pixel of the object enters the picture and ends when its last pixel leaves
it, or when it stops.

Clips are written to build/motion-corpus/ and kept until this file (or
ffmpeg) changes.  Usage: python3 tests/motion/corpus.py [--force] [NAME...]
"""
import hashlib
import json
import os
import random
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.environ.get("VIGIL_ROOT") or os.path.abspath(
    os.path.join(HERE, "..", ".."))
OUT = os.path.join(ROOT, os.environ.get("VIGIL_BUILD", "build"),
                   "motion-corpus")
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"
W, H, FPS = 1280, 720, 10

# The flags that make testsrc a still scene (no crossing object, no frame
# counter) for the overlay-clock clip.
TESTSRC_STILL = ["--testsrc-motion", "off"]

# Sensor noise on every clip: temporal, on luma and chroma.
NOISE = "noise=c0s=7:c0f=t:c1s=4:c1f=t:c2s=4:c2f=t"


def _hash():
    h = hashlib.sha256()
    with open(os.path.abspath(__file__), "rb") as f:
        h.update(f.read())
    try:
        v = subprocess.run(["ffmpeg", "-version"], capture_output=True,
                           check=True).stdout.split(b"\n", 1)[0]
    except (OSError, subprocess.CalledProcessError):
        v = b"no ffmpeg"
    h.update(v)
    return h.hexdigest()[:16]


# ------------------------------------------------------------ sprites

def _sprite(path, w, h, frames):
    """Writes RGBA frames (lists of rows of (r, g, b, a)) as raw video."""
    with open(path, "wb") as f:
        for fr in frames:
            for row in fr:
                for px in row:
                    f.write(bytes(px))


def _person(w, h, seed, pose):
    """A person seen from the side, w x h: head, torso, arms, two legs; pose
    0 legs together, 1 legs apart (a step)."""
    rnd = random.Random(seed)
    shirt = rnd.choice([(180, 40, 40), (40, 70, 160), (230, 200, 60),
                        (60, 130, 60), (220, 220, 220), (30, 30, 30)])
    pants = rnd.choice([(40, 40, 70), (70, 60, 50), (20, 20, 20)])
    skin = rnd.choice([(230, 190, 160), (180, 130, 100), (120, 80, 60)])
    hair = (40, 30, 20)
    img = [[(0, 0, 0, 0)] * w for _ in range(h)]

    def put(x, y, c):
        if 0 <= x < w and 0 <= y < h:
            img[y][x] = c + (255,)

    head_r = max(2.0, h / 15.0)
    cx, cy = w / 2.0, head_r + 0.5
    for y in range(h):
        for x in range(w):
            dx, dy = x + 0.5 - cx, y + 0.5 - cy
            if dx * dx + dy * dy <= head_r * head_r:
                put(x, y, hair if dy < -head_r / 3 else skin)
    top, hip = int(2 * head_r + 1), int(h * 0.55)
    tw = max(3, int(w * 0.45))
    for y in range(top, hip):
        for x in range(int(cx - tw / 2), int(cx + tw / 2) + 1):
            put(x, y, shirt)
    # arms: one in front, one behind, swinging with the pose
    swing = (w * 0.22) if pose else 0
    for y in range(top + 1, int(h * 0.52)):
        f = (y - top) / max(1, h * 0.52 - top)
        for s in (-1, 1):
            x = int(cx + s * f * swing + s * (tw / 2 if not pose else 0))
            put(x, y, skin if f > 0.8 else shirt)
    # legs
    lw = max(1, int(w * 0.16))
    for y in range(hip, h):
        f = (y - hip) / max(1, h - hip)
        spread = f * w * 0.32 if pose else 0
        for s in (-1, 1):
            x0 = int(cx + s * (lw * 0.6 + spread) - lw / 2)
            for x in range(x0, x0 + lw + 1):
                put(x, y, pants if f < 0.92 else (20, 20, 20))
    return img


def _car(w, h):
    img = [[(0, 0, 0, 0)] * w for _ in range(h)]
    body, glass, tyre = (150, 30, 30), (60, 80, 100), (15, 15, 15)
    for y in range(h):
        for x in range(w):
            c = None
            if y >= h * 0.45 and y < h * 0.85:
                c = body
            elif y >= h * 0.08 and y < h * 0.45 and w * 0.22 <= x < w * 0.78:
                inner = w * 0.26 <= x < w * 0.74 and y > h * 0.14
                c = glass if inner and not (w * 0.49 <= x < w * 0.51) \
                    else body
            for wx in (w * 0.2, w * 0.8):
                r = h * 0.17
                if (x - wx) ** 2 + (y - h * 0.83) ** 2 <= r * r:
                    c = tyre
            if c:
                img[y][x] = c + (255,)
    return img


def _bird(w, h, pose):
    img = [[(0, 0, 0, 0)] * w for _ in range(h)]
    c = (35, 30, 30, 255)
    for y in range(h):
        for x in range(w):
            dx, dy = (x + 0.5 - w / 2) / (w / 2), (y + 0.5 - h / 2) / (h / 2)
            body = dx * dx / 0.5 + dy * dy / 0.2 <= 1
            wing = abs(dx) < 1 and (
                (dy < 0 and abs(dy + abs(dx) * 0.8) < 0.3) if pose
                else abs(dy - abs(dx) * 0.5) < 0.3)
            if body or wing:
                img[y][x] = c
    return img


def _tree(w, h, seed):
    """A tree crown with leaf texture (seed: the leaves' state) on a
    trunk."""
    rnd = random.Random(seed)
    img = [[(0, 0, 0, 0)] * w for _ in range(h)]
    crown_h = h * 0.72
    for y in range(h):
        for x in range(w):
            dx, dy = (x + 0.5 - w / 2) / (w / 2), (y + 0.5 - crown_h / 2) / (
                crown_h / 2)
            if dx * dx + dy * dy <= 1 and rnd.random() < 0.93:
                g = rnd.randint(60, 150)
                img[y][x] = (g // 3, g, g // 4, 255)
            elif y >= crown_h * 0.8 and abs(x + 0.5 - w / 2) < w * 0.06:
                img[y][x] = (80, 60, 40, 255)
    return img


# ------------------------------------------------------------ the scene

def _background(path):
    """A street with houses in front of a yard, 1280x720, grain."""
    boxes = [
        (0, 0, W, 260, "0x9db4cc"),  # sky
        (0, 200, W, 70, "0x8ea0b0"),  # haze on the horizon
        (40, 110, 330, 230, "0xb08968"),  # house 1
        (20, 80, 370, 40, "0x6b3b2b"),  # roof 1
        (420, 150, 260, 190, "0xd0c8b0"),  # house 2
        (400, 125, 300, 30, "0x505560"),  # roof 2
        (760, 90, 420, 250, "0x9a9a90"),  # house 3
        (740, 60, 460, 35, "0x40404a"),  # roof 3
        (0, 340, W, 40, "0xa8a8a0"),  # far sidewalk
        (0, 380, W, 150, "0x5c5c5e"),  # road
        (0, 452, W, 4, "0xd8d8d0"),  # road marking
        (0, 530, W, 40, "0xb0aca0"),  # near sidewalk
        (0, 570, W, 150, "0x5d7a3a"),  # lawn
        (0, 560, W, 22, "0x3e5a2a"),  # hedge
    ]
    windows = []
    for hx, hy, n in ((70, 160, 4), (450, 190, 3), (790, 140, 5)):
        for i in range(n):
            windows.append((hx + i * 75, hy, 45, 55, "0x2a3440"))
            windows.append((hx + i * 75, hy + 90, 45, 55, "0x303a48"))
    chain = [f"color=c=0x808080:s={W}x{H}:d=0.1:r=1", "format=rgb24"]
    for x, y, w, h, c in boxes + windows:
        chain.append(f"drawbox=x={x}:y={y}:w={w}:h={h}:c={c}:t=fill")
    chain += ["noise=alls=40:allf=u", "gblur=sigma=1.6",
              "noise=alls=14:allf=u"]
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    ",".join(chain), "-frames:v", "1", path], check=True)


# ------------------------------------------------------------ clips

def _cross(t0, speed, w, left=True):
    """x(t) of an object crossing the whole width from t0 (entering at t0);
    returns (expression, [t0, t_out])."""
    t1 = t0 + (W + w) / speed
    if left:
        x = f"-{w}+{speed}*(t-{t0})"
    else:
        x = f"{W}-{speed}*(t-{t0})"
    return f"if(between(t,{t0},{t1}),{x},-10000)", [t0, round(t1, 3)]


def _in_and_out(t0, speed, w, depth, left=True):
    """An object walking in from an edge `depth` pixels and back out."""
    half = (w + depth) / speed
    t1 = t0 + 2 * half
    d = f"({speed}*({half}-abs(t-{t0}-{half})))"
    x = f"-{w}+{d}" if left else f"{W}-{d}"
    return f"if(between(t,{t0},{t1}),{x},-10000)", [t0, round(t1, 3)]


def _clips():
    """The corpus: a list of clip definitions.  An object: (sprite name,
    sprite frames, w, h, sprite fps, x expr, y expr, interval or None, what
    it is)."""
    people = {}

    def person(w, h, seed):
        key = f"person{w}x{h}s{seed}"
        people[key] = ([_person(w, h, seed, 0), _person(w, h, seed, 1)], w,
                       h, 3)
        return key

    sprites = {}
    c = []

    # 1. a still scene with sensor noise
    c.append(dict(name="still_noise", duration=10, objects=[],
                  description="still yard and street, sensor noise"))

    # 2. people walking: one near, one at mid distance
    a, ia = _cross(2.0, 160, 90)
    b, ib = _in_and_out(4.0, 100, 45, 260, left=False)
    c.append(dict(name="walk_near", duration=14, hold=2, objects=[
        (person(90, 220, 1), a, "470", ia, "person near the camera, "
         "90x220, 160 px/s left to right across the lawn"),
        (person(45, 108, 2), b, "430", ib, "person mid distance, 45x108, "
         "100 px/s, in from the right edge 260 px and back"),
    ], description="two people walking, near and mid distance"))

    # 3. people far away, small: about 25x50 each
    a, ia = _in_and_out(2.0, 45, 25, 120)
    b, ib = _in_and_out(2.5, 40, 24, 110, left=False)
    c.append(dict(name="walk_far", duration=12, hold=2, objects=[
        (person(25, 50, 3), a, "300", ia, "far person, 25x50, 45 px/s, in "
         "from the left edge 120 px on the far sidewalk and back"),
        (person(24, 50, 4), b, "298", ib, "far person, 24x50, 40 px/s, in "
         "from the right edge 110 px and back"),
    ], description="two small people far away (25x50 px) must be detected"))

    # 4. an object enters, stops and stays
    sprites["car220x90"] = ([_car(220, 90)], 220, 90, 1)
    c.append(dict(name="enter_stop", duration=15, hold=2, objects=[
        ("car220x90", f"if(lt(t,2),{W},if(lt(t,5),{W}-250*(t-2),{W}-750))",
         "372", [2.0, 5.0], "car, 220x90, in from the right at 250 px/s at "
         "2 s, stops at 5 s at x=530 and stays"),
    ], description="a car enters, stops and stays: motion ends, the scene "
       "adapts"))

    # 5. a bird: 12x8 crossing the sky (no motion)
    sprites["bird12x8"] = ([_bird(12, 8, 0), _bird(12, 8, 1)], 12, 8, 6)
    x, _ = _cross(2.0, 200, 12)
    c.append(dict(name="bird", duration=11, objects=[
        ("bird12x8", x, "150-40*sin(t)", None, "bird, 12x8, 200 px/s across "
         "the sky, 2 s to 8.5 s, flapping"),
    ], description="a bird-sized object crossing: no motion"))

    # 6. separate walks with --motion-hold 1
    objs = []
    for i, (t0, left) in enumerate(((1.5, True), (8.5, False),
                                    (15.5, True))):
        x, iv = _in_and_out(t0, 120, 40, 140, left=left)
        objs.append((person(40, 95, 10 + i), x, "440", iv,
                     f"person {i + 1}, 40x95, 120 px/s, in from the "
                     f"{'left' if left else 'right'} edge 140 px and back"))
    c.append(dict(name="walks_separate", duration=21, hold=1, objects=objs,
                  flags=["--motion-hold", "1"],
                  description="three walks 4 s apart: three periods with "
                  "--motion-hold 1"))

    # 7. a light switched on and off (no motion)
    c.append(dict(name="lightswitch", duration=14, objects=[],
                  light="eq=brightness='if(between(t,4,9),0.18,0)':"
                  "contrast='if(between(t,4,9),1.15,1)':eval=frame",
                  description="the light on at 4 s, off at 9 s: no motion"))

    # 8. dawn: a slow brightness ramp (no motion)
    c.append(dict(name="dawn", duration=20, objects=[],
                  light="eq=brightness='-0.25+0.25*t/20':"
                  "contrast='0.6+0.4*t/20':eval=frame",
                  description="slow brightness ramp over 20 s: no motion"))

    # 9. a dark, very noisy night picture (no motion)
    c.append(dict(name="night", duration=12, objects=[],
                  light="hue=s=0,eq=brightness=-0.33:contrast=0.35",
                  noise="noise=c0s=40:c0f=t:c1s=6:c1f=t:c2s=6:c2f=t",
                  description="dark infrared night picture, heavy noise: no "
                  "motion"))

    # 10. a tree swaying in a masked region
    sprites["tree240x300"] = ([_tree(240, 300, s) for s in range(3)], 240,
                              300, 5)
    c.append(dict(name="masked_tree", duration=14, objects=[
        ("tree240x300", "930+30*sin(2*PI*t/2.2)", "40", None,
         "tree, 240x300, swaying 30 px each way every 2.2 s, leaves "
         "fluttering, inside the mask (x 870-1200, y 40-340)"),
    ], flags=["--motion-mask", "68,3,30,60"],
        description="a swaying tree inside --motion-mask 68,3,30,60: no "
        "motion"))

    # 11. a camera's own clock in its JPEGs (no motion)
    osd = (f"drawtext=fontfile={FONT}:text='%{{pts\\:gmtime\\:1764565200\\:"
           "%Y-%m-%d %H\\\\\\:%M\\\\\\:%S}':x=24:y=20:fontsize=34:"
           "fontcolor=white:borderw=2:bordercolor=black,"
           f"drawtext=fontfile={FONT}:text='CAM-01':x=1120:y=670:"
           "fontsize=28:fontcolor=white:borderw=2:bordercolor=black")
    c.append(dict(name="camera_clock", duration=12, objects=[], osd=osd,
                  description="the camera's own clock burned into the JPEGs "
                  "(top left, 34 px text, ticking each second): no motion"))

    # 12. capture's own overlay clock (testsrc: stdin pictures get none)
    c.append(dict(name="capture_clock", duration=12, objects=[],
                  source="testsrc",
                  flags=TESTSRC_STILL + ["--overlay", "%Y-%m-%d %H:%M:%S"],
                  description="--source testsrc, still, with capture's "
                  "overlay clock ticking: no motion"))

    sprites.update(people)
    return c, sprites


def _flags(clip):
    """The clip's capture flags; a clip with motion states its hold."""
    f = list(clip.get("flags", []))
    if clip.get("hold") is not None and "--motion-hold" not in f:
        f += ["--motion-hold", str(clip["hold"])]
    return f


def _merge(intervals, hold):
    out = []
    for s, e in sorted(intervals):
        if out and s - out[-1][1] < hold + 1:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return out


def _render(clip, sprites, bg, path):
    n = int(clip["duration"] * FPS)
    args = ["ffmpeg", "-v", "error", "-y", "-loop", "1", "-framerate",
            str(FPS), "-i", bg]
    graph = ["[0:v]format=rgb24,setpts=N/FRAME_RATE/TB[s0]"]
    cur = "s0"
    for i, obj in enumerate(clip["objects"]):
        key, x, y = obj[0], obj[1], obj[2]
        frames, w, h, sfps = sprites[key]
        args += ["-stream_loop", "-1", "-f", "rawvideo", "-pix_fmt", "rgba",
                 "-s", f"{w}x{h}", "-framerate", str(sfps), "-i",
                 os.path.join(OUT, "sprites", key + ".rgba")]
        nxt = f"s{i + 1}"
        graph.append(f"[{cur}][{i + 1}:v]overlay=x='{x}':y='{y}':"
                     f"eval=frame:format=rgb[{nxt}]")
        cur = nxt
    post = []
    if clip.get("osd"):
        post.append(clip["osd"])
    if clip.get("light"):
        post.append(clip["light"])
    post += [clip.get("noise", NOISE), "format=yuvj420p"]
    graph.append(f"[{cur}]" + ",".join(post) + "[out]")
    script = path + ".graph"
    with open(script, "w") as f:
        f.write(";\n".join(graph))
    args += ["-filter_complex_script", script, "-map", "[out]", "-frames:v",
             str(n), "-r", str(FPS), "-c:v", "mjpeg", "-q:v", "4", "-f",
             "mjpeg", path + ".tmp"]
    subprocess.run(args, check=True)
    os.replace(path + ".tmp", path)
    os.unlink(script)
    return n


def generate(names=None, force=False, log=None):
    """Makes the clips (those named, or all) unless cached; returns their
    labels, in corpus order."""
    os.makedirs(os.path.join(OUT, "sprites"), exist_ok=True)
    gen = _hash()
    clips, sprites = _clips()
    if names:
        unknown = set(names) - {c["name"] for c in clips}
        if unknown:
            raise ValueError(f"no such clip: {', '.join(sorted(unknown))}")
        clips = [c for c in clips if c["name"] in names]
    bg = os.path.join(OUT, "background.png")
    stamp = os.path.join(OUT, "background.stamp")
    if force or not os.path.exists(bg) or _read(stamp) != gen:
        _background(bg)
        with open(stamp, "w") as f:
            f.write(gen)
    out = []
    for clip in clips:
        lpath = os.path.join(OUT, clip["name"] + ".json")
        try:
            with open(lpath) as f:
                label = json.load(f)
        except (OSError, ValueError):
            label = None
        src = clip.get("source", "stdin")
        mpath = os.path.join(OUT, clip["name"] + ".mjpeg")
        fresh = label and label.get("generator") == gen and (
            src != "stdin" or os.path.exists(mpath))
        if fresh and not force:
            out.append(label)
            continue
        t0 = time.monotonic()
        hold = clip.get("hold")
        motion = [list(o[3]) for o in clip["objects"] if o[3]]
        n = int(clip["duration"] * FPS)
        if src == "stdin":
            for o in clip["objects"]:
                frames, w, h, _ = sprites[o[0]]
                _sprite(os.path.join(OUT, "sprites", o[0] + ".rgba"), w, h,
                        frames)
            _render(clip, sprites, bg, mpath)
        label = dict(
            name=clip["name"], description=clip["description"], source=src,
            file=os.path.basename(mpath) if src == "stdin" else None,
            fps=FPS, width=W, height=H, frames=n,
            duration=clip["duration"],
            motion=_merge(motion, hold) if motion else [],
            hold=hold, flags=_flags(clip),
            objects=[o[4] for o in clip["objects"]], generator=gen)
        with open(lpath, "w") as f:
            json.dump(label, f, indent=1)
        if log:
            log(f"generated {clip['name']} ({n} frames) in "
                f"{time.monotonic() - t0:.1f} s")
        out.append(label)
    return out


def _read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


if __name__ == "__main__":
    argv = sys.argv[1:]
    force = "--force" in argv
    names = [a for a in argv if not a.startswith("--")]
    for lab in generate(names or None, force, log=print):
        print(f"{lab['name']:15} {lab['frames']:4} frames  motion "
              f"{lab['motion']}  flags {lab['flags']}")
