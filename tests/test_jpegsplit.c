/* SPDX-License-Identifier: MIT */
/* Unit tests of capture/jpegsplit.c: cutting concatenated JPEGs. */
#include "test.h"

#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "jpegsplit.h"

#define CAP (1 << 20)

struct buf {
	uint8_t *p;
	size_t len, cap;
};

static void put(struct buf *b, const void *data, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
}

static void put_bytes(struct buf *b, int n, ...)
{
	va_list ap;
	va_start(ap, n);
	for (int i = 0; i < n; i++) {
		uint8_t c = (uint8_t)va_arg(ap, int);
		put(b, &c, 1);
	}
	va_end(ap);
}

/*
 * A structurally complete JPEG (not decodable, but every marker rule is
 * there): an APP1 segment holding a whole embedded JPEG (an EXIF thumbnail
 * must not end the frame), SOF0 with the size, SOS, entropy data with
 * stuffed FF 00, RST markers and fill bytes, then EOI.
 */
static void synth_jpeg(struct buf *b, int w, int h, size_t entropy, int tag)
{
	static const uint8_t thumb[] = {0xff, 0xd8, 0xff, 0xd9, 0x00, 0xff};
	size_t app_len = 2 + 6 + sizeof(thumb);

	put_bytes(b, 2, 0xff, 0xd8);
	put_bytes(b, 4, 0xff, 0xe1, (int)(app_len >> 8), (int)(app_len & 0xff));
	put(b, "Exif\0\0", 6);
	put(b, thumb, sizeof(thumb));
	/* SOF0: length 17, precision 8, height, width, 3 components. */
	put_bytes(b, 10, 0xff, 0xc0, 0, 17, 8, h >> 8, h & 0xff, w >> 8,
		  w & 0xff, 3);
	put_bytes(b, 9, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1);
	/* SOS: length 12, 3 components. */
	put_bytes(b, 14, 0xff, 0xda, 0, 12, 3, 1, 0, 2, 0x11, 3, 0x11, 0, 63,
		  0);
	for (size_t i = 0; i < entropy; i++) {
		uint8_t c = (uint8_t)(i * 7 + (size_t)tag);
		if (c == 0xff) {
			put_bytes(b, 2, 0xff, 0x00); /* stuffing */
		} else if (i % 100 == 99) {
			put_bytes(b, 2, 0xff, 0xd0 + (int)(i / 100 % 8));
		} else if (i % 333 == 332) {
			put_bytes(b, 3, 0xff, 0xff,
				  0x00); /* fill, then stuff */
		} else {
			put(b, &c, 1);
		}
	}
	put_bytes(b, 2, 0xff, 0xd9);
}

/* A real JPEG from TurboJPEG (caller frees with tjFree). */
static uint8_t *real_jpeg(int w, int h, int flags, unsigned long *len)
{
	tjhandle tj = tjInitCompress();
	uint8_t *rgb = malloc((size_t)w * h * 3);
	uint8_t *out = NULL;

	assert_non_null(tj);
	assert_non_null(rgb);
	for (int i = 0; i < w * h * 3; i++)
		rgb[i] = (uint8_t)((i * 13) ^ (i / (w * 3)));
	*len = 0;
	assert_int_equal(tjCompress2(tj, rgb, w, 0, h, TJPF_RGB, &out, len,
				     TJSAMP_420, 80, flags),
			 0);
	free(rgb);
	tjDestroy(tj);
	return out;
}

struct result {
	int frames;
	struct buf out[8];
	int w[8], h[8];
};

/* Feeds data in chunks of chunk bytes (0: random sizes). */
static void feed(struct jpegsplit *js, const uint8_t *data, size_t len,
		 size_t chunk, struct result *r)
{
	size_t pos = 0;
	unsigned seed = 1;

	while (pos < len) {
		size_t n = chunk;
		if (n == 0) {
			seed = seed * 1103515245 + 12345;
			n = 1 + (seed >> 16) % 3000;
		}
		if (n > len - pos)
			n = len - pos;
		while (n > 0 || jpegsplit_pending(js)) {
			struct jpegsplit_frame f;
			size_t used;
			int got = jpegsplit_push(js, data + pos, n, &used, &f);
			assert_true(used <= n);
			pos += used;
			n -= used;
			if (got) {
				assert_true(r->frames < 8);
				put(&r->out[r->frames], f.data, f.len);
				r->w[r->frames] = f.width;
				r->h[r->frames] = f.height;
				r->frames++;
			} else {
				assert_int_equal(n, 0);
				assert_false(jpegsplit_pending(js));
			}
		}
	}
}

/* The end of input: frames may still come out of kept bytes. */
static void finish(struct jpegsplit *js, struct result *r)
{
	int rounds = 0;

	while (jpegsplit_finish(js)) {
		struct jpegsplit_frame f;
		size_t used;

		assert_true(++rounds < 100000);
		while (jpegsplit_push(js, NULL, 0, &used, &f)) {
			assert_true(r->frames < 8);
			put(&r->out[r->frames], f.data, f.len);
			r->w[r->frames] = f.width;
			r->h[r->frames] = f.height;
			r->frames++;
		}
		assert_int_equal(used, 0);
		assert_false(jpegsplit_pending(js));
	}
}

static void result_free(struct result *r)
{
	for (int i = 0; i < 8; i++)
		free(r->out[i].p);
}

static void assert_same(const struct buf *got, const struct buf *want)
{
	assert_int_equal(got->len, want->len);
	assert_memory_equal(got->p, want->p, want->len);
}

static void test_single_synthetic(void **state)
{
	struct buf a = {0};
	struct result r = {0};
	struct jpegsplit js;
	uint8_t *mem = malloc(CAP);

	(void)state;
	synth_jpeg(&a, 640, 360, 5000, 1);
	jpegsplit_init(&js, mem, CAP);
	feed(&js, a.p, a.len, a.len, &r);
	assert_int_equal(r.frames, 1);
	assert_same(&r.out[0], &a);
	assert_int_equal(r.w[0], 640);
	assert_int_equal(r.h[0], 360);
	assert_int_equal(js.stats.frames, 1);
	assert_int_equal(js.stats.garbage_bytes, 0);
	assert_int_equal(jpegsplit_skipped(&js), 0);
	result_free(&r);
	free(a.p);
	free(mem);
}

static void test_real_jpegs(void **state)
{
	unsigned long la, lb;
	uint8_t *a = real_jpeg(320, 240, 0, &la);
	uint8_t *b = real_jpeg(97, 61, TJFLAG_PROGRESSIVE, &lb);
	struct buf in = {0}, wa = {0}, wb = {0};
	struct result r = {0};
	struct jpegsplit js;
	uint8_t *mem = malloc(CAP);

	(void)state;
	put(&wa, a, la);
	put(&wb, b, lb);
	put(&in, a, la);
	put(&in, b, lb);
	put(&in, a, la);
	jpegsplit_init(&js, mem, CAP);
	feed(&js, in.p, in.len, 4096, &r);
	assert_int_equal(r.frames, 3);
	assert_same(&r.out[0], &wa);
	assert_same(&r.out[1], &wb); /* progressive: DHT/SOS between scans */
	assert_same(&r.out[2], &wa);
	assert_int_equal(r.w[1], 97);
	assert_int_equal(r.h[1], 61);
	assert_int_equal(jpegsplit_skipped(&js), 0);
	assert_int_equal(js.stats.rescanned, 0); /* one pass, nothing moved */
	result_free(&r);
	tjFree(a);
	tjFree(b);
	free(in.p);
	free(wa.p);
	free(wb.p);
	free(mem);
}

/* Garbage before, between and after frames, with SOI look-alikes in it. */
static void garbage_stream(struct buf *in, struct buf want[3], size_t *garbage)
{
	static const uint8_t g1[] =
		"HTTP/1.1 200 OK\r\n\xff\xd8\x00 junk \xff\xff";
	static const uint8_t g2[] = {0xff, 0xd9, 0x00, 0xff, 0xd8, 0x12, 0xff};
	static const uint8_t g3[] = "--boundary\r\n";

	*garbage = 0;
	for (int i = 0; i < 3; i++)
		synth_jpeg(&want[i], 64 + i, 48, 1000 + 500 * (size_t)i, i);
	put(in, g1, sizeof(g1));
	*garbage += sizeof(g1);
	put(in, want[0].p, want[0].len);
	put(in, g2, sizeof(g2));
	*garbage += sizeof(g2);
	put(in, want[1].p, want[1].len);
	put(in, g3, sizeof(g3));
	*garbage += sizeof(g3);
	put(in, want[2].p, want[2].len);
	put(in, g3, sizeof(g3));
	*garbage += sizeof(g3);
}

static void check_garbage(size_t chunk)
{
	struct buf in = {0}, want[3] = {{0}};
	struct result r = {0};
	struct jpegsplit js;
	size_t garbage;
	uint8_t *mem = malloc(CAP);

	garbage_stream(&in, want, &garbage);
	jpegsplit_init(&js, mem, CAP);
	feed(&js, in.p, in.len, chunk, &r);
	finish(&js, &r);
	assert_int_equal(r.frames, 3);
	for (int i = 0; i < 3; i++) {
		assert_same(&r.out[i], &want[i]);
		assert_int_equal(r.w[i], 64 + i);
		free(want[i].p);
	}
	assert_int_equal(js.stats.garbage_bytes, garbage);
	assert_int_equal(js.stats.garbage_runs, 4);
	assert_int_equal(jpegsplit_skipped(&js), 0);
	result_free(&r);
	free(in.p);
	free(mem);
}

static void test_garbage_whole(void **state)
{
	(void)state;
	check_garbage(1 << 20);
}

static void test_garbage_byte_at_a_time(void **state)
{
	(void)state;
	check_garbage(1);
}

static void test_garbage_random_chunks(void **state)
{
	(void)state;
	check_garbage(0);
}

/* A frame cut short (the writer restarted) is skipped, the next kept. */
static void test_truncated(void **state)
{
	struct buf a = {0}, b = {0}, in = {0};
	struct result r = {0};
	struct jpegsplit js;
	uint8_t *mem = malloc(CAP);

	(void)state;
	synth_jpeg(&a, 100, 50, 3000, 3);
	synth_jpeg(&b, 200, 80, 2000, 4);
	put(&in, a.p, a.len / 2); /* cut inside the entropy data */
	put(&in, b.p, b.len);
	put(&in, a.p, 37); /* cut between two header segments */
	put(&in, b.p, b.len);
	jpegsplit_init(&js, mem, CAP);
	feed(&js, in.p, in.len, 1, &r);
	assert_int_equal(r.frames, 2);
	assert_same(&r.out[0], &b);
	assert_same(&r.out[1], &b);
	assert_int_equal(js.stats.truncated, 2);
	assert_int_equal(js.stats.garbage_bytes, 0);

	/* Cut anywhere inside the header: a segment length may swallow the
	 * start of the frames that follow.  The broken frame's bytes are
	 * scanned again, so at most one of the frames after it is lost, and
	 * every frame returned carries a whole frame b after its SOI (a cut
	 * inside an APPn segment can leave a stray APPn in front of it:
	 * still a valid JPEG of b's picture). */
	for (size_t cut = 3; cut < 52; cut++) {
		struct buf in2 = {0};
		size_t tail = b.len - 2;
		int n = 0;
		put(&in2, a.p, cut);
		/* More than a 64 KB segment can swallow. */
		for (int k = 0; k < 40; k++)
			put(&in2, b.p, b.len);
		jpegsplit_init(&js, mem, CAP);
		{
			size_t pos = 0;
			while (pos < in2.len || jpegsplit_pending(&js)) {
				struct jpegsplit_frame f;
				size_t used;
				if (jpegsplit_push(&js, in2.p + pos,
						   in2.len - pos, &used, &f)) {
					assert_true(f.len >= b.len);
					assert_memory_equal(f.data + f.len -
								    tail,
							    b.p + 2, tail);
					n++;
				}
				pos += used;
			}
		}
		jpegsplit_finish(&js);
		if (n < 40)
			fail_msg("cut at %zu: %d frames of 40", cut, n);
		/* The cut frame is skipped, or glued as a valid stray APPn. */
		assert_true(jpegsplit_skipped(&js) >= 1 || n == 40);
		free(in2.p);
	}

	/* The end of input in the middle of a frame. */
	jpegsplit_init(&js, mem, CAP);
	feed(&js, a.p, a.len - 1, 0, &r);
	assert_int_equal(r.frames, 2);
	finish(&js, &r);
	assert_int_equal(r.frames, 2);
	assert_int_equal(js.stats.truncated, 1);
	/* And the splitter is ready for a new stream. */
	feed(&js, a.p, a.len, 0, &r);
	assert_int_equal(r.frames, 3);
	assert_same(&r.out[2], &a);
	result_free(&r);
	free(a.p);
	free(b.p);
	free(in.p);
	free(mem);
}

/* Real JPEGs: the first one cut at every point of its header, then 40
 * whole ones.  At most one of those is lost, none comes out damaged. */
static void test_real_header_cuts(void **state)
{
	unsigned long la, lb;
	uint8_t *a = real_jpeg(64, 48, 0, &la);
	uint8_t *b = real_jpeg(80, 40, 0, &lb);
	uint8_t *mem = malloc(CAP);
	size_t sos = 0;
	int worst = 40;

	(void)state;
	for (size_t i = 0; i + 1 < la; i++)
		if (a[i] == 0xff && a[i + 1] == 0xda) {
			sos = i;
			break;
		}
	assert_true(sos > 100);
	for (size_t cut = 2; cut < sos + 14; cut++) {
		struct buf in = {0};
		struct jpegsplit js;
		size_t pos = 0;
		int n = 0;

		put(&in, a, cut);
		for (int k = 0; k < 40; k++)
			put(&in, b, lb);
		jpegsplit_init(&js, mem, CAP);
		while (pos < in.len || jpegsplit_pending(&js)) {
			struct jpegsplit_frame f;
			size_t used;
			if (jpegsplit_push(&js, in.p + pos, in.len - pos, &used,
					   &f)) {
				assert_true(f.len >= lb);
				assert_memory_equal(f.data + f.len - (lb - 2),
						    b + 2, lb - 2);
				n++;
			}
			pos += used;
		}
		if (n < worst)
			worst = n;
		if (n < 39)
			fail_msg(
				"cut at %zu of a %lu-byte header: %d frames of 40",
				cut, (unsigned long)sos, n);
		free(in.p);
	}
	print_message("# real header cuts: at worst %d frames of 40\n", worst);
	tjFree(a);
	tjFree(b);
	free(mem);
}

/* A frame larger than the buffer is skipped; memory stays bounded (the
 * buffer is exactly cap bytes: ASan would see an overflow). */
static void test_oversize(void **state)
{
	struct buf small = {0}, big = {0}, in = {0};
	struct result r = {0};
	struct jpegsplit js;
	size_t cap;
	uint8_t *mem;

	(void)state;
	synth_jpeg(&small, 10, 10, 500, 5);
	synth_jpeg(&big, 20, 20, 50000, 6);
	cap = small.len + 100;
	mem = malloc(cap);
	put(&in, small.p, small.len);
	put(&in, big.p, big.len);
	put(&in, small.p, small.len);
	for (size_t chunk = 0; chunk < 3; chunk++) {
		memset(&r, 0, sizeof(r));
		jpegsplit_init(&js, mem, cap);
		feed(&js, in.p, in.len, chunk == 2 ? 4096 : chunk, &r);
		assert_int_equal(r.frames, 2);
		assert_same(&r.out[0], &small);
		assert_same(&r.out[1], &small);
		assert_int_equal(js.stats.oversize, 1);
		assert_int_equal(jpegsplit_skipped(&js), 1);
		result_free(&r);
	}
	/* Exactly cap bytes fits. */
	jpegsplit_init(&js, mem, small.len);
	memset(&r, 0, sizeof(r));
	feed(&js, small.p, small.len, 7, &r);
	assert_int_equal(r.frames, 1);
	result_free(&r);
	free(small.p);
	free(big.p);
	free(in.p);
	free(mem);
}

/* Broken structure: skipped as corrupt, the next frame found. */
static void test_corrupt(void **state)
{
	struct buf a = {0}, in = {0};
	struct result r = {0};
	struct jpegsplit js;
	uint8_t *mem = malloc(CAP);

	(void)state;
	synth_jpeg(&a, 30, 20, 800, 7);
	/* SOI then a byte where a marker must be. */
	put_bytes(&in, 8, 0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 0xaa, 0xbb);
	put(&in, "xyz", 3);
	put(&in, a.p, a.len);
	/* SOI, a segment with a length below 2. */
	put_bytes(&in, 6, 0xff, 0xd8, 0xff, 0xe0, 0x00, 0x01);
	put(&in, a.p, a.len);
	/* SOI, EOI without any scan: no picture. */
	put_bytes(&in, 4, 0xff, 0xd8, 0xff, 0xd9);
	put(&in, a.p, a.len);
	jpegsplit_init(&js, mem, CAP);
	feed(&js, in.p, in.len, 1, &r);
	assert_int_equal(r.frames, 3);
	for (int i = 0; i < 3; i++)
		assert_same(&r.out[i], &a);
	assert_int_equal(js.stats.corrupt, 3);
	result_free(&r);
	free(a.p);
	free(in.p);
	free(mem);
}

/* Nothing but noise: no frame, every byte counted, nothing kept. */
static void test_noise(void **state)
{
	struct jpegsplit js;
	struct result r = {0};
	uint8_t *noise = malloc(1 << 16);
	uint8_t mem[64];
	unsigned seed = 7;

	(void)state;
	assert_non_null(noise);
	for (int i = 0; i < 1 << 16; i++) {
		seed = seed * 1103515245 + 12345;
		noise[i] = (uint8_t)(seed >> 16);
		if (noise[i] == 0xd8) /* no SOI at all */
			noise[i] = 0xd7;
	}
	jpegsplit_init(&js, mem, sizeof(mem));
	feed(&js, noise, 1 << 16, 0, &r);
	finish(&js, &r);
	assert_int_equal(r.frames, 0);
	assert_int_equal(js.stats.garbage_bytes, 1 << 16);
	free(noise);
}

/* Four different real JPEGs (caller frees with jpegs_free). */
struct jpegs {
	struct buf j[4];
};

static void jpegs_make(struct jpegs *j)
{
	static const int size[4][2] = {{64, 48}, {80, 40}, {33, 17}, {96, 64}};

	memset(j, 0, sizeof(*j));
	for (int i = 0; i < 4; i++) {
		unsigned long len;
		uint8_t *p = real_jpeg(size[i][0], size[i][1], 0, &len);
		put(&j->j[i], p, len);
		tjFree(p);
	}
}

static void jpegs_free(struct jpegs *j)
{
	for (int i = 0; i < 4; i++)
		free(j->j[i].p);
}

/* Splits in, whole, byte by byte and in random chunks, then the end of
 * input; each time exactly want[0..nwant) must come out.  Returns the stats
 * of the last run. */
static struct jpegsplit_stats split_all(const struct buf *in, size_t cap,
					const struct buf *want, int nwant)
{
	static const size_t chunks[3] = {0, 1, 0};
	struct jpegsplit js;
	uint8_t *mem = malloc(cap);

	assert_non_null(mem);
	for (int c = 0; c < 3; c++) {
		struct result r = {0};
		jpegsplit_init(&js, mem, cap);
		feed(&js, in->p, in->len, c == 0 ? in->len : chunks[c], &r);
		finish(&js, &r);
		if (r.frames != nwant)
			fail_msg("chunking %d: %d frames, %d expected", c,
				 r.frames, nwant);
		for (int i = 0; i < nwant; i++)
			assert_same(&r.out[i], &want[i]);
		result_free(&r);
	}
	free(mem);
	return js.stats;
}

/* The defect's reproducer: a fake SOI + APP0 claiming 49 KB swallows the
 * three JPEGs after it, then the input ends.  The kept bytes are scanned
 * again at the end, and the three come out. */
static void test_bogus_segment_then_eof(void **state)
{
	static const uint8_t fake[] = {0xff, 0xd8, 0xff, 0xe0, 0xbf, 0xba};
	struct jpegs j;
	struct buf in = {0}, zero = {0};
	struct jpegsplit_stats st;

	(void)state;
	jpegs_make(&j);
	put(&in, j.j[0].p, j.j[0].len);
	put(&in, fake, sizeof(fake));
	for (int i = 0; i < 400; i++)
		put_bytes(&zero, 1, 0);
	put(&in, zero.p, zero.len);
	for (int i = 1; i < 4; i++)
		put(&in, j.j[i].p, j.j[i].len);
	assert_true(in.len < 0xbfba + j.j[0].len); /* all swallowed */
	st = split_all(&in, CAP, j.j, 4);
	assert_int_equal(st.frames, 4);
	assert_int_equal(st.truncated, 1); /* the fake, at the end */
	assert_int_equal(st.rescans_refused, 0);
	/* Same with a small buffer: the fake frame is oversize, its bytes
	 * are gone, nothing of it comes out (and nothing breaks). */
	st = split_all(&in, j.j[3].len + 16, j.j, 1);
	assert_int_equal(st.oversize + st.truncated, 1);
	free(in.p);
	free(zero.p);
	jpegs_free(&j);
}

/* Garbage holding a fake frame inside a fake frame: the outer one's segment
 * swallows the inner one, whose segment swallows three JPEGs.  The outer
 * frame fails, its bytes are scanned again, the inner one fails among them,
 * and its bytes are scanned again in turn. */
static void test_nested_bogus_segments(void **state)
{
	struct jpegs j;
	struct buf in = {0}, want[5] = {{0}};
	size_t outer, inner;
	struct jpegsplit_stats st;

	(void)state;
	jpegs_make(&j);
	put(&in, j.j[0].p, j.j[0].len);
	outer = in.len;
	put_bytes(&in, 6, 0xff, 0xd8, 0xff, 0xe1, 0x80, 0x00); /* 32 KB */
	for (int i = 0; i < 100; i++)
		put_bytes(&in, 1, 0x11);
	inner = in.len;
	put_bytes(&in, 6, 0xff, 0xd8, 0xff, 0xe2, 0x40, 0x00); /* 16 KB */
	for (int i = 1; i < 4; i++)
		put(&in, j.j[i].p, j.j[i].len);
	/* The inner segment ends among zeros (no marker: corrupt), inside
	 * the outer one, which ends among zeros too, then a last JPEG. */
	assert_true(in.len < inner + 4 + 0x4000);
	while (in.len < outer + 4 + 0x8000 + 10)
		put_bytes(&in, 1, 0);
	put(&in, j.j[0].p, j.j[0].len);
	want[0] = j.j[0];
	want[1] = j.j[1];
	want[2] = j.j[2];
	want[3] = j.j[3];
	want[4] = j.j[0];
	st = split_all(&in, CAP, want, 5);
	assert_int_equal(st.corrupt, 2);
	assert_int_equal(st.rescans_refused, 0);
	free(in.p);
	jpegs_free(&j);
}

/*
 * Garbage whose segment length lands exactly on the second marker of the
 * next JPEG: the result is well formed (fake SOI, an APP0 holding the
 * JPEG's start, then the rest of that JPEG), but it is garbage glued to a
 * JPEG, never returned; the JPEG itself comes out.  With a DQT instead of
 * the APP0, the DQT's contents do not add up.
 */
static void test_segment_lands_on_marker(void **state)
{
	struct jpegs j;

	(void)state;
	jpegs_make(&j);
	for (int dqt = 0; dqt < 2; dqt++) {
		const struct buf *b = &j.j[1];
		size_t second = 4 + (size_t)(b->p[4] << 8 | b->p[5]);
		size_t len = 2 + 300 + second;
		struct buf in = {0}, want[3];
		struct jpegsplit_stats st;

		assert_int_equal(b->p[second], 0xff);
		put(&in, j.j[0].p, j.j[0].len);
		put_bytes(&in, 6, 0xff, 0xd8, 0xff, dqt ? 0xdb : 0xe0,
			  (int)(len >> 8), (int)(len & 0xff));
		for (int i = 0; i < 300; i++)
			put_bytes(&in, 1, 0x5a);
		put(&in, b->p, b->len); /* the segment ends at its 2nd marker */
		put(&in, j.j[2].p, j.j[2].len);
		want[0] = j.j[0];
		want[1] = j.j[1];
		want[2] = j.j[2];
		st = split_all(&in, CAP, want, 3);
		assert_int_equal(st.corrupt, 1);
		free(in.p);
	}
	jpegs_free(&j);
}

/* Deterministic random bytes full of SOI, EOI, SOS, SOF look-alikes, as
 * the hostile test sends them. */
static void sprinkled(struct buf *b, size_t n, uint32_t seed)
{
	static const uint8_t pat[5][4] = {
		{0xff, 0xd8, 0xff, 0xe0}, {0xff, 0xd9, 0xff, 0xd8},
		{0xff, 0xda, 0x00, 0x08}, {0xff, 0xd8, 0xff, 0xdb},
		{0xff, 0xc0, 0x00, 0x11},
	};
	size_t start = b->len;

	for (size_t i = 0; i < n; i++) {
		uint8_t c;
		seed = seed * 1103515245u + 12345u;
		c = (uint8_t)(seed >> 16);
		put(b, &c, 1);
	}
	for (size_t k = 0; k < n / 64; k++) {
		size_t i;
		seed = seed * 1103515245u + 12345u;
		i = (seed >> 8) % (n - 4);
		seed = seed * 1103515245u + 12345u;
		memcpy(b->p + start + i, pat[(seed >> 16) % 5], 4);
	}
}

/* The hostile test's shape: a JPEG, 256 KB of sprinkled garbage, three
 * JPEGs, the end.  Exactly the four come out (no garbage), for several
 * garbage seeds, within the work bound and without spending the budget. */
static void test_sprinkled_garbage(void **state)
{
	struct jpegs j;

	(void)state;
	jpegs_make(&j);
	for (uint32_t seed = 1; seed <= 8; seed++) {
		struct buf in = {0};
		struct jpegsplit_stats st;

		put(&in, j.j[0].p, j.j[0].len);
		sprinkled(&in, 256 << 10, seed);
		for (int i = 1; i < 4; i++)
			put(&in, j.j[i].p, j.j[i].len);
		st = split_all(&in, CAP, j.j, 4);
		assert_int_equal(st.rescans_refused, 0);
		assert_true(st.rescanned <= 4 * in.len + 5 * (uint64_t)CAP);
		print_message("# sprinkled seed %u: %llu of %zu bytes "
			      "rescanned\n",
			      seed, (unsigned long long)st.rescanned, in.len);
		free(in.p);
	}
	jpegs_free(&j);
}

/*
 * Worst case for scanning kept bytes again, measured as bytes scanned:
 * after an SOI, a chain of 12-byte COM segments, each holding an SOI whose
 * own COM segment joins the chain again.  The chain breaks after nearly a
 * buffer: the frame is corrupt, and every SOI in it starts a frame that
 * runs to the break again.  Without a budget that is quadratic (about 4 *
 * units^2 bytes looked at: 4 * 5000^2 = 100 MB per 60 KB block here); with
 * it, the total stays within 4 * input + 5 * cap, and the JPEGs after each
 * block still come out.
 */
static void test_worst_case_work(void **state)
{
	static const uint8_t unit[12] = {0xff, 0xfe, 0x00, 0x0a, 0xff, 0xd8,
					 0xff, 0xfe, 0x00, 0x04, 0x00, 0x00};
	const size_t cap = 64 << 10, units = 5000, blocks = 8;
	struct jpegs j;
	struct buf in = {0}, want[8] = {{0}};
	struct jpegsplit_stats st;

	(void)state;
	jpegs_make(&j);
	for (size_t k = 0; k < blocks; k++) {
		put_bytes(&in, 2, 0xff, 0xd8);
		for (size_t u = 0; u < units; u++)
			put(&in, unit, sizeof(unit));
		put_bytes(&in, 1, 0x00); /* where a marker must be */
		put(&in, j.j[k % 4].p, j.j[k % 4].len);
		want[k] = j.j[k % 4];
	}
	st = split_all(&in, cap, want, (int)blocks);
	print_message("# worst case: %llu bytes rescanned for %zu of input "
		      "(bound %zu), %llu rescans refused\n",
		      (unsigned long long)st.rescanned, in.len,
		      4 * in.len + 5 * cap,
		      (unsigned long long)st.rescans_refused);
	assert_true(st.rescanned <= 4 * in.len + 5 * (uint64_t)cap);
	/* The budget did bite: this input is the quadratic one. */
	assert_true(st.rescans_refused > 0);
	free(in.p);
	jpegs_free(&j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_synthetic),
		cmocka_unit_test(test_real_jpegs),
		cmocka_unit_test(test_garbage_whole),
		cmocka_unit_test(test_garbage_byte_at_a_time),
		cmocka_unit_test(test_garbage_random_chunks),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_real_header_cuts),
		cmocka_unit_test(test_oversize),
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_noise),
		cmocka_unit_test(test_bogus_segment_then_eof),
		cmocka_unit_test(test_nested_bogus_segments),
		cmocka_unit_test(test_segment_lands_on_marker),
		cmocka_unit_test(test_sprinkled_garbage),
		cmocka_unit_test(test_worst_case_work),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
