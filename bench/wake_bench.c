/* SPDX-License-Identifier: MIT */
/*
 * wake_bench: publish-to-reader wake latency of the ring.  One writer
 * publishes a small frame every PERIOD; N reader processes block in
 * ring_reader_wait (futex) and, when woken, take CLOCK_MONOTONIC and subtract
 * the frame's monotonic capture time (stamped just before the commit).
 * Prints one table row: readers, samples, p50, p99, max in microseconds.
 * Usage: wake_bench READERS FRAMES [PERIOD_US]
 */
#include "ring.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* Samples go to a shared anonymous mapping: lat[frames], then *count. */
static void reader(const char *camera, int frames, int64_t *lat, int *count)
{
	struct ring_reader *r = NULL;
	struct ring_frame f;
	static uint8_t buf[65536];
	uint32_t last;
	int n = 0, misses = 0;

	while (ring_reader_open(&r, camera, NULL) != RING_OK)
		usleep(1000);
	last = ring_reader_seq(r);
	while (n < frames && misses < 50) {
		enum ring_status st = ring_reader_wait(r, last, 1000);
		int64_t now = mono_ns();
		if (st == RING_CLOSED)
			break;
		if (st != RING_OK) {
			misses++;
			continue;
		}
		last = ring_reader_seq(r);
		if (ring_reader_read(r, &f, buf, sizeof(buf)) == RING_OK)
			lat[n++] = now - f.monotonic_ns;
	}
	*count = n;
	ring_reader_close(r);
	_exit(0);
}

int main(int argc, char **argv)
{
	int readers = argc > 1 ? atoi(argv[1]) : 1;
	int frames = argc > 2 ? atoi(argv[2]) : 1000;
	int period_us = argc > 3 ? atoi(argv[3]) : 2000;
	struct ring_writer_config cfg = {.slot_count = 4,
					 .slot_size = 65536,
					 .gid = (gid_t)-1,
					 .width = 16,
					 .height = 16,
					 .fps_num = 500,
					 .fps_den = 1};
	struct ring_writer *w;
	char camera[32];
	int i, total = 0, *counts;
	int64_t *all, *lat;
	pid_t *pids;
	struct timespec next;
	static uint8_t frame[1024];

	if (readers < 1 || frames < 1 || period_us < 100) {
		fprintf(stderr,
			"usage: wake_bench READERS FRAMES [PERIOD_US]\n");
		return 2;
	}
	snprintf(camera, sizeof(camera), "bench%d", (int)getpid());
	cfg.camera = camera;
	if (ring_writer_create(&w, &cfg, NULL) < 0) {
		perror("wake_bench: cannot create ring");
		return 1;
	}
	lat = mmap(NULL, sizeof(*lat) * (size_t)readers * (size_t)frames,
		   PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	counts = mmap(NULL, sizeof(*counts) * (size_t)readers,
		      PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
		      0);
	if (lat == MAP_FAILED || counts == MAP_FAILED)
		return 1;
	pids = calloc((size_t)readers, sizeof(*pids));
	if (!pids)
		return 1;
	for (i = 0; i < readers; i++) {
		pids[i] = fork();
		if (pids[i] == 0)
			reader(camera, frames, lat + (size_t)i * frames,
			       counts + i);
	}
	usleep(200000); /* let every reader attach and block */
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (i = 0; i < frames + 5; i++) {
		next.tv_nsec += period_us * 1000L;
		while (next.tv_nsec >= 1000000000L) {
			next.tv_nsec -= 1000000000L;
			next.tv_sec++;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
		ring_writer_publish(w, frame, sizeof(frame), 0, 16, 16, 0,
				    mono_ns(), NULL);
	}
	/* Closed: a reader that missed a wake-up stops waiting now. */
	ring_writer_close(w);
	for (i = 0; i < readers; i++)
		waitpid(pids[i], NULL, 0);
	all = calloc((size_t)readers * (size_t)frames, sizeof(*all));
	if (!all)
		return 1;
	for (i = 0; i < readers; i++) {
		int n = counts[i] < 0 || counts[i] > frames ? 0 : counts[i];
		memcpy(all + total, lat + (size_t)i * frames,
		       sizeof(*all) * (size_t)n);
		total += n;
	}
	{
		char lock[RING_NAME_MAX];
		/* The lock file outlives a writer on purpose; not a bench's. */
		if (ring_name(lock, sizeof(lock), camera, ".lock") == 0)
			shm_unlink(lock);
	}
	if (total == 0) {
		fprintf(stderr, "wake_bench: no samples\n");
		return 1;
	}
	qsort(all, (size_t)total, sizeof(*all), cmp_i64);
	printf("%-8d %8d %9.1f %9.1f %9.1f\n", readers, total,
	       all[total / 2] / 1000.0, all[(size_t)total * 99 / 100] / 1000.0,
	       all[total - 1] / 1000.0);
	free(all);
	free(pids);
	return 0;
}
