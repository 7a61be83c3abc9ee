/* SPDX-License-Identifier: MIT */
/*
 * recfeed: a ring writer for the recorder's tests.  Publishes small noise
 * JPEGs into "/vigil.<camera>" at --fps, with RING_FRAME_MOTION set on the
 * frames of the labelled spans (--motion FROM:TO, frame indices of this
 * run, TO excluded; repeatable), and logs every published frame as a line
 * "INDEX SEQ REALTIME_NS MONOTONIC_NS MOTION LENGTH" to --log (flushed per
 * line) so that a test knows exactly what the ring carried.
 * Usage: recfeed --camera NAME [--fps N] [--count N] [--size WxH]
 *                [--motion FROM:TO]... [--score N] [--log FILE] [--hold]
 * Frames carry the times they were due (a camera stamps the exposure, not
 * the moment it hands the frame over), so a feeder that falls behind on a
 * loaded machine still publishes frames a period apart.
 * --count 0 publishes until SIGTERM; --hold keeps the ring alive (heartbeat)
 * after --count frames until SIGTERM.  Exits 0 and closes the ring.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <turbojpeg.h>

#include "ring.h"

#define RECFEED_PICTURES 8
#define RECFEED_SPANS_MAX 16

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int render(int w, int h, unsigned seed, unsigned char **out,
		  unsigned long *len)
{
	unsigned char *rgb = malloc((size_t)w * (size_t)h * 3);
	tjhandle tj = tjInitCompress();
	int i, rc;

	if (rgb == NULL || tj == NULL)
		return -1;
	srand(seed);
	for (i = 0; i < w * h * 3; i++)
		rgb[i] = (unsigned char)((i / 3 % w) * 255 / w + rand() % 32);
	*out = NULL;
	*len = 0;
	rc = tjCompress2(tj, rgb, w, 0, h, TJPF_RGB, out, len, TJSAMP_420, 80,
			 0);
	free(rgb);
	tjDestroy(tj);
	return rc == 0 ? 0 : -1;
}

static void wait_until(struct ring_writer *w, const struct timespec *next)
{
	for (;;) {
		struct timespec now, nap = {0, 50000000};
		long long left;

		clock_gettime(CLOCK_MONOTONIC, &now);
		left = (long long)(next->tv_sec - now.tv_sec) * 1000000000LL +
		       (next->tv_nsec - now.tv_nsec);
		ring_writer_heartbeat(w);
		if (left <= 0 || stop)
			return;
		if (left < nap.tv_nsec)
			nap.tv_nsec = (long)left;
		nanosleep(&nap, NULL);
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"camera", required_argument, NULL, 'c'},
		{"fps", required_argument, NULL, 'f'},
		{"count", required_argument, NULL, 'n'},
		{"size", required_argument, NULL, 's'},
		{"motion", required_argument, NULL, 'm'},
		{"score", required_argument, NULL, 'S'},
		{"log", required_argument, NULL, 'l'},
		{"hold", no_argument, NULL, 'H'},
		{NULL, 0, NULL, 0},
	};
	unsigned char *pic[RECFEED_PICTURES];
	unsigned long piclen[RECFEED_PICTURES];
	long from[RECFEED_SPANS_MAX], to[RECFEED_SPANS_MAX];
	struct ring_writer_config cfg;
	struct ring_writer *w;
	const char *camera = NULL, *logpath = NULL;
	int fps = 10, width = 320, height = 240, nspans = 0, hold = 0, ch, i;
	long count = 0, sent = 0, score = 50;
	struct timespec next, rt0;
	int64_t mono0;
	FILE *log = NULL;
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
			if (sscanf(optarg, "%dx%d", &width, &height) != 2)
				return 2;
			break;
		case 'm':
			if (nspans == RECFEED_SPANS_MAX ||
			    sscanf(optarg, "%ld:%ld", &from[nspans],
				   &to[nspans]) != 2)
				return 2;
			nspans++;
			break;
		case 'S':
			score = atol(optarg);
			break;
		case 'l':
			logpath = optarg;
			break;
		case 'H':
			hold = 1;
			break;
		default:
			return 2;
		}
	}
	if (camera == NULL || fps < 1 || fps > 1000) {
		fprintf(stderr,
			"usage: recfeed --camera NAME [--fps N] "
			"[--count N] [--size WxH] [--motion FROM:TO]... "
			"[--score N] [--log FILE] [--hold]\n");
		return 2;
	}
	for (i = 0; i < RECFEED_PICTURES; i++)
		if (render(width, height, (unsigned)i + 1, &pic[i],
			   &piclen[i]) < 0) {
			fprintf(stderr, "recfeed: cannot encode\n");
			return 1;
		}
	if (logpath != NULL && (log = fopen(logpath, "w")) == NULL) {
		fprintf(stderr, "recfeed: cannot open '%s': %s\n", logpath,
			strerror(errno));
		return 1;
	}
	cfg.camera = camera;
	cfg.gid = (gid_t)-1;
	cfg.width = (uint32_t)width;
	cfg.height = (uint32_t)height;
	cfg.fps_num = (uint32_t)fps;
	cfg.fps_den = 1;
	if (ring_writer_create(&w, &cfg, &holder) < 0) {
		fprintf(stderr, "recfeed: cannot create ring for '%s': %s\n",
			camera, strerror(errno));
		return 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	clock_gettime(CLOCK_MONOTONIC, &next);
	clock_gettime(CLOCK_REALTIME, &rt0);
	mono0 = (int64_t)next.tv_sec * 1000000000 + next.tv_nsec;
	while (!stop && (count == 0 || sent < count)) {
		int k = (int)(sent % RECFEED_PICTURES), motion = 0;
		int64_t due = (int64_t)sent * (1000000000 / fps);
		int64_t rns, mns;

		for (i = 0; i < nspans; i++)
			if (sent >= from[i] && sent < to[i])
				motion = 1;
		rns = (int64_t)rt0.tv_sec * 1000000000 + rt0.tv_nsec + due;
		mns = mono0 + due;
#if RING_VERSION >= 2
		{
			struct ring_motion m;

			memset(&m, 0, sizeof(m));
			m.score = motion ? (uint32_t)(score + sent % 7) : 0;
			m.since_ns = motion ? rns : 0;
			if (motion)
				m.grid[sent % RING_MOTION_GRID_BYTES] = 0x81;
			if (ring_writer_publish(w, pic[k], piclen[k],
						motion ? RING_FRAME_MOTION : 0,
						(uint32_t)width,
						(uint32_t)height, rns, mns,
						&m) < 0)
				fprintf(stderr, "recfeed: publish: %s\n",
					strerror(errno));
		}
#else
		(void)score;
		if (ring_writer_publish(w, pic[k], piclen[k],
					motion ? RING_FRAME_MOTION : 0,
					(uint32_t)width, (uint32_t)height, rns,
					mns) < 0)
			fprintf(stderr, "recfeed: publish: %s\n",
				strerror(errno));
#endif
		if (log != NULL) {
			fprintf(log,
				"%ld %" PRIu64 " %" PRId64 " %" PRId64
				" %d %lu\n",
				sent, ring_writer_seq(w), rns, mns, motion,
				piclen[k]);
			fflush(log);
		}
		sent++;
		next.tv_nsec += 1000000000L / fps;
		while (next.tv_nsec >= 1000000000L) {
			next.tv_nsec -= 1000000000L;
			next.tv_sec++;
		}
		wait_until(w, &next);
	}
	while (hold && !stop) {
		next.tv_nsec += 100000000L;
		while (next.tv_nsec >= 1000000000L) {
			next.tv_nsec -= 1000000000L;
			next.tv_sec++;
		}
		wait_until(w, &next);
	}
	ring_writer_close(w);
	if (log != NULL)
		fclose(log);
	for (i = 0; i < RECFEED_PICTURES; i++)
		tjFree(pic[i]);
	return 0;
}
