// SPDX-License-Identifier: MIT
// mode-img.js: the "img" way to show the camera: the browser's own MJPEG
// in an <img>, for WebKit (Safari, iOS, WebKitGTK), which answers a fetch()
// of the stream with headers and then fails the body read.  Its "load"
// fires once (Chrome, WebKit) or per part (Firefox), "error" when the
// connection fails; the end of a stream fires nothing, so the page samples
// the picture once a second to see that it moves (sampleImg), and watches
// for the stream's Resource Timing entry (watchEnd).
import { fpsCap, source } from './config.js';
import { el, root } from './dom.js';
import { copyImg } from './picture.js';
import { st, wanted } from './state.js';
import { setConn } from './view.js';

var BLANK = 'data:image/gif;base64,R0lGODlhAQABAAAAACwAAAAAAQABAAA=';
var imgSeq = 0;
var imgFail = function () {};
var imgUrl = '';      // the running stream's URL, as its timing entry names it
var imgShownAt = 0;   // performance.now() of its first picture, 0 before

// The end of an <img> stream, where the browser tells it.  WebKit 2.54
// keeps the last picture when the stream ends (2.50 emptied it), with no
// event: the only sign is the stream's Resource Timing entry, which WebKit
// and Firefox file when the response ends.  Chrome files it with the first
// part, before "load", so only an entry of the running stream whose
// response ended after its first picture was shown means the stream is over
// (a server restart, a proxy that closed it).  Without this, a stream that
// ended while the camera was offline would leave the last live picture on
// screen (the watchdog waits only while the camera is online).
var endWatch = null;
function watchEnd() {
	if (endWatch || typeof PerformanceObserver !== 'function') return;
	endWatch = new PerformanceObserver(function (list) {
		list.getEntries().forEach(function (e) {
			if (e.name === imgUrl && imgShownAt && e.responseEnd > imgShownAt) imgFail(new Error('the stream ended'));
		});
	});
	try {
		endWatch.observe({ entryTypes: ['resource'] });
	} catch (e) { /* no Resource Timing: the watchdog alone */ }
}

// Runs one <img> stream of session s until it fails (rejects).
export function runImg(s, signal) {
	var img = el.img;
	st.accepted = false;
	st.blob = null;   // snapshots come from the server in this mode
	watchEnd();
	imgShownAt = 0;
	return new Promise(function (resolve, reject) {
		img.onload = function () {
			if (s !== st.session || img.naturalWidth < 2) return;
			st.accepted = true;
			st.width = img.naturalWidth;
			st.height = img.naturalHeight;
			el.frame.style.setProperty('--ar', (st.width / st.height).toFixed(4));
			el.app.classList.add('has-picture');
			if (!st.framesThisConn++) {
				el.app.classList.add('img-mode');
				st.lastFrameAt = imgShownAt = performance.now();
				st.attempt = 0;
				root.setAttribute('data-frames', String(++st.frames));
				setConn('live');
			}
		};
		img.onerror = function () {
			if (s === st.session) reject(new Error('the stream failed to load'));
		};
		imgFail = function (e) { if (s === st.session) reject(e); };
		signal.addEventListener('abort', function () {
			img.onload = img.onerror = null;
			img.src = BLANK;   // closes the connection
			reject(new Error('aborted'));
		});
		// A new URL each time, so no browser reuses a finished stream.
		img.src = source.path + '?n=' + (++imgSeq) + fpsCap('&');
		imgUrl = img.src;
	});
}

// Before an <img> stream is closed, its last picture goes to the canvas,
// which stays on screen (paused, hidden, reconnecting) as in stream mode.
// (WebKit up to 2.50 empties the <img> when its stream ends, so sampleImg
// copies it to the canvas once a second too.)
export function keepStill() {
	copyImg();
	el.app.classList.remove('img-mode');
}

// Whether the <img>'s picture moved since the last look (a 32x18
// thumbnail; camera noise or the time overlay move it every second).
var probe = null, lastProbe = null;
function imgMoved() {
	if (!probe) {
		probe = document.createElement('canvas');
		probe.width = 32;
		probe.height = 18;
	}
	var c = probe.getContext('2d');
	var d;
	try {
		c.drawImage(el.img, 0, 0, 32, 18);
		d = c.getImageData(0, 0, 32, 18).data;
	} catch (e) {
		return false;
	}
	var moved = !lastProbe;
	if (lastProbe)
		for (var i = 0; i < d.length && !moved; i += 4) moved = d[i] !== lastProbe[i] || d[i + 1] !== lastProbe[i + 1];
	lastProbe = d;
	return moved;
}

// Once a second: a moving <img> picture counts as frames arriving.
export function sampleImg() {
	if (st.mode !== 'img' || !st.ctrl || !st.framesThisConn || !wanted()) return;
	// WebKit up to 2.50 drops the picture (naturalWidth 0) when the stream
	// ends, without an event; Chrome keeps the last frame (the watchdog's
	// case), and so does WebKit 2.54 (watchEnd's case).
	if (!el.img.naturalWidth) { imgFail(new Error('the stream ended')); return; }
	copyImg();
	if (imgMoved()) {
		st.lastFrameAt = performance.now();
		root.setAttribute('data-frames', String(++st.frames));
	}
}
