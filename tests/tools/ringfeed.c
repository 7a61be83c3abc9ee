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
 *
 * --motion SCHEDULE publishes motion results, so that tests can predict
 * each frame's from its sequence number: SCHEDULE is a comma-separated list
 * of COUNT followed by a letter, repeated from the start when it runs out:
 *   m  motion declared (RING_FRAME_MOTION), score 100 + seq % 900, the grid
 *      of --motion-grid, since = the capture time of the period's first
 *      frame (a period: consecutive m frames);
 *   q  analysed, no motion: score seq % 10, an empty grid, since 0;
 *   n  no result (NULL to the writer: motion off, a JPEG that did not
 *      decode).
 * e.g. "5q,3m,2n".  Frame k (from 0) has sequence number k + 1.
 * --motion-grid HEX: the grid of m frames, RING_MOTION_GRID_BYTES bytes
 * in hex (ring.h's layout); all cells set by default.
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
#define RINGFEED_MOTION_STEPS 64

struct motion_step {
	long count;
	char kind; /* 'm', 'q' or 'n' */
};

struct motion_plan {
	struct motion_step steps[RINGFEED_MOTION_STEPS];
	int nsteps;
	long cycle; /* frames in one round of the schedule */
	uint8_t grid[RING_MOTION_GRID_BYTES];
};

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

static int parse_schedule(const char *spec, struct motion_plan *p)
{
	const char *s = spec;

	p->nsteps = 0;
	p->cycle = 0;
	while (*s != '\0') {
		char *end;
		long n = strtol(s, &end, 10);

		if (end == s || n < 1 || n > 1000000 ||
		    (*end != 'm' && *end != 'q' && *end != 'n') ||
		    p->nsteps == RINGFEED_MOTION_STEPS)
			return -1;
		p->steps[p->nsteps].count = n;
		p->steps[p->nsteps++].kind = *end;
		p->cycle += n;
		s = end + 1;
		if (*s == ',')
			s++;
		else if (*s != '\0')
			return -1;
	}
	return p->nsteps > 0 ? 0 : -1;
}

static int parse_grid(const char *hex, uint8_t *grid)
{
	size_t i;

	if (strlen(hex) != 2 * RING_MOTION_GRID_BYTES)
		return -1;
	for (i = 0; i < RING_MOTION_GRID_BYTES; i++) {
		unsigned v;

		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		grid[i] = (uint8_t)v;
	}
	return 0;
}

/* The kind of frame k (from 0) under the schedule. */
static char motion_kind(const struct motion_plan *p, long k)
{
	long at = k % p->cycle;
	int i;

	for (i = 0; i < p->nsteps; i++) {
		if (at < p->steps[i].count)
			return p->steps[i].kind;
		at -= p->steps[i].count;
	}
	return 'n';
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
		{"motion", required_argument, NULL, 'm'},
		{"motion-grid", required_argument, NULL, 'g'},
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
	struct motion_plan plan;
	int64_t since = 0;
	int motion = 0;

	memset(&cfg, 0, sizeof(cfg));
	memset(plan.grid, 0xff, sizeof(plan.grid));
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
		case 'm':
			if (parse_schedule(optarg, &plan) < 0) {
				fprintf(stderr,
					"ringfeed: bad --motion '%s': want "
					"COUNT{m,q,n}[,...]\n",
					optarg);
				return 2;
			}
			motion = 1;
			break;
		case 'g':
			if (parse_grid(optarg, plan.grid) < 0) {
				fprintf(stderr,
					"ringfeed: bad --motion-grid: want %u "
					"hex digits\n",
					2 * RING_MOTION_GRID_BYTES);
				return 2;
			}
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
		struct ring_motion mo, *mp = NULL;
		struct timespec rt;
		int64_t now_ns;
		uint32_t flags = 0;
		uint64_t seq = (uint64_t)sent + 1;
		char kind = motion ? motion_kind(&plan, sent) : 'n';

		clock_gettime(CLOCK_REALTIME, &rt);
		now_ns = (int64_t)rt.tv_sec * 1000000000 + rt.tv_nsec;
		memset(&mo, 0, sizeof(mo));
		if (kind == 'm') {
			if (since == 0)
				since = now_ns;
			flags = RING_FRAME_MOTION;
			mo.score = (uint32_t)(100 + seq % 900);
			mo.since_ns = since;
			memcpy(mo.grid, plan.grid, sizeof(mo.grid));
			mp = &mo;
		} else {
			since = 0;
			if (kind == 'q') {
				mo.score = (uint32_t)(seq % 10);
				mp = &mo;
			}
		}
		if (ring_writer_publish(w, j->data, j->len, flags, (uint32_t)w_,
					(uint32_t)h_, now_ns, 0, mp) < 0)
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
