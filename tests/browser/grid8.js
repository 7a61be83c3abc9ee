// SPDX-License-Identifier: MIT
// Eight cameras in the page's grid through nginx over HTTP/2 (issue 14):
// eight vigil-capture testsrc cameras (320x180 at 10 fps, changing every
// frame), one vigil-server serving them all on a unix socket, and nginx
// with the configuration `make run` generates (deploy/run.sh --prepare).
// Chromium opens the grid: all eight tiles live and changing at once (each
// tile's pixels sampled twice, a second apart), and every tile's stream is
// served over HTTP/2 on one connection (the streams never finish, so they
// have no resource timing entry: the responses' protocol and connection id
// come from the DevTools protocol; the page's own entry says h2).
// Runs inside viewer.test.js, or alone: node tests/browser/grid8.js.
'use strict';

const fs = require('fs');
const net = require('net');
const path = require('path');
const { spawnSync } = require('child_process');
const L = require('./lib');

const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => fs.existsSync(p));
const N = 8;

function tcpOk(port) {
	return new Promise((resolve) => {
		const s = net.connect(port, '127.0.0.1');
		s.on('connect', () => { s.destroy(); resolve(true); });
		s.on('error', () => resolve(false));
	});
}

function unixOk(p) {
	return new Promise((resolve) => {
		const s = net.connect(p);
		s.on('connect', () => { s.destroy(); resolve(true); });
		s.on('error', () => resolve(false));
	});
}

// Each tile's camera, picture size and a hash of its pixels.
function tiles(page) {
	return page.evaluate(() => Array.from(document.querySelectorAll('#grid .tile')).map((a) => {
		const img = a.querySelector('img');
		let hash = 0;
		if (img.naturalWidth > 0) {
			const c = document.createElement('canvas');
			c.width = 64; c.height = 36;
			const g = c.getContext('2d');
			g.drawImage(img, 0, 0, 64, 36);
			const d = g.getImageData(0, 0, 64, 36).data;
			for (let i = 0; i < d.length; i++) hash = (hash * 31 + d[i]) >>> 0;
		}
		return { name: a.getAttribute('data-camera'), status: a.getAttribute('data-status'),
			w: img.naturalWidth, h: img.naturalHeight, src: img.getAttribute('src') || '', hash };
	}));
}

async function run(browser, t, h) {
	const daemons = [];
	const tmp = fs.mkdtempSync('/tmp/vgb8-');
	try {
		await checks(browser, t, h, daemons, tmp);
	} finally {
		for (const d of daemons.reverse()) await d.stop();
		fs.rmSync(tmp, { recursive: true, force: true });
	}
}

async function checks(browser, t, h, daemons, tmp) {
	const runSh = path.join(L.ROOT, 'deploy', 'run.sh');
	if (!t.ok(fs.existsSync(runSh) && NGINX, 'grid8: nginx and deploy/run.sh are there')) return;
	const first = L.cameraName('e');
	const names = [first];
	for (let k = 2; k <= N; k++) names.push(`${first}-${k}`);
	const port = await L.freePort();
	const env = { ...process.env, RUN_DIR: tmp, PORT: String(port), HTTP_PORT: '0', ADDR: '127.0.0.1',
		SERVERS: '1', CAMERA: first, CAMERAS: String(N), TLS_CIPHERS: 'client' };
	const prep = spawnSync(runSh, ['--prepare'], { env, encoding: 'utf8', timeout: 60000 });
	if (!t.ok(prep.status === 0, 'grid8: deploy/run.sh --prepare writes nginx.conf', prep.stderr)) return;
	const conf = prep.stdout.trim().split('\n').pop();
	const password = fs.readFileSync(path.join(tmp, 'password'), 'utf8').trim();
	const base = `https://127.0.0.1:${port}`;

	for (const cam of names) {
		const d = new L.Daemon([path.join(L.BUILD, 'vigil-capture'), '--camera', cam, '--source', 'testsrc',
			'--testsrc-motion', 'always', '--size', '320x180', '--fps', '10', '--sub-size', 'off',
			'--encode-threads', '1', '--overlay', `camera ${cam}`], `capture-${cam}`);
		daemons.push(d);
		process.on('exit', () => L.removeRing(cam));
	}
	const rings = await L.waitFor(() => names.every((c) => fs.existsSync(L.shmPath(c))), 8000);
	if (!t.ok(rings, 'grid8: eight captures write their rings', daemons.map((d) => d.output()).join('\n'))) return;

	const sock = path.join(tmp, 'web1.sock');
	const old = process.umask(0o007);
	try {
		daemons.push(new L.Daemon([path.join(L.BUILD, 'vigil-server'), '--cameras', names.join(','),
			'--listen', `unix:${sock}`], `server-${first}`));
	} finally {
		process.umask(old);
	}
	const srvUp = await L.waitFor(() => unixOk(sock), 5000);
	const nginx = new L.Daemon([NGINX, '-p', path.join(tmp, 'nginx') + '/', '-c', conf,
		'-e', path.join(tmp, 'logs', 'nginx.error.log')], `nginx-${first}`);
	daemons.push(nginx);
	const up = await L.waitFor(() => tcpOk(port), 8000);
	if (!t.ok(srvUp && up && nginx.alive(), 'grid8: server and nginx start', nginx.output())) return;

	const v = await h.openViewer(browser, `${base}/`, {
		viewport: { width: 1440, height: 900 },
		ignoreHTTPSErrors: true,
		httpCredentials: { username: 'vigil', password },
	});
	try {
		await t.check('grid8: eight tiles live and changing at once through nginx (pixels a second apart)', async () => {
			let a = null, b = null;
			const live = await L.waitFor(async () => {
				const ts = await tiles(v.page);
				return ts.length === N && ts.every((x) => x.w === 320 && x.h === 180 && x.hash && x.status === 'online');
			}, 15000, 200);
			// Two samples a second apart: every tile must differ.  A busy
			// machine may freeze a tile for a moment: up to three tries.
			let ok = false;
			for (let k = 0; k < 3 && live && !ok; k++) {
				a = await tiles(v.page);
				await L.sleep(1000);
				b = await tiles(v.page);
				ok = b.length === N && b.every((x, i) => x.name === a[i].name && x.hash !== a[i].hash);
			}
			const same = a && b ? a.filter((x, i) => b[i] && b[i].hash === x.hash).map((x) => x.name) : null;
			return { ok: live && ok && JSON.stringify(b.map((x) => x.name).sort()) === JSON.stringify([...names].sort()),
				diag: { live, same, a, b } };
		});
		await t.check('grid8: the page and all eight streams over HTTP/2, the streams on one connection', async () => {
			const nav = await v.page.evaluate(() => performance.getEntriesByType('navigation')[0].nextHopProtocol);
			// Reload with DevTools' network events on, to see each
			// stream's response: protocol and connection.
			const cdp = await v.ctx.newCDPSession(v.page);
			const seen = new Map();
			cdp.on('Network.responseReceived', (e) => {
				if (/\.mjpg(\?|$)/.test(e.response.url))
					seen.set(new URL(e.response.url).pathname, { proto: e.response.protocol, conn: e.response.connectionId });
			});
			await cdp.send('Network.enable');
			await v.page.reload({ waitUntil: 'load' });
			const got = await L.waitFor(() => seen.size >= N, 10000, 100);
			const rs = [...seen.values()];
			const conns = new Set(rs.map((r) => r.conn));
			return { ok: nav === 'h2' && got && rs.every((r) => r.proto === 'h2') && conns.size === 1 &&
				names.every((c) => [...seen.keys()].some((p) => p.startsWith(`/cam/${c}/`))),
			diag: { nav, streams: Object.fromEntries(seen) } };
		});
		t.ok(!v.rec.errors.some((e) => e.fatal) && !v.rec.csp.length,
			'grid8: no uncaught error, no CSP violation', { errors: v.rec.errors, csp: v.rec.csp });
	} finally {
		await v.ctx.close();
	}
}

module.exports = { run };

if (require.main === module) {
	(async () => {
		const t = new L.Tap();
		let browser;
		const openViewer = async (b, url, opts) => {
			const ctx = await b.newContext(opts);
			const page = await ctx.newPage();
			const rec = { errors: [], csp: [] };
			page.on('pageerror', (e) => rec.errors.push({ text: e.message, fatal: true }));
			page.on('console', (m) => { if (/Content.Security.Policy|Refused to/i.test(m.text())) rec.csp.push(m.text()); });
			await page.goto(url);
			return { ctx, page, rec };
		};
		try {
			browser = await L.launch();
			await run(browser, t, { openViewer });
		} catch (e) {
			t.ok(false, 'grid8 ran to the end', e && e.stack ? e.stack : String(e));
		} finally {
			if (browser) await browser.close().catch(() => {});
		}
		process.exitCode = t.done();
	})();
}
