// SPDX-License-Identifier: MIT
// mode-stream.js: the "stream" way to show the camera: fetch() of
// /stream.mjpg, its body read through a ReadableStream and split by
// multipart.js.  The page sees every frame arrive, and the end of the
// stream (the reader reports done or throws).
import { CFG, fpsCap, source } from './config.js';
import { MultipartParser } from './multipart.js';
import { st } from './state.js';

// Runs one connection of session s until it ends (resolves) or fails
// (rejects); onFrame(headers, bytes) per part.  st.accepted: the server
// answered with a multipart body; st.bodyFailed: reading it then failed
// (not by our abort), which is how WebKit refuses to stream it.
export function runStream(s, signal, onFrame) {
	st.accepted = false;
	st.bodyFailed = false;
	return fetch(source.path + fpsCap('?'), { cache: 'no-store', credentials: 'same-origin', signal: signal })
		.then(function (res) {
			if (!res.ok) throw new Error('stream: HTTP ' + res.status);
			var ct = res.headers.get('content-type') || '';
			var m = /boundary="?([^";,\s]+)"?/i.exec(ct);
			if (!m || !res.body) throw new Error('stream: not multipart (' + ct + ')');
			st.accepted = true;
			var parser = new MultipartParser(m[1], onFrame, CFG);
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
