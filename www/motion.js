// SPDX-License-Identifier: MIT
// motion.js: the camera's motion detection on the page.  A badge in the top
// bar lights while motion is declared, with the score (the changed share of
// the picture); it is hidden while the camera's frames carry no detection
// result (detection off, camera offline).  A toggle (the Grid button or g,
// remembered in localStorage) draws the grid of changed cells over the
// picture, on a canvas layer of #frame that zoom.js moves with it.
//
// Where the page reads the stream itself (stream mode), the badge follows
// each frame's part headers (X-Motion, X-Motion-Score, X-Motion-Analysed):
// no lag behind the picture.  Otherwise (the <img> and snapshot modes, or
// no part for a while) it follows /state, polled once a second.  The grid
// comes only with /state ("motion.grid": 32x18 cells, hex, row-major from
// the top left, cell (c, r) bit c % 8 of byte r * 4 + c / 8).
import { el, root, setText } from './dom.js';
import { st, onState, cameraStatus } from './state.js';

var GRID_KEY = 'vigil.motionGrid';
var PART_FRESH_MS = 2000;   // part headers older than this give way to /state

var part = null;       // { active, score, analysed } of the newest part
var partAt = 0;
var gridOn = false;
var drawn = '';        // what the grid layer shows: size and bits

// A part of the stream arrived (its lower-cased headers).
export function partMotion(h) {
	if (!h || h['x-motion'] === undefined) return;
	var score = parseInt(h['x-motion-score'], 10);
	part = {
		active: h['x-motion'] === '1',
		score: score >= 0 && score <= 1000 ? score : 0,
		analysed: h['x-motion-analysed'] !== '0'
	};
	partAt = performance.now();
	renderMotion();
}

// /state's motion object while the answer is fresh and the camera online.
function stateMotion() {
	var m = cameraStatus() === 'online' && st.state ? st.state.motion : null;
	return m && typeof m === 'object' ? m : null;
}

function setAttr(node, name, value) {
	if (node.getAttribute(name) !== value) node.setAttribute(name, value);
}

function percent(score) {
	return (score / 10).toFixed(score < 100 ? 1 : 0) + ' %';
}

// The badge, from the freshest source.  Cheap: called per part, per /state
// answer and twice a second.
export function renderMotion() {
	var sm = stateMotion();
	var enabled = false, active = false, score = 0;
	var fresh = part && st.conn === 'live' && performance.now() - partAt < PART_FRESH_MS;
	if (fresh && cameraStatus() !== 'offline') {
		// A frame without a result (a JPEG the detector could not read)
		// does not hide the badge while /state says detection runs.
		enabled = part.analysed || !!(sm && sm.enabled);
		active = part.analysed && part.active;
		score = part.analysed ? part.score : 0;
	} else if (sm) {
		enabled = !!sm.enabled;
		active = !!sm.active;
		score = +sm.score || 0;
	}
	// Per frame: the page is written only when something changed (an
	// attribute set, even to its value, costs a style pass).
	if (el.motion.hidden !== !enabled) el.motion.hidden = !enabled;
	setAttr(el.motion, 'data-active', active ? 'true' : 'false');
	setText(el.motionText, active ? 'Motion · ' + percent(score) : 'No motion');
	setAttr(root, 'data-motion', !enabled ? 'none' : active ? 'on' : 'off');
	drawGrid();
}

// The grid's bits (72 bytes) from /state's hex, or null.
function gridBits(sm) {
	var g = sm && sm.enabled ? sm.grid : null;
	if (!g || g.cols !== 32 || g.rows !== 18 || !/^[0-9a-f]{144}$/.test(g.bits || '')) return null;
	return g.bits;
}

// Draws the grid layer at the picture's size (so that it lines up with the
// picture under the same CSS), when it shows and something changed.
function drawGrid() {
	if (!gridOn) return;
	var sm = stateMotion();
	var bits = gridBits(sm);
	var s = st.state;
	var w = st.width || (s && s.width) || el.canvas.width;
	var h = st.height || (s && s.height) || el.canvas.height;
	var key = w + 'x' + h + ':' + (bits || '');
	if (key === drawn) return;
	drawn = key;
	var c = el.grid;
	if (c.width !== w || c.height !== h) { c.width = w; c.height = h; }
	var ctx = c.getContext('2d');
	ctx.clearRect(0, 0, w, h);
	var cells = 0;
	if (bits) {
		var cw = w / 32, ch = h / 18;
		ctx.fillStyle = 'rgba(255, 72, 72, 0.32)';
		ctx.strokeStyle = 'rgba(255, 110, 110, 0.9)';
		ctx.lineWidth = Math.max(1, Math.round(w / 640));
		for (var r = 0; r < 18; r++) {
			for (var col = 0; col < 32; col++) {
				var byte = parseInt(bits.substr((r * 4 + (col >> 3)) * 2, 2), 16);
				if (!(byte & (1 << (col & 7)))) continue;
				var x = Math.round(col * cw), y = Math.round(r * ch);
				var x2 = Math.round((col + 1) * cw), y2 = Math.round((r + 1) * ch);
				ctx.fillRect(x, y, x2 - x, y2 - y);
				ctx.strokeRect(x + 0.5, y + 0.5, x2 - x - 1, y2 - y - 1);
				cells++;
			}
		}
	}
	c.setAttribute('data-cells', String(cells));
}

function applyGrid() {
	el.app.classList.toggle('show-grid', gridOn);
	el.gridBtn.setAttribute('aria-pressed', gridOn ? 'true' : 'false');
	el.gridBtn.setAttribute('aria-label', gridOn ? 'Hide the motion grid (g)' : 'Motion grid (g)');
	el.gridBtn.title = gridOn ? 'Hide the motion grid (g)' : 'Motion grid (g)';
	drawn = '';
	if (!gridOn) el.grid.getContext('2d').clearRect(0, 0, el.grid.width, el.grid.height);
	drawGrid();
}

export function toggleGrid() {
	gridOn = !gridOn;
	try { localStorage.setItem(GRID_KEY, gridOn ? '1' : '0'); } catch (e) { /* storage disabled */ }
	applyGrid();
}

export function initMotion() {
	try { gridOn = localStorage.getItem(GRID_KEY) === '1'; } catch (e) { /* storage disabled */ }
	applyGrid();
	onState(renderMotion);
	renderMotion();
}
