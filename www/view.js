// SPDX-License-Identifier: MIT
// view.js: the page's words: the status pill, the notice over the picture,
// the status bar, the pause button and the title, all from the model
// (state.js).  render() is cheap and called whenever something changed and
// twice a second.
import { el, root, setText, clock } from './dom.js';
import { st, cameraStatus, fpsNow } from './state.js';

var baseTitle = document.title;

export function setConn(c) {
	st.conn = c;
	root.setAttribute('data-conn', c);
	render();
}

// A /state answer (onState): the camera's status as an attribute of the
// page (for CSS and tests), and the words.
export function stateChanged(answer) {
	if (answer) root.setAttribute('data-camera-status', String(answer.status));
	render();
}

export function render() {
	var cs = cameraStatus();
	var img = el.img;
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
	el.app.setAttribute('data-tone', tone);

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
	el.app.classList.toggle('paused', st.paused);
}
