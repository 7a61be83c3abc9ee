// SPDX-License-Identifier: MIT
// config.js: the viewer's tunables, what the page's URL asks for, and what
// this browser can do.  No side effects beyond reading location and
// navigator.

export var CFG = {
	backoffMin: 250,      // ms before the first retry after a drop
	backoffMax: 4000,     // retry interval cap
	stallMs: 4000,        // no frame for this long while the camera is online: reconnect
	stateMs: 1000,        // /state poll period while streaming
	statePausedMs: 5000,  // ... while paused
	stateTimeoutMs: 3000, // a /state answer slower than this is a failure
	pollMaxFps: 5,        // snapshot-polling mode rate cap (nginx allows 10 requests/s)
	fpsWindowMs: 3000,    // frame rate measured over this window
	maxPartBytes: 16 << 20,
	maxHeaderBytes: 16384,
	zoomMax: 8,
	maxHeldStreams: 4     // streams a WebKit page opens before polling instead (transport.js)
};

export var params = new URLSearchParams(location.search);

// Which of the camera's streams the viewer shows: stream.mjpg (the main
// one) or sub.mjpg (its sub-stream; vigil.js switches with the quality
// choice of a server with several cameras, grid.js).
export var source = { path: 'stream.mjpg' };

// ?fps=N in the page's URL caps the stream's rate (the server's own
// ?fps=N), for a slow link: a phone on mobile data.
export function fpsCap(sep) {
	var n = parseInt(params.get('fps'), 10);
	return n >= 1 && n <= 1000 ? sep + 'fps=' + n : '';
}

export var canStream = typeof ReadableStream !== 'undefined' &&
	typeof Response !== 'undefined' && 'body' in Response.prototype &&
	typeof AbortController !== 'undefined';

// WebKit (Safari, every iOS browser, WebKitGTK): the behaviour described in
// transport.js is what makes the page move on to the <img> way, but the
// fetch that WebKit fails stays open at the server until the page closes,
// so its name saves that first, doomed attempt.  Chrome, Edge, Opera say
// "Chrome/".
export var webkitOnly = /AppleWebKit\//.test(navigator.userAgent) && !/Chrome\/|Chromium\//.test(navigator.userAgent);

// The three ways to show the camera, in the order they are tried.
export var MODES = ['stream', 'img', 'poll'];
// ?mode=stream|img|poll in the page's URL forces one.
export var forcedMode = MODES.indexOf(params.get('mode')) >= 0 ? params.get('mode') : null;
