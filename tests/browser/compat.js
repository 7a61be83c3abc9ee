// SPDX-License-Identifier: MIT
// The page in the two other engines, where they are installed (they are not
// test dependencies: `apt-get install firefox-esr webkit2gtk-driver xvfb`
// enables this): Firefox through WebDriver BiDi (its own remote agent, no
// geckodriver), WebKitGTK (Safari's engine) through WebKitWebDriver under
// Xvfb.  Plain W3C protocols, no npm package.  Each browser's checks are
// reported as skipped, with the reason, when that browser is absent.
// Every request but loopback goes to a dead proxy: nothing leaves the host.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn } = require('child_process');
const L = require('./lib');

const SHOTS = path.join(L.ROOT, 'build', 'screenshots');
let t = null;   // the Tap of the caller (run)

function which(cmd) {
	for (const dir of (process.env.PATH || '/usr/bin:/bin').split(':'))
		if (fs.existsSync(path.join(dir, cmd))) return path.join(dir, cmd);
	return null;
}

// What the page shows; the same expression in both engines.
const INFO = `(() => {
	const img = document.getElementById('live-img');
	const view = document.querySelector('.img-mode') ? img : document.getElementById('view');
	const s = document.createElement('canvas');
	s.width = 64; s.height = 36;
	const x = s.getContext('2d');
	x.drawImage(view, 0, 0, 64, 36);
	const d = x.getImageData(0, 0, 64, 36).data;
	let sum = 0;
	const px = [];
	for (let i = 0; i < d.length; i += 4) px.push(d[i] + d[i + 1] + d[i + 2]);
	return JSON.stringify({
		ua: navigator.userAgent, conn: window.vigil.conn, mode: window.vigil.mode, frames: window.vigil.frames,
		canvasW: document.getElementById('view').width, imgW: img.naturalWidth,
		pill: document.getElementById('pill-text').textContent, fps: document.getElementById('st-fps').textContent,
		res: document.getElementById('st-res').textContent, px: px, errors: window.__errors || [],
	});
})()`;

const WATCH = `window.__errors = []; window.addEventListener('error', (e) => window.__errors.push(e.message));
document.addEventListener('securitypolicyviolation', (e) => window.__errors.push('CSP ' + e.violatedDirective + ' ' + e.blockedURI));`;

const KEY = (k) => `document.dispatchEvent(new KeyboardEvent('keydown', { key: '${k}', bubbles: true }))`;

function moved(a, b) {
	let n = 0;
	for (let i = 0; i < a.px.length; i++) if (Math.abs(a.px[i] - b.px[i]) > 24) n++;
	return n;
}

// The common checks, given eval(js) -> value, nav(url), shot(file).
async function checks(name, b, base, server, expectMode) {
	await b.nav(`${base}/`);
	await b.eval(WATCH);
	const live = await L.waitFor(async () => {
		const i = JSON.parse(await b.eval(INFO));
		return i.conn === 'live' && i.frames >= 3;
	}, 8000, 200);
	await L.sleep(3200);
	const i1 = JSON.parse(await b.eval(INFO));
	await L.sleep(1000);
	const i2 = JSON.parse(await b.eval(INFO));
	// The best of three readings: a busy machine's moment is not the rate.
	let fps = parseFloat(i2.fps.replace('≈', ''));
	for (let k = 0; k < 2 && !(fps >= 24 * 0.9); k++) {
		await L.sleep(1000);
		fps = Math.max(fps, parseFloat(JSON.parse(await b.eval(INFO)).fps.replace('≈', '')) || 0);
	}
	const width = expectMode === 'img' ? i2.imgW : i2.canvasW;
	t.diag(`${name}: ${i2.ua}`);
	t.diag(`${name}: mode ${i2.mode}, ${i2.fps}, ${i2.res}`);
	t.ok(live && i2.mode === expectMode && width === 1280 && i2.pill === 'Live' && moved(i1, i2) > 10 &&
		fps >= 24 * 0.8 && fps <= 24 * 1.2,
	`${name}: live 1280x720 picture that moves, ${expectMode} mode, frame rate near 24`,
	{ live, mode: i2.mode, width, pill: i2.pill, moved: moved(i1, i2), fps });
	fs.mkdirSync(SHOTS, { recursive: true });
	await b.shot(path.join(SHOTS, `${name.toLowerCase()}-desktop.png`));

	const clients = async () => (await L.getJson(`${base}/state`)).clients;
	const before = await clients();
	await b.eval(KEY(' '));
	const closed = await L.waitFor(async () => (await clients()) === before - 1, 3000);
	const p1 = JSON.parse(await b.eval(INFO));
	await L.sleep(1200);
	const p2 = JSON.parse(await b.eval(INFO));
	// The paused page keeps its last picture, still.
	const still = p2.frames === p1.frames && moved(p1, p2) === 0 && p2.px.some((x) => x > 30);
	await b.eval(KEY(' '));
	const resumed = await L.waitFor(async () => JSON.parse(await b.eval(INFO)).conn === 'live', 4000, 200);
	if (expectMode === 'img') {
		// WebKit does not close an <img> stream whose src changes (the socket
		// stays open, unread, until the page closes): checked and documented,
		// the page stops reading it and falls back to snapshots after a few.
		t.diag(`${name}: the paused <img> stream's connection was ${closed ? '' : 'not '}closed by the browser`);
		t.ok(p1.pill === 'Paused' && still && resumed, `${name}: space pauses (picture kept, still) and resumes`,
			{ paused: p1.pill, still, resumed });
	} else {
		t.ok(closed && p1.pill === 'Paused' && still && resumed,
			`${name}: space pauses (stream closed at the server, picture kept) and resumes`,
			{ before, closed, paused: p1.pill, still, resumed, frames: [p1.frames, p2.frames], moved: moved(p1, p2) });
	}

	const s = await server.restart();
	const back = await L.waitFor(async () => {
		const i = JSON.parse(await b.eval(INFO));
		return i.conn === 'live' && (expectMode === 'img' ? i.imgW === 1280 : i.frames > i2.frames + 10);
	}, 8000, 200);
	t.ok(s && back, `${name}: kill -9 and restart vigil-server: live again by itself`, { back });
	const errors = JSON.parse(await b.eval(INFO)).errors.concat(b.logErrors ? b.logErrors() : []);
	t.ok(!errors.length, `${name}: no script errors, no CSP violations`, errors);
}

// ------------------------------------------------------------ Firefox

async function firefox(base, server) {
	const bin = which('firefox-esr') || which('firefox');
	if (!bin) return t.skip('Firefox checks', 'firefox-esr is not installed');
	if (typeof WebSocket === 'undefined') return t.skip('Firefox checks', 'this node has no WebSocket (node >= 22, or --experimental-websocket)');
	const prof = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-ff-'));
	fs.writeFileSync(path.join(prof, 'user.js'), Object.entries({
		'network.proxy.type': 1, 'network.proxy.http': '127.0.0.1', 'network.proxy.http_port': 9,
		'network.proxy.ssl': '127.0.0.1', 'network.proxy.ssl_port': 9,
		'network.proxy.no_proxies_on': '127.0.0.1, localhost', 'network.proxy.allow_hijacking_localhost': false,
		'app.update.enabled': false, 'browser.safebrowsing.malware.enabled': false,
		'browser.safebrowsing.phishing.enabled': false, 'datareporting.policy.dataSubmissionEnabled': false,
		'toolkit.telemetry.enabled': false, 'network.captive-portal-service.enabled': false,
		'network.connectivity-service.enabled': false, 'extensions.update.enabled': false,
		'network.dns.disablePrefetch': true, 'network.prefetch-next': false,
	}).map(([k, v]) => `user_pref(${JSON.stringify(k)}, ${JSON.stringify(v)});`).join('\n'));
	const port = await L.freePort();
	const ff = new L.Daemon([bin, '--headless', '--no-remote', '--profile', prof,
		`--remote-debugging-port=${port}`, '--width=1280', '--height=800'], 'firefox');
	try {
		const up = await L.waitFor(() => /WebDriver BiDi listening/.test(ff.output()), 20000, 100);
		if (!t.ok(up, 'Firefox starts with its WebDriver BiDi agent', ff.output().slice(-2000))) return;
		const ws = new WebSocket(`ws://127.0.0.1:${port}/session`);
		await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
		let id = 0;
		const pending = new Map();
		const logs = [];
		ws.onmessage = (m) => {
			const j = JSON.parse(m.data);
			if (j.id && pending.has(j.id)) { pending.get(j.id)(j); pending.delete(j.id); }
			else if (j.method === 'log.entryAdded' && j.params.level === 'error') logs.push(j.params.text);
		};
		const send = (method, params) => new Promise((resolve, reject) => {
			const k = ++id;
			pending.set(k, (j) => (j.error ? reject(new Error(`${method}: ${j.error} ${j.message}`)) : resolve(j.result)));
			ws.send(JSON.stringify({ id: k, method, params }));
		});
		await send('session.new', { capabilities: {} });
		await send('session.subscribe', { events: ['log.entryAdded'] });
		const ctx = (await send('browsingContext.getTree', {})).contexts[0].context;
		await send('browsingContext.setViewport', { context: ctx, viewport: { width: 1280, height: 800 } });
		const b = {
			nav: (url) => send('browsingContext.navigate', { context: ctx, url, wait: 'complete' }),
			eval: async (expression) => {
				const r = await send('script.evaluate', { expression, target: { context: ctx }, awaitPromise: true });
				if (r.type !== 'success') throw new Error(JSON.stringify(r.exceptionDetails || r));
				return r.result.value;
			},
			shot: async (file) => fs.writeFileSync(file,
				Buffer.from((await send('browsingContext.captureScreenshot', { context: ctx })).data, 'base64')),
			// A killed server's refused connections are network noise, not page errors.
			logErrors: () => logs.filter((l) => !/NetworkError|network error|Failed to load|ECONNREFUSED/i.test(l)),
		};
		await checks('Firefox', b, base, server, 'stream');
		await send('session.end', {}).catch(() => {});
		ws.close();
	} finally {
		await ff.stop();
		fs.rmSync(prof, { recursive: true, force: true });
	}
}

// ------------------------------------------------------------ WebKit

async function webkit(base, server) {
	const driver = which('WebKitWebDriver');
	const xvfbBin = which('Xvfb');
	const mini = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib/arm-linux-gnueabihf']
		.map((d) => `${d}/webkit2gtk-4.1/MiniBrowser`).find((p) => fs.existsSync(p));
	if (!driver || !xvfbBin || !mini)
		return t.skip('WebKit checks', 'WebKitWebDriver, MiniBrowser or Xvfb is not installed (webkit2gtk-driver, xvfb)');
	// A display of our own: Xvfb picks a free number and writes it to fd 3.
	const xvfb = spawn(xvfbBin, ['-displayfd', '3', '-screen', '0', '1400x900x24', '-nolisten', 'tcp'],
		{ stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
	let display = '';
	xvfb.stdio[3].on('data', (d) => { display += d; });
	const port = await L.freePort();
	let proc = null;
	const wd = async (method, p, body) => {
		const r = await fetch(`http://127.0.0.1:${port}${p}`, {
			method, headers: { 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined,
		});
		const j = await r.json();
		if (j.value && j.value.error) throw new Error(`${p}: ${j.value.error} ${j.value.message}`);
		return j.value;
	};
	let S = null;
	try {
		if (!t.ok(await L.waitFor(() => /^\d+\n/.test(display), 10000, 50), 'Xvfb starts')) return;
		proc = spawn(driver, [`--port=${port}`], {
			stdio: 'ignore',
			env: { ...process.env, DISPLAY: `:${display.trim()}`, http_proxy: 'http://127.0.0.1:9',
				https_proxy: 'http://127.0.0.1:9', no_proxy: '127.0.0.1,localhost' },
		});
		const up = await L.waitFor(async () => { try { await wd('GET', '/status'); return true; } catch (e) { return false; } }, 15000, 100);
		if (!t.ok(up, 'WebKitWebDriver starts')) return;
		const s = await wd('POST', '/session', { capabilities: { alwaysMatch: {
			'webkitgtk:browserOptions': { binary: mini, args: ['--automation'] } } } });
		S = `/session/${s.sessionId}`;
		await wd('POST', `${S}/window/rect`, { width: 1280, height: 800 }).catch(() => {});
		const b = {
			nav: (url) => wd('POST', `${S}/url`, { url }),
			eval: (js) => wd('POST', `${S}/execute/sync`, { script: `return ${js};`, args: [] }),
			shot: async (file) => fs.writeFileSync(file, Buffer.from(await wd('GET', `${S}/screenshot`), 'base64')),
		};
		await checks('WebKit', b, base, server, 'img');
		await wd('DELETE', S);
		S = null;

		// The user agent is only a hint: with Chrome's name, WebKit still
		// ends up on the <img> way, after its fetch fails the body read.
		const s2 = await wd('POST', '/session', { capabilities: { alwaysMatch: {
			'webkitgtk:browserOptions': { binary: mini, args: ['--automation',
				'--user-agent=Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/605.1.15 (KHTML, like Gecko) Chrome/999.0 Safari/605.1.15'] } } } });
		S = `/session/${s2.sessionId}`;
		await b.nav(`${base}/`);
		let i = null;
		const found = await L.waitFor(async () => {
			i = JSON.parse(await b.eval(INFO));
			return i.conn === 'live' && i.mode === 'img' && i.imgW === 1280;
		}, 10000, 200);
		const err = await b.eval('window.vigil.lastError');
		t.ok(found && /Chrome\/999/.test(i.ua) && err === 'Load failed',
			'WebKit under a Chrome user agent: the failing fetch sends the page to the <img> way by itself',
			{ found, ua: i && i.ua, mode: i && i.mode, err });
	} finally {
		if (S) await wd('DELETE', S).catch(() => {});
		for (const p of [proc, xvfb]) {
			if (!p || p.exitCode !== null) continue;
			p.kill('SIGTERM');
			await new Promise((resolve) => { p.once('exit', resolve); setTimeout(resolve, 3000); });
		}
	}
}

// Runs both engines' checks against a capture and server of their own.
async function run(tap) {
	t = tap;
	const camera = L.cameraName('x');
	const port = await L.freePort();
	const listen = `127.0.0.1:${port}`;
	const base = `http://${listen}`;
	const capture = await L.startCapture(camera);
	let srv = await L.startServer(camera, listen);
	await L.waitFor(async () => (await L.getJson(`${base}/state`)).status === 'online', 5000);
	const server = {
		restart: async () => {
			await srv.stop('SIGKILL');
			srv = await L.startServer(camera, listen);
			return srv.alive();
		},
	};
	try {
		for (const engine of [firefox, webkit]) {
			try {
				await engine(base, server);
			} catch (e) {
				t.ok(false, `${engine.name} checks ran to the end`, e && e.stack ? e.stack : String(e));
			}
		}
	} finally {
		await srv.stop();
		await capture.stop();
		L.removeRing(camera);
	}
}

module.exports.run = run;

if (require.main === module) {
	const tap = new L.Tap();
	run(tap).catch((e) => tap.ok(false, 'compat checks ran', String(e))).then(() => { process.exitCode = tap.done(); });
}
