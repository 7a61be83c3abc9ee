// SPDX-License-Identifier: MIT
// multipart.js: splits a multipart/x-mixed-replace body (an MJPEG stream)
// into parts, from the chunks a ReadableStream delivers: each part by its
// Content-Length, or up to the next delimiter where it has none.  Plain
// JavaScript with no DOM: the browser tests import it into node.

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

// onPart(headers, bytes) gets each part's lower-cased headers and its body
// (a copy).  limits: { maxPartBytes, maxHeaderBytes }.  push() throws on a
// malformed stream, or on a part or headers over the limits; the caller
// reconnects.
export function MultipartParser(boundary, onPart, limits) {
	this.delim = ascii('--' + boundary);
	this.closeDelim = ascii('\r\n--' + boundary);
	this.onPart = onPart;
	this.maxPartBytes = limits.maxPartBytes;
	this.maxHeaderBytes = limits.maxHeaderBytes;
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
	if (this.end - this.start > this.maxPartBytes + this.maxHeaderBytes)
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
			if (this.end - this.start > this.maxHeaderBytes) throw new Error('no multipart boundary');
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
			if (this.end - this.start > this.maxHeaderBytes) throw new Error('multipart headers too long');
			return false;
		}
		var text = new TextDecoder('latin1').decode(b.subarray(this.start, i));
		var h = {};
		text.split('\r\n').forEach(function (line) {
			var c = line.indexOf(':');
			if (c > 0) h[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).trim();
		});
		var len = h['content-length'] !== undefined ? Number(h['content-length']) : -1;
		if (len !== -1 && !(Number.isInteger(len) && len >= 0 && len <= this.maxPartBytes))
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
