// SPDX-License-Identifier: MIT
// The page in the two other engines: Firefox through WebDriver BiDi (its
// own remote agent, no geckodriver), WebKitGTK (Safari's engine) through
// WebKitWebDriver under an Xvfb display of its own.  Plain W3C protocols, no
// npm package.  Both are test dependencies (deploy/deps.sh installs
// firefox-esr, webkit2gtk-driver and xvfb): an engine that cannot run is a
// FAILURE with the reason, never a silent skip.
//
// VIGIL_BROWSERS: the engines to run, comma-separated, of chromium, firefox
// and webkit (default: all three).  An engine left out is reported as
// skipped by request, e.g. VIGIL_BROWSERS=chromium on a machine without
// the other two.  Chromium (viewer.test.js) always runs: it is the main
// suite.
//
// In each engine, against a real vigil-capture and vigil-server: the live
// MJPEG picture and its frame rate, a snapshot (s), pause (space),
// fullscreen (f), reconnecting by itself after kill -9 of the server, and
// the server's "camera offline" picture while the capture is down, with
// real key presses through the driver.
// Every request but loopback goes to a dead proxy: nothing leaves the host.

'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn } = require('child_process');
const L = require('./lib');

const SHOTS = path.join(L.ROOT, 'build', 'screenshots');
const ENGINES = ['chromium', 'firefox', 'webkit'];
let t = null;   // the Tap of the caller (run)

function which(cmd) {
	for (const dir of (process.env.PATH || '/usr/bin:/bin').split(':'))
		if (fs.existsSync(path.join(dir, cmd))) return path.join(dir, cmd);
	return null;
}

// The engines VIGIL_BROWSERS asks for; an unknown name is an error (a typo
// must not turn checks off).
function requested() {
	const v = (process.env.VIGIL_BROWSERS || '').trim();
	const names = v ? v.toLowerCase().split(/[\s,]+/).filter(Boolean) : ENGINES;
	return { names, unknown: names.filter((n) => !ENGINES.includes(n)), set: !!v };
}

// What the page shows; the same expression in both engines.  px: a 64x36
// thumbnail of the picture on screen (the <img> in img mode, else the
// canvas), as the sum of each pixel's three channels.
const INFO = `(() => {
	const img = document.getElementById('live-img');
	const app = document.getElementById('app');
	const view = app.classList.contains('img-mode') ? img : document.getElementById('view');
	const s = document.createElement('canvas');
	s.width = 64; s.height = 36;
	const x = s.getContext('2d');
	// (An <img> whose stream just failed cannot be drawn: a blank reading.)
	try { x.drawImage(view, 0, 0, 64, 36); } catch (e) { /* broken <img> */ }
	const d = x.getImageData(0, 0, 64, 36).data;
	const px = [];
	for (let i = 0; i < d.length; i += 4) px.push(d[i] + d[i + 1] + d[i + 2]);
	const notice = document.getElementById('notice');
	return JSON.stringify({
		ua: navigator.userAgent, conn: window.vigil.conn, mode: window.vigil.mode, frames: window.vigil.frames,
		canvasW: document.getElementById('view').width, imgW: img.naturalWidth,
		pill: document.getElementById('pill-text').textContent, fps: document.getElementById('st-fps').textContent,
		res: document.getElementById('st-res').textContent, px: px, errors: window.__errors || [],
		notice: notice.hidden ? '' : document.getElementById('notice-title').textContent,
		offlinePicture: app.classList.contains('offline-picture'),
		status: document.documentElement.getAttribute('data-camera-status'),
		fs: !!(document.fullscreenElement || document.webkitFullscreenElement) && app.classList.contains('fs'),
		fsAny: !!(document.fullscreenElement || document.webkitFullscreenElement) || app.classList.contains('fs'),
		immersive: app.classList.contains('immersive'),
		saves: (window.__saves || []).length,
	});
})()`;

// Run in the page once it has loaded: records script errors and CSP
// violations, and every download the page starts (the name and bytes of
// the blob behind an <a download> it clicks), read with a FileReader (no
// request, so no CSP involved).  The click itself goes on to the browser.
// One expression (WebDriver classic runs it as "return <expression>;").
const WATCH = `(() => { window.__errors = []; window.addEventListener('error', (e) => window.__errors.push(e.message));
document.addEventListener('securitypolicyviolation', (e) => window.__errors.push('CSP ' + e.violatedDirective + ' ' + e.blockedURI));
window.__saves = [];
const blobs = new Map();
const createObjectURL = URL.createObjectURL;
URL.createObjectURL = function (o) { const u = createObjectURL.call(URL, o); if (o instanceof Blob) blobs.set(u, o); return u; };
const click = HTMLAnchorElement.prototype.click;
HTMLAnchorElement.prototype.click = function () {
	const blob = blobs.get(this.href);
	if (this.download && blob) {
		const name = this.download;
		const r = new FileReader();
		r.onload = () => window.__saves.push({ name, type: blob.type, data: String(r.result).replace(/^data:[^,]*,/, '') });
		r.readAsDataURL(blob);
	}
	return click.call(this);
};
// What happened around fullscreen (for the report when it fails).
window.__fsLog = [];
for (const ev of ['keydown', 'fullscreenchange', 'fullscreenerror'])
	document.addEventListener(ev, (e) => window.__fsLog.push(ev + (e.key ? ' ' + e.key : '') +
		(ev === 'fullscreenchange' ? (document.fullscreenElement ? ' in' : ' out') : '')));
const exitFs = document.exitFullscreen;
if (exitFs) document.exitFullscreen = function () { window.__fsLog.push('the page exits'); return exitFs.call(document); };
window.__fsDenied = '';
const rfs = Element.prototype.requestFullscreen;
if (rfs) Element.prototype.requestFullscreen = function (o) {
	const p = rfs.call(this, o);
	if (p && p.catch) p.catch((e) => { window.__fsDenied = String(e && e.message || e); });
	return p;
};
return true; })()`;

function moved(a, b) {
	let n = 0;
	for (let i = 0; i < a.px.length; i++) if (Math.abs(a.px[i] - b.px[i]) > 24) n++;
	return n;
}

const mean = (px) => px.reduce((a, b) => a + b, 0) / px.length / 3;

// The common checks, given a driver b: eval(js) -> value, nav(url),
// key(k) (a real key press), shot(file), logErrors(), downloaded(name) (the
// file the browser saved, or null where the driver cannot tell).
async function checks(name, b, base, rig, expectMode) {
	const lower = name.toLowerCase();
	const info = async () => JSON.parse(await b.eval(INFO));
	await b.nav(`${base}/`);
	await b.eval(WATCH);
	const live = await L.waitFor(async () => {
		const i = await info();
		return i.conn === 'live' && i.frames >= 3;
	}, 8000, 200);
	await L.sleep(3200);
	const i1 = await info();
	await L.sleep(1000);
	const i2 = await info();
	// The best of up to five readings a second apart: a busy machine's
	// moment is not the rate.
	let fps = parseFloat(i2.fps.replace('≈', ''));
	for (let k = 0; k < 4 && !(fps >= 24 * 0.9); k++) {
		await L.sleep(1000);
		fps = Math.max(fps, parseFloat((await info()).fps.replace('≈', '')) || 0);
	}
	const width = expectMode === 'img' ? i2.imgW : i2.canvasW;
	t.diag(`${name}: ${i2.ua}`);
	t.diag(`${name}: mode ${i2.mode}, ${i2.fps}, ${i2.res}`);
	t.ok(live && i2.mode === expectMode && width === 1280 && i2.pill === 'Live' && moved(i1, i2) > 10 &&
		fps >= 24 * 0.8 && fps <= 24 * 1.2,
	`${name}: live 1280x720 picture that moves, ${expectMode} mode, frame rate near 24`,
	{ live, mode: i2.mode, width, pill: i2.pill, moved: moved(i1, i2), fps, loadavg: os.loadavg().map((x) => x.toFixed(1)) });
	fs.mkdirSync(SHOTS, { recursive: true });
	await b.shot(path.join(SHOTS, `${lower}-desktop.png`));

	// s: the picture on screen (img mode: the server's newest) saved as
	// <camera>-<local time>.jpg, a whole 1280x720 JPEG.
	{
		await b.key('s');
		const saved = await L.waitFor(async () => (await info()).saves >= 1, 5000, 100);
		const saves = JSON.parse(await b.eval('JSON.stringify(window.__saves)'));
		const bad = [];
		let w = 0, h = 0, file = null;
		if (!saved || saves.length !== 1) bad.push(`${saves.length} downloads started, want 1`);
		if (saves.length) {
			const sv = saves[0];
			const re = new RegExp(`^${rig.camera}-\\d{4}-\\d\\d-\\d\\d_\\d\\d-\\d\\d-\\d\\d\\.jpg$`);
			if (!re.test(sv.name)) bad.push(`name ${sv.name}`);
			if (sv.type !== 'image/jpeg') bad.push(`type ${sv.type}`);
			file = path.join(L.LOGS, `browser-${lower}-${sv.name}`);
			fs.writeFileSync(file, Buffer.from(sv.data, 'base64'));
			try { [w, h] = L.jpegDecode(file); } catch (e) { bad.push(e.message); }
			if (w !== 1280 || h !== 720) bad.push(`${w}x${h}`);
			// Where the driver tells where the browser saved it: the same bytes.
			if (b.downloaded) {
				const got = await L.waitFor(() => b.downloaded(sv.name), 5000, 100);
				if (!got) bad.push(`the browser saved no ${sv.name}`);
				else if (!fs.readFileSync(got).equals(fs.readFileSync(file))) bad.push(`${got} differs from the page's blob`);
				else t.diag(`${name}: saved ${got}`);
			}
		}
		t.ok(!bad.length, `${name}: s saves a snapshot: <camera>-<time>.jpg, a valid 1280x720 JPEG`, bad.join('\n'));
	}

	const clients = async () => (await L.getJson(`${base}/state`)).clients;
	const before = await clients();
	await b.key(' ');
	const closed = await L.waitFor(async () => (await clients()) === before - 1, 3000);
	const p1 = await info();
	await L.sleep(1200);
	const p2 = await info();
	// The paused page keeps its last picture, still.
	const still = p2.frames === p1.frames && moved(p1, p2) === 0 && p2.px.some((x) => x > 30);
	await b.key(' ');
	const resumed = await L.waitFor(async () => (await info()).conn === 'live', 4000, 200);
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

	// f: the browser's element fullscreen (a desktop engine has it), and
	// back; the picture keeps moving in fullscreen.
	{
		await b.key('f');
		let on = await L.waitFor(async () => (await info()).fs, 3000, 100);
		// WebKitGTK on an X display without a window manager sometimes
		// leaves fullscreen by itself right after entering it (the page
		// follows: its fullscreenchange handler drops .fs).  Said, and
		// tried once more.
		const log = await b.eval('window.__fsLog.join()');
		if (!on && /fullscreenchange in,fullscreenchange out$/.test(log)) {
			t.diag(`${name}: the browser left fullscreen by itself (${log}); f again`);
			await b.key('f');
			on = await L.waitFor(async () => (await info()).fs, 3000, 100);
		}
		const f1 = await info();
		await b.shot(path.join(SHOTS, `${lower}-fullscreen.png`));
		await L.sleep(1000);
		const f2 = await info();
		await b.key('f');
		const off = await L.waitFor(async () => !(await info()).fsAny, 3000, 100);
		t.ok(on && off && !f1.immersive && moved(f1, f2) > 10 && f2.conn === 'live',
			`${name}: f enters the browser's fullscreen (picture still moving) and leaves it`,
			{ on, off, immersive: f1.immersive, moved: moved(f1, f2), conn: f2.conn, denied: await b.eval('window.__fsDenied'),
				events: await b.eval('window.__fsLog.join()'), warnings: b.warnings ? b.warnings() : undefined });
	}

	const s = await rig.restartServer();
	// img mode: a picture that moves again (the page samples it once a
	// second), not only one on screen: an engine that keeps the last
	// picture of a stream that ended would pass on its width alone.
	const r0 = await info();
	const back = await L.waitFor(async () => {
		const i = await info();
		return i.conn === 'live' &&
			(expectMode === 'img' ? i.imgW === 1280 && i.frames > r0.frames + 2 : i.frames > i2.frames + 10);
	}, 10000, 200);
	t.ok(s && back, `${name}: kill -9 and restart vigil-server: live again by itself`, { back });

	// The camera gone (capture killed): the server's "camera offline"
	// picture (dark, with large text) on screen and the words; the camera
	// back: live and moving again, by itself.
	{
		const l1 = await info();
		await rig.killCapture();
		let o = null;
		const off = await L.waitFor(async () => {
			o = await info();
			return o.pill === 'Camera offline' && o.notice === 'Camera offline' &&
				(expectMode === 'img' || o.offlinePicture) && moved(l1, o) > 100 && mean(o.px) < 80 &&
				o.px.some((x) => x > 300);
		}, 8000, 200);
		await b.shot(path.join(SHOTS, `${lower}-offline.png`));
		const up = await rig.startCapture();
		let a = null;
		const again = await L.waitFor(async () => {
			a = await info();
			return a.pill === 'Live' && a.status === 'online' && !a.offlinePicture;
		}, 10000, 200);
		await L.sleep(1000);
		const z = await info();
		t.diag(`${name}: offline picture: mean level ${o ? mean(o.px).toFixed(0) : '?'}, ${o ? moved(l1, o) : '?'} of ${l1.px.length} thumbnail pixels changed`);
		t.ok(off && up && again && moved(a, z) > 10,
			`${name}: capture killed: the "camera offline" picture and notice; capture back: live again by itself`,
			{ off, pill: o && o.pill, notice: o && o.notice, offlinePicture: o && o.offlinePicture,
				changed: o && moved(l1, o), level: o && mean(o.px), up, again, moving: moved(a, z),
				after: a && { pill: a.pill, status: a.status, offlinePicture: a.offlinePicture, conn: a.conn, mode: a.mode } });
	}

	const errors = (await info()).errors.concat(b.logErrors ? b.logErrors() : []);
	t.ok(!errors.length, `${name}: no script errors, no CSP violations`, errors);
}

// ------------------------------------------------------------ Firefox

async function firefox(base, rig) {
	const bin = which('firefox-esr') || which('firefox');
	if (!bin) return t.ok(false, 'Firefox checks: firefox-esr is not installed (deploy/deps.sh installs it; ' +
		'VIGIL_BROWSERS=chromium,webkit leaves Firefox out)');
	if (typeof WebSocket === 'undefined')
		return t.ok(false, 'Firefox checks: this node has no WebSocket for WebDriver BiDi (node >= 22, or 20 with --experimental-websocket: run.sh passes it)');
	// A fresh profile of our own: no first-run pages, no updates, no
	// telemetry, downloads saved without asking into a directory of ours,
	// fullscreen without its warning.
	const prof = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-ff-'));
	const downloads = path.join(prof, 'downloads');
	fs.mkdirSync(downloads);
	fs.writeFileSync(path.join(prof, 'user.js'), Object.entries({
		'network.proxy.type': 1, 'network.proxy.http': '127.0.0.1', 'network.proxy.http_port': 9,
		'network.proxy.ssl': '127.0.0.1', 'network.proxy.ssl_port': 9,
		'network.proxy.no_proxies_on': '127.0.0.1, localhost', 'network.proxy.allow_hijacking_localhost': false,
		'app.update.enabled': false, 'browser.safebrowsing.malware.enabled': false,
		'browser.safebrowsing.phishing.enabled': false, 'datareporting.policy.dataSubmissionEnabled': false,
		'toolkit.telemetry.enabled': false, 'network.captive-portal-service.enabled': false,
		'network.connectivity-service.enabled': false, 'extensions.update.enabled': false,
		'network.dns.disablePrefetch': true, 'network.prefetch-next': false,
		'browser.download.folderList': 2, 'browser.download.dir': downloads, 'browser.download.useDownloadDir': true,
		'browser.download.always_ask_before_handling_new_types': false, 'browser.download.start_downloads_in_tmp_dir': false,
		'browser.download.alwaysOpenPanel': false, 'browser.download.manager.addToRecentDocs': false,
		'full-screen-api.warning.timeout': 0, 'full-screen-api.transition-duration.enter': '0 0',
		'full-screen-api.transition-duration.leave': '0 0',
	}).map(([k, v]) => `user_pref(${JSON.stringify(k)}, ${JSON.stringify(v)});`).join('\n'));
	const port = await L.freePort();
	const ff = new L.Daemon([bin, '--headless', '--no-remote', '--profile', prof,
		`--remote-debugging-port=${port}`, '--width=1280', '--height=800'], 'firefox');
	let ws = null;
	try {
		const up = await L.waitFor(() => /WebDriver BiDi listening/.test(ff.output()) || !ff.alive(), 20000, 100);
		if (!t.ok(up && ff.alive(), 'Firefox starts with its WebDriver BiDi agent', ff.output().slice(-2000))) return;
		ws = new WebSocket(`ws://127.0.0.1:${port}/session`);
		await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = () => reject(new Error('WebDriver BiDi: no WebSocket connection')); });
		let id = 0;
		const pending = new Map();
		const logs = [], warnings = [];
		ws.onmessage = (m) => {
			const j = JSON.parse(m.data);
			if (j.id && pending.has(j.id)) { pending.get(j.id)(j); pending.delete(j.id); }
			else if (j.method === 'log.entryAdded' && j.params.level === 'error') logs.push(j.params.text);
			else if (j.method === 'log.entryAdded' && j.params.level === 'warn') warnings.push(j.params.text);
		};
		// Every command answered in time (a new session, on a busy machine,
		// can take long), or the check fails: it never hangs.
		const send = (method, params) => new Promise((resolve, reject) => {
			const k = ++id;
			const ms = method === 'session.new' ? 45000 : 15000;
			const timer = setTimeout(() => { pending.delete(k); reject(new Error(`${method}: no answer in ${ms / 1000} s`)); }, ms);
			pending.set(k, (j) => {
				clearTimeout(timer);
				if (j.error) reject(new Error(`${method}: ${j.error} ${j.message}`)); else resolve(j.result);
			});
			ws.send(JSON.stringify({ id: k, method, params }));
		});
		await send('session.new', { capabilities: {} });
		await send('session.subscribe', { events: ['log.entryAdded'] });
		// A tab of our own, in front and focused as a user's is: Firefox
		// grants fullscreen only to the focused tab, and the first tab of a
		// headless Firefox never has the focus (document.hasFocus() false,
		// even after browsingContext.activate).
		const ctx = (await send('browsingContext.create', { type: 'tab', background: false })).context;
		await send('browsingContext.setViewport', { context: ctx, viewport: { width: 1280, height: 800 } });
		const b = {
			nav: (url) => send('browsingContext.navigate', { context: ctx, url, wait: 'complete' }),
			eval: async (expression) => {
				const r = await send('script.evaluate', { expression, target: { context: ctx }, awaitPromise: true });
				if (r.type !== 'success') throw new Error(JSON.stringify(r.exceptionDetails || r));
				return r.result.value;
			},
			key: (k) => send('input.performActions', { context: ctx, actions: [{ type: 'key', id: 'keyboard',
				actions: [{ type: 'keyDown', value: k }, { type: 'keyUp', value: k }] }] }),
			shot: async (file) => fs.writeFileSync(file,
				Buffer.from((await send('browsingContext.captureScreenshot', { context: ctx })).data, 'base64')),
			// A killed server's refused connections are network noise, not page errors.
			warnings: () => warnings.slice(-5),
			logErrors: () => logs.filter((l) => !/NetworkError|network error|Failed to load|ECONNREFUSED/i.test(l)),
			downloaded: (name) => {
				const f = path.join(downloads, name);
				// Firefox writes a .part file first and renames it when done.
				return fs.existsSync(f) && !fs.existsSync(`${f}.part`) ? f : null;
			},
		};
		await checks('Firefox', b, base, rig, 'stream');
		await send('session.end', {}).catch(() => {});
	} finally {
		if (ws) ws.close();
		await ff.stop();
		fs.rmSync(prof, { recursive: true, force: true });
	}
}

// ------------------------------------------------------------ WebKit

// An X display of our own for WebKitGTK: Xvfb picks a free number and
// writes it to fd 3; killed when the checks end (and by the exit hook).
async function startXvfb(bin) {
	const xvfb = spawn(bin, ['-displayfd', '3', '-screen', '0', '1400x900x24', '-nolisten', 'tcp', '-nolisten', 'unix'],
		{ stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
	let display = '';
	xvfb.stdio[3].on('data', (d) => { display += d; });
	const ok = await L.waitFor(() => /^\d+\n/.test(display) || xvfb.exitCode !== null, 10000, 50);
	return { proc: xvfb, display: ok && xvfb.exitCode === null ? `:${display.trim()}` : null };
}

// Ends a process we spawned, and with detached: true its whole process
// group (WebKitWebDriver's MiniBrowser and WebKit's web, network and GPU
// processes): TERM, then KILL after 3 s; returns when the group is gone.
const alive = (pid) => { try { process.kill(pid, 0); return true; } catch (e) { return e.code === 'EPERM'; } };
async function stopProc(p, group) {
	if (!p || !p.pid) return;
	const target = group ? -p.pid : p.pid;
	for (const sig of ['SIGTERM', 'SIGKILL']) {
		if (!alive(target)) return;
		try { process.kill(target, sig); } catch (e) { return; }
		await L.waitFor(() => !alive(target), 3000, 50);
	}
}

const spawned = new Set();
process.on('exit', () => {
	for (const p of spawned) try { process.kill(p.group ? -p.proc.pid : p.proc.pid, 'SIGKILL'); } catch (e) { /* gone */ }
});

// WebKit holds on to every stream a page opened until the page closes (an
// <img> stream whose src changed, its connection left open and unread, and
// one the server closed alike: measured, neither removing the <img> nor
// window.stop() nor navigating away lets go of them), and each keeps one of
// its six connections to the server busy: at six, no request of the page
// gets through any more.  The page must see that coming and poll snapshots
// instead (CFG.maxHeldStreams); run after checks(), which opened three.
async function heldStreams(b, base, rig) {
	const info = async () => JSON.parse(await b.eval(INFO));
	const clients = async () => (await L.getJson(`${base}/state`)).clients;
	const steps = [];
	for (const step of ['restart', 'pause', 'restart', 'pause']) {
		const t0 = Date.now();
		if (step === 'restart') {
			// Frames after the restart come through a new connection.
			await rig.restartServer();
		} else {
			await b.key(' ');
			await L.waitFor(async () => (await info()).pill === 'Paused', 3000, 100);
			await b.key(' ');
		}
		const f0 = (await info()).frames;
		const live = await L.waitFor(async () => {
			const i = await info();
			return i.conn === 'live' && i.frames >= f0 + 2;
		}, 10000, 100);
		const i = await info();
		steps.push(`${step}: ${live ? 'live' : 'NOT live'} in ${Date.now() - t0} ms (${i.mode}, ${i.pill}, ${await clients()} at the server)`);
		if (!live) break;
	}
	const c1 = await clients();
	const p1 = await info();
	await L.sleep(3000);
	const p2 = await info();
	const c2 = await clients();
	t.diag(`WebKit: ${steps.join('; ')}`);
	t.diag(`WebKit: polling, ${p2.frames - p1.frames} pictures in 3 s`);
	t.ok(steps.length === 4 && !steps.some((x) => /NOT live/.test(x)) && p2.mode === 'poll' &&
		p2.pill === 'Live · snapshots' && p2.frames >= p1.frames + 2 && c2 === c1 && !p2.errors.length,
	'WebKit: two more server restarts and two pauses (seven streams opened, each held): live after each, polling snapshots once they add up',
	{ steps, mode: p2.mode, pill: p2.pill, frames: [p1.frames, p2.frames], clients: [c1, c2], errors: p2.errors });
}

async function webkit(base, rig) {
	const driver = which('WebKitWebDriver');
	const xvfbBin = which('Xvfb');
	// MiniBrowser comes with libwebkit2gtk-4.1-0 (Debian 12 and 13), or
	// libwebkitgtk-6.0-4.
	const mini = ['x86_64-linux-gnu', 'aarch64-linux-gnu', 'arm-linux-gnueabihf']
		.flatMap((a) => ['webkit2gtk-4.1', 'webkitgtk-6.0'].map((w) => `/usr/lib/${a}/${w}/MiniBrowser`))
		.find((p) => fs.existsSync(p));
	const missing = [!driver && 'WebKitWebDriver', !mini && 'MiniBrowser', !xvfbBin && 'Xvfb'].filter(Boolean);
	if (missing.length)
		return t.ok(false, `WebKit checks: ${missing.join(', ')} not installed (deploy/deps.sh installs webkit2gtk-driver ` +
			'and xvfb; VIGIL_BROWSERS=chromium,firefox leaves WebKit out)');
	const port = await L.freePort();
	let proc = null, xvfb = null;
	const wd = async (method, p, body) => {
		const r = await fetch(`http://127.0.0.1:${port}${p}`, {
			method, headers: { 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined,
			signal: AbortSignal.timeout(20000),
		});
		const j = await r.json();
		if (j.value && j.value.error) throw new Error(`${p}: ${j.value.error} ${j.value.message}`);
		return j.value;
	};
	let S = null;
	// Downloads go to XDG_DOWNLOAD_DIR under a HOME of our own.
	const home = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-wk-'));
	try {
		const x = await startXvfb(xvfbBin);
		xvfb = { proc: x.proc, group: false };
		spawned.add(xvfb);
		if (!t.ok(x.display, 'Xvfb starts on a free display')) return;
		proc = { proc: spawn(driver, [`--port=${port}`], {
			stdio: 'ignore', detached: true,
			env: { ...process.env, DISPLAY: x.display, HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'),
				XDG_CACHE_HOME: path.join(home, '.cache'), XDG_DATA_HOME: path.join(home, '.local', 'share'),
				http_proxy: 'http://127.0.0.1:9', https_proxy: 'http://127.0.0.1:9', no_proxy: '127.0.0.1,localhost' },
		}), group: true };
		spawned.add(proc);
		const up = await L.waitFor(async () => { try { await wd('GET', '/status'); return true; } catch (e) { return false; } }, 15000, 100);
		if (!t.ok(up, 'WebKitWebDriver starts')) return;
		const s = await wd('POST', '/session', { capabilities: { alwaysMatch: {
			'webkitgtk:browserOptions': { binary: mini, args: ['--automation'] } } } });
		S = `/session/${s.sessionId}`;
		await wd('POST', `${S}/window/rect`, { width: 1280, height: 800 }).catch(() => {});
		const b = {
			nav: (url) => wd('POST', `${S}/url`, { url }),
			eval: (js) => wd('POST', `${S}/execute/sync`, { script: `return ${js};`, args: [] }),
			key: (k) => wd('POST', `${S}/actions`, { actions: [{ type: 'key', id: 'keyboard',
				actions: [{ type: 'keyDown', value: k }, { type: 'keyUp', value: k }] }] }),
			shot: async (file) => fs.writeFileSync(file, Buffer.from(await wd('GET', `${S}/screenshot`), 'base64')),
			// MiniBrowser saves downloads, without asking, in the XDG download
			// directory, which is $HOME when none is configured.
			downloaded: (name) => [path.join(home, name), path.join(home, 'Downloads', name)].find((f) => fs.existsSync(f)) || null,
		};
		await checks('WebKit', b, base, rig, 'img');
		await heldStreams(b, base, rig);
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
			if (!p) continue;
			await stopProc(p.proc, p.group);
			spawned.delete(p);
		}
		fs.rmSync(home, { recursive: true, force: true });
	}
}

// Runs both engines' checks against a capture and server of their own
// (the engines VIGIL_BROWSERS leaves out are reported as skipped).
async function run(tap) {
	t = tap;
	const want = requested();
	if (want.unknown.length)
		t.ok(false, `VIGIL_BROWSERS names ${want.unknown.join(', ')}: the engines are ${ENGINES.join(', ')}`);
	const camera = L.cameraName('x');
	const port = await L.freePort();
	const listen = `127.0.0.1:${port}`;
	const base = `http://${listen}`;
	let capture = await L.startCapture(camera);
	let srv = await L.startServer(camera, listen);
	await L.waitFor(async () => (await L.getJson(`${base}/state`)).status === 'online', 5000);
	const rig = {
		camera,
		restartServer: async () => {
			await srv.stop('SIGKILL');
			srv = await L.startServer(camera, listen);
			return srv.alive();
		},
		killCapture: () => capture.stop('SIGKILL'),
		startCapture: async () => {
			capture = await L.startCapture(camera);
			return capture.alive();
		},
	};
	try {
		for (const engine of [firefox, webkit]) {
			if (!want.names.includes(engine.name)) {
				t.skip(`${engine.name} checks`, `VIGIL_BROWSERS=${process.env.VIGIL_BROWSERS} leaves ${engine.name} out`);
				continue;
			}
			const t0 = Date.now();
			try {
				await engine(base, rig);
			} catch (e) {
				t.ok(false, `${engine.name} checks ran to the end`, e && e.stack ? e.stack : String(e));
			}
			t.diag(`${engine.name}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
			// The next engine starts with the camera and server up.
			if (!capture.alive()) await rig.startCapture();
			if (!srv.alive()) srv = await L.startServer(camera, listen);
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
