// SPDX-License-Identifier: MIT
// mode-poll.js: the "poll" way to show the camera: /snapshot.jpg a few
// times a second, where no stream gets a frame through (a buffering proxy,
// an MJPEG-less browser).  Holds no connection between pictures.
import { CFG, params } from './config.js';
import { st } from './state.js';

function sleep(ms, signal) {
	return new Promise(function (resolve, reject) {
		var t = setTimeout(resolve, ms);
		signal.addEventListener('abort', function () { clearTimeout(t); reject(new Error('aborted')); });
	});
}

// Polls for session s until aborted (rejects) or a request fails;
// onFrame(headers, bytes) per new picture.
export function runPoll(s, signal, onFrame) {
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
					if (seq === null || seq !== st.pollSeq) onFrame(h, new Uint8Array(ab));
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
