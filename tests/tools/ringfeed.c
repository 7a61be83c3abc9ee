/* SPDX-License-Identifier: MIT */
/*
 * ringfeed: a minimal ring writer for tests and benchmarks.  Publishes the
 * given JPEG files in turn (or noise pictures of --size encoded once at
 * start) into "/vigil.<camera>" at --fps, with absolute deadlines.
 * Usage: ringfeed --camera NAME [--fps N] [--count N] [--size WxH]
 *                 [--quality Q] [--slot-size BYTES] [--noise N] [FILE.jpg...]
 * --noise sets the amplitude of the pixel noise of generated pictures (the
 * JPEG size grows with it: 8 gives about 110 KB at 1280x720, quality 85).
 * Exits 0 after --count frames (0: until SIGTERM/SIGINT), closing the ring.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <turbojpeg.h>

#include "ring.h"

#define RINGFEED_FILES_MAX 64
#define RINGFEED_NOISE_FRAMES 8

struct jpeg {
	unsigned char *data;
	size_t len;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int load(const char *path, struct jpeg *j)
{
	FILE *f = fopen(path, "rb");
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) <= 0 ||
	    fseek(f, 0, SEEK_SET) < 0 || (j->data = tjAlloc((int)n)) == NULL ||
	    fread(j->data, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "ringfeed: cannot read '%s'\n", path);
		return -1;
	}
	j->len = (size_t)n;
	fclose(f);
	return 0;
}

/* A picture with smooth gradients and some noise, to land near the size a
 * real 720p camera frame has at quality 85. */
static int render(int w, int h, int q, int noise, unsigned seed, struct jpeg *j)
{
	unsigned char *rgb = malloc((size_t)w * (size_t)h * 3);
	unsigned char *out = NULL;
	unsigned long len = 0;
	tjhandle tj = tjInitCompress();
	int x, y, rc;

	if (rgb == NULL || tj == NULL)
		return -1;
	srand(seed);
	for (y = 0; y < h; y++)
		for (x = 0; x < w; x++) {
			unsigned char *p = rgb +
					   ((size_t)y * (size_t)w + (size_t)x) *
						   3;
			int n = noise > 0 ? rand() % noise : 0;

			p[0] = (unsigned char)((x * 255 / w + n +
						(int)seed * 16) &
					       255);
			p[1] = (unsigned char)((y * 255 / h + n) & 255);
			p[2] = (unsigned char)(((x + y) * 255 / (w + h) + n) &
					       255);
		}
	rc = tjCompress2(tj, rgb, w, 0, h, TJPF_RGB, &out, &len, TJSAMP_420, q,
			 0);
	free(rgb);
	tjDestroy(tj);
	if (rc != 0)
		return -1;
	j->data = out;
	j->len = len;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"camera", required_argument, NULL, 'c'},
		{"fps", required_argument, NULL, 'f'},
		{"count", required_argument, NULL, 'n'},
		{"size", required_argument, NULL, 's'},
		{"quality", required_argument, NULL, 'q'},
		{"slot-size", required_argument, NULL, 'z'},
		{"noise", required_argument, NULL, 'N'},
		{NULL, 0, NULL, 0},
	};
	struct jpeg jpegs[RINGFEED_FILES_MAX];
	struct ring_writer_config cfg;
	struct ring_writer *w;
	const char *camera = NULL;
	int fps = 24, w_ = 1280, h_ = 720, q = 85, noise = 8, nj = 0, ch, i;
	long count = 0, sent = 0;
	struct timespec next;
	pid_t holder;

	memset(&cfg, 0, sizeof(cfg));
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			camera = optarg;
			break;
		case 'f':
			fps = atoi(optarg);
			break;
		case 'n':
			count = atol(optarg);
			break;
		case 's':
			if (sscanf(optarg, "%dx%d", &w_, &h_) != 2)
				return 2;
			break;
		case 'q':
			q = atoi(optarg);
			break;
		case 'z':
			cfg.slot_size = (uint32_t)atol(optarg);
			break;
		case 'N':
			noise = atoi(optarg);
			break;
		default:
			return 2;
		}
	}
	if (camera == NULL || fps < 1) {
		fprintf(stderr,
			"usage: ringfeed --camera NAME [--fps N] [--count N] "
			"[--size WxH] [--quality Q] [--slot-size B] [FILE...]\n");
		return 2;
	}
	for (i = optind; i < argc && nj < RINGFEED_FILES_MAX; i++)
		if (load(argv[i], &jpegs[nj++]) < 0)
			return 1;
	if (nj == 0)
		for (nj = 0; nj < RINGFEED_NOISE_FRAMES; nj++)
			if (render(w_, h_, q, noise, (unsigned)nj + 1,
				   &jpegs[nj]) < 0) {
				fprintf(stderr, "ringfeed: cannot encode\n");
				return 1;
			}
	if (getenv("RINGFEED_SIZES") != NULL)
		for (i = 0; i < nj; i++)
			fprintf(stderr, "ringfeed: frame %d: %zu bytes\n", i,
				jpegs[i].len);
	cfg.camera = camera;
	cfg.gid = (gid_t)-1;
	cfg.width = (uint32_t)w_;
	cfg.height = (uint32_t)h_;
	cfg.fps_num = (uint32_t)fps;
	cfg.fps_den = 1;
	if (ring_writer_create(&w, &cfg, &holder) < 0) {
		fprintf(stderr, "ringfeed: cannot create ring for '%s': %s\n",
			camera, strerror(errno));
		return 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	clock_gettime(CLOCK_MONOTONIC, &next);
	while (!stop && (count == 0 || sent < count)) {
		struct jpeg *j = &jpegs[sent % nj];

		if (ring_writer_publish(w, j->data, j->len, 0, (uint32_t)w_,
					(uint32_t)h_, 0, 0, NULL) < 0)
			fprintf(stderr, "ringfeed: publish: %s\n",
				strerror(errno));
		sent++;
		next.tv_nsec += 1000000000L / fps;
		while (next.tv_nsec >= 1000000000L) {
			next.tv_nsec -= 1000000000L;
			next.tv_sec++;
		}
		/* Heartbeat while sleeping, for slow rates. */
		for (;;) {
			struct timespec now, hb;
			long long left;

			clock_gettime(CLOCK_MONOTONIC, &now);
			left = (long long)(next.tv_sec - now.tv_sec) *
				       1000000000LL +
			       (next.tv_nsec - now.tv_nsec);
			ring_writer_heartbeat(w);
			if (left <= 0 || stop)
				break;
			if (left > (long long)RING_HEARTBEAT_MS * 500000LL)
				left = (long long)RING_HEARTBEAT_MS * 500000LL;
			hb.tv_sec = 0;
			hb.tv_nsec = (long)left;
			nanosleep(&hb, NULL);
		}
	}
	ring_writer_close(w);
	/* Every picture came from tjAlloc (loaded) or TurboJPEG (rendered). */
	while (nj > 0)
		tjFree(jpegs[--nj].data);
	return 0;
}
