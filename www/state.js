// SPDX-License-Identifier: MIT
// state.js: the viewer's model (st: the connection, the frames, the last
// /state answer) and the /state poller.  Whatever the server reports in
// /state reaches the page through onState(): the status bar today, other
// indicators later, each a listener of its own.
import { CFG } from './config.js';

export var st = {
	mode: null,           // stream | img | poll (transport.js chooses)
	conn: 'connecting',   // connecting | live | reconnecting | paused | hidden
	paused: false,
	hidden: document.hidden,
	session: 0,           // bumped by every start/stop: stale async work checks it
	ctrl: null,           // AbortController of the running connection
	retryTimer: 0,
	attempt: 0,
	retryAt: 0,
	connectedAt: 0,
	lastFrameAt: 0,
	framesThisConn: 0,
	emptyConns: 0,        // connections that delivered no frame while the camera was online
	frames: 0,
	drawn: [],            // performance.now() of recently drawn frames
	blob: null,           // the JPEG on screen (for the snapshot button)
	frameTime: null,      // its capture time (ms since the epoch) if known
	width: 0,
	height: 0,
	state: null,          // last /state answer (the server's JSON, as it came)
	stateAt: 0,
	stateFails: 0,
	stateTimer: 0,
	lastError: '',
	accepted: false,      // the current connection got a multipart answer
	bodyFailed: false,    // ... and then failed while its body was read
	pollSeq: null,        // X-Frame-Seq of the last polled snapshot
	unpaced: false,       // the next frame drawn opens a connection
	heldStreams: 0        // streams opened that WebKit holds on to (see transport.js)
};

var listeners = [];

// fn(answer) after every /state poll: the parsed JSON, or null when the
// request failed (st.stateFails counts those).
export function onState(fn) { listeners.push(fn); }

// One /state request at a time: a call while one is out asks for another
// as soon as it is back.
var stateBusy = false, stateAgain = false;
export function pollState() {
	clearTimeout(st.stateTimer);
	st.stateTimer = 0;
	if (st.hidden) return;
	if (stateBusy) { stateAgain = true; return; }
	stateBusy = true;
	// A server that hangs (stopped, or a proxy that holds the request)
	// must count as failing, not as silent: abort after a few seconds.
	var ctrl = new AbortController();
	var timer = setTimeout(function () { ctrl.abort(); }, CFG.stateTimeoutMs);
	var answer = null;
	fetch('state', { cache: 'no-store', credentials: 'same-origin', signal: ctrl.signal })
		.then(function (r) {
			if (!r.ok) throw new Error('state: HTTP ' + r.status);
			return r.json();
		})
		.then(function (j) {
			st.state = j;
			st.stateAt = performance.now();
			st.stateFails = 0;
			answer = j;
		}, function () {
			st.stateFails++;
		})
		.then(function () {
			clearTimeout(timer);
			stateBusy = false;
			listeners.forEach(function (fn) { fn(answer); });
			if (st.hidden) return;
			var again = stateAgain;
			stateAgain = false;
			clearTimeout(st.stateTimer);
			st.stateTimer = setTimeout(pollState, again ? 0 : st.paused ? CFG.statePausedMs : CFG.stateMs);
		});
}

// The camera's status from a recent /state answer, or null (none, or stale).
export function cameraStatus() {
	var s = st.state;
	if (!s || performance.now() - st.stateAt > 5000) return null;
	return s.status;
}

// The frame rate drawn in this page, over the last CFG.fpsWindowMs; NaN
// while it is too soon to tell.
export function fpsNow() {
	var now = performance.now();
	var t = st.drawn.filter(function (x) { return x >= now - CFG.fpsWindowMs; });
	if (t.length < 2) return 0;
	var n = t.length - 1;
	var span = t[n] - t[0];
	if (now - t[0] < 1000) return NaN;   // too soon to tell
	// Intervals between the frames of the window; once the stream falls
	// silent for longer than a few intervals, the time since the first
	// of them, so a stopping stream reads as slowing down to zero.
	if (now - t[n] > 3 * span / n + 250) return n * 1000 / (now - t[0]);
	return n * 1000 / Math.max(span, 1);
}

// Whether the page wants a stream now (not paused, not hidden).
export function wanted() { return !st.paused && !st.hidden; }
