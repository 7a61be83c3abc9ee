// SPDX-License-Identifier: MIT
// vigil.js: the live viewer of vigil (no framework, no build step), and the
// page's one <script>: it wires the modules to the page's events and
// starts.  The modules, each with one purpose:
//   config.js       tunables, the page's URL parameters, the browser's abilities
//   dom.js          the page's elements and small text helpers
//   state.js        the model, and the /state poller (onState: its answers)
//   transport.js    the connection: the way chosen, reconnects, the watchdog
//   mode-stream.js  fetch() of the MJPEG stream, split by multipart.js
//   mode-img.js     the browser's own MJPEG in an <img> (WebKit)
//   mode-poll.js    /snapshot.jpg polled
//   multipart.js    the multipart/x-mixed-replace parser (no DOM)
//   picture.js      frames decoded onto the canvas
//   view.js         the status pill, notice, status bar and title
//   zoom.js         zoom and pan
//   actions.js      snapshot, pause, fullscreen, idle bars
//   motion.js       the motion badge and the motion grid over the picture
//   grid.js         the grid of every camera (a server with several)
//   events.js       the recorded events: list (#events), played by player.js
// They import one another without cycles (server/embed.sh rewrites each
// import to the imported file's versioned URL, and refuses a cycle).
import { el } from './dom.js';
import { st, onState, pollState, fpsNow } from './state.js';
import { start, stop, retryNow, watchdog } from './transport.js';
import { sampleImg } from './mode-img.js';
import { render, setConn, stateChanged } from './view.js';
import { initZoom, zoomIn, zoomOut, zoomReset } from './zoom.js';
import { snapshot, togglePaused, setPaused, toggleFullscreen, setImmersive, fsChanged, wakeLock, poke } from './actions.js';
import { initMotion, renderMotion, toggleGrid } from './motion.js';
import { cameras, inCamera, wantGrid, showGrid, quality, setQuality, wantsSub } from './grid.js';
import { source } from './config.js';
import { initEvents, eventsView } from './events.js';

var app = el.app;

onState(function (answer) {
	if (answer) retryNow();
	stateChanged(answer);
});

initZoom({ activity: poke, doubleClick: toggleFullscreen });
initMotion();
initEvents();

el.pause.addEventListener('click', togglePaused);
el.snap.addEventListener('click', snapshot);
el.fs.addEventListener('click', toggleFullscreen);
el.gridBtn.addEventListener('click', toggleGrid);
el.noticeButton.addEventListener('click', function () { if (st.paused) setPaused(false); });
document.addEventListener('fullscreenchange', fsChanged);
document.addEventListener('webkitfullscreenchange', fsChanged);
document.addEventListener('pointermove', poke, { passive: true });
document.addEventListener('touchstart', poke, { passive: true });

document.addEventListener('keydown', function (e) {
	if (e.ctrlKey || e.metaKey || e.altKey) return;
	var t = e.target;
	var typing = t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
	if (typing) return;
	var onButton = t && t.tagName === 'BUTTON';
	poke();
	switch (e.key) {
	case 'f': case 'F': toggleFullscreen(); break;
	case 's': case 'S': snapshot(); break;
	case 'g': case 'G': toggleGrid(); break;
	case ' ': case 'k': case 'K':
		if (onButton && e.key === ' ') return;   // space activates the focused button
		togglePaused();
		break;
	case '+': case '=': zoomIn(); break;
	case '-': case '_': zoomOut(); break;
	case '0': zoomReset(); break;
	case 'Escape': if (app.classList.contains('immersive')) setImmersive(false); return;
	default: return;
	}
	e.preventDefault();
});

document.addEventListener('visibilitychange', function () {
	if (wantGrid) return;   // the grid (grid.js) has its own
	st.hidden = document.hidden;
	if (st.hidden) {
		// A hidden tab closes its stream: an idle tab costs the camera nothing.
		stop();
		clearTimeout(st.stateTimer);
		setConn('hidden');
	} else {
		st.attempt = 0;
		if (app.classList.contains('fs')) wakeLock(true);
		setConn(st.paused ? 'paused' : 'connecting');
		pollState();
		start();
	}
});
if (wantGrid) {
	// Several cameras: the page opens on the grid; a tile opens a camera's
	// own page (cam/NAME/), this viewer.
	showGrid();
	document.getElementById('quality-box').hidden = false;
} else {
	// One camera's page of several: a way back to the grid, and the
	// quality choice (its sub-stream or its main stream).
	if (inCamera && cameras.length > 1) {
		el.back.hidden = false;
		chooseSource();
	}
	window.addEventListener('online', retryNow);
	window.addEventListener('pageshow', function (e) { if (e.persisted) { pollState(); start(); } });
	window.addEventListener('pagehide', stop);

	setInterval(function () { watchdog(); render(); renderMotion(); }, 500);
	setInterval(sampleImg, 1000);
	if (st.hidden) setConn('hidden'); else setConn('connecting');
	pollState();
	start();
}

// Several cameras: the quality choice picks this camera's stream (SD, or
// Auto on a phone or a slow link: its sub-stream when it has one); a
// change restarts the stream.
function chooseSource() {
	var box = document.getElementById('quality-box');
	var sel = document.getElementById('quality');
	var hasSub = false;
	var pick = function () {
		var path = hasSub && wantsSub(quality()) ? 'sub.mjpg' : 'stream.mjpg';
		if (path === source.path) return;
		source.path = path;
		start();   // a new connection to it (start() closes the old one)
	};
	box.hidden = false;
	sel.value = quality();
	sel.addEventListener('change', function () { setQuality(sel.value); pick(); });
	fetch('../../cameras', { cache: 'no-store', credentials: 'same-origin' })
		.then(function (r) { return r.ok ? r.json() : null; })
		.then(function (j) {
			var me = document.body.getAttribute('data-camera');
			var c = j && Array.isArray(j.cameras) ? j.cameras.filter(function (x) { return x.name === me; })[0] : null;
			hasSub = !!(c && c.sub);
			pick();
		})
		.catch(function () { /* the main stream, as without sub-streams */ });
}

// For tests and the curious: a read-only view of the viewer's state.
window.vigil = {
	get mode() { return st.mode; },
	get conn() { return st.conn; },
	get frames() { return st.frames; },
	get fps() { return fpsNow(); },
	get lastError() { return st.lastError; },
	get grid() { return wantGrid; },
	get source() { return source.path; },
	events: eventsView
};
