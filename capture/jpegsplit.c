/* SPDX-License-Identifier: MIT */
/* jpegsplit: a JPEG marker scanner that cuts a byte stream into frames. */
#include "jpegsplit.h"

#include <string.h>

#include "jpegmark.h"

enum {
	JS_SEEK, /* outside a frame */
	JS_SEEK_FF, /* outside, after FF */
	JS_SEEK_FFD8, /* outside, after FF D8: the next FF confirms SOI */
	JS_MARK, /* inside, a marker (FF) must come */
	JS_MCODE, /* inside, after FF: the marker code */
	JS_LEN1, /* segment length, high byte */
	JS_LEN2, /* segment length, low byte */
	JS_SKIP, /* segment payload */
	JS_ENTROPY, /* entropy-coded data after SOS */
	JS_ENTROPY_FF, /* entropy-coded data, after FF */
};

/*
 * The work budget of scanning kept bytes again.  Every input byte earns
 * JS_CREDIT_PER_BYTE bytes of it; a scan again is only started while the
 * credit is positive, and the credit saved up is cut to JS_CREDIT_BUFFERS
 * buffers at each such decision, so a long clean stream does not pay for a
 * long hostile burst.  Between two decisions the work is at most one pass
 * over the buffer, one compaction and one header check of a frame refused
 * (3 * cap), so whatever the input:
 *   rescanned <= JS_CREDIT_PER_BYTE * input + (JS_CREDIT_BUFFERS + 3) * cap.
 */
#define JS_CREDIT_PER_BYTE 4
#define JS_CREDIT_BUFFERS 2

static int64_t credit_max(const struct jpegsplit *js)
{
	return (int64_t)js->cap * JS_CREDIT_BUFFERS;
}

void jpegsplit_init(struct jpegsplit *js, uint8_t *buf, size_t cap)
{
	memset(js, 0, sizeof(*js));
	js->buf = buf;
	js->cap = cap;
	js->state = JS_SEEK;
	js->credit = credit_max(js);
}

uint64_t jpegsplit_skipped(const struct jpegsplit *js)
{
	return js->stats.truncated + js->stats.oversize + js->stats.corrupt;
}

static int replaying(const struct jpegsplit *js)
{
	return js->rp < js->rend;
}

int jpegsplit_pending(const struct jpegsplit *js)
{
	return replaying(js);
}

static void work(struct jpegsplit *js, size_t n)
{
	js->stats.rescanned += n;
	js->credit -= (int64_t)n;
}

/* n bytes consumed: new input earns credit; kept bytes looked at again
 * (looked: not a segment payload skipped over) cost it. */
static size_t take(struct jpegsplit *js, size_t n, int looked)
{
	if (!js->inplace)
		js->credit += (int64_t)n * JS_CREDIT_PER_BYTE;
	else if (looked)
		work(js, n);
	return n;
}

static void garbage(struct jpegsplit *js, size_t n)
{
	/* Bytes scanned again were counted with their broken frame. */
	if (n == 0 || js->inplace)
		return;
	js->stats.garbage_bytes += n;
	if (!js->in_garbage) {
		js->stats.garbage_runs++;
		js->in_garbage = 1;
	}
}

/*
 * Appends n bytes to the current frame, buf[base..flen).  Bytes scanned
 * again are in place already.  A frame that started among such bytes (base
 * > 0) is moved down when it reaches the end of buf: always at that point,
 * so that the work done (and the budget) does not depend on how the input
 * is cut into pushes.
 */
static void keep(struct jpegsplit *js, const uint8_t *p, size_t n)
{
	if (js->oversize)
		return;
	if (js->inplace) {
		js->flen += n;
		return;
	}
	if (n > js->cap - js->flen && js->base > 0) {
		size_t k = js->cap - js->flen;
		memcpy(js->buf + js->flen, p, k);
		p += k;
		n -= k;
		work(js, js->cap - js->base);
		memmove(js->buf, js->buf + js->base, js->cap - js->base);
		js->flen = js->cap - js->base;
		js->base = 0;
	}
	if (n > js->cap - js->flen) {
		js->oversize = 1;
		return;
	}
	memcpy(js->buf + js->flen, p, n);
	js->flen += n;
}

static void keep1(struct jpegsplit *js, uint8_t b)
{
	keep(js, &b, 1);
}

/* third: the FF after FF D8, just consumed. */
static void start_frame(struct jpegsplit *js, const uint8_t *third)
{
	static const uint8_t soi[3] = {0xff, JPEGMARK_SOI, 0xff};

	js->oversize = 0;
	js->scanned = 0;
	js->sof = 0;
	js->width = js->height = 0;
	js->pending = 0;
	js->in_garbage = 0;
	if (js->inplace) {
		/* The SOI of a scan again lies within it: all 3 bytes. */
		js->base = (size_t)(third - js->buf) - 2;
		js->flen = js->base + 3;
	} else {
		js->base = js->flen = 0;
		keep(js, soi, sizeof(soi));
	}
	js->state = JS_MCODE;
}

/*
 * A frame that failed in its header (before any SOS) may be a frame cut
 * short with the next ones glued on, a segment length having swallowed
 * their SOIs: its kept bytes, and those still waiting to be scanned again,
 * are scanned again from after its SOI.  Also while scanning kept bytes
 * again (garbage can hold several such frames, one inside the other): each
 * scan again starts after the SOI of the frame that failed, so strictly
 * later than the one before, and the work budget above keeps the total
 * linear.  The callers leave out frames that failed after an SOS (entropy
 * data holds no SOI; an EXIF thumbnail in the header must not come out as a
 * frame), except one whose header swallowed a JPEG (header_swallows_soi).
 * Not for an oversize frame (its bytes are gone).  Returns 1 when a scan
 * again was set up.
 */
static int start_replay(struct jpegsplit *js)
{
	if (js->oversize || js->flen - js->base <= 2)
		return 0;
	if (js->credit > credit_max(js))
		js->credit = credit_max(js);
	if (js->credit <= 0) {
		js->stats.rescans_refused++;
		return 0;
	}
	if (js->rend < js->flen)
		js->rend = js->flen;
	js->rp = js->base + 2;
	js->state = JS_SEEK;
	js->pending = 0;
	js->replays++;
	return 1;
}

/* The scan of kept bytes reached their end. */
static void end_replay(struct jpegsplit *js)
{
	js->rp = js->rend = 0;
	/* Inside a frame, flen is where the input continues it; outside, no
	 * kept byte is needed any more (an SOI prefix is in pending). */
	if (js->state <= JS_SEEK_FFD8)
		js->base = js->flen = 0;
}

/* FF D8 inside a frame: the frame in progress was cut short.  The FF is
 * kept already; with the D8 the new SOI is among the bytes scanned again,
 * or else it starts the next frame directly. */
static void restart_frame(struct jpegsplit *js)
{
	js->stats.truncated++;
	if (!js->scanned && !js->oversize) {
		keep1(js, JPEGMARK_SOI);
		if (start_replay(js))
			return;
	}
	js->state = JS_SEEK_FFD8;
	js->pending = 2;
}

/* A broken frame: skipped, and maybe scanned again (above). */
static void corrupt(struct jpegsplit *js)
{
	js->stats.corrupt++;
	js->state = JS_SEEK;
	js->pending = 0;
	if (!js->scanned)
		start_replay(js);
}

/* DQT: tables of a precision/id byte (Pq 0..1, Tq 0..3), then 64 values
 * of 1 or 2 bytes (T.81 B.2.4.1).  A few bytes read per table. */
static int dqt_check(const uint8_t *p, size_t n)
{
	while (n > 0) {
		size_t t = 1 + 64 * (size_t)((p[0] >> 4) + 1);
		if ((p[0] >> 4) > 1 || (p[0] & 15) > 3 || t > n)
			return -1;
		p += t;
		n -= t;
	}
	return 0;
}

/* DHT: tables of a class/id byte (Tc 0..1, Th 0..3), 16 code counts, then
 * as many symbols, at most 256 (T.81 B.2.4.2). */
static int dht_check(const uint8_t *p, size_t n)
{
	while (n > 0) {
		size_t t = 17, sym = 0;
		if (n < t || (p[0] >> 4) > 1 || (p[0] & 15) > 3)
			return -1;
		for (int k = 1; k <= 16; k++)
			sym += p[k];
		t += sym;
		if (sym > 256 || t > n)
			return -1;
		p += t;
		n -= t;
	}
	return 0;
}

/* The segments whose length follows from their content: checking it
 * catches a frame cut inside its header and glued to the next one.  Returns
 * 0 when the segment is consistent (or was not kept: oversize). */
static int segment_check(struct jpegsplit *js)
{
	const uint8_t *p = js->buf + js->base + js->seg_start;
	size_t n = js->flen - js->base - js->seg_start;

	if (js->oversize)
		return 0;
	if (jpegmark_is_sof(js->marker)) {
		/* One frame header per JPEG; P, Y, X, Nf, then 3 bytes per
		 * component. */
		if (js->sof || n < 6 || p[5] == 0 || n != 6 + 3 * (size_t)p[5])
			return -1;
		js->height = p[1] << 8 | p[2];
		js->width = p[3] << 8 | p[4];
		js->sof = 1;
		js->ncomp = p[5] <= sizeof(js->comp_ids) ? p[5] : 0;
		for (int k = 0; k < js->ncomp; k++)
			js->comp_ids[k] = p[6 + 3 * k];
	} else if (js->marker == JPEGMARK_SOS) {
		/* After the frame header; Ns (1..4), then per component a
		 * selector the frame header declared and two table numbers
		 * (0..3), then Ss, Se, Ah/Al. */
		if (!js->sof || n < 1 || p[0] < 1 || p[0] > 4 ||
		    n != 4 + 2 * (size_t)p[0])
			return -1;
		for (int k = 0; k < p[0]; k++) {
			uint8_t cs = p[1 + 2 * k], t = p[2 + 2 * k];
			int found = js->ncomp == 0;
			for (int c = 0; c < js->ncomp; c++)
				found |= js->comp_ids[c] == cs;
			if (!found || (t >> 4) > 3 || (t & 15) > 3)
				return -1;
		}
		/* Spectral selection within 0..63, approximation bits within
		 * 0..13 (T.81 B.2.3). */
		if (p[n - 3] > 63 || p[n - 2] > 63 || p[n - 3] > p[n - 2] ||
		    (p[n - 1] >> 4) > 13 || (p[n - 1] & 15) > 13)
			return -1;
	} else if (js->marker == JPEGMARK_DRI) {
		if (n != 2)
			return -1;
	} else if (js->marker == JPEGMARK_DQT) {
		return dqt_check(p, n);
	} else if (js->marker == JPEGMARK_DHT) {
		return dht_check(p, n);
	}
	return 0;
}

/* The segments whose content segment_check() does not hold to a structure
 * (APPn, COM...): where an EXIF thumbnail, or a swallowed JPEG, can be. */
static int is_free_form(uint8_t m)
{
	return !jpegmark_is_sof(m) && m != JPEGMARK_SOS && m != JPEGMARK_DRI &&
	       m != JPEGMARK_DQT && m != JPEGMARK_DHT;
}

/* 1 when a JPEG starts in p[0..n) and does not end there: the last SOI
 * (FF D8 FF, or FF D8 at the very end, where the next marker's FF comes)
 * comes after the last EOI. */
static int swallows_soi(const uint8_t *p, size_t n)
{
	const uint8_t *end = p + n, *ff;
	int open = 0;

	while ((ff = memchr(p, 0xff, (size_t)(end - p))) != NULL) {
		size_t left = (size_t)(end - ff);
		if (left >= 2 && ff[1] == JPEGMARK_SOI &&
		    (left == 2 || ff[2] == 0xff))
			open = 1;
		else if (left >= 2 && ff[1] == JPEGMARK_EOI)
			open = 0;
		p = ff + 1;
	}
	return open;
}

/*
 * A segment length in garbage can land exactly on a marker of a JPEG whose
 * start it swallowed, and the result is a well-formed frame: garbage, then
 * the rest of that JPEG.  A real JPEG's header can embed whole JPEGs (an
 * EXIF thumbnail: SOI..EOI inside APP1), but no segment of it ends inside
 * one.  Walks the header of a completed frame (the path the scanner took:
 * it is well formed) and returns 1 when one of its free-form segments does.
 */
static int header_swallows_soi(const struct jpegsplit *js)
{
	const uint8_t *h = js->buf + js->base;
	struct jpegmark w;
	struct jpegmark_seg seg;

	jpegmark_init(&w, h, js->hdr_end, 2);
	while (jpegmark_next(&w, &seg) > 0)
		if (seg.size >= 4 && is_free_form(seg.marker) &&
		    swallows_soi(h + seg.offset + 4, seg.size - 4))
			return 1;
	return 0;
}

static void segment_end(struct jpegsplit *js)
{
	if (segment_check(js) < 0) {
		corrupt(js);
		return;
	}
	if (js->marker == JPEGMARK_SOS) {
		if (!js->scanned) /* the FF of FF DA, length */
			js->hdr_end = js->seg_start - 4;
		js->scanned = 1;
		js->state = JS_ENTROPY;
	} else {
		js->state = JS_MARK;
	}
}

/* Returns 1 when EOI completed a frame worth returning. */
static int end_frame(struct jpegsplit *js, struct jpegsplit_frame *frame)
{
	js->state = JS_SEEK;
	if (js->oversize) {
		js->stats.oversize++;
		return 0;
	}
	if (header_swallows_soi(js)) {
		/* Garbage glued to a JPEG: corrupt, and the JPEGs it
		 * swallowed are in its bytes.  This check is work beyond the
		 * pass only when it refuses the frame (frames returned do not
		 * overlap: their checks add up to at most the input). */
		work(js, js->hdr_end);
		js->stats.corrupt++;
		start_replay(js);
		return 0;
	}
	js->stats.frames++;
	frame->data = js->buf + js->base;
	frame->len = js->flen - js->base;
	frame->width = js->width;
	frame->height = js->height;
	return 1;
}

/* Runs the scanner over data until a frame completes, a scan again is set
 * up, or data runs out; returns the bytes consumed.  Every byte consumed is
 * passed to take() before anything is decided on it. */
static size_t scan(struct jpegsplit *js, const uint8_t *data, size_t len,
		   int *completed, struct jpegsplit_frame *frame)
{
	unsigned replays = js->replays;
	size_t i = 0;
	int done = 0;

	/* A new scan again comes before the rest of data. */
	while (i < len && !done && js->replays == replays) {
		uint8_t b = data[i];
		const uint8_t *ff;
		size_t n;

		switch (js->state) {
		case JS_SEEK:
			ff = memchr(data + i, 0xff, len - i);
			n = ff ? (size_t)(ff - (data + i)) : len - i;
			garbage(js, n);
			i += take(js, ff ? n + 1 : n, 1);
			if (ff) {
				js->pending = 1;
				js->state = JS_SEEK_FF;
			}
			break;
		case JS_SEEK_FF:
			i += take(js, 1, 1);
			if (b == JPEGMARK_SOI) {
				js->pending = 2;
				js->state = JS_SEEK_FFD8;
			} else if (b == 0xff) {
				garbage(js, 1);
			} else {
				garbage(js, 2);
				js->pending = 0;
				js->state = JS_SEEK;
			}
			break;
		case JS_SEEK_FFD8:
			if (b == 0xff) {
				i += take(js, 1, 1);
				start_frame(js, data + i - 1);
			} else {
				/* Not consumed: it may start an SOI itself. */
				garbage(js, 2);
				js->pending = 0;
				js->state = JS_SEEK;
			}
			break;
		case JS_MARK:
			if (b != 0xff) {
				corrupt(js); /* b is looked at again in JS_SEEK */
				break;
			}
			i += take(js, 1, 1);
			keep1(js, b);
			js->state = JS_MCODE;
			break;
		case JS_MCODE:
			if (b == 0x00) {
				corrupt(js);
				break;
			}
			i += take(js, 1, 1);
			if (b == JPEGMARK_SOI) {
				restart_frame(js);
				break;
			}
			keep1(js, b);
			if (b == 0xff) /* fill byte */
				break;
			if (b == JPEGMARK_EOI) {
				if (js->scanned)
					done = end_frame(js, frame);
				else
					corrupt(js); /* no picture in it */
			} else if (jpegmark_is_rst(b) || b == JPEGMARK_TEM) {
				js->state = JS_MARK;
			} else {
				js->marker = b;
				js->state = JS_LEN1;
			}
			break;
		case JS_LEN1:
			i += take(js, 1, 1);
			keep1(js, b);
			js->remain = (uint32_t)b << 8;
			js->state = JS_LEN2;
			break;
		case JS_LEN2:
			i += take(js, 1, 1);
			keep1(js, b);
			js->remain |= b;
			if (js->remain < 2) {
				corrupt(js);
				break;
			}
			js->remain -= 2;
			js->seg_start = js->flen - js->base;
			if (js->remain == 0)
				segment_end(js);
			else
				js->state = JS_SKIP;
			break;
		case JS_SKIP:
			n = len - i < js->remain ? len - i : js->remain;
			keep(js, data + i, n);
			i += take(js, n, 0);
			js->remain -= (uint32_t)n;
			if (js->remain == 0)
				segment_end(js);
			break;
		case JS_ENTROPY:
			ff = memchr(data + i, 0xff, len - i);
			n = ff ? (size_t)(ff - (data + i)) + 1 : len - i;
			keep(js, data + i, n);
			i += take(js, n, 1);
			if (ff)
				js->state = JS_ENTROPY_FF;
			break;
		case JS_ENTROPY_FF:
			i += take(js, 1, 1);
			if (b == JPEGMARK_SOI) {
				restart_frame(js);
				break;
			}
			keep1(js, b);
			if (b == 0x00 || jpegmark_is_rst(b) ||
			    b == JPEGMARK_TEM) {
				js->state = JS_ENTROPY;
			} else if (b == 0xff) {
				/* fill byte: still after FF */
			} else if (b == JPEGMARK_EOI) {
				done = end_frame(js, frame);
			} else {
				/* A marker between scans (progressive: DHT, SOS). */
				js->marker = b;
				js->state = JS_LEN1;
			}
			break;
		}
	}
	*completed = done;
	return i;
}

int jpegsplit_push(struct jpegsplit *js, const uint8_t *data, size_t len,
		   size_t *consumed, struct jpegsplit_frame *frame)
{
	size_t i = 0;
	int done = 0;

	while (!done) {
		if (replaying(js)) {
			unsigned replays = js->replays;
			size_t n;

			js->inplace = 1;
			n = scan(js, js->buf + js->rp, js->rend - js->rp, &done,
				 frame);
			js->inplace = 0;
			if (js->replays != replays)
				continue; /* rp was set anew */
			js->rp += n;
			if (js->rp == js->rend)
				end_replay(js);
		} else if (i < len) {
			i += scan(js, data + i, len - i, &done, frame);
		} else {
			break;
		}
	}
	*consumed = i;
	return done;
}

int jpegsplit_finish(struct jpegsplit *js)
{
	if (replaying(js))
		return 1;
	switch (js->state) {
	case JS_SEEK:
		break;
	case JS_SEEK_FF:
	case JS_SEEK_FFD8:
		garbage(js, (size_t)js->pending);
		break;
	default:
		js->stats.truncated++;
		if (!js->scanned && start_replay(js))
			return 1;
		break;
	}
	js->state = JS_SEEK;
	js->pending = 0;
	js->in_garbage = 0;
	js->base = js->flen = 0;
	js->oversize = 0;
	return 0;
}
