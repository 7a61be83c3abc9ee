// SPDX-License-Identifier: MIT
// vigil.js: the live viewer of vigil (no framework, no build step).
//
// How the picture gets here, and why not simply <img src="stream.mjpg">:
// the page reads /stream.mjpg with fetch() and a ReadableStream, splits the
// multipart body itself (Content-Length of each part, the boundary as a
// fallback), and draws each JPEG on a <canvas> through createImageBitmap().
// An <img> showing MJPEG gives a page no reliable signal: Chrome fires
// neither "load" nor "error" when a multipart stream ends or stalls, Firefox
// fires "load" per part, WebKit empties the picture without an event.  With
// fetch() the page knows exactly when each frame arrives (so it measures the
// frame rate and notices a stalled stream), when the stream ends (the reader
// reports done or throws: reconnect), and it closes the connection on pause
// or when the tab is hidden (AbortController).
//
// Three ways to show the camera, tried in this order, the first that works
// is kept (and remembered for a week in localStorage):
//   stream: fetch() + canvas as above (Chrome, Edge, Firefox);
//   img:    the browser's own MJPEG in an <img>, for WebKit (Safari, iOS,
//           WebKitGTK): it answers the fetch with headers and then fails
//           the body read ("Load failed"), as it hands multipart responses
//           to its own multipart loader.  No per-frame event there, so the
//           page samples the picture once a second to see that it moves;
//   poll:   /snapshot.jpg a few times a second, where neither gets a frame
//           through (a buffering proxy, an MJPEG-less browser).
// ?mode=stream|img|poll in the page's URL forces one.
// Everything it needs is same-origin: connect-src 'self' and img-src blob:
// in the server's Content-Security-Policy cover it, and nothing is inline.
(function () {
	'use strict';

	var CFG = {
		backoffMin: 250,      // ms before the first retry after a drop
		backoffMax: 4000,     // retry interval cap
		stallMs: 4000,        // no frame for this long while the camera is online: reconnect
		stateMs: 1000,        // /state poll period while streaming
		statePausedMs: 5000,  // ... while paused
		stateTimeoutMs: 3000, // a /state answer slower than this is a failure
		pollMaxFps: 5,        // snapshot-polling mode rate cap (nginx allows 10 requests/s)
		fpsWindowMs: 3000,    // frame rate measured over this window
		maxPartBytes: 16 << 20,
		maxHeaderBytes: 16384,
		zoomMax: 8,
		maxLingering: 3       // WebKit <img> streams left open before polling instead
	};

	var $ = function (id) { return document.getElementById(id); };
	var camera = document.body.getAttribute('data-camera') || 'camera';
	var canvas = $('view');
	var img = $('live-img');
	var BLANK = 'data:image/gif;base64,R0lGODlhAQABAAAAACwAAAAAAQABAAA=';
	var ctx = canvas.getContext('2d', { alpha: false });
	var app = $('app');
	var stage = $('stage');
	var frame = $('frame');
	var root = document.documentElement;

	var params = new URLSearchParams(location.search);
	var baseTitle = document.title;

	// ?fps=N in the page's URL caps the stream's rate (the server's own
	// ?fps=N), for a slow link: a phone on mobile data.
	function fpsCap(sep) {
		var n = parseInt(params.get('fps'), 10);
		return n >= 1 && n <= 1000 ? sep + 'fps=' + n : '';
	}
	var canStream = typeof ReadableStream !== 'undefined' &&
		typeof Response !== 'undefined' && 'body' in Response.prototype &&
		typeof AbortController !== 'undefined';
	// WebKit (Safari, every iOS browser, WebKitGTK): the behaviour above is
	// what makes the page move on to the <img> way, but the fetch that WebKit
	// fails stays open at the server until the page closes, so its name
	// saves that first, doomed attempt.  Chrome, Edge, Opera say "Chrome/".
	var webkitOnly = /AppleWebKit\//.test(navigator.userAgent) && !/Chrome\/|Chromium\//.test(navigator.userAgent);
	var MODES = ['stream', 'img', 'poll'];
	var MODE_KEY = 'vigil.mode';
	var forcedMode = MODES.indexOf(params.get('mode')) >= 0 ? params.get('mode') : null;

	// The mode that worked last time in this browser (a week at most: a
	// fallback forced by a proxy that has since been fixed does not stick).
	function savedMode() {
		try {
			var m = JSON.parse(localStorage.getItem(MODE_KEY) || 'null');
			if (m && MODES.indexOf(m.mode) > 0 && Date.now() - m.at < 7 * 864e5) return m.mode;
		} catch (e) { /* storage disabled */ }
		return null;
	}

	function saveMode(m) {
		try {
			if (m === 'stream') localStorage.removeItem(MODE_KEY);
			else localStorage.setItem(MODE_KEY, JSON.stringify({ mode: m, at: Date.now() }));
		} catch (e) { /* storage disabled */ }
	}

	var st = {
		mode: forcedMode || savedMode() || (canStream && !webkitOnly ? 'stream' : 'img'),
		conn: 'connecting',   // connecting | live | reconnecting | paused | hidden
		paused: false,
		hidden: document.hidden,
		session: 0,           // bumped by every start/stop: stale async work checks it
		ctrl: null,           // AbortController of the running connection
		retryTimer: 0,
		attempt: 0,
		retryAt: 0,
		connectedAt: 0,
		lastFrameAt: 0,
		framesThisConn: 0,
		emptyConns: 0,        // connections that delivered no frame while the camera was online
		frames: 0,
		drawn: [],            // performance.now() of recently drawn frames
		blob: null,           // the JPEG on screen (for the snapshot button)
		frameTime: null,      // its capture time (ms since the epoch) if known
		width: 0,
		height: 0,
		state: null,          // last /state answer
		stateAt: 0,
		stateFails: 0,
		stateTimer: 0,
		lastError: '',
		accepted: false,      // the current connection got a multipart answer
		pollSeq: null,        // X-Frame-Seq of the last polled snapshot
		unpaced: false,       // the next frame drawn opens a connection
		lingering: 0          // <img> streams WebKit keeps open (see start)
	};

	// ------------------------------------------------------------ multipart

	var CRLFCRLF = [13, 10, 13, 10];

	function indexOf(buf, start, end, pat) {
		var n = pat.length, first = pat[0];
		for (var i = start; i + n <= end; i++) {
			if (buf[i] !== first) continue;
			var j = 1;
			while (j < n && buf[i + j] === pat[j]) j++;
			if (j === n) return i;
		}
		return -1;
	}

	function ascii(s) {
		var a = new Uint8Array(s.length);
		for (var i = 0; i < s.length; i++) a[i] = s.charCodeAt(i) & 0xff;
		return a;
	}

	// Splits a multipart/x-mixed-replace body into parts.  onPart(headers,
	// bytes) gets each part's lower-cased headers and its body (a copy).
	// Throws on a malformed stream; the caller reconnects.
	function MultipartParser(boundary, onPart) {
		this.delim = ascii('--' + boundary);
		this.closeDelim = ascii('\r\n--' + boundary);
		this.onPart = onPart;
		this.buf = new Uint8Array(256 * 1024);
		this.start = 0;
		this.end = 0;
		this.phase = 'boundary';
		this.headers = null;
		this.length = -1;
		this.scanned = 0;   // body without a length: searched up to here
	}

	MultipartParser.prototype.push = function (chunk) {
		var need = this.end - this.start + chunk.length;
		if (this.start > 0 && this.end + chunk.length > this.buf.length) {
			this.buf.copyWithin(0, this.start, this.end);
			this.shift(this.start);
		}
		if (need > this.buf.length) {
			var size = this.buf.length;
			while (size < need) size *= 2;
			var grown = new Uint8Array(size);
			grown.set(this.buf.subarray(this.start, this.end));
			this.buf = grown;
			this.shift(this.start);
		}
		this.buf.set(chunk, this.end);
		this.end += chunk.length;
		while (this.step()) { /* consume every complete piece */ }
		if (this.end - this.start > CFG.maxPartBytes + CFG.maxHeaderBytes)
			throw new Error('multipart part too large');
	};

	// The unread bytes moved n places down (to the buffer's start).
	MultipartParser.prototype.shift = function (n) {
		this.end -= n;
		this.start -= n;
		this.scanned = Math.max(0, this.scanned - n);
	};

	MultipartParser.prototype.step = function () {
		var b = this.buf, i;
		if (this.phase === 'boundary') {
			// Anything before the delimiter line (the CRLF that closes the
			// previous part, a preamble) is skipped.
			i = indexOf(b, this.start, this.end, this.delim);
			if (i < 0) {
				if (this.end - this.start > CFG.maxHeaderBytes) throw new Error('no multipart boundary');
				return false;
			}
			var eol = indexOf(b, i + this.delim.length, this.end, [13, 10]);
			if (eol < 0) return false;
			if (b[i + this.delim.length] === 45 && b[i + this.delim.length + 1] === 45)
				throw new Error('stream closed by the server');
			this.start = eol + 2;
			this.phase = 'headers';
			return true;
		}
		if (this.phase === 'headers') {
			i = indexOf(b, this.start, this.end, CRLFCRLF);
			if (i < 0) {
				if (this.end - this.start > CFG.maxHeaderBytes) throw new Error('multipart headers too long');
				return false;
			}
			var text = new TextDecoder('latin1').decode(b.subarray(this.start, i));
			var h = {};
			text.split('\r\n').forEach(function (line) {
				var c = line.indexOf(':');
				if (c > 0) h[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).trim();
			});
			var len = h['content-length'] !== undefined ? Number(h['content-length']) : -1;
			if (len !== -1 && !(Number.isInteger(len) && len >= 0 && len <= CFG.maxPartBytes))
				throw new Error('bad part length');
			this.headers = h;
			this.length = len;
			this.start = i + 4;
			this.scanned = this.start;
			this.phase = 'body';
			return true;
		}
		// body
		var bodyEnd;
		if (this.length >= 0) {
			if (this.end - this.start < this.length) return false;
			bodyEnd = this.start + this.length;
		} else {
			// Resume the search where the last one stopped (less the
			// delimiter's length): tiny writes must not make it quadratic.
			var from = Math.max(this.start, this.scanned - this.closeDelim.length);
			bodyEnd = indexOf(b, from, this.end, this.closeDelim);
			if (bodyEnd < 0) {
				this.scanned = this.end;
				return false;
			}
		}
		var body = b.slice(this.start, bodyEnd);
		this.start = bodyEnd;
		this.phase = 'boundary';
		this.onPart(this.headers, body);
		return true;
	};

	// ------------------------------------------------------------ drawing

	var pending = null;   // newest frame not yet decoded; older ones are dropped
	var decoding = false;

	function decode(blob) {
		if (typeof createImageBitmap === 'function') {
			return createImageBitmap(blob).then(function (bmp) {
				return { img: bmp, w: bmp.width, h: bmp.height, done: function () { bmp.close(); } };
			});
		}
		// Safari before 15: decode through an Image (img-src blob: in the CSP).
		var url = URL.createObjectURL(blob);
		var im = new Image();
		im.src = url;
		return im.decode().then(function () {
			return { img: im, w: im.naturalWidth, h: im.naturalHeight, done: function () { URL.revokeObjectURL(url); } };
		}, function (e) { URL.revokeObjectURL(url); throw e; });
	}

	function show(frame) {
		pending = frame;
		if (!decoding) decodeLoop();
	}

	function decodeLoop() {
		var f = pending;
		if (!f) { decoding = false; return; }
		pending = null;
		decoding = true;
		var s = st.session;
		decode(f.blob).then(function (d) {
			// Paused or stopped while this frame was decoding: not drawn.
			if (s !== st.session) { d.done(); return; }
			if (canvas.width !== d.w || canvas.height !== d.h) {
				canvas.width = d.w;
				canvas.height = d.h;
				// CSSOM, not a style attribute: allowed under style-src 'self'.
				frame.style.setProperty('--ar', (d.w / d.h).toFixed(4));
				applyZoom();
			}
			ctx.drawImage(d.img, 0, 0);
			d.done();
			st.width = d.w;
			st.height = d.h;
			app.classList.add('has-picture');
			app.classList.toggle('offline-picture', !!f.offline);
			// The server's "camera offline" picture is shown, but it is not a
			// camera frame: it counts neither in the frame rate nor as the
			// picture a snapshot saves.
			if (f.offline) return;
			st.blob = f.blob;
			st.frameTime = f.time;
			var now = performance.now();
			if (!st.unpaced) st.drawn.push(now);
			st.unpaced = false;
			while (st.drawn.length && st.drawn[0] < now - CFG.fpsWindowMs) st.drawn.shift();
			root.setAttribute('data-frames', String(++st.frames));
		}, function () {
			// A JPEG the browser cannot decode is skipped, like a torn frame.
		}).then(decodeLoop);
	}

	function frameTimeOf(h) {
		var t = h && h['x-timestamp'] ? Number(h['x-timestamp']) : NaN;
		return isFinite(t) && t > 0 ? t * 1000 : null;
	}

	// A frame arrived on the current connection (session s).
	function onFrame(s, headers, bytes) {
		if (s !== st.session) return;
		st.lastFrameAt = performance.now();
		st.framesThisConn++;
		st.attempt = 0;
		st.emptyConns = 0;
		if (st.conn !== 'live') {
			// The first part of a connection is the server's newest frame,
			// sent at once: not paced by the camera, it is left out of the
			// frame rate.
			st.drawn = [];
			st.unpaced = true;
			setConn('live');
			// The viewer count now includes this page: ask soon.
			setTimeout(pollState, 150);
		}
		// vigil-server numbers its "camera offline" picture 0 (X-Frame-Seq).
		var offline = headers['x-frame-seq'] === '0';
		show({ blob: new Blob([bytes], { type: 'image/jpeg' }), time: frameTimeOf(headers), offline: offline });
	}

	// ------------------------------------------------------------ connection

	function setConn(c) {
		st.conn = c;
		root.setAttribute('data-conn', c);
		render();
	}

	function stop() {
		st.session++;
		pending = null;
		if (st.ctrl && st.mode === 'img') keepStill();
		if (st.ctrl) { st.ctrl.abort(); st.ctrl = null; }
		clearTimeout(st.retryTimer);
		st.retryTimer = 0;
	}

	function wanted() { return !st.paused && !st.hidden; }

	function start() {
		stop();
		if (!wanted()) return;
		var s = st.session;
		st.ctrl = new AbortController();
		st.connectedAt = performance.now();
		st.framesThisConn = 0;
		if (st.conn !== 'reconnecting') setConn(st.frames ? 'reconnecting' : 'connecting');
		if (st.mode !== 'img') app.classList.remove('img-mode');
		// WebKit leaves an <img> stream's connection open (unread) after its
		// src changes, until the page closes: past a few of those, snapshots
		// are polled instead, which hold no connection.
		if (st.mode === 'img' && webkitOnly && st.lingering >= CFG.maxLingering) st.mode = 'poll';
		var run = st.mode === 'stream' ? runStream : st.mode === 'img' ? runImg : runPoll;
		run(s, st.ctrl.signal).then(function () {
			return new Error('the stream ended');
		}, function (e) {
			return e;
		}).then(function (e) {
			if (s !== st.session) return;   // stopped on purpose
			st.lastError = e && e.message ? e.message : String(e);
			if (fellBack()) return;
			retry();
		});
	}

	// A connection that the server accepted but that brought no frame: in
	// stream mode, an error while reading the body is how WebKit refuses to
	// stream a multipart body to fetch(); otherwise, while the camera said it
	// was online, something between here and the server holds the stream
	// back.  Twice in a row: the next mode.
	function fellBack() {
		if (forcedMode || st.framesThisConn > 0 || !st.accepted) { st.emptyConns = 0; return false; }
		var next = MODES[MODES.indexOf(st.mode) + 1];
		if (!next) return false;
		var online = st.state && st.state.status === 'online' && performance.now() - st.stateAt < 3000;
		// Twice in a row: one server killed between its headers and its first
		// frame must not send a Chrome to the <img> way for a week.
		if (online || (st.mode === 'stream' && st.bodyFailed)) st.emptyConns++;
		if (st.emptyConns < 2) return false;
		st.emptyConns = 0;
		st.mode = next;
		saveMode(next);
		start();
		return true;
	}

	function retry() {
		stop();
		if (!wanted()) return;
		setConn('reconnecting');
		var d = Math.min(CFG.backoffMax, CFG.backoffMin * Math.pow(2, st.attempt));
		d = d * (0.8 + 0.4 * Math.random());
		st.attempt++;
		st.retryAt = performance.now() + d;
		st.retryTimer = setTimeout(start, d);
		render();
	}

	// The server answers again (its /state works): do not wait out the backoff.
	function retryNow() {
		if (st.retryTimer && wanted()) {
			clearTimeout(st.retryTimer);
			st.retryTimer = 0;
			start();
		}
	}

	function runStream(s, signal) {
		st.accepted = false;
		st.bodyFailed = false;
		return fetch('stream.mjpg' + fpsCap('?'), { cache: 'no-store', credentials: 'same-origin', signal: signal })
			.then(function (res) {
				if (!res.ok) throw new Error('stream: HTTP ' + res.status);
				var ct = res.headers.get('content-type') || '';
				var m = /boundary="?([^";,\s]+)"?/i.exec(ct);
				if (!m || !res.body) throw new Error('stream: not multipart (' + ct + ')');
				st.accepted = true;
				var parser = new MultipartParser(m[1], function (h, body) { onFrame(s, h, body); });
				var reader = res.body.getReader();
				function pump() {
					return reader.read().then(function (r) {
						if (r.done || s !== st.session) {
							reader.cancel().catch(function () {});
							return;
						}
						parser.push(r.value);
						return pump();
					}, function (e) {
						st.bodyFailed = !signal.aborted;
						throw e;
					});
				}
				return pump();
			});
	}

	// img mode: the browser's own MJPEG.  Its "load" fires once (Chrome,
	// WebKit) or per part (Firefox), "error" when the connection fails; the
	// end of a stream fires nothing, which the watchdog catches by sampling.
	var imgSeq = 0;
	var imgFail = function () {};
	function runImg(s, signal) {
		st.accepted = false;
		st.blob = null;   // snapshots come from the server in this mode
		return new Promise(function (resolve, reject) {
			img.onload = function () {
				if (s !== st.session || img.naturalWidth < 2) return;
				st.accepted = true;
				st.width = img.naturalWidth;
				st.height = img.naturalHeight;
				frame.style.setProperty('--ar', (st.width / st.height).toFixed(4));
				app.classList.add('has-picture');
				if (!st.framesThisConn++) {
					app.classList.add('img-mode');
					st.lastFrameAt = performance.now();
					st.attempt = 0;
					root.setAttribute('data-frames', String(++st.frames));
					setConn('live');
				}
			};
			img.onerror = function () {
				if (s === st.session) reject(new Error('the stream failed to load'));
			};
			imgFail = function (e) { if (s === st.session) reject(e); };
			signal.addEventListener('abort', function () {
				img.onload = img.onerror = null;
				img.src = BLANK;   // closes the connection
				reject(new Error('aborted'));
			});
			// A new URL each time, so no browser reuses a finished stream.
			img.src = 'stream.mjpg?n=' + (++imgSeq) + fpsCap('&');
		});
	}

	// Before an <img> stream is closed, its last picture goes to the canvas,
	// which stays on screen (paused, hidden, reconnecting) as in stream mode.
	// (WebKit empties the <img> when its stream ends, so the sampling below
	// copies it to the canvas once a second too.)
	function copyImg() {
		if (img.naturalWidth < 2) return false;
		try {
			if (canvas.width !== img.naturalWidth || canvas.height !== img.naturalHeight) {
				canvas.width = img.naturalWidth;
				canvas.height = img.naturalHeight;
			}
			ctx.drawImage(img, 0, 0);
		} catch (e) { /* nothing to keep */ }
		return true;
	}

	function keepStill() {
		if (copyImg() && webkitOnly) st.lingering++;
		app.classList.remove('img-mode');
	}

	// Whether the <img>'s picture moved since the last look (a 32x18
	// thumbnail; camera noise or the time overlay move it every second).
	var probe = null, lastProbe = null;
	function imgMoved() {
		if (!probe) {
			probe = document.createElement('canvas');
			probe.width = 32;
			probe.height = 18;
		}
		var c = probe.getContext('2d');
		try {
			c.drawImage(img, 0, 0, 32, 18);
			var d = c.getImageData(0, 0, 32, 18).data;
		} catch (e) {
			return false;
		}
		var moved = !lastProbe;
		if (lastProbe)
			for (var i = 0; i < d.length && !moved; i += 4) moved = d[i] !== lastProbe[i] || d[i + 1] !== lastProbe[i + 1];
		lastProbe = d;
		return moved;
	}

	function sampleImg() {
		if (st.mode !== 'img' || !st.ctrl || !st.framesThisConn || !wanted()) return;
		// WebKit drops the picture (naturalWidth 0) when the stream ends,
		// without an event; Chrome keeps the last frame (the watchdog's case).
		if (!img.naturalWidth) { imgFail(new Error('the stream ended')); return; }
		copyImg();
		if (imgMoved()) {
			st.lastFrameAt = performance.now();
			root.setAttribute('data-frames', String(++st.frames));
		}
	}

	function sleep(ms, signal) {
		return new Promise(function (resolve, reject) {
			var t = setTimeout(resolve, ms);
			signal.addEventListener('abort', function () { clearTimeout(t); reject(new Error('aborted')); });
		});
	}

	function runPoll(s, signal) {
		st.accepted = true;
		function once() {
			var t0 = performance.now();
			return fetch('snapshot.jpg', { cache: 'no-store', credentials: 'same-origin', signal: signal })
				.then(function (res) {
					// 503: no picture right now (camera offline); the status
					// bar says so, keep asking at a slow pace.
					if (res.status === 503) {
						st.lastFrameAt = performance.now();
						return res.arrayBuffer().then(function () { return sleep(1000, signal); });
					}
					if (!res.ok) throw new Error('snapshot: HTTP ' + res.status);
					var h = { 'x-timestamp': res.headers.get('x-timestamp'), 'x-frame-seq': res.headers.get('x-frame-seq') };
					return res.arrayBuffer().then(function (ab) {
						// The same picture again (camera offline) is not a new frame.
						var seq = res.headers.get('x-frame-seq');
						if (seq === null || seq !== st.pollSeq) onFrame(s, h, new Uint8Array(ab));
						else st.lastFrameAt = performance.now();
						st.pollSeq = seq;
					});
				})
				.then(function () {
					var fps = Math.min(CFG.pollMaxFps, (st.state && st.state.fps) || CFG.pollMaxFps,
						parseInt(params.get('fps'), 10) || CFG.pollMaxFps);
					var wait = Math.max(0, 1000 / fps - (performance.now() - t0));
					return sleep(wait, signal);
				})
				.then(function () { if (s === st.session) return once(); });
		}
		return once();
	}

	// A stream that delivers nothing although the camera is online is stuck
	// (a proxy or server hung without closing, an <img> whose stream ended
	// without an event, a snapshot request that never returns): reconnect.
	// While the camera is offline the server sends its "offline" picture only
	// once a second, and /state says offline, so that silence is not taken
	// for a stall.
	function watchdog() {
		if (!wanted() || !st.ctrl) return;
		var now = performance.now();
		var quiet = now - Math.max(st.lastFrameAt, st.connectedAt);
		var fps = (st.state && st.state.fps) || 1;
		var limit = Math.max(st.mode === 'img' ? 1.5 * CFG.stallMs : CFG.stallMs, 4000 / fps);
		// A server that no longer answers /state is gone: no need to wait as
		// long for its stream to prove stuck.
		if (st.stateFails >= 2) limit = Math.min(limit, 2000);
		if (quiet < limit) return;
		var stateFresh = now - st.stateAt < 2500;
		var online = stateFresh && st.state && st.state.status === 'online';
		if (online || st.stateFails >= 3) {
			st.lastError = 'no frame for ' + Math.round(quiet / 1000) + ' s';
			// An <img> that never showed a frame while the camera was online
			// counts as an accepted, silent connection (the browser does not
			// say whether the server answered).
			if (st.mode === 'img' && !st.framesThisConn && online) st.accepted = true;
			if (!fellBack()) retry();
		}
	}

	// ------------------------------------------------------------ /state

	// One /state request at a time: a call while one is out asks for another
	// as soon as it is back.
	var stateBusy = false, stateAgain = false;
	function pollState() {
		clearTimeout(st.stateTimer);
		st.stateTimer = 0;
		if (st.hidden) return;
		if (stateBusy) { stateAgain = true; return; }
		stateBusy = true;
		// A server that hangs (stopped, or a proxy that holds the request)
		// must count as failing, not as silent: abort after a few seconds.
		var ctrl = new AbortController();
		var timer = setTimeout(function () { ctrl.abort(); }, CFG.stateTimeoutMs);
		fetch('state', { cache: 'no-store', credentials: 'same-origin', signal: ctrl.signal })
			.then(function (r) {
				if (!r.ok) throw new Error('state: HTTP ' + r.status);
				return r.json();
			})
			.then(function (j) {
				st.state = j;
				st.stateAt = performance.now();
				st.stateFails = 0;
				root.setAttribute('data-camera-status', String(j.status));
				retryNow();
			}, function () {
				st.stateFails++;
			})
			.then(function () {
				clearTimeout(timer);
				stateBusy = false;
				render();
				if (st.hidden) return;
				var again = stateAgain;
				stateAgain = false;
				clearTimeout(st.stateTimer);
				st.stateTimer = setTimeout(pollState, again ? 0 : st.paused ? CFG.statePausedMs : CFG.stateMs);
			});
	}

	// ------------------------------------------------------------ rendering

	var el = {
		pill: $('pill'), pillText: $('pill-text'),
		res: $('st-res'), fps: $('st-fps'), viewers: $('st-viewers'), time: $('st-time'),
		notice: $('notice'), noticeTitle: $('notice-title'), noticeText: $('notice-text'),
		noticeSpinner: $('notice-spinner'), noticeButton: $('notice-button'),
		pause: $('btn-pause'), pauseLabel: $('pause-label'), fs: $('btn-fs'),
		toast: $('toast'), zoom: $('zoom-badge')
	};

	function setText(node, text) {
		if (node.textContent !== text) node.textContent = text;
	}

	function two(n) { return (n < 10 ? '0' : '') + n; }

	function clock(ms) {
		var d = new Date(ms);
		return two(d.getHours()) + ':' + two(d.getMinutes()) + ':' + two(d.getSeconds());
	}

	function fpsNow() {
		var now = performance.now();
		var t = st.drawn.filter(function (x) { return x >= now - CFG.fpsWindowMs; });
		if (t.length < 2) return 0;
		var n = t.length - 1;
		var span = t[n] - t[0];
		if (now - t[0] < 1000) return NaN;   // too soon to tell
		// Intervals between the frames of the window; once the stream falls
		// silent for longer than a few intervals, the time since the first
		// of them, so a stopping stream reads as slowing down to zero.
		if (now - t[n] > 3 * span / n + 250) return n * 1000 / (now - t[0]);
		return n * 1000 / Math.max(span, 1);
	}

	function cameraStatus() {
		var s = st.state;
		if (!s || performance.now() - st.stateAt > 5000) return null;
		return s.status;
	}

	function render() {
		var cs = cameraStatus();
		var tone, label, notice = null;
		if (st.paused) {
			tone = 'idle'; label = 'Paused';
			notice = { title: 'Paused', text: 'The stream is closed.  Press space or the button to resume.', button: 'Resume' };
		} else if (st.conn === 'reconnecting') {
			tone = 'warn'; label = 'Reconnecting…';
			var wait = Math.max(0, Math.ceil((st.retryAt - performance.now()) / 1000));
			notice = { title: 'Reconnecting…', spin: true,
				text: st.retryTimer && wait > 0 ? 'Lost the connection.  Trying again in ' + wait + ' s.' : 'Lost the connection.  Trying again now.' };
		} else if (cs === 'offline') {
			tone = 'bad'; label = 'Camera offline';
			notice = { title: 'Camera offline', banner: true,
				text: (st.frameTime ? 'Last picture at ' + clock(st.frameTime) + '.  ' : '') + 'Live again by itself when it returns.' };
		} else if (cs === 'stalled') {
			tone = 'warn'; label = 'Camera stalled';
			notice = { title: 'Camera stalled', banner: true, text: 'No new picture from the camera for a while.  Waiting…' };
		} else if (st.conn === 'live') {
			tone = 'ok'; label = st.mode === 'poll' ? 'Live · snapshots' : 'Live';
			if (st.mode === 'img' && img.naturalWidth > 1) { st.width = img.naturalWidth; st.height = img.naturalHeight; }
		} else {
			tone = 'wait'; label = 'Connecting…';
			if (!st.frames) notice = { title: 'Connecting…', spin: true, text: '' };
		}
		el.pill.setAttribute('data-tone', tone);
		setText(el.pillText, label);
		var title = (tone === 'ok' ? '' : label + ' · ') + baseTitle;
		if (document.title !== title) document.title = title;
		app.setAttribute('data-tone', tone);

		if (notice) {
			el.notice.hidden = false;
			el.notice.classList.toggle('banner', !!notice.banner);
			setText(el.noticeTitle, notice.title);
			setText(el.noticeText, notice.text);
			el.noticeSpinner.hidden = !notice.spin;
			el.noticeButton.hidden = !notice.button;
			if (notice.button) setText(el.noticeButton, notice.button);
		} else {
			el.notice.hidden = true;
		}

		var s = cs ? st.state : null;   // a stale answer shows nothing
		var w = st.width || (s && s.width), h = st.height || (s && s.height);
		setText(el.res, w && h ? w + '×' + h : '–');
		var streaming = st.conn === 'live' && !st.paused && cs !== 'offline';
		// The browser draws an <img> stream itself, unseen by the page: there
		// the server's measurement stands in, marked as approximate.
		var approx = st.mode === 'img';
		var fps = streaming ? (approx ? (s && +s.measured_fps) || 0 : fpsNow()) : 0;
		var src = s && s.fps ? ' / ' + (+s.fps).toFixed(0) : '';
		setText(el.fps, streaming && !isNaN(fps) ? (approx ? '≈' : '') + fps.toFixed(1) + src + ' fps' : '–');
		root.setAttribute('data-fps', isNaN(fps) ? '' : fps.toFixed(2));
		setText(el.viewers, s && s.clients !== undefined ? String(s.clients) : '–');
		var t = st.frameTime || (s && s.time ? Date.parse(s.time) : NaN);
		if (t && isFinite(t)) {
			setText(el.time, clock(t));
			el.time.setAttribute('datetime', new Date(t).toISOString());
		} else {
			setText(el.time, '–');
		}

		el.pause.setAttribute('aria-pressed', st.paused ? 'true' : 'false');
		el.pause.setAttribute('aria-label', st.paused ? 'Resume (space)' : 'Pause (space)');
		el.pause.title = st.paused ? 'Resume (space)' : 'Pause (space)';
		setText(el.pauseLabel, st.paused ? 'Resume' : 'Pause');
		app.classList.toggle('paused', st.paused);
	}

	// ------------------------------------------------------------ actions

	var toastTimer = 0;
	function toast(text) {
		setText(el.toast, text);
		el.toast.hidden = false;
		el.toast.classList.remove('out');
		clearTimeout(toastTimer);
		toastTimer = setTimeout(function () {
			el.toast.classList.add('out');
			toastTimer = setTimeout(function () { el.toast.hidden = true; }, 300);
		}, 2200);
	}

	function stamp(ms) {
		var d = new Date(ms);
		return d.getFullYear() + '-' + two(d.getMonth() + 1) + '-' + two(d.getDate()) + '_' +
			two(d.getHours()) + '-' + two(d.getMinutes()) + '-' + two(d.getSeconds());
	}

	function safeName(s) {
		return s.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 64) || 'camera';
	}

	function save(blob, time) {
		var name = safeName(camera) + '-' + stamp(time || Date.now()) + '.jpg';
		var a = document.createElement('a');
		a.href = URL.createObjectURL(blob);
		a.download = name;
		a.rel = 'noopener';
		document.body.appendChild(a);
		a.click();
		setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 4000);
		app.classList.remove('flash');
		void app.offsetWidth; // restart the flash animation
		app.classList.add('flash');
		toast('Saved ' + name);
	}

	// The picture on screen is the one saved (so a paused picture can be kept);
	// before the first frame, the server's newest.
	function snapshot() {
		if (st.blob) { save(st.blob, st.frameTime); return; }
		fetch('snapshot.jpg', { cache: 'no-store', credentials: 'same-origin' })
			.then(function (r) {
				if (!r.ok) throw new Error('HTTP ' + r.status);
				var t = frameTimeOf({ 'x-timestamp': r.headers.get('x-timestamp') });
				return r.blob().then(function (b) { save(b, t); });
			})
			.catch(function () { toast('No picture to save yet'); });
	}

	function setPaused(p) {
		st.paused = p;
		if (p) { stop(); setConn('paused'); } else { st.attempt = 0; setConn('connecting'); start(); }
		pollState();
	}

	function fsElement() { return document.fullscreenElement || document.webkitFullscreenElement || null; }

	function toggleFullscreen() {
		if (fsElement()) {
			(document.exitFullscreen || document.webkitExitFullscreen).call(document);
			return;
		}
		if (app.classList.contains('immersive')) { setImmersive(false); return; }
		var req = app.requestFullscreen || app.webkitRequestFullscreen;
		if (!req) { setImmersive(true); return; }  // iPhone Safari: no element fullscreen
		var p = req.call(app, { navigationUI: 'hide' });
		if (p && p.catch) p.catch(function () { setImmersive(true); });
	}

	function setImmersive(on) {
		app.classList.toggle('immersive', on);
		fsChanged();
	}

	function fsChanged() {
		var on = !!fsElement() || app.classList.contains('immersive');
		app.classList.toggle('fs', on);
		el.fs.setAttribute('aria-pressed', on ? 'true' : 'false');
		el.fs.setAttribute('aria-label', on ? 'Exit fullscreen (f)' : 'Fullscreen (f)');
		el.fs.title = on ? 'Exit fullscreen (f)' : 'Fullscreen (f)';
		wakeLock(on);
		poke();
	}

	// Watching in fullscreen keeps the screen on (a phone as a monitor); the
	// browser drops the lock by itself when the tab is hidden.
	var lock = null;
	function wakeLock(on) {
		if (!on) {
			if (lock) lock.release().catch(function () {});
			lock = null;
			return;
		}
		if (lock || !navigator.wakeLock || document.hidden) return;
		navigator.wakeLock.request('screen').then(function (l) {
			lock = l;
			l.addEventListener('release', function () { if (lock === l) lock = null; });
		}, function () { /* not allowed here: nothing lost */ });
	}

	// In fullscreen the bars fade out after a few idle seconds and come back
	// on any pointer move, touch or key.
	var idleTimer = 0;
	function poke() {
		app.classList.remove('idle');
		clearTimeout(idleTimer);
		if (app.classList.contains('fs') && !st.paused)
			idleTimer = setTimeout(function () { app.classList.add('idle'); }, 3000);
	}

	// ------------------------------------------------------------ zoom and pan

	var z = { s: 1, x: 0, y: 0 };
	var pointers = new Map();
	var gesture = null;
	var lastTap = 0;
	var lastTouch = 0;

	function applyZoom() {
		var w = frame.clientWidth, h = frame.clientHeight;
		z.s = Math.min(CFG.zoomMax, Math.max(1, z.s));
		z.x = Math.min(0, Math.max(w - w * z.s, z.x));
		z.y = Math.min(0, Math.max(h - h * z.s, z.y));
		if (z.s === 1) { z.x = 0; z.y = 0; }
		var tf = z.s === 1 ? '' :
			'translate(' + z.x.toFixed(1) + 'px,' + z.y.toFixed(1) + 'px) scale(' + z.s.toFixed(3) + ')';
		canvas.style.transform = tf;
		img.style.transform = tf;
		stage.classList.toggle('zoomed', z.s > 1);
		el.zoom.hidden = z.s === 1;
		setText(el.zoom, z.s.toFixed(1) + '×');
	}

	// Zooms to scale s keeping the stage point (px, py) still.
	function zoomAt(s, px, py) {
		s = Math.min(CFG.zoomMax, Math.max(1, s));
		z.x = px - (px - z.x) * s / z.s;
		z.y = py - (py - z.y) * s / z.s;
		z.s = s;
		applyZoom();
	}

	function local(e) {
		var r = frame.getBoundingClientRect();
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

	stage.addEventListener('pointerdown', function (e) {
		if (e.target.closest('button, a')) return;
		stage.setPointerCapture(e.pointerId);
		pointers.set(e.pointerId, local(e));
		gesture = gestureFrom();
		poke();
	});
	stage.addEventListener('pointermove', function (e) {
		if (!pointers.has(e.pointerId)) { poke(); return; }
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
	// Double-click (mouse) is fullscreen, as in every video player; on touch
	// screens a double tap zooms instead (pointerup above).
	stage.addEventListener('dblclick', function (e) {
		if (e.target.closest('button, a') || lastTouch > performance.now() - 800) return;
		toggleFullscreen();
	});
	function doubleTap(p) {
		if (z.s > 1) zoomAt(1, p.x, p.y); else zoomAt(2.5, p.x, p.y);
	}
	stage.addEventListener('wheel', function (e) {
		e.preventDefault();
		var p = local(e);
		// Trackpad pinches arrive as wheel events with ctrlKey and small deltas.
		var k = Math.exp(-e.deltaY * (e.ctrlKey ? 0.01 : 0.002));
		zoomAt(z.s * k, p.x, p.y);
	}, { passive: false });
	window.addEventListener('resize', applyZoom);

	// ------------------------------------------------------------ wiring

	$('btn-pause').addEventListener('click', function () { setPaused(!st.paused); });
	$('btn-snap').addEventListener('click', snapshot);
	$('btn-fs').addEventListener('click', toggleFullscreen);
	el.noticeButton.addEventListener('click', function () { if (st.paused) setPaused(false); });
	document.addEventListener('fullscreenchange', fsChanged);
	document.addEventListener('webkitfullscreenchange', fsChanged);
	document.addEventListener('pointermove', poke, { passive: true });
	document.addEventListener('touchstart', poke, { passive: true });

	document.addEventListener('keydown', function (e) {
		if (e.ctrlKey || e.metaKey || e.altKey) return;
		var t = e.target;
		var typing = t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
		if (typing) return;
		var onButton = t && t.tagName === 'BUTTON';
		poke();
		switch (e.key) {
		case 'f': case 'F': toggleFullscreen(); break;
		case 's': case 'S': snapshot(); break;
		case ' ': case 'k': case 'K':
			if (onButton && e.key === ' ') return;   // space activates the focused button
			setPaused(!st.paused);
			break;
		case '+': case '=': zoomAt(z.s * 1.25, frame.clientWidth / 2, frame.clientHeight / 2); break;
		case '-': case '_': zoomAt(z.s / 1.25, frame.clientWidth / 2, frame.clientHeight / 2); break;
		case '0': zoomAt(1, 0, 0); break;
		case 'Escape': if (app.classList.contains('immersive')) setImmersive(false); return;
		default: return;
		}
		e.preventDefault();
	});

	document.addEventListener('visibilitychange', function () {
		st.hidden = document.hidden;
		if (st.hidden) {
			// A hidden tab closes its stream: an idle tab costs the camera nothing.
			stop();
			clearTimeout(st.stateTimer);
			setConn('hidden');
		} else {
			st.attempt = 0;
			if (app.classList.contains('fs')) wakeLock(true);
			setConn(st.paused ? 'paused' : 'connecting');
			pollState();
			start();
		}
	});
	window.addEventListener('online', retryNow);
	window.addEventListener('pageshow', function (e) { if (e.persisted) { pollState(); start(); } });
	window.addEventListener('pagehide', stop);

	setInterval(function () { watchdog(); render(); }, 500);
	setInterval(sampleImg, 1000);
	if (st.hidden) setConn('hidden'); else setConn('connecting');
	pollState();
	start();

	// For tests and the curious: a read-only view of the viewer's state.
	window.vigil = {
		get mode() { return st.mode; },
		get conn() { return st.conn; },
		get frames() { return st.frames; },
		get fps() { return fpsNow(); },
		get lastError() { return st.lastError; }
	};
}());
