/* SPDX-License-Identifier: MIT */
/* jpegsplit: a JPEG marker scanner that cuts a byte stream into frames. */
#include "jpegsplit.h"

#include <string.h>

enum {
	JS_SEEK,       /* outside a frame */
	JS_SEEK_FF,    /* outside, after FF */
	JS_SEEK_FFD8,  /* outside, after FF D8: the next FF confirms SOI */
	JS_MARK,       /* inside, a marker (FF) must come */
	JS_MCODE,      /* inside, after FF: the marker code */
	JS_LEN1,       /* segment length, high byte */
	JS_LEN2,       /* segment length, low byte */
	JS_SKIP,       /* segment payload */
	JS_ENTROPY,    /* entropy-coded data after SOS */
	JS_ENTROPY_FF, /* entropy-coded data, after FF */
};

#define M_SOI 0xd8
#define M_EOI 0xd9
#define M_SOS 0xda
#define M_TEM 0x01
#define M_DRI 0xdd

void jpegsplit_init(struct jpegsplit *js, uint8_t *buf, size_t cap)
{
	memset(js, 0, sizeof(*js));
	js->buf = buf;
	js->cap = cap;
	js->state = JS_SEEK;
}

uint64_t jpegsplit_skipped(const struct jpegsplit *js)
{
	return js->stats.truncated + js->stats.oversize + js->stats.corrupt;
}

static int replaying(const struct jpegsplit *js);

static void garbage(struct jpegsplit *js, size_t n)
{
	/* Bytes scanned again were counted with their corrupt frame. */
	if (n == 0 || replaying(js))
		return;
	js->stats.garbage_bytes += n;
	if (!js->in_garbage) {
		js->stats.garbage_runs++;
		js->in_garbage = 1;
	}
}

static void keep(struct jpegsplit *js, const uint8_t *p, size_t n)
{
	if (js->oversize)
		return;
	if (n > js->cap - js->len) {
		js->oversize = 1;
		return;
	}
	/* memmove: while bytes of buf are scanned again, they are kept
	 * again lower in buf (never above the read position). */
	memmove(js->buf + js->len, p, n);
	js->len += n;
}

static void keep1(struct jpegsplit *js, uint8_t b)
{
	keep(js, &b, 1);
}

static int is_rst(uint8_t m)
{
	return m >= 0xd0 && m <= 0xd7;
}

/* SOF0..SOF15 carry the picture size; C4 (DHT), C8 (JPG), CC (DAC) do not. */
static int is_sof(uint8_t m)
{
	return m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc;
}

static void start_frame(struct jpegsplit *js)
{
	static const uint8_t soi[3] = { 0xff, M_SOI, 0xff };

	js->len = 0;
	js->oversize = 0;
	js->scanned = 0;
	js->sof = 0;
	js->width = js->height = 0;
	js->pending = 0;
	js->in_garbage = 0;
	keep(js, soi, sizeof(soi));
	js->state = JS_MCODE;
}

static int replaying(const struct jpegsplit *js)
{
	return js->rp < js->rlen;
}

int jpegsplit_pending(const struct jpegsplit *js)
{
	return replaying(js);
}

/*
 * A frame that failed in its header (before any SOS) may be a frame cut
 * short with the next one glued on, a segment length having swallowed the
 * next SOI: its kept bytes are scanned again, from the first SOI after its
 * own, or from its last two bytes (an SOI may be completed by the input that
 * follows).  Not inside a scan of kept bytes (the work stays linear), and not
 * after an SOS (entropy data holds no SOI; an EXIF thumbnail in the header
 * must not come out as a frame).  Returns 1 when a scan again was set up.
 */
static int start_replay(struct jpegsplit *js)
{
	if (replaying(js) || js->oversize || js->scanned || js->len <= 2)
		return 0;
	js->state = JS_SEEK;
	js->pending = 0;
	js->rlen = js->len;
	for (size_t i = 2; i + 2 < js->len; i++)
		if (js->buf[i] == 0xff && js->buf[i + 1] == M_SOI &&
		    js->buf[i + 2] == 0xff) {
			js->rp = i;
			return 1;
		}
	js->rp = js->len - 2;
	return 1;
}

/* FF D8 inside a frame: the frame in progress was cut short.  The FF is
 * kept already; with the D8 the new SOI is among the bytes scanned again. */
static void restart_frame(struct jpegsplit *js)
{
	js->stats.truncated++;
	if (!js->scanned && !replaying(js)) {
		keep1(js, M_SOI);
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
	start_replay(js);
}

/* The segments whose length follows from their content: checking it
 * catches a frame cut inside its header and glued to the next one.  Returns
 * 0 when the segment is consistent (or was not kept: oversize). */
static int segment_check(struct jpegsplit *js)
{
	const uint8_t *p = js->buf + js->seg_start;
	size_t n = js->len - js->seg_start;

	if (js->oversize)
		return 0;
	if (is_sof(js->marker)) {
		/* One frame header per JPEG; P, Y, X, Nf, then 3 bytes per
		 * component. */
		if (js->sof || n < 6 || p[5] == 0 ||
		    n != 6 + 3 * (size_t)p[5])
			return -1;
		js->height = p[1] << 8 | p[2];
		js->width = p[3] << 8 | p[4];
		js->sof = 1;
		js->ncomp = p[5] <= sizeof(js->comp_ids) ? p[5] : 0;
		for (int k = 0; k < js->ncomp; k++)
			js->comp_ids[k] = p[6 + 3 * k];
	} else if (js->marker == M_SOS) {
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
	} else if (js->marker == M_DRI) {
		if (n != 2)
			return -1;
	}
	return 0;
}

static void segment_end(struct jpegsplit *js)
{
	if (segment_check(js) < 0) {
		corrupt(js);
		return;
	}
	if (js->marker == M_SOS) {
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
	js->stats.frames++;
	frame->data = js->buf;
	frame->len = js->len;
	frame->width = js->width;
	frame->height = js->height;
	return 1;
}

/* Runs the scanner over data until a frame completes or data runs out;
 * returns the bytes consumed. */
static size_t scan(struct jpegsplit *js, const uint8_t *data, size_t len,
		   int from_replay, int *completed,
		   struct jpegsplit_frame *frame)
{
	size_t i = 0;
	int done = 0;

	while (i < len && !done) {
		uint8_t b = data[i];
		const uint8_t *ff;
		size_t n;

		switch (js->state) {
		case JS_SEEK:
			ff = memchr(data + i, 0xff, len - i);
			n = ff ? (size_t)(ff - (data + i)) : len - i;
			garbage(js, n);
			i += n;
			if (ff) {
				i++;
				js->pending = 1;
				js->state = JS_SEEK_FF;
			}
			break;
		case JS_SEEK_FF:
			i++;
			if (b == M_SOI) {
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
				i++;
				start_frame(js);
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
			i++;
			keep1(js, b);
			js->state = JS_MCODE;
			break;
		case JS_MCODE:
			if (b == 0x00) {
				corrupt(js);
				break;
			}
			i++;
			if (b == M_SOI) {
				restart_frame(js);
				break;
			}
			keep1(js, b);
			if (b == 0xff) /* fill byte */
				break;
			if (b == M_EOI) {
				if (js->scanned)
					done = end_frame(js, frame);
				else
					corrupt(js); /* no picture in it */
			} else if (is_rst(b) || b == M_TEM) {
				js->state = JS_MARK;
			} else {
				js->marker = b;
				js->state = JS_LEN1;
			}
			break;
		case JS_LEN1:
			i++;
			keep1(js, b);
			js->remain = (uint32_t)b << 8;
			js->state = JS_LEN2;
			break;
		case JS_LEN2:
			i++;
			keep1(js, b);
			js->remain |= b;
			if (js->remain < 2) {
				corrupt(js);
				break;
			}
			js->remain -= 2;
			js->seg_start = js->len;
			if (js->remain == 0)
				segment_end(js);
			else
				js->state = JS_SKIP;
			break;
		case JS_SKIP:
			n = len - i < js->remain ? len - i : js->remain;
			keep(js, data + i, n);
			i += n;
			js->remain -= (uint32_t)n;
			if (js->remain == 0)
				segment_end(js);
			break;
		case JS_ENTROPY:
			ff = memchr(data + i, 0xff, len - i);
			n = ff ? (size_t)(ff - (data + i)) + 1 : len - i;
			keep(js, data + i, n);
			i += n;
			if (ff)
				js->state = JS_ENTROPY_FF;
			break;
		case JS_ENTROPY_FF:
			i++;
			if (b == M_SOI) {
				restart_frame(js);
				break;
			}
			keep1(js, b);
			if (b == 0x00 || is_rst(b) || b == M_TEM) {
				js->state = JS_ENTROPY;
			} else if (b == 0xff) {
				/* fill byte: still after FF */
			} else if (b == M_EOI) {
				done = end_frame(js, frame);
			} else {
				/* A marker between scans (progressive: DHT, SOS). */
				js->marker = b;
				js->state = JS_LEN1;
			}
			break;
		}
		/* A corrupt frame to scan again: that comes before the rest
		 * of data. */
		if (!from_replay && replaying(js))
			break;
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
			size_t rp = js->rp, n;
			n = scan(js, js->buf + rp, js->rlen - rp, 1, &done, frame);
			/* scan() never starts a replay while replaying. */
			js->rp = rp + n;
			if (js->rp >= js->rlen)
				js->rp = js->rlen = 0;
		} else if (i < len) {
			i += scan(js, data + i, len - i, 0, &done, frame);
		} else {
			break;
		}
	}
	*consumed = i;
	return done;
}

void jpegsplit_finish(struct jpegsplit *js)
{
	switch (js->state) {
	case JS_SEEK:
		break;
	case JS_SEEK_FF:
	case JS_SEEK_FFD8:
		garbage(js, (size_t)js->pending);
		break;
	default:
		js->stats.truncated++;
		break;
	}
	js->state = JS_SEEK;
	js->pending = 0;
	js->in_garbage = 0;
	js->len = 0;
	js->oversize = 0;
	js->rp = js->rlen = 0;
}
