// SPDX-License-Identifier: MIT
// events.js: the recorded motion events (vigil-record, served by
// vigil-server --recordings as /events).  An Events button opens a panel
// over the picture: the events by day, newest first, each with its
// thumbnail, time, duration and peak score, more on demand (/events'
// "next"); while it is open the newest page is asked for once a second, so
// a new event shows within about a second.  A click plays the event in the
// viewer (player.js).  The URL's hash says what is shown: #events the
// list, #events/ID that event (notifications link there), none the live
// picture.  The top bar (with the motion badge) stays visible throughout.
import { params } from './config.js';
import { el, setText, clock } from './dom.js';
import { playEvent, stopPlayback, playingId, play } from './player.js';

// Events per page: 50, or ?events=N in the page's URL (1..500).
var PAGE = Math.min(500, Math.max(1, parseInt(params.get('events'), 10) || 50));
var POLL_MS = 1000;

var ui = null;
var events = [];        // the events loaded, newest first
var next = null;        // the "next" of the last page loaded (more to load)
var firstLoaded = false;
var pollTimer = 0;
var shown = '';         // what the list shows (ids, ends), to redraw only on change
var listState = { polls: 0, error: '' };

function make(tag, cls, attrs) {
	var n = document.createElement(tag);
	if (cls) n.className = cls;
	for (var k in attrs || {}) n.setAttribute(k, attrs[k]);
	return n;
}

function getJson(url) {
	return fetch(url, { cache: 'no-store', credentials: 'same-origin' }).then(function (r) {
		if (!r.ok) throw new Error('HTTP ' + r.status);
		return r.json();
	});
}

function build() {
	var btn = make('button', 'btn', { type: 'button', id: 'btn-events', 'aria-label': 'Events (e)',
		'aria-pressed': 'false', title: 'Recorded events (e)' });
	btn.innerHTML = '<svg class="icon" viewBox="0 0 24 24" aria-hidden="true"><path d="M4 5h16v2H4zm0 6h16v2H4zm0 6h10v2H4z"/></svg>' +
		'<span class="btn-label">Events</span>';
	document.querySelector('.controls').appendChild(btn);

	var panel = make('section', 'events', { id: 'events', hidden: '', 'aria-label': 'Recorded events' });
	var head = make('div', 'events-head');
	var h = make('h2', 'events-title');
	h.textContent = 'Events';
	var close = make('button', 'btn events-close', { type: 'button', id: 'events-close', 'aria-label': 'Close' });
	close.textContent = '×';
	head.append(h, close);
	var list = make('div', 'events-list', { id: 'events-list' });
	var empty = make('p', 'events-empty', { id: 'events-empty', hidden: '' });
	var more = make('button', 'btn events-more', { type: 'button', id: 'events-more', hidden: '' });
	more.textContent = 'More';
	panel.append(head, list, empty, more);
	el.app.appendChild(panel);

	btn.addEventListener('click', function () { go(isOpen() ? '' : 'events'); });
	close.addEventListener('click', function () { go(playingId() ? 'events/' + playingId() : ''); });
	more.addEventListener('click', loadMore);
	list.addEventListener('click', function (e) {
		var a = e.target.closest('a[data-id]');
		if (!a) return;
		e.preventDefault();
		go('events/' + a.getAttribute('data-id'));
	});
	ui = { btn: btn, panel: panel, list: list, empty: empty, more: more };
}

function isOpen() { return ui && !ui.panel.hidden; }

function go(hash) {
	if (hash) location.hash = hash;
	else history.pushState(null, '', location.pathname + location.search);
	route();
}

function dayKey(ms) {
	var d = new Date(ms);
	return d.getFullYear() + '-' + (d.getMonth() + 1) + '-' + d.getDate();
}

function dayLabel(ms) {
	var today = new Date();
	if (dayKey(ms) === dayKey(today.getTime())) return 'Today';
	var y = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1);
	if (dayKey(ms) === dayKey(y.getTime())) return 'Yesterday';
	return new Date(ms).toLocaleDateString(undefined, { weekday: 'long', year: 'numeric', month: 'long', day: 'numeric' });
}

function durationText(ev) {
	var end = ev.end != null ? ev.end : ev.last;
	if (end == null) return '–';
	var s = Math.max(0, Math.round(end - ev.start));
	return s < 60 ? s + ' s' : Math.floor(s / 60) + ' min ' + (s % 60) + ' s';
}

function item(ev) {
	var a = make('a', 'event', { href: '#events/' + ev.id, 'data-id': ev.id });
	var img = make('img', 'event-thumb', { src: ev.thumbnail.replace(/^\//, ''), alt: '', loading: 'lazy',
		width: '160', height: '90' });
	var meta = make('span', 'event-meta');
	var time = make('time', 'event-time', { datetime: new Date(ev.start * 1000).toISOString() });
	time.textContent = clock(ev.start * 1000);
	var dur = make('span', 'event-dur');
	dur.textContent = ev.end == null ? 'recording… ' + durationText(ev) : durationText(ev);
	var score = make('span', 'event-score', { title: 'Peak motion: the changed share of the picture' });
	score.textContent = (ev.score / 10).toFixed(ev.score < 100 ? 1 : 0) + ' %';
	meta.append(time, dur, score);
	a.append(img, meta);
	if (ev.end == null) a.classList.add('recording');
	if (ev.interrupted) a.classList.add('interrupted');
	return a;
}

// Redraws the list when what it shows changed (new events, an event's end).
function draw() {
	var sig = events.map(function (e) { return e.id + ':' + e.end + ':' + (e.end == null ? e.last : ''); }).join(',') +
		'|' + (next ? 1 : 0);
	if (sig === shown) return;
	shown = sig;
	var frag = document.createDocumentFragment();
	var day = null, group = null;
	events.forEach(function (ev) {
		var k = dayKey(ev.start * 1000);
		if (k !== day) {
			day = k;
			var sec = make('section', 'events-day', { 'data-day': k });
			var h = make('h3', 'events-day-title');
			h.textContent = dayLabel(ev.start * 1000);
			group = make('div', 'events-grid');
			sec.append(h, group);
			frag.appendChild(sec);
		}
		group.appendChild(item(ev));
	});
	ui.list.replaceChildren(frag);
	ui.more.hidden = !next;
	ui.empty.hidden = events.length > 0;
	setText(ui.empty, 'No events recorded yet.');
}

// Merges a page of events into the list (an event seen before is updated).
function merge(page) {
	var byId = {};
	events.forEach(function (e, i) { byId[e.id] = i; });
	page.forEach(function (e) {
		if (byId[e.id] !== undefined) events[byId[e.id]] = e;
		else events.push(e);
	});
	events.sort(function (a, b) { return b.start - a.start || (a.id < b.id ? 1 : -1); });
}

function poll() {
	clearTimeout(pollTimer);
	pollTimer = 0;
	if (!isOpen()) return;
	getJson('events?limit=' + PAGE).then(function (j) {
		listState.polls++;
		listState.error = '';
		merge(j.events || []);
		if (!firstLoaded) { next = j.next; firstLoaded = true; }
		draw();
	}, function (e) {
		listState.error = String(e.message || e);
		if (!firstLoaded) {
			ui.empty.hidden = false;
			setText(ui.empty, 'The events cannot be listed (' + listState.error + ').');
		}
	}).then(function () {
		if (isOpen() && !pollTimer) pollTimer = setTimeout(poll, POLL_MS);
	});
}

function loadMore() {
	if (!next) return;
	ui.more.disabled = true;
	getJson('events?limit=' + PAGE + '&before=' + encodeURIComponent(next)).then(function (j) {
		merge(j.events || []);
		next = j.next;
		draw();
	}, function () { /* the button stays: try again */ }).then(function () { ui.more.disabled = false; });
}

function showList(on) {
	ui.panel.hidden = !on;
	ui.btn.setAttribute('aria-pressed', on ? 'true' : 'false');
	el.app.classList.toggle('events-open', on);
	if (on) poll();
	else { clearTimeout(pollTimer); pollTimer = 0; }
}

var want = null;   // the id asked for by the hash, while it loads
function route() {
	var m = /^#events(?:\/([0-9A-Za-z._-]+))?$/.exec(location.hash);
	if (!m) { showList(false); stopPlayback(); return; }
	if (!m[1]) { stopPlayback(); showList(true); return; }
	showList(false);
	var id = m[1];
	if (playingId() === id || want === id) return;
	want = id;
	var known = events.filter(function (e) { return e.id === id; })[0];
	(known ? Promise.resolve(known) : getJson('events/' + encodeURIComponent(id))).then(function (ev) {
		if (want !== id) return;
		want = null;
		playEvent(ev, function () { go(''); });
	}, function () {
		want = null;
		go('events');
	});
}

export function initEvents() {
	build();
	window.addEventListener('hashchange', route);
	window.addEventListener('popstate', route);
	document.addEventListener('keydown', function (e) {
		if (e.ctrlKey || e.metaKey || e.altKey) return;
		var t = e.target;
		if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
		if (e.key === 'e' || e.key === 'E') { go(isOpen() ? '' : 'events'); e.preventDefault(); }
		else if (e.key === 'Escape' && (isOpen() || playingId())) go('');
	});
	route();
}

// For tests: window.vigil.events.
export var eventsView = {
	get open() { return isOpen(); },
	get count() { return events.length; },
	get polls() { return listState.polls; },
	get error() { return listState.error; },
	player: play
};
