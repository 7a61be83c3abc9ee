#!/bin/bash
# SPDX-License-Identifier: MIT
# The browser tests of `make test` (tests/run.sh calls this): Playwright
# (playwright-core from npm, pinned by package-lock.json) driving Debian's
# /usr/bin/chromium against real vigil-capture / vigil-server processes, and
# through nginx with its password; then Firefox (WebDriver BiDi) and
# WebKitGTK (WebKitWebDriver under Xvfb) through compat.js.  Prints TAP;
# exits non-zero on failure.  A browser that is missing is a failure with the
# reason (deploy/deps.sh installs chromium, firefox-esr, webkit2gtk-driver
# and xvfb); VIGIL_BROWSERS=chromium (or chromium,firefox, ...) leaves the
# other engines out on purpose, reported as skipped.
# No browser is downloaded: PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1.
set -u
cd "$(dirname "$0")" || exit 1
here=$(pwd)
root=$(cd ../.. && pwd)
export VIGIL_ROOT=${VIGIL_ROOT:-$root}
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
export CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

fail() { # a setup failure is a failed test with its reason, never a skip
	echo "not ok 1 - browser test setup: $*"
	echo "1..1"
	exit 1
}

command -v node >/dev/null 2>&1 || fail "node is not installed (deploy/deps.sh installs nodejs)"
command -v npm >/dev/null 2>&1 || fail "npm is not installed (deploy/deps.sh installs npm)"
[ -x "$CHROMIUM" ] || fail "$CHROMIUM is missing (deploy/deps.sh installs chromium)"
build=${VIGIL_BUILD:-build}
case $build in /*) ;; *) build=$VIGIL_ROOT/$build ;; esac
for b in vigil-capture vigil-server; do
	[ -x "$build/$b" ] || fail "$build/$b is not built (make)"
done

# node_modules is installed from the lockfile, once; a lockfile newer than
# the installed tree reinstalls.
mkdir -p "$VIGIL_ROOT/build/test-logs"
if [ ! -d node_modules/playwright-core ] ||
	[ package-lock.json -nt node_modules/.package-lock.json ]; then
	echo "# npm ci (playwright-core from package-lock.json, no browser download)"
	npm ci --no-audit --no-fund --loglevel=error >"$VIGIL_ROOT/build/test-logs/browser-npm-ci.log" 2>&1 ||
		fail "npm ci failed: $(tail -3 "$VIGIL_ROOT/build/test-logs/browser-npm-ci.log" | tr '\n' ' ')"
fi

# Node 20 has WebSocket (for Firefox's WebDriver BiDi) behind a flag, node 22
# without; a node with neither fails the Firefox checks, saying so.
ws=()
if [ "$(node -p 'typeof WebSocket' 2>/dev/null)" != function ] &&
	[ "$(node --experimental-websocket --no-warnings -p 'typeof WebSocket' 2>/dev/null)" = function ]; then
	ws=(--experimental-websocket --no-warnings)
fi
exec node "${ws[@]}" "$here/viewer.test.js"
