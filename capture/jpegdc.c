/* SPDX-License-Identifier: MIT */
/* jpegdc: a baseline JPEG's 1/8-scale grey picture from its DC coefficients
 * alone (see jpegdc.h). */
#include "jpegdc.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "jpegmark.h"

#define JPEGDC_FAST 9 /* bits resolved by one table lookup */
#define JPEGDC_PAIR 11 /* bits of the AC lookup, up to two codes */
#define JPEGDC_TABLES 4 /* Huffman and quantisation table slots */
#define JPEGDC_COMPS 3

struct huff {
	int defined;
	/* The DHT it was built from (count bytes and symbols), to build a
	 * table again only when it changes; srclen 0: none. */
	size_t srclen;
	uint8_t src[16 + 256];
	/* AC, indexed by the next JPEGDC_PAIR bits: the first code there and
	 * the code after it when that one fits too.  For each, skip is the
	 * code's length plus its magnitude bits (skipped unread) and advance
	 * what the coefficient index moves (run + 1, 16 for ZRL, 64 for EOB):
	 * skip1 << 24 | advance1 << 16 | skip of both << 8 | advance of both
	 * (the first one's again when the second does not fit); 0 when the
	 * first code is longer. */
	uint32_t pair[1 << JPEGDC_PAIR];
	/* DC: the difference and the bits it takes when code and magnitude
	 * fit in JPEGDC_FAST bits (dcn 0 otherwise). */
	int16_t dcv[1 << JPEGDC_FAST];
	uint8_t dcn[1 << JPEGDC_FAST];
	/* Any table: code length (0: longer than JPEGDC_FAST) and symbol. */
	uint8_t len[1 << JPEGDC_FAST];
	uint8_t sym[1 << JPEGDC_FAST];
	/* Slow path, canonical codes: the largest code of each length (-1:
	 * none) and the offset from a code to its symbol in val. */
	int32_t maxcode[17];
	int32_t valoff[17];
	uint8_t val[256];
};

struct comp {
	int id, h, v, tq;
	int td, ta; /* the scan's tables */
};

struct jpegdc {
	struct huff dc[JPEGDC_TABLES], ac[JPEGDC_TABLES];
	int qdefined[JPEGDC_TABLES];
	int q0[JPEGDC_TABLES]; /* each table's DC quantiser */
	struct comp comp[JPEGDC_COMPS];
	int ncomp, width, height, restart, ready;
	int order[JPEGDC_COMPS]; /* frame component of each scan component */
	const uint8_t *scan, *end; /* entropy-coded data, to the input's end */
};

/* The bit buffer, passed and returned by value so that it stays in
 * registers through the block loop, and where its bytes come from. */
struct bits {
	uint64_t v; /* left-aligned */
	int n; /* valid bits in v */
};

struct bitsrc {
	const uint8_t *p, *end;
	int pad; /* of the buffer's bits, zeros added past a marker or the end */
	int marker; /* a marker (or the end) was reached */
};

struct jpegdc *jpegdc_create(void)
{
	return calloc(1, sizeof(struct jpegdc));
}

void jpegdc_destroy(struct jpegdc *d)
{
	free(d);
}

/* The AC symbol of the code at the top of the width-bit window w (*len its
 * length), or -1 when no code of up to width bits is there. */
static int window_decode(const struct huff *h, unsigned w, int width, int *len)
{
	for (int l = 1; l <= width; l++) {
		int32_t code = (int32_t)(w >> (width - l));

		if (code <= h->maxcode[l]) {
			*len = l;
			return h->val[code + h->valoff[l]];
		}
	}
	return -1;
}

static int ac_advance(int s)
{
	return s & 15 ? (s >> 4) + 1 : s == 0xf0 ? 16 : 64;
}

static void pairs_build(struct huff *h)
{
	for (unsigned i = 0; i < 1u << JPEGDC_PAIR; i++) {
		int l1, l2, s1, s2, skip1, adv1;
		uint32_t e;

		if ((s1 = window_decode(h, i, JPEGDC_PAIR, &l1)) < 0) {
			h->pair[i] = 0;
			continue;
		}
		skip1 = l1 + (s1 & 15);
		adv1 = ac_advance(s1);
		e = (uint32_t)skip1 << 24 | (uint32_t)adv1 << 16 |
		    (uint32_t)skip1 << 8 | (uint32_t)adv1;
		if (adv1 < 64 && skip1 < JPEGDC_PAIR &&
		    (s2 = window_decode(h,
					i & ((1u << (JPEGDC_PAIR - skip1)) - 1),
					JPEGDC_PAIR - skip1, &l2)) >= 0)
			e = (uint32_t)skip1 << 24 | (uint32_t)adv1 << 16 |
			    (uint32_t)(skip1 + l2 + (s2 & 15)) << 8 |
			    (uint32_t)(adv1 + ac_advance(s2));
		h->pair[i] = e;
	}
}

/* Builds h from a DHT table: counts[1..16] and the symbols.  -1 when the
 * codes overflow their lengths (an over-full table, or an all-ones code,
 * as libjpeg refuses) or a DC symbol is above 15. */
static int huff_build(struct huff *h, const uint8_t *counts, const uint8_t *val,
		      int nsym, int isdc)
{
	int32_t code = 0;
	int k = 0;

	memset(h, 0, sizeof(*h));
	memcpy(h->val, val, (size_t)nsym);
	for (int l = 1; l <= 16; l++) {
		int c = counts[l - 1];

		h->valoff[l] = k - code;
		h->maxcode[l] = c > 0 ? code + c - 1 : -1;
		for (int i = 0; i < c; i++, k++, code++) {
			int s = val[k];

			if ((isdc && s > 15) || code >= (int32_t)1 << l)
				return -1; /* checked before its entries */
			if (l > JPEGDC_FAST)
				continue;
			int shift = JPEGDC_FAST - l;
			for (int e = 0; e < 1 << shift; e++) {
				int i9 = (int)(code << shift) | e;
				h->len[i9] = (uint8_t)l;
				h->sym[i9] = (uint8_t)s;
				if (isdc && l + s <= JPEGDC_FAST) {
					int v = s ? (e >> (shift - s)) : 0;

					if (s && v < 1 << (s - 1))
						v -= (1 << s) - 1;
					h->dcv[i9] = (int16_t)v;
					h->dcn[i9] = (uint8_t)(l + s);
				}
			}
		}
		if (code >= (int32_t)1 << l)
			return -1;
		code <<= 1;
	}
	if (!isdc)
		pairs_build(h);
	h->defined = 1;
	return 0;
}

static int fail(int err)
{
	errno = err;
	return -1;
}

static int get16(const uint8_t *p)
{
	return p[0] << 8 | p[1];
}

static int read_dht(struct jpegdc *d, const uint8_t *p, size_t n)
{
	while (n > 0) {
		int tc, th, count = 0;

		if (n < 17)
			return fail(EBADMSG);
		tc = p[0] >> 4;
		th = p[0] & 15;
		if (tc > 1 || th >= JPEGDC_TABLES)
			return fail(EBADMSG);
		for (int i = 1; i <= 16; i++)
			count += p[i];
		if (count > 256 || (size_t)count > n - 17)
			return fail(EBADMSG);
		struct huff *t = tc ? &d->ac[th] : &d->dc[th];
		size_t n1 = 16 + (size_t)count;

		if (t->srclen == n1 && memcmp(t->src, p + 1, n1) == 0)
			t->defined = 1; /* the same table as before */
		else {
			t->srclen = 0;
			if (huff_build(t, p + 1, p + 17, count, !tc) < 0)
				return fail(EBADMSG);
			memcpy(t->src, p + 1, n1);
			t->srclen = n1;
		}
		p += 17 + count;
		n -= 17 + (size_t)count;
	}
	return 0;
}

static int read_dqt(struct jpegdc *d, const uint8_t *p, size_t n)
{
	while (n > 0) {
		int pq = p[0] >> 4, tq = p[0] & 15;

		if (tq >= JPEGDC_TABLES)
			return fail(EBADMSG);
		if (pq != 0)
			return fail(ENOTSUP); /* 16-bit quantisers */
		if (n < 65)
			return fail(EBADMSG);
		d->q0[tq] = p[1];
		d->qdefined[tq] = 1;
		p += 65;
		n -= 65;
	}
	return 0;
}

static int read_sof(struct jpegdc *d, const uint8_t *p, size_t n)
{
	if (n < 6)
		return fail(EBADMSG);
	if (p[0] != 8)
		return fail(ENOTSUP);
	d->height = get16(p + 1);
	d->width = get16(p + 3);
	d->ncomp = p[5];
	if (d->height == 0)
		return fail(ENOTSUP); /* the height in a DNL marker */
	if (d->width == 0 || n != 6 + 3 * (size_t)d->ncomp)
		return fail(EBADMSG);
	if (d->ncomp != 1 && d->ncomp != 3)
		return fail(ENOTSUP);
	for (int i = 0; i < d->ncomp; i++) {
		struct comp *c = &d->comp[i];

		c->id = p[6 + 3 * i];
		c->h = p[7 + 3 * i] >> 4;
		c->v = p[7 + 3 * i] & 15;
		c->tq = p[8 + 3 * i];
		if (c->h < 1 || c->h > 4 || c->v < 1 || c->v > 4 ||
		    c->tq >= JPEGDC_TABLES)
			return fail(EBADMSG);
		if (d->ncomp > 1 &&
		    (i == 0 ? c->h > 2 || c->v > 2 : c->h != 1 || c->v != 1))
			return fail(ENOTSUP);
	}
	return 0;
}

static int read_sos(struct jpegdc *d, const uint8_t *p, size_t n)
{
	int ns;

	if (d->ncomp == 0)
		return fail(EBADMSG); /* no SOF */
	if (n < 1 || (ns = p[0], n != 4 + 2 * (size_t)ns))
		return fail(EBADMSG);
	if (ns != d->ncomp)
		return fail(ENOTSUP); /* one scan per component */
	for (int i = 0; i < ns; i++) {
		int id = p[1 + 2 * i], f;

		for (f = 0; f < d->ncomp && d->comp[f].id != id; f++)
			;
		if (f == d->ncomp)
			return fail(EBADMSG);
		for (int j = 0; j < i; j++)
			if (d->order[j] == f)
				return fail(EBADMSG);
		d->order[i] = f;
		d->comp[f].td = p[2 + 2 * i] >> 4;
		d->comp[f].ta = p[2 + 2 * i] & 15;
		if (d->comp[f].td >= JPEGDC_TABLES ||
		    d->comp[f].ta >= JPEGDC_TABLES)
			return fail(EBADMSG);
		if (!d->dc[d->comp[f].td].defined ||
		    !d->ac[d->comp[f].ta].defined)
			return fail(ENOTSUP); /* libjpeg's default tables */
		if (!d->qdefined[d->comp[f].tq])
			return fail(EBADMSG);
	}
	if (p[1 + 2 * ns] != 0 || p[2 + 2 * ns] != 63 || p[3 + 2 * ns] != 0)
		return fail(EBADMSG);
	return 0;
}

int jpegdc_header(struct jpegdc *d, const uint8_t *jpeg, size_t len, int *width,
		  int *height)
{
	struct jpegmark w;
	struct jpegmark_seg sg;
	int jfif = 0, adobe = 0, transform = 0;

	d->ready = 0;
	d->ncomp = 0;
	d->restart = 0;
	for (int i = 0; i < JPEGDC_TABLES; i++)
		d->dc[i].defined = d->ac[i].defined = d->qdefined[i] = 0;
	if (jpeg == NULL || len < 4 || jpeg[0] != 0xff ||
	    jpeg[1] != JPEGMARK_SOI)
		return fail(EBADMSG);
	jpegmark_init(&w, jpeg, len, 2);
	for (;;) {
		const uint8_t *seg;
		size_t n;
		int m;

		/* Before the scan: segments with a length that fits, no
		 * standalone marker (SOI, EOI, RSTn, TEM). */
		if (jpegmark_next(&w, &sg) != 1 ||
		    jpegmark_standalone(sg.marker) || sg.size < 4)
			return fail(EBADMSG);
		m = sg.marker;
		seg = jpeg + sg.offset + 4;
		n = sg.size - 4;
		switch (m) {
		case 0xc0:
			if (d->ncomp != 0)
				return fail(EBADMSG);
			if (read_sof(d, seg, n) < 0)
				return -1;
			break;
		case JPEGMARK_DHT:
			if (read_dht(d, seg, n) < 0)
				return -1;
			break;
		case JPEGMARK_DQT:
			if (read_dqt(d, seg, n) < 0)
				return -1;
			break;
		case JPEGMARK_DRI:
			if (n != 2)
				return fail(EBADMSG);
			d->restart = get16(seg);
			break;
		case 0xe0:
			if (n >= 14 && memcmp(seg, "JFIF", 5) == 0)
				jfif = 1;
			break;
		case 0xee:
			if (n >= 12 && memcmp(seg, "Adobe", 5) == 0) {
				adobe = 1;
				transform = seg[11];
			}
			break;
		case JPEGMARK_SOS:
			if (read_sos(d, seg, n) < 0)
				return -1;
			/* The grey picture is the first component only when it
			 * is luma: not for RGB (what libjpeg guesses from an
			 * Adobe marker or the component ids). */
			if (d->ncomp == 3 && !jfif &&
			    (adobe ? transform != 1
				   : d->comp[0].id == 'R' &&
					     d->comp[1].id == 'G' &&
					     d->comp[2].id == 'B'))
				return fail(ENOTSUP);
			d->scan = seg + n;
			d->end = jpeg + len;
			d->ready = 1;
			*width = d->width;
			*height = d->height;
			return 0;
		default:
			if ((m >= 0xc1 && m <= 0xcf) || m == 0xdc)
				return fail(ENOTSUP); /* other processes, DNL */
			break;
		}
	}
}

/* Adds bytes to the bit buffer one at a time: stuffed bytes, and zero bits
 * past a marker or the input's end (as libjpeg does; using them is an
 * error the caller detects from pad). */
static struct bits refill_slow(struct bitsrc *s, struct bits b)
{
	while (b.n <= 56) {
		unsigned c;

		if (s->marker) {
			s->pad += 8;
			b.n += 8;
			continue;
		}
		if (s->p >= s->end) {
			s->marker = 1;
			continue;
		}
		c = *s->p;
		if (c == 0xff) {
			const uint8_t *q = s->p + 1;

			while (q < s->end && *q == 0xff)
				q++;
			if (q >= s->end || *q != 0) {
				s->marker = 1;
				continue;
			}
			s->p = q + 1;
		} else
			s->p++;
		b.v |= (uint64_t)c << (56 - b.n);
		b.n += 8;
	}
	return b;
}

/* At least 57 bits in the buffer: eight bytes at a time where none of
 * them is 0xff. */
static inline struct bits refill(struct bitsrc *s, struct bits b)
{
	if (!s->marker && s->end - s->p >= 8) {
		uint64_t v, x;

		memcpy(&v, s->p, 8);
		x = ~v;
		if (((x - 0x0101010101010101ull) & ~x &
		     0x8080808080808080ull) == 0) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			v = __builtin_bswap64(v);
#endif
			b.v |= v >> b.n;
			s->p += (63 - b.n) >> 3;
			b.n |= 56;
			return b;
		}
	}
	return refill_slow(s, b);
}

/* The symbol of a code longer than JPEGDC_FAST bits at the top of v (*len
 * its length), or -1. */
static int decode_slow(const struct huff *h, uint64_t v, int *len)
{
	for (int l = JPEGDC_FAST + 1; l <= 16; l++) {
		int32_t code = (int32_t)(v >> (64 - l));

		if (code <= h->maxcode[l]) {
			*len = l;
			return h->val[code + h->valoff[l]];
		}
	}
	return -1;
}

/* Decodes one block: its DC difference into *diff, its AC coefficients
 * skipped.  0, or -1 on a bad code. */
static inline int decode_block(const struct huff *hd, const struct huff *ha,
			       struct bitsrc *src, struct bits *bp, int *diff)
{
	struct bits b = *bp;
	unsigned i;
	int s, v, len;

	if (b.n < 32)
		b = refill(src, b);
	i = (unsigned)(b.v >> (64 - JPEGDC_FAST));
	if (hd->dcn[i]) {
		*diff = hd->dcv[i];
		b.v <<= hd->dcn[i];
		b.n -= hd->dcn[i];
	} else {
		if (hd->len[i]) {
			s = hd->sym[i];
			len = hd->len[i];
		} else if ((s = decode_slow(hd, b.v, &len)) < 0)
			return -1;
		b.v <<= len;
		b.n -= len;
		v = 0;
		if (s) {
			v = (int)(b.v >> (64 - s));
			b.v <<= s;
			b.n -= s;
			if (v < 1 << (s - 1))
				v -= (1 << s) - 1;
		}
		*diff = v;
	}
	for (int k = 1; k < 64;) {
		uint32_t e;

		if (b.n < 32)
			b = refill(src, b);
		e = ha->pair[b.v >> (64 - JPEGDC_PAIR)];
		if (e) {
			/* Both codes when the first does not end the block
			 * (chosen without a branch: which one is taken is
			 * data). */
			int a1 = (int)(e >> 16 & 0xff), two = k + a1 < 64;
			int skip = (int)(two ? e >> 8 & 0xff : e >> 24);

			k += two ? (int)(e & 0xff) : a1;
			b.v <<= skip;
			b.n -= skip;
			continue;
		}
		if ((s = decode_slow(ha, b.v, &len)) < 0)
			return -1;
		b.v <<= len + (s & 15);
		b.n -= len + (s & 15);
		k += s & 15 ? (s >> 4) + 1 : s == 0xf0 ? 16 : 64;
	}
	*bp = b;
	return 0;
}

/* The grey value libjpeg-turbo's 1x1 IDCT gives a DC coefficient: the
 * coefficient is a 16-bit JCOEF, the result indexes a range-limit table
 * modulo 1024 (so values far out of range wrap as they do there). */
static inline uint8_t grey(int32_t dc, int q)
{
	int v = (int)(int16_t)(uint16_t)(uint32_t)dc * q;
	unsigned i = (unsigned)((v + 4) >> 3) & 1023;

	if (i < 128)
		return (uint8_t)(i + 128);
	if (i < 512)
		return 255;
	if (i < 896)
		return 0;
	return (uint8_t)(i - 896);
}

/* After the last MCU of a scan or a restart interval: nothing but the
 * final byte's padding bits left (of n in the buffer) before the marker
 * `want`, which it passes; the caller then empties the buffer. */
static int end_interval(struct bitsrc *s, int n, int want)
{
	if (n < s->pad || n - s->pad >= 8)
		return -1;
	if (s->p >= s->end || *s->p != 0xff)
		return -1;
	while (s->p < s->end && *s->p == 0xff)
		s->p++;
	if (s->p >= s->end || *s->p != want)
		return -1;
	s->p++;
	s->pad = s->marker = 0;
	return 0;
}

int jpegdc_decode(struct jpegdc *d, uint8_t *dst, int stride)
{
	int ow = (d->width + 7) / 8, oh = (d->height + 7) / 8;
	int hmax = d->comp[0].h, vmax = d->comp[0].v, cols, rows;
	int todo = d->restart, rst = 0, q = d->q0[d->comp[0].tq];
	int32_t pred[JPEGDC_COMPS] = {0};
	struct bitsrc src = {0};
	struct bits b = {0, 0};

	if (!d->ready || stride < ow)
		return fail(EINVAL);
	d->ready = 0;
	src.p = d->scan;
	src.end = d->end;
	if (d->ncomp == 1) {
		/* Non-interleaved: one block per MCU, whatever the sampling. */
		hmax = vmax = 1;
		cols = ow;
		rows = oh;
	} else {
		cols = (d->width + 8 * hmax - 1) / (8 * hmax);
		rows = (d->height + 8 * vmax - 1) / (8 * vmax);
	}
	for (int my = 0; my < rows; my++)
		for (int mx = 0; mx < cols; mx++) {
			if (d->restart) {
				if (todo == 0) {
					if (end_interval(&src, b.n,
							 0xd0 + rst) < 0)
						return fail(EBADMSG);
					b.v = 0;
					b.n = 0;
					rst = (rst + 1) & 7;
					todo = d->restart;
					memset(pred, 0, sizeof(pred));
				}
				todo--;
			}
			for (int i = 0; i < d->ncomp; i++) {
				int f = d->order[i];
				const struct comp *c = &d->comp[f];
				const struct huff *hd = &d->dc[c->td];
				const struct huff *ha = &d->ac[c->ta];
				int bh = d->ncomp == 1 ? 1 : c->h;
				int bv = d->ncomp == 1 ? 1 : c->v;

				for (int by = 0; by < bv; by++)
					for (int bx = 0; bx < bh; bx++) {
						int diff;

						if (decode_block(hd, ha, &src,
								 &b, &diff) < 0)
							return fail(EBADMSG);
						if (f != 0)
							continue;
						if ((diff > 0 &&
						     pred[0] > INT32_MAX -
								       diff) ||
						    (diff < 0 &&
						     pred[0] <
							     INT32_MIN - diff))
							return fail(EBADMSG);
						pred[0] += diff;
						int x = mx * hmax + bx;
						int y = my * vmax + by;
						if (x < ow && y < oh)
							dst[(size_t)y * stride +
							    x] = grey(pred[0],
								      q);
					}
			}
			if (b.n < src.pad)
				return fail(EBADMSG); /* read past the data */
		}
	if (end_interval(&src, b.n, 0xd9) < 0)
		return fail(EBADMSG);
	return 0;
}
