/* SPDX-License-Identifier: MIT */
/*
 * motion_bench: what motion detection costs per frame, beside the work it
 * rides on.  The picture is the testsrc frame (overlay drawn) with sensor
 * noise added (+-4 levels, two noise draws alternating, so the detector
 * works on changing frames and the JPEG is as big as a camera's).
 *   raw:    luma_from_plane + motion_feed alone (the plane read cold), and
 *           after a TurboJPEG encode of the same frame from its 4:2:0
 *           planes (quality 80, accurate DCT, as capture encodes), which is
 *           where capture will run it: encode_raw - encode is what
 *           detection adds to a raw frame;
 *   jpeg:   luma_from_jpeg (scaled grayscale decode) + motion_feed, beside
 *           full decodes of the same JPEG: to RGB pixels, and to its YUV
 *           planes (the cheapest full decode: no colour conversion).
 *
 *   motion_bench [--size WxH] [--seconds S]
 * Times are this thread's CPU time in microseconds per frame (the machine
 * may be shared).  Prints one line: "raw_us= luma_us= encode_us=
 * encode_raw_us= jpeg_us= decode_yuv_us= decode_rgb_us= bytes=".
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <turbojpeg.h>

#include "log.h"
#include "luma.h"
#include "motion.h"
#include "overlay.h"
#include "source.h"

#define FRAME_NS 40000000ll

struct frame {
	uint8_t *planes[3];
	int strides[3];
	unsigned char *jpeg;
	unsigned long len;
};

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static void die(const char *what, const char *why)
{
	fprintf(stderr, "motion_bench: %s: %s\n", what, why);
	exit(1);
}

/* The testsrc picture, copied into two noisy I420 frames. */
static void make_frames(struct frame f[2], int w, int h)
{
	struct source_config cfg;
	struct source *src = NULL;
	struct picture pic;
	struct overlay ov;
	uint32_t r = 1;

	memset(&cfg, 0, sizeof(cfg));
	cfg.spec = "testsrc";
	cfg.width = w;
	cfg.height = h;
	cfg.fps = 100;
	cfg.max_frame = 1 << 20;
	cfg.testsrc_motion.mode = TESTSRC_MOTION_ALWAYS; /* the usual picture */
	if (testsrc_source_ops.open(&src, &cfg) < 0)
		die("testsrc", strerror(errno));
	for (;;) {
		struct pollfd p = {.fd = testsrc_source_ops.fd(src),
				   .events = POLLIN};
		poll(&p, 1, 1000);
		if (testsrc_source_ops.next(src, &pic) == SOURCE_FRAME)
			break;
	}
	overlay_init(&ov, "%Y-%m-%d %H:%M:%S");
	overlay_draw(&ov, &pic, pic.realtime_ns);
	for (int k = 0; k < 2; k++)
		for (int p = 0; p < 3; p++) {
			int pw = p ? (w + 1) / 2 : w, ph = p ? (h + 1) / 2 : h;
			f[k].strides[p] = pw;
			f[k].planes[p] = malloc((size_t)pw * ph);
			if (f[k].planes[p] == NULL)
				die("frame", strerror(errno));
			for (int y = 0; y < ph; y++)
				for (int x = 0; x < pw; x++) {
					int v = pic.planes[p]
							  [(size_t)y *
								   pic.strides
									   [p] +
							   x];
					if (p == 0) {
						r ^= r << 13;
						r ^= r >> 17;
						r ^= r << 5;
						v += (int)(r % 9) - 4;
					}
					f[k].planes[p][(size_t)y * pw + x] =
						(uint8_t)(v < 0	    ? 0
							  : v > 255 ? 255
								    : v);
				}
		}
	testsrc_source_ops.close(src);
}

int main(int argc, char **argv)
{
	int w = 1280, h = 720;
	double seconds = 1, t0, raw, lum, enc, encdet, jpg, dec, rgb;
	struct frame f[2];
	struct motion_config cfg;
	struct motion_result res;
	struct motion *m;
	struct luma small;
	tjhandle tc, td;
	uint8_t *yuv[3], *rgbbuf;
	int ystrides[3];
	long n;
	int64_t t = 0;

	log_init("motion_bench", LOG_LEVEL_WARNING);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--size") && v &&
		    sscanf(v, "%dx%d", &w, &h) == 2)
			i++;
		else if (!strcmp(a, "--seconds") && v)
			seconds = atof(argv[++i]);
		else
			die("usage", "motion_bench [--size WxH] [--seconds S]");
	}
	make_frames(f, w, h);
	tc = tjInitCompress();
	td = tjInitDecompress();
	if (tc == NULL || td == NULL)
		die("turbojpeg", "cannot init");
	for (int k = 0; k < 2; k++) {
		const unsigned char *pl[3] = {f[k].planes[0], f[k].planes[1],
					      f[k].planes[2]};
		f[k].jpeg = NULL;
		if (tjCompressFromYUVPlanes(tc, pl, w, f[k].strides, h,
					    TJSAMP_420, &f[k].jpeg, &f[k].len,
					    80, 0) != 0)
			die("encode", tjGetErrorStr2(tc));
	}
	for (int p = 0; p < 3; p++) {
		ystrides[p] = tjPlaneWidth(p, w, TJSAMP_420);
		yuv[p] = malloc((size_t)ystrides[p] *
				tjPlaneHeight(p, h, TJSAMP_420));
		if (yuv[p] == NULL)
			die("decode", strerror(errno));
	}
	rgbbuf = malloc((size_t)w * h * 3);
	if (rgbbuf == NULL)
		die("decode", strerror(errno));
	motion_config_defaults(&cfg);
	m = motion_create(&cfg);
	luma_init(&small);
	if (m == NULL)
		die("motion", strerror(errno));

	/* raw: Y plane -> small picture -> detector */
	t0 = now_s();
	for (n = 0; now_s() - t0 < seconds; n++) {
		const struct frame *x = &f[n & 1];
		if (luma_from_plane(&small, x->planes[0], w, h, x->strides[0]) <
			    0 ||
		    motion_feed(m, &small, t, t, &res) < 0)
			die("raw path", strerror(errno));
		t += FRAME_NS;
	}
	raw = (now_s() - t0) / n * 1e6;

	/* the small picture alone */
	t0 = now_s();
	for (n = 0; now_s() - t0 < seconds; n++) {
		const struct frame *x = &f[n & 1];
		if (luma_from_plane(&small, x->planes[0], w, h, x->strides[0]) <
		    0)
			die("raw path", strerror(errno));
	}
	lum = (now_s() - t0) / n * 1e6;

	/* encode of the same frame */
	t0 = now_s();
	for (n = 0; now_s() - t0 < seconds; n++) {
		const struct frame *x = &f[n & 1];
		const unsigned char *pl[3] = {x->planes[0], x->planes[1],
					      x->planes[2]};
		unsigned char *out = NULL;
		unsigned long len = 0;
		if (tjCompressFromYUVPlanes(tc, pl, w, x->strides, h,
					    TJSAMP_420, &out, &len, 80, 0) != 0)
			die("encode", tjGetErrorStr2(tc));
		tjFree(out);
	}
	enc = (now_s() - t0) / n * 1e6;

	/* encode, then the raw path on the frame just encoded: what detection
	 * adds in capture, where the plane is read right after the encoder
	 * read it */
	t0 = now_s();
	for (n = 0; now_s() - t0 < seconds; n++) {
		const struct frame *x = &f[n & 1];
		const unsigned char *pl[3] = {x->planes[0], x->planes[1],
					      x->planes[2]};
		unsigned char *out = NULL;
		unsigned long len = 0;
		if (tjCompressFromYUVPlanes(tc, pl, w, x->strides, h,
					    TJSAMP_420, &out, &len, 80, 0) != 0)
			die("encode", tjGetErrorStr2(tc));
		tjFree(out);
		if (luma_from_plane(&small, x->planes[0], w, h, x->strides[0]) <
			    0 ||
		    motion_feed(m, &small, t, t, &res) < 0)
			die("raw path", strerror(errno));
		t += FRAME_NS;
	}
	encdet = (now_s() - t0) / n * 1e6;

	/* jpeg: scaled grey decode -> detector */
	t0 = now_s();
	for (n = 0; now_s() - t0 < seconds; n++) {
		const struct frame *x = &f[n & 1];
		if (luma_from_jpeg(&small, x->jpeg, x->len) < 0 ||
		    motion_feed(m, &small, t, t, &res) < 0)
			die("jpeg path", strerror(errno));
		t += FRAME_NS;
	}
	jpg = (now_s() - t0) / n * 1e6;

	/* full decode of the same JPEG */
	t0 = now_s();
	for (n = 0; now_s() - t0 < seconds; n++) {
		const struct frame *x = &f[n & 1];
		if (tjDecompressToYUVPlanes(td, x->jpeg, x->len, yuv, w,
					    ystrides, h, 0) != 0)
			die("decode", tjGetErrorStr2(td));
	}
	dec = (now_s() - t0) / n * 1e6;

	/* full decode to RGB, what a viewer of the JPEG does */
	t0 = now_s();
	for (n = 0; now_s() - t0 < seconds; n++) {
		const struct frame *x = &f[n & 1];
		if (tjDecompress2(td, x->jpeg, x->len, rgbbuf, w, 0, h,
				  TJPF_RGB, 0) != 0)
			die("decode", tjGetErrorStr2(td));
	}
	rgb = (now_s() - t0) / n * 1e6;

	printf("raw_us=%.1f luma_us=%.1f encode_us=%.1f "
	       "encode_raw_us=%.1f jpeg_us=%.1f decode_yuv_us=%.1f "
	       "decode_rgb_us=%.1f bytes=%lu\n",
	       raw, lum, enc, encdet, jpg, dec, rgb, f[0].len);
	free(rgbbuf);
	luma_free(&small);
	motion_destroy(m);
	for (int k = 0; k < 2; k++) {
		tjFree(f[k].jpeg);
		for (int p = 0; p < 3; p++)
			free(f[k].planes[p]);
	}
	for (int p = 0; p < 3; p++)
		free(yuv[p]);
	tjDestroy(tc);
	tjDestroy(td);
	return 0;
}
