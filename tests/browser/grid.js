// SPDX-License-Identifier: MIT
// The page of a server with several cameras (www/grid.js) in Chromium: one
// vigil-server serving three rings written by tests/tools/ringfeed (noise
// pictures of three sizes, so each tile's picture is known and changes) and
// a fourth camera with no capture; the second camera also has a sub-stream
// ring (/vigil.NAME.sub, of another size).  The page opens on the grid:
// four tiles, three live and changing (the second showing its sub-stream),
// one offline; the quality choice persists and HD shows main streams; a
// click opens that camera's viewer (under /cam/NAME/), whose quality choice
// switches between its sub-stream and main stream, and its link goes back
// to the grid.
'use strict';

const fs = require('fs');
const path = require('path');
const L = require('./lib');

const SIZES = [[320, 180], [480, 270], [256, 256]];
const SUB = [128, 72];   // the second camera's sub-stream
// What the tiles show with the quality on Auto: the sub-stream where there is one.
const TILE_SIZES = [SIZES[0], SUB, SIZES[2]];

async function run(browser, t, h) {
	const daemons = [];
	try {
		await checks(browser, t, h, daemons);
	} finally {
		for (const d of daemons) await d.stop();
	}
}

// Each tile as the page shows it, and a hash of its picture's pixels.
function tiles(page) {
	return page.evaluate(() => Array.from(document.querySelectorAll('#grid .tile')).map((a) => {
		const img = a.querySelector('img');
		let hash = 0;
		if (img.naturalWidth > 0) {
			const c = document.createElement('canvas');
			c.width = 32; c.height = 18;
			const g = c.getContext('2d');
			g.drawImage(img, 0, 0, 32, 18);
			const d = g.getImageData(0, 0, 32, 18).data;
			for (let i = 0; i < d.length; i++) hash = (hash * 31 + d[i]) >>> 0;
		}
		const r = a.getBoundingClientRect();
		return {
			name: a.getAttribute('data-camera'), status: a.getAttribute('data-status'),
			w: img.naturalWidth, h: img.naturalHeight, src: img.getAttribute('src') || '',
			label: a.querySelector('.tile-name').textContent,
			state: a.querySelector('.tile-state').textContent,
			visible: r.width > 50 && r.height > 30, hash,
		};
	}));
}

async function checks(browser, t, h, daemons) {
	const names = [L.cameraName('ga'), L.cameraName('gb'), L.cameraName('gc'), L.cameraName('gz')];
	const listen = `127.0.0.1:${await L.freePort()}`;
	const base = `http://${listen}`;
	const srv = new L.Daemon([path.join(L.BUILD, 'vigil-server'), '--listen', listen,
		'--cameras', names.join(',')], `server-${names[0]}`);
	daemons.push(srv);
	for (let i = 0; i < 3; i++) {
		const feed = new L.Daemon([path.join(L.BUILD, 'tools', 'ringfeed'), '--camera', names[i],
			'--fps', '8', '--size', `${SIZES[i][0]}x${SIZES[i][1]}`, '--noise', '40'], `ringfeed-${names[i]}`);
		daemons.push(feed);
		process.on('exit', () => L.removeRing(names[i]));
	}
	// ringfeed writes /vigil.<camera> only: the sub ring is written under
	// another name and renamed (tmpfs: the writer carries on under the new
	// name).
	const tmp = L.cameraName('gs');
	const subPath = L.shmPath(names[1]) + '.sub';
	const subFeed = new L.Daemon([path.join(L.BUILD, 'tools', 'ringfeed'), '--camera', tmp,
		'--fps', '8', '--size', `${SUB[0]}x${SUB[1]}`, '--noise', '40'], `ringfeed-${tmp}`);
	daemons.push(subFeed);
	process.on('exit', () => { try { fs.unlinkSync(subPath); } catch (e) { /* gone */ } L.removeRing(tmp); });
	await L.waitFor(() => fs.existsSync(L.shmPath(tmp)) || !subFeed.alive(), 5000);
	fs.renameSync(L.shmPath(tmp), subPath);
	const online = await L.waitFor(async () => {
		try {
			const j = await L.getJson(`${base}/cameras`);
			return j.cameras.filter((c) => c.status === 'online').length === 3 && j.cameras[1].sub;
		} catch (e) { return false; }
	}, 8000);
	if (!t.ok(online, 'grid: three ringfeeds (one with a sub-stream) and a server with four cameras', srv.output())) return;

	const { ctx, page, rec } = await h.openViewer(browser, `${base}/`);
	try {
		await t.check('grid: the page opens on the grid, one tile per camera, the single view hidden', async () => {
			await L.waitFor(async () => (await tiles(page)).length === 4, 5000);
			const v = await page.evaluate(() => ({
				grid: !document.getElementById('grid').hidden,
				stage: getComputedStyle(document.getElementById('stage')).display,
				quality: !document.getElementById('quality-box').hidden,
				isGrid: window.vigil.grid,
			}));
			const ts = await tiles(page);
			return { ok: v.grid && v.stage === 'none' && v.quality && v.isGrid === true &&
				JSON.stringify(ts.map((x) => x.label)) === JSON.stringify(names) && ts.every((x) => x.visible),
			diag: { v, ts } };
		});

		await t.check('grid: three tiles live at once, each its camera\'s picture (the sub-stream where there is one), all changing', async () => {
			let first = null, last = null;
			const ok = await L.waitFor(async () => {
				const ts = await tiles(page);
				if (!first) {
					if (ts.slice(0, 3).every((x, i) => x.w === TILE_SIZES[i][0] && x.h === TILE_SIZES[i][1] && x.hash)) first = ts;
					return false;
				}
				last = ts;
				return ts.slice(0, 3).every((x, i) => x.hash !== first[i].hash);
			}, 8000, 250);
			return { ok: ok && last.slice(0, 3).every((x, i) => x.status === 'online' &&
				(i === 1 ? /\/sub\.mjpg$/ : /\/stream\.mjpg$/).test(x.src)),
				diag: { first, last } };
		});

		await t.check('grid: the camera without a capture is shown offline', async () => {
			const ok = await L.waitFor(async () => {
				const x = (await tiles(page))[3];
				return x.status === 'offline' && x.state === 'Offline';
			}, 5000);
			return { ok, diag: (await tiles(page))[3] };
		});

		await t.check('grid: the quality choice persists across a reload', async () => {
			await page.selectOption('#quality', 'sd');
			await page.reload({ waitUntil: 'load' });
			const v = await page.evaluate(() => ({
				sel: document.getElementById('quality').value,
				stored: localStorage.getItem('vigil.quality'),
			}));
			await page.selectOption('#quality', 'auto');
			return { ok: v.sel === 'sd' && v.stored === 'sd', diag: v };
		});

		await t.check('grid: quality HD shows every camera\'s main stream', async () => {
			await page.selectOption('#quality', 'hd');
			const ok = await L.waitFor(async () => {
				const x = (await tiles(page))[1];
				return /\/stream\.mjpg$/.test(x.src) && x.w === SIZES[1][0] && x.h === SIZES[1][1];
			}, 5000, 100);
			await page.selectOption('#quality', 'auto');
			return { ok, diag: (await tiles(page))[1] };
		});

		await t.check('grid: a click opens that camera\'s live viewer under /cam/NAME/', async () => {
			await L.waitFor(async () => (await tiles(page)).length === 4, 5000);
			await page.click(`#grid .tile[data-camera="${names[1]}"]`);
			await page.waitForURL(`${base}/cam/${names[1]}/`, { timeout: 5000 });
			await page.selectOption('#quality', 'hd');
			const live = await L.waitFor(async () => (await h.info(page)).conn === 'live', 8000);
			const v = await page.evaluate(() => ({
				camera: document.getElementById('camera').textContent,
				back: !document.getElementById('back').hidden,
				grid: !document.getElementById('grid').hidden,
				w: document.getElementById('view').width,
			}));
			const i = await h.info(page);
			return { ok: live && v.camera === names[1] && v.back && !v.grid && i.frames > 0,
				diag: { v, i } };
		});

		await t.check('grid: in a camera\'s viewer, SD switches to its sub-stream and HD back', async () => {
			const size = () => page.evaluate(() => [window.vigil.source, document.getElementById('view').width,
				document.getElementById('view').height, window.vigil.frames]);
			const hd = await L.waitFor(async () => { const v = await size(); return v[0] === 'stream.mjpg' && v[1] === SIZES[1][0] && v; }, 5000);
			await page.selectOption('#quality', 'sd');
			const sd = await L.waitFor(async () => { const v = await size(); return v[0] === 'sub.mjpg' && v[1] === SUB[0] && v[2] === SUB[1] && v; }, 5000);
			await page.selectOption('#quality', 'hd');
			const back = await L.waitFor(async () => { const v = await size(); return v[0] === 'stream.mjpg' && v[1] === SIZES[1][0] && v; }, 5000);
			const live = (await h.info(page)).conn === 'live';
			return { ok: hd && sd && back && live, diag: { hd, sd, back, now: await size() } };
		});

		await t.check('grid: "All cameras" goes back to the grid', async () => {
			await page.click('#back');
			await page.waitForURL(`${base}/index.html`, { timeout: 5000 });
			const ok = await L.waitFor(async () => {
				const ts = await tiles(page);
				return ts.length === 4 && ts[0].w === SIZES[0][0];
			}, 5000);
			return { ok, diag: await tiles(page) };
		});

		t.ok(!rec.errors.some((e) => e.fatal) && !rec.csp.length,
			'grid: no uncaught error, no CSP violation', { errors: rec.errors, csp: rec.csp });
	} finally {
		await ctx.close();
	}
}

module.exports = { run };
