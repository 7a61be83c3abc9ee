/* SPDX-License-Identifier: MIT */
/*
 * encode_bench: how fast vigil-capture encodes the testsrc picture, the
 * same work tjbench -yuv measures ("Comp from YUV": 4:2:0 planes in, JPEG
 * out).  One testsrc frame (overlay included) is encoded again and again
 * for the given time, either into a plain buffer or, with --ring, into a
 * real ring slot through ring_writer_begin/commit as capture does.
 *
 *   encode_bench [--size WxH] [--quality Q] [--dct fast|accurate]
 *                [--seconds S] [--ring] [--write-ppm FILE]
 *                [--source-only]
 * Prints one line: "fps=F bytes=B psnr_y=P".  --write-ppm writes the
 * frame as RGB (for tjbench's input) and exits.  --source-only encodes
 * nothing: unpaced testsrc frames (--fps max), each with the overlay, as
 * fast as they come; prints "fps=F", the ceiling of capture's frame rate
 * on testsrc (bench/bench_encode_threads.sh).
 */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <turbojpeg.h>
#include <unistd.h>

#include "encode.h"
#include "log.h"
#include "overlay.h"
#include "ring.h"
#include "source.h"

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "encode_bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* One testsrc picture with the default overlay, as capture makes it. */
static void testsrc_frame(struct source **src, struct picture *pic, int w,
			  int h)
{
	struct source_config cfg;
	struct overlay ov;

	memset(&cfg, 0, sizeof(cfg));
	cfg.spec = "testsrc";
	cfg.width = w;
	cfg.height = h;
	cfg.fps = 100;
	cfg.max_frame = 1 << 20;
	cfg.testsrc_motion.mode = TESTSRC_MOTION_ALWAYS; /* the usual picture */
	if (testsrc_source_ops.open(src, &cfg) < 0)
		die("testsrc");
	for (;;) {
		struct pollfd p = {.fd = testsrc_source_ops.fd(*src),
				   .events = POLLIN};
		poll(&p, 1, 1000);
		if (testsrc_source_ops.next(*src, pic) == SOURCE_FRAME)
			break;
	}
	overlay_init(&ov, "%Y-%m-%d %H:%M:%S");
	overlay_draw(&ov, pic, pic->realtime_ns);
}

static void write_ppm(const char *path, const struct picture *pic)
{
	tjhandle tj = tjInitDecompress();
	const unsigned char *planes[3] = {pic->planes[0], pic->planes[1],
					  pic->planes[2]};
	size_t n = (size_t)pic->width * pic->height * 3;
	uint8_t *rgb = malloc(n);
	FILE *f;

	if (tj == NULL || rgb == NULL)
		die("init");
	if (tjDecodeYUVPlanes(tj, planes, pic->strides, TJSAMP_420, rgb,
			      pic->width, 0, pic->height, TJPF_RGB, 0) != 0) {
		fprintf(stderr, "encode_bench: %s\n", tjGetErrorStr2(tj));
		exit(1);
	}
	f = fopen(path, "wb");
	if (f == NULL)
		die(path);
	fprintf(f, "P6\n%d %d\n255\n", pic->width, pic->height);
	if (fwrite(rgb, 1, n, f) != n || fclose(f) != 0)
		die(path);
	free(rgb);
	tjDestroy(tj);
}

/* Unpaced testsrc frames with the overlay drawn, for seconds. */
static int source_only(int w, int h, double seconds)
{
	struct source_config cfg;
	struct source *src = NULL;
	struct overlay ov;
	struct picture pic;
	double t0 = 0, t1, warm = now_s() + 0.5;
	long frames = 0;

	memset(&cfg, 0, sizeof(cfg));
	cfg.spec = "testsrc";
	cfg.width = w;
	cfg.height = h;
	cfg.fps = 120;
	cfg.unpaced = 1;
	cfg.max_frame = 1 << 20;
	cfg.testsrc_motion.mode = TESTSRC_MOTION_ALWAYS;
	if (testsrc_source_ops.open(&src, &cfg) < 0)
		die("testsrc");
	overlay_init(&ov, "%Y-%m-%d %H:%M:%S");
	for (;;) {
		if (testsrc_source_ops.next(src, &pic) != SOURCE_FRAME)
			die("testsrc frame");
		overlay_draw(&ov, &pic, pic.realtime_ns);
		t1 = now_s();
		if (t0 == 0) {
			if (t1 >= warm)
				t0 = t1;
			continue;
		}
		frames++;
		if (t1 - t0 >= seconds)
			break;
	}
	printf("fps=%.1f\n", frames / (t1 - t0));
	testsrc_source_ops.close(src);
	return 0;
}

static double psnr_y(const uint8_t *jpeg, size_t len, const struct picture *pic)
{
	tjhandle tj = tjInitDecompress();
	int w = pic->width, h = pic->height;
	int ys = tjPlaneWidth(0, w, TJSAMP_420);
	uint8_t *yuv = malloc(tjBufSizeYUV2(w, 1, h, TJSAMP_420));
	double se = 0;

	if (tj == NULL || yuv == NULL ||
	    tjDecompressToYUV2(tj, jpeg, len, yuv, w, 1, h, 0) != 0)
		return 0;
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			double d = (double)yuv[y * ys + x] -
				   pic->planes[0][y * pic->strides[0] + x];
			se += d * d;
		}
	free(yuv);
	tjDestroy(tj);
	return se == 0 ? 99 : 10 * log10(255.0 * 255.0 * w * h / se);
}

int main(int argc, char **argv)
{
	int w = 1280, h = 720, quality = 85, fast = 1, use_ring = 0;
	int only_source = 0;
	double seconds = 3, t0, t1, warm;
	const char *ppm = NULL;
	struct source *src = NULL;
	struct picture pic;
	struct encoder *enc;
	struct ring_writer *ring = NULL;
	uint8_t *buf;
	size_t cap;
	long n = 0, frames = 0;

	log_init("encode_bench", LOG_LEVEL_WARNING);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--size") && v &&
		    sscanf(v, "%dx%d", &w, &h) == 2)
			i++;
		else if (!strcmp(a, "--quality") && v)
			quality = atoi(argv[++i]);
		else if (!strcmp(a, "--dct") && v)
			fast = !strcmp(argv[++i], "fast");
		else if (!strcmp(a, "--seconds") && v)
			seconds = atof(argv[++i]);
		else if (!strcmp(a, "--ring"))
			use_ring = 1;
		else if (!strcmp(a, "--write-ppm") && v)
			ppm = argv[++i];
		else if (!strcmp(a, "--source-only"))
			only_source = 1;
		else {
			fprintf(stderr,
				"usage: encode_bench [--size WxH] "
				"[--quality Q] [--dct fast|accurate] "
				"[--seconds S] [--ring] [--write-ppm FILE] "
				"[--source-only]\n");
			return 2;
		}
	}
	if (only_source)
		return source_only(w, h, seconds);
	testsrc_frame(&src, &pic, w, h);
	if (ppm != NULL) {
		write_ppm(ppm, &pic);
		return 0;
	}
	if (encoder_create(&enc, quality, fast) < 0)
		die("encoder");
	cap = encoder_bound(w, h);
	if (use_ring) {
		struct ring_writer_config rc;
		char cam[32];
		memset(&rc, 0, sizeof(rc));
		snprintf(cam, sizeof(cam), "bench%d", (int)getpid());
		rc.camera = cam;
		rc.slot_size = (uint32_t)((cap + RING_SLOT_HEADER_SIZE + 63) &
					  ~63u);
		rc.gid = (gid_t)-1;
		rc.width = (uint32_t)w;
		rc.height = (uint32_t)h;
		rc.fps_num = 24;
		rc.fps_den = 1;
		if (ring_writer_create(&ring, &rc, NULL) < 0)
			die("ring");
		buf = NULL;
	} else {
		buf = malloc(cap);
		if (buf == NULL)
			die("malloc");
	}

	warm = now_s() + 0.5;
	t0 = 0;
	for (;;) {
		uint8_t *dst = ring ? ring_writer_begin(ring) : buf;
		n = encoder_encode(enc, &pic, dst,
				   ring ? ring_writer_capacity(ring) : cap);
		if (n < 0) {
			fprintf(stderr, "encode_bench: %s\n",
				encoder_error(enc));
			return 1;
		}
		if (ring)
			ring_writer_commit(ring, (size_t)n, RING_FRAME_KEY,
					   (uint32_t)w, (uint32_t)h, 0, 0,
					   NULL);
		t1 = now_s();
		if (t0 == 0) {
			if (t1 >= warm) {
				t0 = t1;
				frames = 0;
			}
			continue;
		}
		frames++;
		if (t1 - t0 >= seconds)
			break;
	}
	if (ring) {
		/* One more frame into a plain buffer for the quality figure. */
		buf = malloc(cap);
		n = encoder_encode(enc, &pic, buf, cap);
		ring_writer_close(ring);
		/* The lock file outlives a writer on purpose; not a bench's. */
		char cam[32], lock[RING_NAME_MAX];
		snprintf(cam, sizeof(cam), "bench%d", (int)getpid());
		if (ring_name(lock, sizeof(lock), cam, ".lock") == 0)
			shm_unlink(lock);
	}
	printf("fps=%.1f bytes=%ld psnr_y=%.2f\n", frames / (t1 - t0), n,
	       psnr_y(buf, (size_t)n, &pic));
	free(buf);
	encoder_destroy(enc);
	testsrc_source_ops.close(src);
	return 0;
}
