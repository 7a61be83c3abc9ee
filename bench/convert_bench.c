/* SPDX-License-Identifier: MIT */
/*
 * Times are medians per frame (fps = 1 / median total); "best" is 1 / the
 * fastest frame, what the core does when nothing else runs on it.
 *
 * convert_bench: what a camera picture costs capture on one core: the
 * conversion of a YUYV (USB webcam) or NV12 picture to I420 (convert.c) and
 * the JPEG encode (encode.c), against an I420 picture (libcamera's format,
 * and testsrc's path) that is only encoded.  Prints one table row per
 * input and size.  The picture is camera-like: smooth shading, edges and
 * sensor noise, which is what a JPEG encoder's speed depends on.
 *   convert_bench [SECONDS_PER_ROW]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "convert.h"
#include "encode.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

#define BENCH_MAX 4096 /* frames measured per row at most */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static uint32_t rng = 12345;

static int noise(void)
{
	rng = rng * 1103515245u + 12345u;
	return (int)((rng >> 16) % 9) - 4;
}

static uint8_t clamp(int v)
{
	return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* Y, U, V at full resolution for pixel (x, y). */
static void scene(int x, int y, int w, int h, uint8_t yuv[3])
{
	int v = 40 + 150 * x / w + 40 * y / h;

	if ((x / 64 + y / 48) % 5 == 0) /* a pattern of darker blocks */
		v -= 60;
	if (x > w / 3 && x < w / 2 && y > h / 4 && y < h * 3 / 4)
		v = 220; /* a bright object with hard edges */
	yuv[0] = clamp(v + noise());
	yuv[1] = clamp(128 + 40 * x / w - 20 + noise() / 2);
	yuv[2] = clamp(128 - 30 * y / h + 15 + noise() / 2);
}

/* A picture of kind at w x h in one allocation (caller frees *mem). */
static void make_picture(enum picture_kind kind, int w, int h,
			 struct picture *pic, uint8_t **mem)
{
	int cw = (w + 1) / 2, ch = (h + 1) / 2;
	uint8_t *p = malloc((size_t)w * h * 2 + 2 * (size_t)cw * ch + 64);
	uint8_t px[3];

	if (p == NULL)
		exit(1);
	memset(pic, 0, sizeof(*pic));
	pic->kind = kind;
	pic->width = w;
	pic->height = h;
	*mem = p;
	if (kind == PICTURE_YUYV) {
		pic->planes[0] = p;
		pic->strides[0] = 4 * cw;
		for (int y = 0; y < h; y++)
			for (int x = 0; x < w; x++) {
				uint8_t *m = p + (size_t)y * 4 * cw +
					     4 * (x / 2);

				scene(x, y, w, h, px);
				m[(x & 1) ? 2 : 0] = px[0];
				if (!(x & 1)) {
					m[1] = px[1];
					m[3] = px[2];
				}
			}
		return;
	}
	pic->planes[0] = p;
	pic->strides[0] = w;
	pic->planes[1] = p + (size_t)w * h;
	if (kind == PICTURE_NV12) {
		pic->strides[1] = 2 * cw;
	} else {
		pic->strides[1] = cw;
		pic->planes[2] = pic->planes[1] + (size_t)cw * ch;
		pic->strides[2] = cw;
	}
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			scene(x, y, w, h, px);
			p[(size_t)y * w + x] = px[0];
			if ((x | y) & 1)
				continue;
			if (kind == PICTURE_NV12) {
				pic->planes[1][(y / 2) * 2 * cw + x] = px[1];
				pic->planes[1][(y / 2) * 2 * cw + x + 1] =
					px[2];
			} else {
				pic->planes[1][(y / 2) * cw + x / 2] = px[1];
				pic->planes[2][(y / 2) * cw + x / 2] = px[2];
			}
		}
}

static void row(enum picture_kind kind, const char *name, int w, int h,
		double seconds)
{
	struct picture src, i420;
	struct convert conv = {0};
	struct encoder *enc = NULL;
	size_t cap = encoder_bound(w, h);
	uint8_t *mem, *out = malloc(cap);
	double convt[BENCH_MAX] = {0}, encs[BENCH_MAX] = {0},
	       total[BENCH_MAX] = {0};
	double start, mc, me, mt;
	long len = 0;
	int n = 0;

	if (out == NULL ||
	    encoder_create(&enc, ENCODE_QUALITY_DEFAULT, 0) < 0) {
		fprintf(stderr, "convert_bench: cannot set up the encoder\n");
		exit(1);
	}
	make_picture(kind, w, h, &src, &mem);
	start = now_s();
	while (n < BENCH_MAX && (n < 5 || now_s() - start < seconds)) {
		double t0 = now_s(), t1, t2;

		if (convert_to_i420(&conv, &src, &i420) < 0)
			exit(1);
		t1 = now_s();
		len = encoder_encode(enc, &i420, out, cap);
		t2 = now_s();
		if (len < 0) {
			fprintf(stderr, "convert_bench: %s\n",
				encoder_error(enc));
			exit(1);
		}
		convt[n] = t1 - t0;
		encs[n] = t2 - t1;
		total[n] = t2 - t0;
		n++;
	}
	/* Medians: the machine may be shared; a median ignores the frames
	 * another process interrupted. */
	mc = median(convt, n);
	me = median(encs, n);
	mt = median(total, n); /* sorts: total[0] is now the fastest */
	printf("%-26s %4dx%-5d %8.2f %8.2f %9.2f %8.1f %8.1f %6ld\n", name, w,
	       h, mc * 1e3, me * 1e3, mt * 1e3, 1.0 / mt, 1.0 / total[0],
	       len / 1024);
	convert_free(&conv);
	encoder_destroy(enc);
	free(mem);
	free(out);
}

int main(int argc, char **argv)
{
	static const int sizes[][2] = {{1280, 720}, {1920, 1080}};
	double seconds = argc > 1 ? atof(argv[1]) : 1.5;

	printf("%-26s %-10s %8s %8s %9s %8s %8s %6s\n",
	       "input -> JPEG (q85, 4:2:0)", "size", "conv ms", "enc ms",
	       "total ms", "fps", "best", "KiB");
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		int w = sizes[i][0], h = sizes[i][1];

		row(PICTURE_YUYV, "YUYV (USB webcam)", w, h, seconds);
		row(PICTURE_NV12, "NV12 (V4L2/libcamera)", w, h, seconds);
		row(PICTURE_I420, "I420 (libcamera)", w, h, seconds);
	}
	return 0;
}
