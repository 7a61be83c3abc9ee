// SPDX-License-Identifier: MIT
// dom.js: the page's elements (index.html's ids), looked up once, and the
// small helpers every module that writes to the page uses.

var $ = function (id) { return document.getElementById(id); };

export var root = document.documentElement;

export var el = {
	app: $('app'), stage: $('stage'), frame: $('frame'),
	// The picture: the canvas (stream and poll modes) or the browser's own
	// MJPEG <img> (img mode).  Layers drawn over it (an overlay <canvas
	// class="view">) go in #frame next to them; zoom.js moves every .view.
	canvas: $('view'), img: $('live-img'),
	pill: $('pill'), pillText: $('pill-text'),
	res: $('st-res'), fps: $('st-fps'), viewers: $('st-viewers'), time: $('st-time'),
	notice: $('notice'), noticeTitle: $('notice-title'), noticeText: $('notice-text'),
	noticeSpinner: $('notice-spinner'), noticeButton: $('notice-button'),
	pause: $('btn-pause'), pauseLabel: $('pause-label'), snap: $('btn-snap'), fs: $('btn-fs'),
	toast: $('toast'), zoom: $('zoom-badge'),
	// Motion detection (motion.js): the badge, the grid toggle and the
	// grid's layer over the picture.
	motion: $('motion'), motionText: $('motion-text'), gridBtn: $('btn-grid'), grid: $('motion-grid'),
	// Several cameras: the link from one camera's page back to the grid.
	back: $('back')
};

export var camera = document.body.getAttribute('data-camera') || 'camera';

export function setText(node, text) {
	if (node.textContent !== text) node.textContent = text;
}

export function two(n) { return (n < 10 ? '0' : '') + n; }

// HH:MM:SS of a time in ms since the epoch, local time.
export function clock(ms) {
	var d = new Date(ms);
	return two(d.getHours()) + ':' + two(d.getMinutes()) + ':' + two(d.getSeconds());
}
