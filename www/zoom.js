// SPDX-License-Identifier: MIT
// zoom.js: zoom and pan of the picture: pinch, drag, double tap, the wheel
// (and a trackpad's pinch), and the keys through zoomAt().  The transform
// goes on every .view layer of #frame, so that a layer drawn over the
// picture stays on the same pixels.
import { CFG } from './config.js';
import { el, setText } from './dom.js';

var z = { s: 1, x: 0, y: 0 };
var pointers = new Map();
var gesture = null;
var lastTap = 0;
var lastTouch = 0;
var layers = Array.prototype.slice.call(el.frame.querySelectorAll('.view'));

// Re-applies the zoom (after the picture's or the window's size changed).
export function applyZoom() {
	var w = el.frame.clientWidth, h = el.frame.clientHeight;
	z.s = Math.min(CFG.zoomMax, Math.max(1, z.s));
	z.x = Math.min(0, Math.max(w - w * z.s, z.x));
	z.y = Math.min(0, Math.max(h - h * z.s, z.y));
	if (z.s === 1) { z.x = 0; z.y = 0; }
	var tf = z.s === 1 ? '' :
		'translate(' + z.x.toFixed(1) + 'px,' + z.y.toFixed(1) + 'px) scale(' + z.s.toFixed(3) + ')';
	layers.forEach(function (l) { l.style.transform = tf; });
	el.stage.classList.toggle('zoomed', z.s > 1);
	el.zoom.hidden = z.s === 1;
	setText(el.zoom, z.s.toFixed(1) + '×');
}

// Zooms to scale s keeping the stage point (px, py) still.
export function zoomAt(s, px, py) {
	s = Math.min(CFG.zoomMax, Math.max(1, s));
	z.x = px - (px - z.x) * s / z.s;
	z.y = py - (py - z.y) * s / z.s;
	z.s = s;
	applyZoom();
}

// The keys: a step in or out about the picture's centre, or back to the
// whole picture.
export function zoomIn() { zoomAt(z.s * 1.25, el.frame.clientWidth / 2, el.frame.clientHeight / 2); }
export function zoomOut() { zoomAt(z.s / 1.25, el.frame.clientWidth / 2, el.frame.clientHeight / 2); }
export function zoomReset() { zoomAt(1, 0, 0); }

function local(e) {
	var r = el.frame.getBoundingClientRect();
	return { x: e.clientX - r.left, y: e.clientY - r.top };
}

function gestureFrom() {
	var ps = Array.from(pointers.values());
	if (ps.length >= 2) {
		var a = ps[0], b = ps[1];
		return { kind: 'pinch', d: Math.hypot(a.x - b.x, a.y - b.y) || 1, cx: (a.x + b.x) / 2, cy: (a.y + b.y) / 2, s: z.s, x: z.x, y: z.y };
	}
	if (ps.length === 1) return { kind: 'pan', px: ps[0].x, py: ps[0].y, x: z.x, y: z.y };
	return null;
}

function doubleTap(p) {
	if (z.s > 1) zoomAt(1, p.x, p.y); else zoomAt(2.5, p.x, p.y);
}

// Listens on the stage.  hooks.activity() on every pointer down or move
// (the bars show again), hooks.doubleClick() on a mouse double-click
// (fullscreen, as in every video player; a double tap zooms instead).
export function initZoom(hooks) {
	var stage = el.stage;
	stage.addEventListener('pointerdown', function (e) {
		if (e.target.closest('button, a')) return;
		stage.setPointerCapture(e.pointerId);
		pointers.set(e.pointerId, local(e));
		gesture = gestureFrom();
		hooks.activity();
	});
	stage.addEventListener('pointermove', function (e) {
		if (!pointers.has(e.pointerId)) { hooks.activity(); return; }
		pointers.set(e.pointerId, local(e));
		if (!gesture) return;
		var ps = Array.from(pointers.values());
		if (gesture.kind === 'pinch' && ps.length >= 2) {
			var a = ps[0], b = ps[1];
			var d = Math.hypot(a.x - b.x, a.y - b.y) || 1;
			var cx = (a.x + b.x) / 2, cy = (a.y + b.y) / 2;
			var s = Math.min(CFG.zoomMax, Math.max(1, gesture.s * d / gesture.d));
			// The point under the fingers' midpoint stays under it while it moves.
			z.x = cx - (gesture.cx - gesture.x) * s / gesture.s;
			z.y = cy - (gesture.cy - gesture.y) * s / gesture.s;
			z.s = s;
			applyZoom();
		} else if (gesture.kind === 'pan' && z.s > 1) {
			z.x = gesture.x + ps[0].x - gesture.px;
			z.y = gesture.y + ps[0].y - gesture.py;
			applyZoom();
		}
	});
	function pointerEnd(e) {
		if (!pointers.has(e.pointerId)) return;
		pointers.delete(e.pointerId);
		gesture = gestureFrom();
	}
	stage.addEventListener('pointerup', function (e) {
		var p = pointers.get(e.pointerId);
		pointerEnd(e);
		// Double tap (touch) toggles 2.5× at the tapped point.
		if (e.pointerType === 'touch') lastTouch = performance.now();
		if (p && e.pointerType === 'touch' && pointers.size === 0) {
			var now = performance.now();
			if (now - lastTap < 300) { doubleTap(p); lastTap = 0; } else lastTap = now;
		}
	});
	stage.addEventListener('pointercancel', pointerEnd);
	stage.addEventListener('dblclick', function (e) {
		if (e.target.closest('button, a') || lastTouch > performance.now() - 800) return;
		hooks.doubleClick();
	});
	stage.addEventListener('wheel', function (e) {
		e.preventDefault();
		var p = local(e);
		// Trackpad pinches arrive as wheel events with ctrlKey and small deltas.
		var k = Math.exp(-e.deltaY * (e.ctrlKey ? 0.01 : 0.002));
		zoomAt(z.s * k, p.x, p.y);
	}, { passive: false });
	window.addEventListener('resize', applyZoom);
}
