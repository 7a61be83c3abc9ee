# SPDX-License-Identifier: MIT
"""The documentation's links hold: every relative link of README.md and
docs/*.md names a file of the repository and, with #anchor on a Markdown
file, a heading of that file (GitHub's anchor rules).  A renamed heading or
a moved file then fails here with the page and the link."""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import vigiltest as vt  # noqa: E402

t = vt.Tap()
ROOT = vt.ROOT
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def prose_lines(text):
    """Lines outside fenced code blocks, with inline code spans removed."""
    fence = False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fence = not fence
            continue
        if not fence:
            yield re.sub(r"`[^`]*`", "", line)


def anchors(path):
    """GitHub's heading anchors of a Markdown file."""
    seen = {}
    out = set()
    fence = False
    for line in open(path, encoding="utf-8").read().splitlines():
        if line.lstrip().startswith("```"):
            fence = not fence
            continue
        m = None if fence else re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not m:
            continue
        slug = re.sub(r"[^\w\- ]", "", m.group(1).lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


pages = [os.path.join(ROOT, "README.md")]
docs = os.path.join(ROOT, "docs")
t.ok(os.path.isdir(docs), "docs/ exists")
if os.path.isdir(docs):
    pages += sorted(os.path.join(docs, f) for f in os.listdir(docs)
                    if f.endswith(".md"))
t.ok(len(pages) >= 9, f"README.md and the docs/ pages found ({len(pages)})")

readme_lines = len(open(pages[0], encoding="utf-8").read().splitlines())
t.ok(readme_lines <= 250, f"README.md is at most 250 lines ({readme_lines})")

for page in pages:
    rel = os.path.relpath(page, ROOT)
    bad = []
    count = 0
    text = open(page, encoding="utf-8").read()
    for line in prose_lines(text):
        for target in LINK.findall(line):
            if re.match(r"[a-z][a-z0-9+.-]*:", target):
                continue  # http:, https:, mailto:, man:
            count += 1
            path, _, frag = target.partition("#")
            dest = (os.path.normpath(os.path.join(os.path.dirname(page), path))
                    if path else page)
            if not os.path.exists(dest):
                bad.append(f"{target}: no file {os.path.relpath(dest, ROOT)}")
            elif frag and dest.endswith(".md") and frag not in anchors(dest):
                bad.append(f"{target}: no heading #{frag} in "
                           f"{os.path.relpath(dest, ROOT)}")
    t.ok(not bad, f"{rel}: every relative link resolves ({count} links)",
         "\n".join(bad))

# A file the repository does not have must not be cited as if it did.
for page in pages:
    text = open(page, encoding="utf-8").read()
    t.ok("DESIGN.md" not in text, f"{os.path.relpath(page, ROOT)} cites no DESIGN.md")

t.done()
