// SPDX-License-Identifier: MIT
// transport.js: the connection to the camera: which of the three ways
// (modes) shows it, opening and closing it, reconnecting with backoff, the
// watchdog for a stream that stalls without closing, and falling back to
// the next way when one never delivers.
//
// Why not simply <img src="stream.mjpg">: an <img> showing MJPEG gives a
// page no reliable signal (Chrome fires neither "load" nor "error" when a
// multipart stream ends or stalls, Firefox fires "load" per part, WebKit
// empties the picture without an event).  With fetch() the page knows
// exactly when each frame arrives (so it measures the frame rate and
// notices a stalled stream), when the stream ends (reconnect), and it
// closes the connection on pause or when the tab is hidden.  The ways, in
// the order they are tried, the first that works kept (and remembered for
// a week in localStorage):
//   stream: fetch() + canvas (Chrome, Edge, Firefox): mode-stream.js;
//   img:    the browser's own MJPEG in an <img> (WebKit): mode-img.js;
//   poll:   /snapshot.jpg a few times a second: mode-poll.js.
// Everything it needs is same-origin: connect-src 'self' and img-src blob:
// in the server's Content-Security-Policy cover it.
import { CFG, MODES, canStream, forcedMode, webkitOnly } from './config.js';
import { el } from './dom.js';
import { runImg, keepStill } from './mode-img.js';
import { runPoll } from './mode-poll.js';
import { runStream } from './mode-stream.js';
import { partMotion } from './motion.js';
import { show, dropPending } from './picture.js';
import { st, wanted, pollState } from './state.js';
import { setConn, render } from './view.js';

var MODE_KEY = 'vigil.mode';

// The mode that worked last time in this browser (a week at most: a
// fallback forced by a proxy that has since been fixed does not stick).
function savedMode() {
	try {
		var m = JSON.parse(localStorage.getItem(MODE_KEY) || 'null');
		if (m && MODES.indexOf(m.mode) > 0 && Date.now() - m.at < 7 * 864e5) return m.mode;
	} catch (e) { /* storage disabled */ }
	return null;
}

function saveMode(m) {
	try {
		if (m === 'stream') localStorage.removeItem(MODE_KEY);
		else localStorage.setItem(MODE_KEY, JSON.stringify({ mode: m, at: Date.now() }));
	} catch (e) { /* storage disabled */ }
}

st.mode = forcedMode || savedMode() || (canStream && !webkitOnly ? 'stream' : 'img');

// Whether this browser holds on to the streams it opened (WebKit: see
// start()); known by its name, or by the way it fails a fetch() stream.
var holdsStreams = webkitOnly;

// The capture time of a part (its X-Timestamp, seconds since the epoch) in
// ms, or null.
export function frameTimeOf(h) {
	var t = h && h['x-timestamp'] ? Number(h['x-timestamp']) : NaN;
	return isFinite(t) && t > 0 ? t * 1000 : null;
}

// A frame arrived on the connection of session s.
function onFrame(s, headers, bytes) {
	if (s !== st.session) return;
	st.lastFrameAt = performance.now();
	st.framesThisConn++;
	st.attempt = 0;
	st.emptyConns = 0;
	if (st.conn !== 'live') {
		// The first part of a connection is the server's newest frame,
		// sent at once: not paced by the camera, it is left out of the
		// frame rate.
		st.drawn = [];
		st.unpaced = true;
		setConn('live');
		// The viewer count now includes this page: ask soon.
		setTimeout(pollState, 150);
	}
	// vigil-server numbers its "camera offline" picture 0 (X-Frame-Seq).
	var offline = headers['x-frame-seq'] === '0';
	partMotion(headers);
	show({ blob: new Blob([bytes], { type: 'image/jpeg' }), time: frameTimeOf(headers), offline: offline });
}

// Closes the connection (if any); pending work of it is dropped.
export function stop() {
	st.session++;
	dropPending();
	if (st.ctrl && st.mode === 'img') keepStill();
	if (st.ctrl) { st.ctrl.abort(); st.ctrl = null; }
	clearTimeout(st.retryTimer);
	st.retryTimer = 0;
}

// Opens a new connection (closing the old one) if the page wants one.
export function start() {
	stop();
	if (!wanted()) return;
	var s = st.session;
	st.ctrl = new AbortController();
	st.connectedAt = performance.now();
	st.framesThisConn = 0;
	if (st.conn !== 'reconnecting') setConn(st.frames ? 'reconnecting' : 'connecting');
	if (st.mode !== 'img') el.app.classList.remove('img-mode');
	// WebKit holds on to every stream the page opened until the page
	// closes: an <img> stream whose src changed (its connection left open,
	// unread) and one that the server closed alike, and the fetch it
	// failed.  Each keeps one of its six connections to the server busy:
	// with six, no request of the page gets through any more, not even
	// /state, and the page would reconnect forever (measured in WebKitGTK:
	// six server restarts, or pauses, or a tab hidden six times).  Past a
	// few, snapshots are polled instead, which hold no connection and
	// leave room for /state and the snapshot button.
	if (st.mode === 'img' && holdsStreams && st.heldStreams >= CFG.maxHeldStreams) st.mode = 'poll';
	if (st.mode !== 'poll' && holdsStreams) st.heldStreams++;
	var run = st.mode === 'stream' ? runStream : st.mode === 'img' ? runImg : runPoll;
	run(s, st.ctrl.signal, function (h, bytes) { onFrame(s, h, bytes); }).then(function () {
		return new Error('the stream ended');
	}, function (e) {
		return e;
	}).then(function (e) {
		if (s !== st.session) return;   // stopped on purpose
		st.lastError = e && e.message ? e.message : String(e);
		if (fellBack()) return;
		retry();
	});
}

// A connection that the server accepted but that brought no frame: in
// stream mode, an error while reading the body is how WebKit refuses to
// stream a multipart body to fetch(); otherwise, while the camera said it
// was online, something between here and the server holds the stream
// back.  Twice in a row: the next mode.
function fellBack() {
	if (forcedMode || st.framesThisConn > 0 || !st.accepted) { st.emptyConns = 0; return false; }
	var next = MODES[MODES.indexOf(st.mode) + 1];
	if (!next) return false;
	var online = st.state && st.state.status === 'online' && performance.now() - st.stateAt < 3000;
	// Twice in a row: one server killed between its headers and its first
	// frame must not send a Chrome to the <img> way for a week.
	if (st.mode === 'stream' && st.bodyFailed && !holdsStreams) {
		holdsStreams = true;
		st.heldStreams++;   // this fetch, opened before that was known
	}
	if (online || (st.mode === 'stream' && st.bodyFailed)) st.emptyConns++;
	if (st.emptyConns < 2) return false;
	st.emptyConns = 0;
	st.mode = next;
	saveMode(next);
	start();
	return true;
}

function retry() {
	stop();
	if (!wanted()) return;
	setConn('reconnecting');
	var d = Math.min(CFG.backoffMax, CFG.backoffMin * Math.pow(2, st.attempt));
	d = d * (0.8 + 0.4 * Math.random());
	st.attempt++;
	st.retryAt = performance.now() + d;
	st.retryTimer = setTimeout(start, d);
	render();
}

// The server answers again (its /state works, the browser is online): do
// not wait out the backoff.
export function retryNow() {
	if (st.retryTimer && wanted()) {
		clearTimeout(st.retryTimer);
		st.retryTimer = 0;
		start();
	}
}

// A stream that delivers nothing although the camera is online is stuck
// (a proxy or server hung without closing, an <img> whose stream ended
// without an event, a snapshot request that never returns): reconnect.
// While the camera is offline the server sends its "offline" picture only
// once a second, and /state says offline, so that silence is not taken
// for a stall.  Called twice a second.
export function watchdog() {
	if (!wanted() || !st.ctrl) return;
	var now = performance.now();
	var quiet = now - Math.max(st.lastFrameAt, st.connectedAt);
	var fps = (st.state && st.state.fps) || 1;
	var limit = Math.max(st.mode === 'img' ? 1.5 * CFG.stallMs : CFG.stallMs, 4000 / fps);
	// A server that no longer answers /state is gone: no need to wait as
	// long for its stream to prove stuck.
	if (st.stateFails >= 2) limit = Math.min(limit, 2000);
	if (quiet < limit) return;
	var stateFresh = now - st.stateAt < 2500;
	var online = stateFresh && st.state && st.state.status === 'online';
	if (online || st.stateFails >= 3) {
		st.lastError = 'no frame for ' + Math.round(quiet / 1000) + ' s';
		// An <img> that never showed a frame while the camera was online
		// counts as an accepted, silent connection (the browser does not
		// say whether the server answered).
		if (st.mode === 'img' && !st.framesThisConn && online) st.accepted = true;
		if (!fellBack()) retry();
	}
}
