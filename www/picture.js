// SPDX-License-Identifier: MIT
// picture.js: frames onto the canvas.  Only the newest frame is decoded
// (older ones still waiting are dropped), drawn, and counted for the frame
// rate; the JPEG on screen is kept for the snapshot button.
import { CFG } from './config.js';
import { el, root } from './dom.js';
import { st } from './state.js';
import { applyZoom } from './zoom.js';

var ctx = el.canvas.getContext('2d', { alpha: false });
var pending = null;   // newest frame not yet decoded; older ones are dropped
var decoding = false;

function decode(blob) {
	if (typeof createImageBitmap === 'function') {
		return createImageBitmap(blob).then(function (bmp) {
			return { img: bmp, w: bmp.width, h: bmp.height, done: function () { bmp.close(); } };
		});
	}
	// Safari before 15: decode through an Image (img-src blob: in the CSP).
	var url = URL.createObjectURL(blob);
	var im = new Image();
	im.src = url;
	return im.decode().then(function () {
		return { img: im, w: im.naturalWidth, h: im.naturalHeight, done: function () { URL.revokeObjectURL(url); } };
	}, function (e) { URL.revokeObjectURL(url); throw e; });
}

// frame: { blob (a JPEG), time (capture time in ms since the epoch, or
// null), offline (the server's "camera offline" picture) }.
export function show(frame) {
	pending = frame;
	if (!decoding) decodeLoop();
}

// Frames decoding or waiting are not drawn (paused, stopped).
export function dropPending() { pending = null; }

function decodeLoop() {
	var f = pending;
	if (!f) { decoding = false; return; }
	pending = null;
	decoding = true;
	var s = st.session;
	decode(f.blob).then(function (d) {
		// Paused or stopped while this frame was decoding: not drawn.
		if (s !== st.session) { d.done(); return; }
		if (el.canvas.width !== d.w || el.canvas.height !== d.h) {
			el.canvas.width = d.w;
			el.canvas.height = d.h;
			// CSSOM, not a style attribute: allowed under style-src 'self'.
			el.frame.style.setProperty('--ar', (d.w / d.h).toFixed(4));
			applyZoom();
		}
		ctx.drawImage(d.img, 0, 0);
		d.done();
		st.width = d.w;
		st.height = d.h;
		el.app.classList.add('has-picture');
		el.app.classList.toggle('offline-picture', !!f.offline);
		// The server's "camera offline" picture is shown, but it is not a
		// camera frame: it counts neither in the frame rate nor as the
		// picture a snapshot saves.
		if (f.offline) return;
		st.blob = f.blob;
		st.frameTime = f.time;
		var now = performance.now();
		if (!st.unpaced) st.drawn.push(now);
		st.unpaced = false;
		while (st.drawn.length && st.drawn[0] < now - CFG.fpsWindowMs) st.drawn.shift();
		root.setAttribute('data-frames', String(++st.frames));
	}, function () {
		// A JPEG the browser cannot decode is skipped, like a torn frame.
	}).then(decodeLoop);
}

// Copies the <img>'s picture (img mode) to the canvas, which keeps it on
// screen once the <img> is emptied.  False if the <img> has none.
export function copyImg() {
	var img = el.img;
	if (img.naturalWidth < 2) return false;
	try {
		if (el.canvas.width !== img.naturalWidth || el.canvas.height !== img.naturalHeight) {
			el.canvas.width = img.naturalWidth;
			el.canvas.height = img.naturalHeight;
		}
		ctx.drawImage(img, 0, 0);
	} catch (e) { /* nothing to keep */ }
	return true;
}
