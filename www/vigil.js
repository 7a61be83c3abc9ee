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
window.addEventListener('online', retryNow);
window.addEventListener('pageshow', function (e) { if (e.persisted) { pollState(); start(); } });
window.addEventListener('pagehide', stop);

setInterval(function () { watchdog(); render(); renderMotion(); }, 500);
setInterval(sampleImg, 1000);
if (st.hidden) setConn('hidden'); else setConn('connecting');
pollState();
start();

// For tests and the curious: a read-only view of the viewer's state.
window.vigil = {
	get mode() { return st.mode; },
	get conn() { return st.conn; },
	get frames() { return st.frames; },
	get fps() { return fpsNow(); },
	get lastError() { return st.lastError; },
	events: eventsView
};
