// SPDX-License-Identifier: MIT
// The events view (www/events.js, www/player.js) in Chromium through nginx
// (the `make run` nginx.conf, HTTPS, the password): real recordings made by
// build/vigil-record from a ring that build/tools/recfeed writes (noise
// JPEGs at 10 fps, motion over labelled spans), served by vigil-server
// --recordings.  One event is copied to the day before (its metadata's
// times and id moved by 24 h), so that the list has two days.
'use strict';

const fs = require('fs');
const net = require('net');
const path = require('path');
const { spawnSync } = require('child_process');
const L = require('./lib');

const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => fs.existsSync(p));
const FPS = 10;
// Motion spans (frame indices): two events at once, then one every 12 s so
// that a new one starts while the view is open.
const SPANS = ['10:60', '90:110'];
for (let f = 220; SPANS.length < 16; f += 120) SPANS.push(`${f}:${f + 20}`);

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

function readJson(file) {
	try { return JSON.parse(fs.readFileSync(file, 'utf8')); } catch (e) { return null; }
}

// The events in DIR as vigil-record wrote them (ids with a .json).
function recorded(dir) {
	return fs.readdirSync(dir).filter((f) => /^\d{8}T.*\.json$/.test(f))
		.map((f) => readJson(path.join(dir, f))).filter(Boolean);
}

function idOf(startSec, camera) {
	const d = new Date(Math.round(startSec * 1000));
	const p = (n, w = 2) => String(n).padStart(w, '0');
	return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}T${p(d.getUTCHours())}` +
		`${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}.${p(d.getUTCMilliseconds(), 3)}Z-${camera}`;
}

// A copy of event ev 24 h earlier, in the recorder's format (files first,
// the metadata last, as the recorder does).
function copyToYesterday(dir, ev) {
	const start = ev.start - 86400;
	const id = idOf(start, ev.camera);
	const files = ev.files.map((f, k) => (k ? `${id}.${k}.mkv` : `${id}.mkv`));
	ev.files.forEach((f, k) => fs.copyFileSync(path.join(dir, f), path.join(dir, files[k])));
	fs.copyFileSync(path.join(dir, ev.thumbnail), path.join(dir, `${id}.jpg`));
	const meta = { ...ev, id, start, end: ev.end - 86400, last: ev.last != null ? ev.last - 86400 : ev.last,
		thumbnail: `${id}.jpg`, files };
	fs.writeFileSync(path.join(dir, `${id}.json.tmp`), JSON.stringify(meta));
	fs.renameSync(path.join(dir, `${id}.json.tmp`), path.join(dir, `${id}.json`));
	return meta;
}

// What the events view shows, from the DOM.
function view(page) {
	return page.evaluate(() => {
		const panel = document.getElementById('events');
		const player = document.getElementById('player');
		const days = [...document.querySelectorAll('#events-list .events-day')].map((d) => ({
			title: d.querySelector('.events-day-title').textContent,
			items: [...d.querySelectorAll('.event')].map((a) => {
				const img = a.querySelector('img');
				const r = a.getBoundingClientRect();
				return {
					id: a.getAttribute('data-id'), time: a.querySelector('.event-time').textContent,
					dur: a.querySelector('.event-dur').textContent, score: a.querySelector('.event-score').textContent,
					thumb: img.getAttribute('src'), loaded: img.complete && img.naturalWidth > 0,
					inView: r.bottom > 0 && r.top < innerHeight,
				};
			}),
		}));
		const p = window.vigil.events.player;
		const seek = document.getElementById('play-seek');
		const clip = document.getElementById('play-clip');
		const badge = document.getElementById('motion');
		const br = badge.getBoundingClientRect();
		const atBadge = document.elementFromPoint(br.left + br.width / 2, br.top + br.height / 2);
		return {
			open: panel ? !panel.hidden : false, days,
			more: !document.getElementById('events-more').hidden,
			playing: player ? !player.hidden : false, state: player ? player.getAttribute('data-state') : null,
			id: p.id, frames: p.frames, pos: p.pos, speed: p.speed, ended: p.ended, error: p.error,
			seek: seek ? Number(seek.value) : null, seekMax: seek ? Number(seek.max) : null,
			clip: clip ? clip.href : null, hash: location.hash,
			badge: { hidden: badge.hidden, visible: !badge.hidden && br.width > 0 && !!atBadge && badge.contains(atBadge),
				active: badge.getAttribute('data-active') },
			conn: window.vigil.conn, liveFrames: window.vigil.frames,
			scrollW: document.documentElement.scrollWidth, clientW: document.documentElement.clientWidth,
		};
	});
}

// A small grey-level sample of the player's canvas.
function sample(page) {
	return page.evaluate(() => {
		const c = document.getElementById('play-view');
		const s = document.createElement('canvas');
		s.width = 64; s.height = 36;
		const x = s.getContext('2d');
		x.drawImage(c, 0, 0, s.width, s.height);
		const d = x.getImageData(0, 0, s.width, s.height).data;
		const out = [];
		for (let i = 0; i < d.length; i += 4) out.push((d[i] * 3 + d[i + 1] * 6 + d[i + 2]) / 10 | 0);
		return out;
	});
}

// How fast the playback position moves (event seconds per second), over ms.
async function pace(page, ms) {
	await L.waitFor(async () => (await view(page)).frames >= 3, 5000);
	const a = await view(page), t0 = Date.now();
	await L.sleep(ms);
	const b = await view(page), t1 = Date.now();
	return { rate: (b.pos - a.pos) / ((t1 - t0) / 1000), a: a.pos, b: b.pos, frames: b.frames - a.frames };
}

async function setControl(page, id, value) {
	await page.evaluate(([i, v]) => {
		const n = document.getElementById(i);
		n.value = String(v);
		n.dispatchEvent(new Event('input', { bubbles: true }));
		n.dispatchEvent(new Event('change', { bubbles: true }));
	}, [id, value]);
}

module.exports.run = async function (browser, t, h) {
	const daemons = [];
	const tmp = fs.mkdtempSync('/tmp/vgev-');
	try {
		await checks(browser, t, h, daemons, tmp);
	} finally {
		for (const d of daemons.reverse()) await d.stop();
		fs.rmSync(tmp, { recursive: true, force: true });
	}
};

async function checks(browser, t, h, daemons, tmp) {
	const runSh = path.join(L.ROOT, 'deploy', 'run.sh');
	const need = [runSh, path.join(L.BUILD, 'vigil-record'), path.join(L.BUILD, 'tools', 'recfeed')];
	if (!t.ok(NGINX && need.every((p) => fs.existsSync(p)), 'events view: nginx, vigil-record and recfeed are there',
		need.join(' ')))
		return;
	const camera = L.cameraName('e');
	const rdir = path.join(tmp, 'rec');
	fs.mkdirSync(rdir);
	const port = await L.freePort();
	const env = { ...process.env, RUN_DIR: tmp, PORT: String(port), HTTP_PORT: '0', ADDR: '127.0.0.1',
		SERVERS: '1', CAMERA: camera, TLS_CIPHERS: 'client' };
	const prep = spawnSync(runSh, ['--prepare'], { env, encoding: 'utf8', timeout: 60000 });
	if (!t.ok(prep.status === 0, 'events view: deploy/run.sh --prepare writes nginx.conf', prep.stderr)) return;
	const conf = prep.stdout.trim().split('\n').pop();
	const password = fs.readFileSync(path.join(tmp, 'password'), 'utf8').trim();
	const base = `https://127.0.0.1:${port}`;

	const feed = new L.Daemon([path.join(L.BUILD, 'tools', 'recfeed'), '--camera', camera, '--fps', String(FPS),
		'--count', '0', '--size', '640x360', '--score', '120', ...SPANS.flatMap((s) => ['--motion', s])], `recfeed-${camera}`);
	daemons.push(feed);
	process.on('exit', () => L.removeRing(camera));
	await L.waitFor(() => fs.existsSync(L.shmPath(camera)) || !feed.alive(), 5000);
	const rec = new L.Daemon([path.join(L.BUILD, 'vigil-record'), '--camera', camera, '--dir', rdir,
		'--pre', '1', '--post', '1', '--min-free', '0'], `record-${camera}`);
	daemons.push(rec);
	const sock = path.join(tmp, 'web1.sock');
	const old = process.umask(0o007);
	try {
		daemons.push(new L.Daemon([path.join(L.BUILD, 'vigil-server'), '--camera', camera, '--listen', `unix:${sock}`,
			'--recordings', rdir], `server-rec-${camera}`));
	} finally {
		process.umask(old);
	}
	await L.waitFor(() => unixOk(sock), 5000);
	const nginx = new L.Daemon([NGINX, '-p', path.join(tmp, 'nginx') + '/', '-c', conf,
		'-e', path.join(tmp, 'logs', 'nginx.error.log')], `nginx-ev-${camera}`);
	daemons.push(nginx);
	const up = await L.waitFor(() => tcpOk(port), 8000);
	if (!t.ok(up && nginx.alive(), 'events view: nginx starts in front of vigil-server --recordings', nginx.output()))
		return;

	// The first two events, finished.
	let done = [];
	const two = await L.waitFor(() => {
		done = recorded(rdir).filter((e) => e.end != null);
		return done.length >= 2;
	}, 25000, 200);
	if (!t.ok(two && rec.alive(), 'vigil-record recorded two events from recfeed\'s motion', rec.output())) return;
	done.sort((a, b) => a.start - b.start);
	const first = done[0], second = done[1];
	const yesterday = copyToYesterday(rdir, first);

	const opts = { viewport: { width: 1440, height: 900 }, ignoreHTTPSErrors: true,
		httpCredentials: { username: 'vigil', password } };
	const v = await h.openViewer(browser, `${base}/`, opts);
	const page = v.page;
	await L.waitFor(async () => (await h.info(page)).conn === 'live', 8000);

	await t.check('events view: the list shows the events newest first, by day, with thumbnails that load', async () => {
		await page.click('#btn-events');
		let s = null;
		const ok = await L.waitFor(async () => {
			s = await view(page);
			const all = s.days.flatMap((d) => d.items);
			return s.open && s.hash === '#events' && all.some((i) => i.id === second.id) &&
				all.some((i) => i.id === yesterday.id) && all.filter((i) => i.inView).every((i) => i.loaded);
		}, 5000);
		const all = s.days.flatMap((d) => d.items);
		const want = recorded(rdir).sort((a, b) => b.start - a.start).map((e) => e.id);
		const ids = all.map((i) => i.id);
		const titles = s.days.map((d) => d.title);
		const second1 = all.find((i) => i.id === second.id) || {};
		const durOk = second1.dur === `${Math.round(second.end - second.start)} s` &&
			second1.score === `${(second.score / 10).toFixed(second.score < 100 ? 1 : 0)} %` &&
			/^\d\d:\d\d:\d\d$/.test(second1.time || '') && second1.thumb === `events/${second.id}.jpg`;
		// Newest first (the recorder may have started another meanwhile).
		const order = JSON.stringify(ids) === JSON.stringify(want.filter((id) => ids.includes(id))) &&
			want.slice(1).every((id) => ids.includes(id));
		await h.screenshot(page, 'events-desktop');
		return { ok: ok && order && durOk && titles[0] === 'Today' && titles[titles.length - 1] === 'Yesterday' &&
			s.days[s.days.length - 1].items.length === 1, diag: { ids, want, titles, second1, s: { ...s, days: undefined } } };
	});

	await t.check('events view: the motion badge stays visible over the list (motion detection on)', async () => {
		const s = await view(page);
		return { ok: s.open && s.badge.visible, diag: s.badge };
	});

	await t.check('events view: a click plays the event in the viewer: frames arrive, the picture changes, the scrubber moves', async () => {
		const liveBefore = (await view(page)).liveFrames;
		await page.click(`#events-list a[data-id="${first.id}"]`);
		const started = await L.waitFor(async () => (await view(page)).frames >= 3, 5000);
		const a = await sample(page), va = await view(page);
		await L.sleep(1200);
		const b = await sample(page), vb = await view(page);
		const changed = a.filter((x, k) => Math.abs(x - b[k]) > 8).length;
		const liveAfter = (await view(page)).liveFrames;
		return { ok: started && vb.playing && !vb.open && vb.id === first.id && vb.hash === `#events/${first.id}` &&
			vb.frames > va.frames && vb.seek > va.seek && vb.pos > va.pos && changed > 50 && vb.conn === 'paused' &&
			liveAfter - liveBefore < 30,
		diag: { va, vb, changed, liveBefore, liveAfter } };
	});
	await h.screenshot(page, 'events-player');

	await t.check('events view: the clip link downloads the event\'s Matroska file', async () => {
		const s = await view(page);
		const want = `${base}/events/${first.id}/clip`;
		const r = await v.ctx.request.get(s.clip, { timeout: 5000 });
		const body = await r.body();
		return { ok: s.clip === want && r.status() === 200 && /attachment/.test(r.headers()['content-disposition'] || '') &&
			body.slice(0, 4).toString('hex') === '1a45dfa3' && body.length === fs.statSync(path.join(rdir, first.files[0])).size,
		diag: { clip: s.clip, want, status: r.status(), headers: r.headers() } };
	});

	await t.check('events view: speed changes the pace (0.5x against 4x), seeking starts later', async () => {
		await setControl(page, 'play-seek', 0);
		await setControl(page, 'play-speed', 0.5);
		const slow = await pace(page, 1500);
		await setControl(page, 'play-seek', 0);
		await setControl(page, 'play-speed', 4);
		const fast = await pace(page, 800);
		await setControl(page, 'play-speed', 1);
		await setControl(page, 'play-seek', 3);
		const f0 = (await view(page)).frames;
		await L.waitFor(async () => (await view(page)).frames > f0 + 1, 5000);
		const sk = await view(page);
		return { ok: slow.rate > 0.3 && slow.rate < 0.75 && fast.rate > 2.5 && fast.rate < 5.5 && sk.pos >= 2.9 &&
			sk.pos < 4.5, diag: { slow, fast, seek: sk.pos } };
	});

	await t.check('events view: "Live" goes back to the live picture', async () => {
		await page.click('#play-live');
		const n = (await view(page)).liveFrames;
		const ok = await L.waitFor(async () => {
			const s = await view(page);
			return !s.playing && s.conn === 'live' && s.liveFrames > n + 5;
		}, 5000);
		const s = await view(page);
		return { ok: ok && s.hash === '' && s.id === null, diag: s };
	});

	await t.check('events view: a new event shows in the open list within 2 s of its metadata', async () => {
		await page.click('#btn-events');
		await L.waitFor(async () => (await view(page)).days.length > 0, 5000);
		const before = new Set(recorded(rdir).map((e) => e.id));
		let fresh = null;
		const appeared = await L.waitFor(() => {
			fresh = recorded(rdir).find((e) => !before.has(e.id));
			return !!fresh;
		}, 20000, 20);
		if (!appeared) return { ok: false, diag: 'no new event from the recorder in 20 s' };
		const t0 = Date.now();
		const shown = await L.waitFor(async () => (await view(page)).days.some((d) => d.items.some((i) => i.id === fresh.id)),
			2000, 50);
		const ms = Date.now() - t0;
		t.diag(`a new event showed ${ms} ms after its metadata was written`);
		return { ok: shown, diag: { ms, fresh: fresh.id } };
	});

	await t.check('events view: paging (index.html?events=2): "More" loads the next page, in order, until none is left', async () => {
		const p = await h.openViewer(browser, `${base}/index.html?events=2#events`, opts);
		const ids = async () => (await view(p.page)).days.flatMap((d) => d.items.map((i) => i.id));
		const first2 = await L.waitFor(async () => (await ids()).length === 2, 5000) ? await ids() : await ids();
		const moreShown = (await view(p.page)).more;
		let clicks = 0;
		while ((await view(p.page)).more && clicks < 20) {
			const n = (await ids()).length;
			await p.page.click('#events-more');
			clicks++;
			await L.waitFor(async () => (await ids()).length > n || !(await view(p.page)).more, 5000);
		}
		const all = await ids();
		const lastMore = (await view(p.page)).more;
		const want = recorded(rdir).sort((a, b) => b.start - a.start).map((e) => e.id);
		await p.ctx.close();
		return { ok: first2.length === 2 && moreShown && clicks >= 1 && !lastMore &&
			want.every((id) => all.includes(id)) &&
			JSON.stringify(all) === JSON.stringify(want.filter((id) => all.includes(id))), diag: { first2, clicks, lastMore, all, want } };
	});

	await t.check('events view: #events/ID opens that event (a notification\'s link)', async () => {
		const p = await h.openViewer(browser, `${base}/#events/${second.id}`, opts);
		const ok = await L.waitFor(async () => {
			const s = await view(p.page);
			return s.playing && s.id === second.id && s.frames >= 3;
		}, 6000);
		const s = await view(p.page);
		await p.ctx.close();
		return { ok, diag: s };
	});

	await t.check('events view at phone size: fits the width (no horizontal scroll), two thumbnails a row', async () => {
		const p = await h.openViewer(browser, `${base}/#events`, { ...opts, viewport: { width: 390, height: 844 },
			deviceScaleFactor: 2, isMobile: true, hasTouch: true });
		let s = null;
		await L.waitFor(async () => { s = await view(p.page); return s.days.length >= 2 && s.days[0].items.every((i) => !i.inView || i.loaded); }, 5000);
		const cols = await p.page.evaluate(() => {
			const its = [...document.querySelectorAll('.events-day')[0].querySelectorAll('.event')];
			return new Set(its.map((a) => Math.round(a.getBoundingClientRect().left))).size;
		});
		await h.screenshot(p.page, 'events-phone');
		await p.page.click(`#events-list a[data-id="${second.id}"]`);
		await L.waitFor(async () => (await view(p.page)).frames >= 3, 5000);
		const pl = await view(p.page);
		const bar = await p.page.evaluate(() => {
			const r = document.querySelector('.player-bar').getBoundingClientRect();
			return [r.left, r.right];
		});
		await h.screenshot(p.page, 'events-phone-player');
		await p.ctx.close();
		return { ok: s.open && s.scrollW <= s.clientW && cols === 2 && pl.scrollW <= pl.clientW && bar[0] >= 0 &&
			bar[1] <= 390 && s.badge.visible, diag: { s, cols, bar } };
	});

	await t.check('events view: no console errors and no CSP violations', async () => {
		const bad = v.rec.errors.filter((e) => e.fatal || !/net::ERR_|Failed to load resource/.test(e.text));
		const i = await h.info(page);
		return { ok: !bad.length && !i.csp.length && !v.rec.csp.length, diag: { bad, csp: i.csp.concat(v.rec.csp) } };
	});
	await v.ctx.close();
}
