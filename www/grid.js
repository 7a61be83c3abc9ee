// SPDX-License-Identifier: MIT
// grid.js: the page of a server with several cameras opens on a grid of
// all of them (index.html's #grid): one tile per camera with its live
// picture (the browser's own MJPEG in an <img>: the sub-stream when the
// camera has one, else the main stream), its name, a motion badge and its
// offline state, all from /cameras polled every CFG.stateMs.  A click on
// a tile opens that camera's page (cam/NAME/, the single-camera viewer).
// The quality choice (Auto, HD, SD) picks which stream a viewer gets and is
// kept in localStorage (quality(), used by the single view's transport too).

import { CFG } from './config.js';

// The cameras the server serves (index.html's data-cameras, "a,b,c").
export var cameras = (document.body.getAttribute('data-cameras') || '')
	.split(',').filter(function (n) { return /^[A-Za-z0-9_-]{1,32}$/.test(n); });

// Under /cam/NAME/ the page is one camera's; at the top the grid's.
export var inCamera = /\/cam\/[A-Za-z0-9_-]{1,32}\/(index\.html)?$/.test(location.pathname);

export var wantGrid = cameras.length > 1 && !inCamera;

var QUALITY_KEY = 'vigil.quality';
var QUALITIES = ['auto', 'hd', 'sd'];

export function quality() {
	var q = null;
	try { q = localStorage.getItem(QUALITY_KEY); } catch (e) { q = null; }
	return QUALITIES.indexOf(q) >= 0 ? q : 'auto';
}

export function setQuality(q) {
	if (QUALITIES.indexOf(q) < 0) return;
	try { localStorage.setItem(QUALITY_KEY, q); } catch (e) { /* private mode */ }
}

// Auto: the main stream on a large screen with a fast link, the sub-stream
// on a small screen or a slow link (the browser's measured downlink, in
// Mbit/s, where it tells it).
export function wantsSub(q) {
	if (q === 'hd') return false;
	if (q === 'sd') return true;
	var c = navigator.connection;
	var slow = c && ((typeof c.downlink === 'number' && c.downlink > 0 && c.downlink < 5) || c.saveData);
	var small = Math.min(screen.width, screen.height) < 600;
	return !!(slow || small);
}

var tiles = {};   // name -> { node, img, badge, state, src }
var timer = 0;

function tileSrc(cam) {
	// The grid shows small pictures: the sub-stream when there is one.
	var useSub = cam.sub && (quality() !== 'hd');
	return 'cam/' + encodeURIComponent(cam.name) + '/' + (useSub ? 'sub.mjpg' : 'stream.mjpg');
}

function makeTile(name) {
	var a = document.createElement('a');
	a.className = 'tile';
	a.href = 'cam/' + encodeURIComponent(name) + '/';
	a.setAttribute('data-camera', name);
	a.setAttribute('data-status', 'connecting');
	var img = document.createElement('img');
	img.className = 'tile-img';
	img.alt = 'Live picture from camera ' + name;
	var label = document.createElement('span');
	label.className = 'tile-name';
	label.textContent = name;
	var badge = document.createElement('span');
	badge.className = 'tile-motion';
	badge.textContent = 'Motion';
	badge.hidden = true;
	var state = document.createElement('span');
	state.className = 'tile-state';
	state.textContent = '';
	a.appendChild(img);
	a.appendChild(label);
	a.appendChild(badge);
	a.appendChild(state);
	return { node: a, img: img, badge: badge, state: state, src: '' };
}

function update(list) {
	list.forEach(function (cam) {
		var t = tiles[cam.name];
		if (!t) return;
		var src = tileSrc(cam);
		if (t.src !== src) {
			t.src = src;
			t.img.src = src;
		}
		t.node.setAttribute('data-status', cam.status);
		t.node.setAttribute('data-motion', cam.motion ? 'true' : 'false');
		t.badge.hidden = !cam.motion;
		t.state.textContent = cam.status === 'online' ? '' : (cam.status === 'stalled' ? 'Stalled' : 'Offline');
	});
}

function poll() {
	clearTimeout(timer);
	fetch('cameras', { cache: 'no-store', credentials: 'same-origin' })
		.then(function (r) { return r.ok ? r.json() : null; })
		.then(function (j) { if (j && Array.isArray(j.cameras)) update(j.cameras); })
		.catch(function () { /* the next poll tries again */ })
		.then(function () { if (!document.hidden) timer = setTimeout(poll, CFG.stateMs); });
}

function stopStreams() {
	Object.keys(tiles).forEach(function (n) {
		tiles[n].img.removeAttribute('src');
		tiles[n].src = '';
	});
}

// Builds the grid in #grid and shows it instead of the single view.
export function showGrid() {
	var box = document.getElementById('grid');
	var sel = document.getElementById('quality');
	document.getElementById('app').classList.add('grid-mode');
	document.title = 'Cameras · vigil';
	box.hidden = false;
	cameras.forEach(function (name) {
		tiles[name] = makeTile(name);
		box.appendChild(tiles[name].node);
		// The main stream at first; /cameras tells where a sub-stream is.
		update([{ name: name, status: 'connecting', motion: false, sub: false }]);
	});
	box.style.setProperty('--cols', String(Math.ceil(Math.sqrt(cameras.length))));
	if (sel) {
		sel.value = quality();
		sel.addEventListener('change', function () {
			setQuality(sel.value);
			stopStreams();
			poll();
		});
	}
	document.addEventListener('visibilitychange', function () {
		if (document.hidden) { stopStreams(); clearTimeout(timer); } else poll();
	});
	window.addEventListener('pagehide', stopStreams);
	poll();
}
