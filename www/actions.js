// SPDX-License-Identifier: MIT
// actions.js: what the viewer's buttons and keys do: save a snapshot,
// pause and resume, fullscreen (or the page's own "immersive" fullscreen
// where the browser has none for an element), the screen kept on while in
// fullscreen, and the bars that fade out when idle.
import { el, camera, setText, two } from './dom.js';
import { st, pollState } from './state.js';
import { start, stop, frameTimeOf } from './transport.js';
import { setConn } from './view.js';

var app = el.app;

var toastTimer = 0;
function toast(text) {
	setText(el.toast, text);
	el.toast.hidden = false;
	el.toast.classList.remove('out');
	clearTimeout(toastTimer);
	toastTimer = setTimeout(function () {
		el.toast.classList.add('out');
		toastTimer = setTimeout(function () { el.toast.hidden = true; }, 300);
	}, 2200);
}

function stamp(ms) {
	var d = new Date(ms);
	return d.getFullYear() + '-' + two(d.getMonth() + 1) + '-' + two(d.getDate()) + '_' +
		two(d.getHours()) + '-' + two(d.getMinutes()) + '-' + two(d.getSeconds());
}

function safeName(s) {
	return s.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 64) || 'camera';
}

function save(blob, time) {
	var name = safeName(camera) + '-' + stamp(time || Date.now()) + '.jpg';
	var a = document.createElement('a');
	a.href = URL.createObjectURL(blob);
	a.download = name;
	a.rel = 'noopener';
	document.body.appendChild(a);
	a.click();
	setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 4000);
	app.classList.remove('flash');
	void app.offsetWidth; // restart the flash animation
	app.classList.add('flash');
	toast('Saved ' + name);
}

// The picture on screen is the one saved (so a paused picture can be kept);
// before the first frame, the server's newest.
export function snapshot() {
	if (st.blob) { save(st.blob, st.frameTime); return; }
	fetch('snapshot.jpg', { cache: 'no-store', credentials: 'same-origin' })
		.then(function (r) {
			if (!r.ok) throw new Error('HTTP ' + r.status);
			var t = frameTimeOf({ 'x-timestamp': r.headers.get('x-timestamp') });
			return r.blob().then(function (b) { save(b, t); });
		})
		.catch(function () { toast('No picture to save yet'); });
}

export function setPaused(p) {
	st.paused = p;
	if (p) { stop(); setConn('paused'); } else { st.attempt = 0; setConn('connecting'); start(); }
	pollState();
}

export function togglePaused() { setPaused(!st.paused); }

function fsElement() { return document.fullscreenElement || document.webkitFullscreenElement || null; }

export function toggleFullscreen() {
	if (fsElement()) {
		(document.exitFullscreen || document.webkitExitFullscreen).call(document);
		return;
	}
	if (app.classList.contains('immersive')) { setImmersive(false); return; }
	var req = app.requestFullscreen || app.webkitRequestFullscreen;
	if (!req) { setImmersive(true); return; }  // iPhone Safari: no element fullscreen
	var p = req.call(app, { navigationUI: 'hide' });
	if (p && p.catch) p.catch(function () { setImmersive(true); });
}

export function setImmersive(on) {
	app.classList.toggle('immersive', on);
	fsChanged();
}

export function fsChanged() {
	var on = !!fsElement() || app.classList.contains('immersive');
	app.classList.toggle('fs', on);
	el.fs.setAttribute('aria-pressed', on ? 'true' : 'false');
	el.fs.setAttribute('aria-label', on ? 'Exit fullscreen (f)' : 'Fullscreen (f)');
	el.fs.title = on ? 'Exit fullscreen (f)' : 'Fullscreen (f)';
	wakeLock(on);
	poke();
}

// Watching in fullscreen keeps the screen on (a phone as a monitor); the
// browser drops the lock by itself when the tab is hidden.
var lock = null;
export function wakeLock(on) {
	if (!on) {
		if (lock) lock.release().catch(function () {});
		lock = null;
		return;
	}
	if (lock || !navigator.wakeLock || document.hidden) return;
	navigator.wakeLock.request('screen').then(function (l) {
		lock = l;
		l.addEventListener('release', function () { if (lock === l) lock = null; });
	}, function () { /* not allowed here: nothing lost */ });
}

// In fullscreen the bars fade out after a few idle seconds and come back
// on any pointer move, touch or key.
var idleTimer = 0;
export function poke() {
	app.classList.remove('idle');
	clearTimeout(idleTimer);
	if (app.classList.contains('fs') && !st.paused)
		idleTimer = setTimeout(function () { app.classList.add('idle'); }, 3000);
}
