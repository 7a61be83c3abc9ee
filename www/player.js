// SPDX-License-Identifier: MIT
// player.js: plays one recorded event in the viewer, over the live picture:
// fetch() of /events/ID.mjpg?speed=S&t=T split by multipart.js, each frame
// drawn on a canvas layer of #frame, its X-Timestamp moving the scrubber.
// Seeking and a new speed reopen the stream at the position shown; "Live"
// closes it and resumes the live stream (paused while an event plays, so
// the camera serves one stream to this page at a time).
import { CFG } from './config.js';
import { el, setText, clock } from './dom.js';
import { MultipartParser } from './multipart.js';
import { st } from './state.js';
import { setPaused } from './actions.js';

export var SPEEDS = [0.25, 0.5, 1, 2, 4, 8];

var ui = null;
var cur = null;         // the event playing (its /events object)
var ctrl = null;        // AbortController of its stream
var session = 0;
var pos = 0;            // seconds from the event's start of the frame shown
var seeking = false;    // the user holds the scrubber
var pausedLive = false; // the live stream was paused by the player
var onClose = null;

// What tests (and the curious) read: window.vigil.player.
export var play = { id: null, frames: 0, pos: 0, speed: 1, ended: false, error: '' };

function make(tag, cls, attrs) {
	var n = document.createElement(tag);
	if (cls) n.className = cls;
	for (var k in attrs || {}) n.setAttribute(k, attrs[k]);
	return n;
}

function duration(ev) {
	var end = ev.end != null ? ev.end : ev.last != null ? ev.last : null;
	return end != null ? Math.max(0, end - ev.start) : 0;
}

function mmss(s) {
	s = Math.max(0, Math.floor(s));
	return Math.floor(s / 60) + ':' + (s % 60 < 10 ? '0' : '') + (s % 60);
}

function build() {
	var box = make('div', 'player', { id: 'player', hidden: '' });
	var canvas = make('canvas', 'player-view', { id: 'play-view', width: '1280', height: '720', role: 'img',
		'aria-label': 'Recorded event' });
	var bar = make('div', 'player-bar', { role: 'toolbar', 'aria-label': 'Playback controls' });
	var live = make('button', 'btn player-live', { type: 'button', id: 'play-live', title: 'Back to live (Escape)' });
	live.textContent = 'Live';
	var title = make('span', 'player-title', { id: 'play-title' });
	var seek = make('input', 'player-seek', { type: 'range', id: 'play-seek', min: '0', max: '1', step: '0.1',
		value: '0', 'aria-label': 'Position in the event' });
	var time = make('span', 'player-time', { id: 'play-time' });
	var speed = make('select', 'player-speed', { id: 'play-speed', 'aria-label': 'Playback speed' });
	SPEEDS.forEach(function (s) {
		var o = make('option', '', { value: String(s) });
		o.textContent = s + '×';
		if (s === 1) o.selected = true;
		speed.appendChild(o);
	});
	var clip = make('a', 'btn player-clip', { id: 'play-clip', download: '', title: 'Download the clip' });
	clip.textContent = 'Download';
	bar.append(live, title, seek, time, speed, clip);
	box.append(canvas, bar);
	el.frame.appendChild(box);

	live.addEventListener('click', function () { if (onClose) onClose(); });
	seek.addEventListener('input', function () {
		seeking = true;
		setText(time, mmss(Number(seek.value)) + ' / ' + mmss(Number(seek.max)));
	});
	seek.addEventListener('change', function () {
		seeking = false;
		if (cur) open(Number(seek.value));
	});
	speed.addEventListener('change', function () {
		play.speed = Number(speed.value);
		if (cur) open(pos);
	});
	ui = { box: box, canvas: canvas, ctx: canvas.getContext('2d'), seek: seek, time: time, speed: speed,
		clip: clip, title: title };
}

function showPos() {
	if (!seeking) ui.seek.value = String(pos);
	setText(ui.time, mmss(pos) + ' / ' + mmss(Number(ui.seek.max)));
}

// Draws one part; frames decode in order (a newer one waits for the one
// before), a frame of an older session is dropped.
var drawing = Promise.resolve();
function frame(s, h, bytes) {
	var ts = Number(h['x-timestamp']);
	drawing = drawing.then(function () {
		if (s !== session) return;
		return createImageBitmap(new Blob([bytes], { type: 'image/jpeg' })).then(function (bm) {
			if (s !== session) { bm.close(); return; }
			if (ui.canvas.width !== bm.width || ui.canvas.height !== bm.height) {
				ui.canvas.width = bm.width;
				ui.canvas.height = bm.height;
			}
			ui.ctx.drawImage(bm, 0, 0);
			bm.close();
			play.frames++;
			if (isFinite(ts) && ts > 0) {
				pos = Math.max(0, ts - cur.start);
				play.pos = pos;
				if (pos > Number(ui.seek.max)) ui.seek.max = String(pos);
			}
			showPos();
		}, function () { /* a frame the browser cannot decode: skip it */ });
	});
}

// (Re)opens the event's stream at t seconds.
function open(t) {
	if (ctrl) ctrl.abort();
	var s = ++session;
	ctrl = new AbortController();
	var signal = ctrl.signal;
	pos = t;
	play.pos = t;
	play.ended = false;
	play.error = '';
	showPos();
	ui.box.setAttribute('data-state', 'loading');
	var url = cur.play.replace(/^\//, '') + '?speed=' + play.speed + (t > 0 ? '&t=' + t.toFixed(3) : '');
	fetch(url, { cache: 'no-store', credentials: 'same-origin', signal: signal })
		.then(function (res) {
			if (!res.ok) throw new Error('HTTP ' + res.status);
			var m = /boundary="?([^";,\s]+)"?/i.exec(res.headers.get('content-type') || '');
			if (!m || !res.body) throw new Error('not multipart');
			ui.box.setAttribute('data-state', 'playing');
			var parser = new MultipartParser(m[1], function (h, b) { frame(s, h, b); }, CFG);
			var reader = res.body.getReader();
			function pump() {
				return reader.read().then(function (r) {
					if (s !== session) { reader.cancel().catch(function () {}); return; }
					if (r.done) return;
					parser.push(r.value);
					return pump();
				});
			}
			return pump();
		})
		.then(function () {
			if (s !== session) return;
			play.ended = true;
			ui.box.setAttribute('data-state', 'ended');
		}, function (e) {
			if (s !== session || signal.aborted) return;
			play.error = String(e && e.message || e);
			ui.box.setAttribute('data-state', 'error');
		});
}

// Plays ev (an /events object) from its start; close() is called when the
// user asks for the live picture.
export function playEvent(ev, close) {
	if (!ui) build();
	onClose = close;
	cur = ev;
	play.id = ev.id;
	play.frames = 0;
	ui.seek.max = String(Math.max(duration(ev), 0.1));
	ui.clip.href = ev.clip.replace(/^\//, '');
	var d = new Date(ev.start * 1000);
	setText(ui.title, d.toLocaleDateString() + ' ' + clock(ev.start * 1000));
	ui.box.hidden = false;
	el.app.classList.add('playing');
	if (!st.paused) { pausedLive = true; setPaused(true); }
	open(0);
}

// Stops playback and resumes the live stream if the player paused it.
export function stopPlayback() {
	if (!cur) return;
	session++;
	if (ctrl) { ctrl.abort(); ctrl = null; }
	cur = null;
	play.id = null;
	ui.box.hidden = true;
	el.app.classList.remove('playing');
	if (pausedLive) { pausedLive = false; setPaused(false); }
}

export function playingId() { return cur ? cur.id : null; }
