// SPDX-License-Identifier: MIT
// The live page's motion badge and motion grid (www/motion.js) in Chromium,
// against a real vigil-server fed by tests/tools/ringfeed --motion: a known
// schedule of quiet frames and motion periods, and a known grid.
'use strict';

const path = require('path');
const L = require('./lib');

const COLS = 32, ROWS = 18;
const FPS = 10;
const QUIET = 20, MOVING = 20;   // frames: 2 s quiet, 2 s motion, repeated

// Cells the grid marks: a diagonal band and the last corner (rows, columns
// or bit order mixed up would show).
const CELLS = [];
for (let r = 0; r < ROWS; r++)
	for (let c = 0; c < COLS; c++)
		if ((c + 2 * r) % 7 === 0 || (c === 31 && r === 17)) CELLS.push([c, r]);

function gridHex(cells) {
	const g = Buffer.alloc(COLS * ROWS / 8);
	for (const [c, r] of cells) g[r * (COLS / 8) + (c >> 3)] |= 1 << (c & 7);
	return g.toString('hex');
}

// The badge and the grid layer as the page shows them.
function motionView(page) {
	return page.evaluate(() => {
		const b = document.getElementById('motion');
		const g = document.getElementById('motion-grid');
		const v = document.getElementById('view');
		const rect = (e) => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.width, r.height].map(Math.round); };
		return {
			motion: document.documentElement.getAttribute('data-motion'),
			hidden: b.hidden,
			active: b.getAttribute('data-active'),
			text: document.getElementById('motion-text').textContent,
			gridShown: getComputedStyle(g).display !== 'none',
			cells: Number(g.getAttribute('data-cells') || 0),
			pressed: document.getElementById('btn-grid').getAttribute('aria-pressed'),
			stored: localStorage.getItem('vigil.motionGrid'),
			gridRect: rect(g), viewRect: rect(v),
			gridTf: g.style.transform, viewTf: v.style.transform,
			// Both are object-fit: contain in the same box: the same
			// intrinsic size puts the grid's cells on the picture's pixels.
			gridSize: [g.width, g.height], viewSize: [v.width, v.height],
		};
	});
}

// Which cells the grid layer has painted: the alpha at each cell's centre.
function paintedCells(page) {
	return page.evaluate(([cols, rows]) => {
		const g = document.getElementById('motion-grid');
		const d = g.getContext('2d').getImageData(0, 0, g.width, g.height).data;
		const out = [];
		for (let r = 0; r < rows; r++)
			for (let c = 0; c < cols; c++) {
				const x = Math.floor((c + 0.5) * g.width / cols), y = Math.floor((r + 0.5) * g.height / rows);
				if (d[(y * g.width + x) * 4 + 3] > 0) out.push([c, r]);
			}
		return out;
	}, [COLS, ROWS]);
}

// Watches the badge for ms; returns the states seen, in order (repeats
// folded), with a text of each.
async function watchBadge(page, ms) {
	const seen = [];
	const end = Date.now() + ms;
	while (Date.now() < end) {
		const v = await motionView(page);
		const last = seen[seen.length - 1];
		if (!last || last.motion !== v.motion) seen.push({ motion: v.motion, text: v.text, hidden: v.hidden });
		await L.sleep(40);
	}
	return seen;
}

function badgeCycles(seen) {
	const bad = seen.filter((s) => s.motion === 'none' || s.hidden ||
		(s.motion === 'on' ? !/^Motion · \d+(\.\d)? %$/.test(s.text) : s.text !== 'No motion'));
	const order = seen.map((s) => s.motion).join(' ');
	return { ok: !bad.length && /on off on|off on off/.test(order), diag: { order, bad } };
}

// Every daemon started here is stopped at the end (a live child process
// would keep node from exiting).
async function run(browser, t, h) {
	const daemons = [];
	try {
		await checks(browser, t, h, daemons);
	} finally {
		for (const d of daemons) await d.stop();
	}
}

async function checks(browser, t, h, daemons) {
	const camera = L.cameraName('m');
	const listen = `127.0.0.1:${await L.freePort()}`;
	const base = `http://${listen}`;
	daemons.push(await L.startServer(camera, listen));
	const feed = new L.Daemon([path.join(L.BUILD, 'tools', 'ringfeed'), '--camera', camera,
		'--fps', String(FPS), '--size', '640x360', '--motion', `${QUIET}q,${MOVING}m`,
		'--motion-grid', gridHex(CELLS)], `ringfeed-${camera}`);
	daemons.push(feed);
	process.on('exit', () => L.removeRing(camera));
	const online = await L.waitFor(async () => (await L.getJson(`${base}/state`)).status === 'online', 5000);
	if (!t.ok(online && feed.alive(), 'ringfeed --motion feeds vigil-server', feed.output())) return;

	const { ctx, page } = await h.openViewer(browser, `${base}/`);
	await L.waitFor(async () => (await h.info(page)).conn === 'live', 5000);

	await t.check('the motion badge lights while motion is declared (with the score) and goes off when it clears', async () => {
		const r = badgeCycles(await watchBadge(page, 2 * (QUIET + MOVING) * 1000 / FPS + 500));
		r.diag.mode = (await h.info(page)).mode;
		r.ok = r.ok && r.diag.mode === 'stream';
		return r;
	});

	await t.check('g shows the motion grid: the overlay paints exactly the grid\'s cells, over the picture', async () => {
		await page.keyboard.press('g');
		const on = await motionView(page);
		if (on.pressed !== 'true' || !on.gridShown || on.stored !== '1') return { ok: false, diag: on };
		const want = JSON.stringify(CELLS);
		let painted = [];
		const drawn = await L.waitFor(async () => {
			const v = await motionView(page);
			if (v.cells !== CELLS.length) return false;
			painted = await paintedCells(page);
			return JSON.stringify(painted) === want;
		}, 2 * (QUIET + MOVING) * 1000 / FPS);
		const v = await motionView(page);
		await h.screenshot(page, 'motion-grid');
		const aligned = JSON.stringify(v.gridRect) === JSON.stringify(v.viewRect) &&
			JSON.stringify(v.gridSize) === JSON.stringify(v.viewSize) && v.viewSize[0] === 640;
		return { ok: drawn && aligned, diag: { drawn, painted: painted.length, want: CELLS.length, v } };
	});

	await t.check('the motion grid clears while the scene is quiet', async () => {
		const cleared = await L.waitFor(async () => (await motionView(page)).cells === 0 &&
			(await paintedCells(page)).length === 0, 2 * (QUIET + MOVING) * 1000 / FPS);
		return { ok: cleared, diag: await motionView(page) };
	});

	await t.check('the motion grid zooms with the picture (same transform, same box)', async () => {
		await page.keyboard.press('+');
		await page.keyboard.press('+');
		const v = await motionView(page);
		await page.keyboard.press('0');
		return { ok: v.gridTf !== '' && v.gridTf === v.viewTf &&
			JSON.stringify(v.gridRect) === JSON.stringify(v.viewRect), diag: v };
	});

	await t.check('the grid toggle is remembered (reload), and g hides it again', async () => {
		await page.reload({ waitUntil: 'load' });
		await L.waitFor(async () => (await h.info(page)).conn === 'live', 5000);
		const after = await motionView(page);
		await page.click('#btn-grid');
		const off = await motionView(page);
		return { ok: after.pressed === 'true' && after.gridShown && off.pressed === 'false' &&
			!off.gridShown && off.stored === '0', diag: { after, off } };
	});
	await ctx.close();

	await t.check('snapshot polling mode (?mode=poll): the badge follows /state', async () => {
		const p = await h.openViewer(browser, `${base}/?mode=poll`);
		await L.waitFor(async () => (await h.info(p.page)).conn === 'live', 5000);
		const r = badgeCycles(await watchBadge(p.page, 2 * (QUIET + MOVING) * 1000 / FPS + 1500));
		await p.ctx.close();
		return r;
	});

	await t.check('frames without a motion result: no badge', async () => {
		await feed.stop();
		const plain = new L.Daemon([path.join(L.BUILD, 'tools', 'ringfeed'), '--camera', camera,
			'--fps', String(FPS), '--size', '640x360'], `ringfeed-plain-${camera}`);
		daemons.push(plain);
		const p = await h.openViewer(browser, `${base}/`);
		let v = null;
		const gone = await L.waitFor(async () => {
			const st = await L.getJson(`${base}/state`);
			v = await motionView(p.page);
			return st.status === 'online' && !st.motion.enabled && (await h.info(p.page)).conn === 'live' &&
				v.hidden && v.motion === 'none';
		}, 8000);
		await p.ctx.close();
		await plain.stop();
		return { ok: gone, diag: v };
	});
}

module.exports = { run };
