// SPDX-License-Identifier: MIT
// The page through nginx, as a user outside the LAN sees it: HTTPS, HTTP/2,
// basic auth with the generated password.  The nginx.conf is the one
// `make run` generates (deploy/run.sh --prepare, on free loopback ports);
// capture, two servers on unix sockets and nginx are started here so that a
// rolling restart of the servers can be watched from the browser.
'use strict';

const fs = require('fs');
const net = require('net');
const path = require('path');
const { spawnSync } = require('child_process');
const L = require('./lib');

const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => fs.existsSync(p));

function unixOk(p) {
	return new Promise((resolve) => {
		const s = net.connect(p);
		s.on('connect', () => { s.destroy(); resolve(true); });
		s.on('error', () => resolve(false));
	});
}

function tcpOk(port) {
	return new Promise((resolve) => {
		const s = net.connect(port, '127.0.0.1');
		s.on('connect', () => { s.destroy(); resolve(true); });
		s.on('error', () => resolve(false));
	});
}

module.exports.run = async function (browser, t, h) {
	const runSh = path.join(L.ROOT, 'deploy', 'run.sh');
	if (!t.ok(fs.existsSync(runSh) && fs.existsSync(path.join(L.ROOT, 'nginx', 'local.conf.in')) && NGINX,
		'nginx and the make-run pieces (deploy/run.sh, nginx/local.conf.in) are there'))
		return;

	// Short paths: unix socket names hold 108 bytes.
	const tmp = fs.mkdtempSync('/tmp/vgbr-');
	const camera = L.cameraName('n');
	const port = await L.freePort();
	const env = { ...process.env, RUN_DIR: tmp, PORT: String(port), HTTP_PORT: '0', ADDR: '127.0.0.1',
		SERVERS: '2', CAMERA: camera, TLS_CIPHERS: 'client' };
	const prep = spawnSync(runSh, ['--prepare'], { env, encoding: 'utf8', timeout: 60000 });
	if (!t.ok(prep.status === 0, 'deploy/run.sh --prepare writes the run folder and nginx.conf', prep.stderr))
		return;
	const conf = prep.stdout.trim().split('\n').pop();
	const password = fs.readFileSync(path.join(tmp, 'password'), 'utf8').trim();
	const base = `https://127.0.0.1:${port}`;

	const capture = await L.startCapture(camera);
	const sock = (i) => path.join(tmp, `web${i}.sock`);
	const servers = [];
	const startServer = async (i) => {
		try { fs.unlinkSync(sock(i)); } catch (e) { /* absent */ }
		// rw for the run folder's group (nginx's workers when run as root).
		const old = process.umask(0o007);
		let d;
		try {
			d = new L.Daemon([path.join(L.BUILD, 'vigil-server'), '--camera', camera, '--listen', `unix:${sock(i)}`],
				`server${i}-${camera}`);
		} finally {
			process.umask(old);
		}
		await L.waitFor(() => unixOk(sock(i)), 5000);
		servers[i] = d;
		return d;
	};
	await startServer(1);
	await startServer(2);
	const nginx = new L.Daemon([NGINX, '-p', path.join(tmp, 'nginx') + '/', '-c', conf,
		'-e', path.join(tmp, 'logs', 'nginx.error.log')], `nginx-${camera}`);
	const up = await L.waitFor(() => tcpOk(port), 8000);
	if (!t.ok(up && nginx.alive(), 'nginx starts with the generated config', nginx.output())) return;

	await t.check('through nginx without the password, or with a wrong one: 401 for page and stream', async () => {
		const ctx = await browser.newContext({ ignoreHTTPSErrors: true });
		const got = [];
		for (const p of ['/index.html', '/stream.mjpg', '/state'])
			for (const auth of [null, 'vigil:wrong-password']) {
				const headers = auth ? { Authorization: `Basic ${Buffer.from(auth).toString('base64')}` } : {};
				const r = await ctx.request.get(base + p, { headers, maxRedirects: 0, timeout: 5000 });
				got.push({ p, auth: !!auth, status: r.status(), challenge: r.headers()['www-authenticate'] || '' });
			}
		await ctx.close();
		return { ok: got.every((g) => g.status === 401 && /^Basic/.test(g.challenge)), diag: got };
	});

	const v = await h.openViewer(browser, `${base}/`, {
		viewport: { width: 1440, height: 900 },
		ignoreHTTPSErrors: true,
		httpCredentials: { username: 'vigil', password },
	});

	await t.check('through nginx with the password: live frames over HTTP/2 under the CSP', async () => {
		const ok = await L.waitFor(async () => (await h.info(v.page)).frames >= 10, 10000);
		await L.sleep(3200);
		// The best of up to five readings a second apart (a busy machine's
		// moment is not the page's frame rate).
		let i = await h.info(v.page);
		for (let k = 0; k < 4 && !(parseFloat(i.fps) >= 24 * 0.9); k++) {
			await L.sleep(1000);
			const j = await h.info(v.page);
			if (parseFloat(j.fps) > parseFloat(i.fps)) i = j;
		}
		const proto = await v.page.evaluate(() => performance.getEntriesByType('navigation')[0].nextHopProtocol);
		const csp = (await v.response.allHeaders())['content-security-policy'] || '';
		const fps = parseFloat(i.fps);
		return { ok: ok && i.width === 1280 && i.height === 720 && i.pill === 'Live' && proto === 'h2' &&
			/script-src 'self'/.test(csp) && fps >= 24 * 0.8 && fps <= 24 * 1.2,
			diag: { i, proto, csp } };
	});

	await t.check('through nginx: the page\'s ES modules arrive as JavaScript, immutable', async () => {
		// The modules the page loaded (its script and what it imported).
		const urls = await v.page.evaluate(() => performance.getEntriesByType('resource')
			.map((e) => new URL(e.name).pathname).filter((p) => /^\/static\/.*\.js$/.test(p)));
		const got = [];
		for (const u of new Set(urls)) {
			const r = await v.ctx.request.get(base + u, { timeout: 5000 });
			got.push({ u, status: r.status(), type: r.headers()['content-type'], cache: r.headers()['cache-control'] });
		}
		return { ok: got.length >= 8 && got.every((g) => g.status === 200 && /^text\/javascript/.test(g.type || '') &&
			/immutable/.test(g.cache || '')), diag: got };
	});

	await h.screenshot(v.page, 'desktop-nginx');

	await t.check('through nginx: the picture changes, the snapshot button saves a valid JPEG', async () => {
		const a = await h.sample(v.page);
		await L.sleep(1000);
		const b = await h.sample(v.page);
		const changed = a.filter((x, k) => Math.abs(x - b[k]) > 8).length;
		const dl = await h.download(v.page, () => v.page.click('#btn-snap'));
		const [w, hh] = L.jpegDecode(dl.file);
		return { ok: changed > 20 && w === 1280 && hh === 720 && dl.name.startsWith(`${camera}-`),
			diag: { changed, dl, w, hh } };
	});
	await t.check('rolling restart of both servers behind nginx: the page goes on by itself, no reload', async () => {
		v.rec.phase = 'fault';
		const marker = await v.page.evaluate(() => (window.__marker = Math.random()));
		const navs = v.rec.navigations;
		const gaps = [];
		for (const i of [1, 2]) {
			await servers[i].stop('SIGTERM');
			const t0 = Date.now();
			// The page's stream may have been on the other server: either way
			// frames must keep coming within 3 s.
			const ok = await h.framesAdvance(v.page, 3, 3000);
			gaps.push({ server: i, ok, ms: Date.now() - t0 });
			await startServer(i);
		}
		const still = await h.framesAdvance(v.page, 10, 3000);
		const same = (await v.page.evaluate(() => window.__marker)) === marker && v.rec.navigations === navs;
		v.rec.phase = 'steady';
		t.diag(`frames kept coming after each server stop: ${gaps.map((g) => `${g.ms} ms`).join(', ')}`);
		return { ok: gaps.every((g) => g.ok) && still && same, diag: { gaps, still, same } };
	});

	await t.check('through nginx: no console errors and no CSP violations', async () => {
		const i = await h.info(v.page);
		const bad = v.rec.errors.filter((e) => e.fatal || e.phase === 'steady' ||
			!/net::ERR_|Failed to load resource/.test(e.text));
		return { ok: !bad.length && !i.csp.length && !v.rec.csp.length, diag: { bad, csp: i.csp.concat(v.rec.csp) } };
	});
	await v.ctx.close();

	await nginx.stop();
	for (const i of [1, 2]) await servers[i].stop();
	await capture.stop();
	L.removeRing(camera);
	fs.rmSync(tmp, { recursive: true, force: true });
};
