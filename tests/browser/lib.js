// SPDX-License-Identifier: MIT
// Helpers of the browser tests: TAP output, real daemons (vigil-capture,
// vigil-server) killed when the test exits, free ports, bounded waits, and
// the Chromium launch (Debian's /usr/bin/chromium through playwright-core;
// no browser is ever downloaded).
'use strict';

const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');
const http = require('http');

const ROOT = process.env.VIGIL_ROOT || path.resolve(__dirname, '..', '..');
const BUILD = path.resolve(ROOT, process.env.VIGIL_BUILD || 'build');
const LOGS = path.join(ROOT, 'build', 'test-logs');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

// ------------------------------------------------------------ TAP

class Tap {
	constructor() {
		this.n = 0;
		this.failed = 0;
	}

	ok(cond, name, diag) {
		this.n++;
		console.log(`${cond ? 'ok' : 'not ok'} ${this.n} - ${name}`);
		if (!cond) {
			this.failed++;
			if (diag !== undefined)
				for (const line of String(typeof diag === 'string' ? diag : JSON.stringify(diag)).split('\n'))
					console.log(`#   ${line}`);
		}
		return !!cond;
	}

	skip(name, reason) {
		this.n++;
		console.log(`ok ${this.n} - ${name} # SKIP ${reason}`);
	}

	diag(msg) {
		for (const line of String(msg).split('\n')) console.log(`# ${line}`);
	}

	// Runs one named check; an exception is a failure, never a crash.
	async check(name, fn) {
		const t0 = Date.now();
		try {
			const r = await fn();
			if (r === undefined || r === true) return this.ok(true, name);
			if (r && r.skip) { this.skip(name, r.skip); return true; }
			return this.ok(r.ok, name, r.diag);
		} catch (e) {
			return this.ok(false, name, `${e && e.stack ? e.stack : e} (after ${Date.now() - t0} ms)`);
		}
	}

	done() {
		console.log(`1..${this.n}`);
		return this.failed ? 1 : 0;
	}
}

// ------------------------------------------------------------ processes

const procs = [];
let seq = 0;

function cameraName(tag = 'b') {
	seq++;
	return `t${process.pid}${tag}${seq}`.slice(0, 32);
}

class Daemon {
	constructor(argv, name) {
		this.argv = argv;
		this.name = name;
		fs.mkdirSync(LOGS, { recursive: true });
		this.log = path.join(LOGS, `browser-${name}-${process.pid}-${procs.length}.log`);
		const fd = fs.openSync(this.log, 'w');
		this.proc = spawn(argv[0], argv.slice(1), { stdio: ['ignore', fd, fd] });
		fs.closeSync(fd);
		this.exited = null;
		this.proc.on('exit', (code, sig) => { this.exited = { code, sig }; });
		procs.push(this);
	}

	get pid() { return this.proc.pid; }
	alive() { return this.exited === null; }

	async stop(sig = 'SIGTERM', timeoutMs = 5000) {
		if (!this.alive()) return this.exited;
		this.proc.kill(sig);
		const gone = await waitFor(() => !this.alive(), timeoutMs);
		if (!gone) {
			this.proc.kill('SIGKILL');
			await waitFor(() => !this.alive(), 2000);
		}
		return this.exited;
	}

	output() {
		try { return fs.readFileSync(this.log, 'utf8'); } catch (e) { return ''; }
	}
}

function killAll() {
	for (const d of procs)
		if (d.alive()) try { d.proc.kill('SIGKILL'); } catch (e) { /* gone */ }
}

process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM'])
	process.on(sig, () => { killAll(); process.exit(1); });

function shmPath(camera) { return `/dev/shm/vigil.${camera}`; }

function removeRing(camera) {
	for (const p of [shmPath(camera), shmPath(camera) + '.lock'])
		try { fs.unlinkSync(p); } catch (e) { /* absent */ }
}

async function startCapture(camera, extra = []) {
	const d = new Daemon([path.join(BUILD, 'vigil-capture'), '--camera', camera,
		'--source', 'testsrc', '--testsrc-motion', 'always', '--size', '1280x720', '--fps', '24', ...extra], `capture-${camera}`);
	await waitFor(() => fs.existsSync(shmPath(camera)) || !d.alive(), 5000);
	process.on('exit', () => removeRing(camera));
	return d;
}

async function startServer(camera, listen) {
	const d = new Daemon([path.join(BUILD, 'vigil-server'), '--camera', camera,
		'--listen', listen], `server-${camera}`);
	const [host, port] = [listen.replace(/:\d+$/, '').replace(/[[\]]/g, ''), Number(listen.split(':').pop())];
	const up = await waitFor(async () => {
		if (!d.alive()) return true;
		try { await httpGet(`http://${host}:${port}/healthz`); return true; } catch (e) { return false; }
	}, 5000);
	if (!up || !d.alive()) throw new Error(`vigil-server did not start: ${d.output()}`);
	return d;
}

function freePort() {
	return new Promise((resolve, reject) => {
		const s = net.createServer();
		s.on('error', reject);
		s.listen(0, '127.0.0.1', () => {
			const { port } = s.address();
			s.close(() => resolve(port));
		});
	});
}

// A TCP relay in front of a server that can "freeze" the streams going
// through it: their sockets stay open but no byte moves any more, the way a
// hung server or a proxy that lost its upstream looks to a browser.  Other
// requests (and streams opened after the freeze) pass.
class FreezeProxy {
	constructor(target) {
		this.target = target;
		this.frozen = new Set();
		this.streams = new Set();
		this.closedByClient = 0;
		this.server = net.createServer((c) => this.relay(c));
	}

	listen() {
		return new Promise((resolve) => this.server.listen(0, '127.0.0.1', () => resolve(this.server.address().port)));
	}

	relay(c) {
		const up = net.connect(this.target.port, this.target.host);
		const conn = { c, up, stream: false };
		c.on('data', (d) => {
			if (/^GET \/stream\.mjpg/.test(d.toString('latin1', 0, 32))) {
				conn.stream = true;
				this.streams.add(conn);
			}
			if (!this.frozen.has(conn)) up.write(d);
		});
		up.on('data', (d) => { if (!this.frozen.has(conn)) c.write(d); });
		c.on('close', () => {
			if (this.frozen.has(conn)) this.closedByClient++;
			this.frozen.delete(conn);
			this.streams.delete(conn);
			up.destroy();
		});
		up.on('close', () => { if (!this.frozen.has(conn)) c.destroy(); });
		c.on('error', () => {});
		up.on('error', () => {});
	}

	// Freezes every stream open now; returns how many.
	freeze() {
		for (const s of this.streams) this.frozen.add(s);
		return this.frozen.size;
	}

	close() {
		for (const s of this.streams) { s.c.destroy(); s.up.destroy(); }
		this.server.close();
	}
}

// An HTTP relay in front of vigil-server that passes every request through
// but re-sends /stream.mjpg in the most awkward form the MJPEG format allows,
// to prove the page's own multipart parser: a preamble before the first
// boundary, a quoted boundary parameter, parts without Content-Length (the
// boundary ends them), extra part headers, and the bytes cut into random
// small writes.
class AwkwardRelay {
	constructor(target) {
		this.target = target;
		this.parts = 0;
		this.server = http.createServer((req, res) => this.handle(req, res));
	}

	listen() {
		return new Promise((resolve) => this.server.listen(0, '127.0.0.1', () => resolve(this.server.address().port)));
	}

	handle(req, res) {
		const up = http.request({ host: this.target.host, port: this.target.port, path: req.url, method: req.method,
			headers: req.headers }, (ur) => {
			if (!/^\/stream\.mjpg/.test(req.url) || ur.statusCode !== 200) {
				res.writeHead(ur.statusCode, ur.headers);
				ur.pipe(res);
				return;
			}
			const boundary = /boundary=([^;\s]+)/.exec(ur.headers['content-type'])[1];
			const out = 'awkward-' + Math.random().toString(36).slice(2);
			res.writeHead(200, { 'Content-Type': `multipart/x-mixed-replace; boundary="${out}"`, 'Cache-Control': 'no-store' });
			const queue = [Buffer.from(`This is a preamble that clients must skip.\r\n--${out}\r\n`)];
			let writing = false;
			const pump = () => {
				if (writing) return;
				writing = true;
				const step = () => {
					if (!queue.length || res.destroyed) { writing = false; return; }
					const b = queue[0];
					const n = 1 + Math.floor(Math.random() * 700);
					res.write(b.subarray(0, n));
					if (n >= b.length) queue.shift(); else queue[0] = b.subarray(n);
					setImmediate(step);
				};
				step();
			};
			let buf = Buffer.alloc(0);
			ur.on('data', (d) => {
				buf = Buffer.concat([buf, d]);
				for (;;) {
					const start = buf.indexOf(`--${boundary}\r\n`);
					if (start < 0) break;
					const hend = buf.indexOf('\r\n\r\n', start);
					if (hend < 0) break;
					const head = buf.subarray(start, hend).toString('latin1');
					const len = Number(/content-length:\s*(\d+)/i.exec(head)[1]);
					if (buf.length < hend + 4 + len) break;
					const jpeg = buf.subarray(hend + 4, hend + 4 + len);
					const seq = (/x-frame-seq:\s*(\d+)/i.exec(head) || [])[1];
					buf = buf.subarray(hend + 4 + len);
					const withLength = this.parts++ % 2 === 0;
					queue.push(Buffer.concat([
						Buffer.from(`Content-Type: image/jpeg\r\nX-Note: relayed\r\n${withLength ? `Content-Length: ${len}\r\n` : ''}` +
							`X-Frame-Seq: ${seq}\r\n\r\n`),
						jpeg, Buffer.from(`\r\n--${out}\r\n`)]));
					pump();
				}
			});
			res.on('close', () => ur.destroy());
		});
		up.on('error', () => res.destroy());
		req.pipe(up);
	}

	close() {
		this.server.closeAllConnections();
		this.server.close();
	}
}

// ------------------------------------------------------------ waits, HTTP

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Polls cond (sync or async) until truthy or timeoutMs; returns its last value.
async function waitFor(cond, timeoutMs, stepMs = 50) {
	const end = Date.now() + timeoutMs;
	for (;;) {
		let v;
		try { v = await cond(); } catch (e) { v = false; }
		if (v || Date.now() >= end) return v;
		await sleep(stepMs);
	}
}

function httpGet(url, opts = {}) {
	return new Promise((resolve, reject) => {
		const req = http.get(url, { timeout: opts.timeout || 3000, headers: opts.headers || {} }, (res) => {
			const chunks = [];
			res.on('data', (c) => chunks.push(c));
			res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
			res.on('error', reject);
		});
		req.on('timeout', () => req.destroy(new Error('timeout')));
		req.on('error', reject);
	});
}

async function getJson(url) {
	const r = await httpGet(url);
	if (r.status !== 200) throw new Error(`${url}: HTTP ${r.status}`);
	return JSON.parse(r.body.toString());
}

// A JPEG is valid when libjpeg-turbo's djpeg decodes all of it with neither
// an error nor a warning (a truncated or corrupt JPEG warns); returns
// [width, height] of the decoded picture or throws.
function jpegDecode(file) {
	const r = spawnSync('djpeg', ['-pnm', file], { timeout: 10000, maxBuffer: 64 << 20 });
	if (r.error) throw new Error(`djpeg: ${r.error.message} (libjpeg-turbo-progs)`);
	const err = r.stderr.toString().trim();
	if (r.status !== 0 || err) throw new Error(`not a valid JPEG: djpeg status ${r.status}: ${err}`);
	const m = /^P[56]\s+(\d+)\s+(\d+)\s+255\s/.exec(r.stdout.subarray(0, 64).toString('latin1'));
	if (!m) throw new Error('djpeg wrote no picture');
	return [Number(m[1]), Number(m[2])];
}

// ------------------------------------------------------------ browser

const CHROMIUM_ARGS = [
	'--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
	'--disable-background-networking', '--disable-component-update', '--disable-sync',
	// Nothing may leave the host: every request but loopback (which Chromium
	// never proxies) goes to a port where nothing listens.
	'--proxy-server=http://127.0.0.1:9',
	// Keep timers and rendering running at full speed in headless tabs.
	'--disable-background-timer-throttling', '--disable-renderer-backgrounding',
	'--disable-backgrounding-occluded-windows',
];

// Launches Debian's Chromium headless.  Playwright gives every launch a
// fresh temporary profile (user-data-dir) and removes it on close.
async function launch() {
	const { chromium } = require('playwright-core');
	return chromium.launch({
		executablePath: CHROMIUM,
		headless: true,
		args: CHROMIUM_ARGS,
		timeout: 30000,
	});
}

module.exports = {
	ROOT, BUILD, LOGS, CHROMIUM, Tap, Daemon, FreezeProxy, AwkwardRelay, cameraName, startCapture, startServer,
	removeRing, shmPath, freePort, sleep, waitFor, httpGet, getJson, jpegDecode, launch,
	tmpdir: () => fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-browser-')),
};
