/* SPDX-License-Identifier: MIT */
/*
 * ringcat: a reader of a vigil ring for the integration tests (Python has no
 * futex or seqlock) and the benchmark.  Attaches read-only with the reader
 * API and prints one line per new frame, or dumps the frames' JPEG bytes to
 * files, or streams them as records.
 *
 *   ringcat [options] CAMERA
 *     -n N        stop after N frames (default 1; 0: no limit)
 *     -t MS       give up after MS milliseconds in all (exit 3; default 5000;
 *                 0: no limit)
 *     -d DIR      write each frame to DIR/<seq>.jpg
 *     -i          print the ring's header line first
 *     -c          print "attached", then wait until the writer closes the
 *                 ring and print "closed"
 *     -s SUFFIX   the ring "/vigil.CAMERA<SUFFIX>" (".sub": the sub-stream)
 *     -r          records on stdout instead of frame lines: "VGLF", u32
 *                 length, i64 capture CLOCK_REALTIME ns, u64 sequence (all
 *                 little-endian), then the JPEG (bench/picamera_ref.py reads
 *                 them); exit 0 when the writer closes the ring
 *
 * Frame lines: "frame seq=S len=L width=W height=H generation=G
 * mono_ns=M real_ns=R flags=F motion=0|1 analysed=0|1 score=N since_ns=T
 * grid=HEX" (score, since_ns and the 72-byte grid in hex, byte 0 first, are
 * 0 when the frame is not analysed).  Header line: "ring generation=G width=W height=H
 * fps=N/D slots=S capacity=C health=ok|stale|closed dropped=D".
 * Exit: 0 done, 1 error (the ring status on stderr), 2 usage, 3 timeout.
 *
 * The benchmark's feed: ringcat -r -n 0 -t 0 CAMERA | picamera_ref.py PORT
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ring.h"

static uint32_t elapsed_ms(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint32_t)((t.tv_sec - t0->tv_sec) * 1000 +
			  (t.tv_nsec - t0->tv_nsec) / 1000000);
}

static int write_all(const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n > 0) {
		ssize_t w = write(STDOUT_FILENO, b, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

static int write_record(const struct ring_frame *f, const uint8_t *jpeg)
{
	uint8_t rec[24];

	memcpy(rec, "VGLF", 4);
	memcpy(rec + 4, &f->length, 4);
	memcpy(rec + 8, &f->realtime_ns, 8);
	memcpy(rec + 16, &f->seq, 8);
	if (write_all(rec, sizeof(rec)) < 0)
		return -1;
	return write_all(jpeg, f->length);
}

static const char *health_name(enum ring_status s)
{
	return s == RING_OK	  ? "ok"
	       : s == RING_CLOSED ? "closed"
	       : s == RING_STALE  ? "stale"
				  : ring_strerror(s);
}

static void print_frame(const struct ring_frame *f)
{
	char grid[2 * RING_MOTION_GRID_BYTES + 1];
	size_t i;

	for (i = 0; i < RING_MOTION_GRID_BYTES; i++)
		snprintf(grid + 2 * i, 3, "%02x", f->motion_grid[i]);
	printf("frame seq=%llu len=%u width=%u height=%u generation=%u "
	       "mono_ns=%lld real_ns=%lld flags=%u motion=%d analysed=%d "
	       "score=%u since_ns=%lld grid=%s\n",
	       (unsigned long long)f->seq, f->length, f->width, f->height,
	       f->generation, (long long)f->monotonic_ns,
	       (long long)f->realtime_ns, f->flags,
	       (f->flags & RING_FRAME_MOTION) != 0,
	       (f->flags & RING_FRAME_ANALYSED) != 0, f->motion_score,
	       (long long)f->motion_since_ns, grid);
}

int main(int argc, char **argv)
{
	long count = 1, timeout = 5000, got = 0;
	const char *dir = NULL, *suffix = NULL;
	int info = 0, until_closed = 0, records = 0, c, status = 0;
	struct ring_reader *r = NULL;
	enum ring_status st;
	struct timespec t0;
	uint32_t ver = 0, last32;
	uint64_t last_seq = 0;
	uint8_t *buf;
	size_t cap;

	while ((c = getopt(argc, argv, "n:t:d:icrs:")) != -1) {
		switch (c) {
		case 'n':
			count = atol(optarg);
			break;
		case 't':
			timeout = atol(optarg);
			break;
		case 'd':
			dir = optarg;
			break;
		case 'i':
			info = 1;
			break;
		case 'c':
			until_closed = 1;
			break;
		case 'r':
			records = 1;
			break;
		case 's':
			suffix = optarg;
			break;
		default:
			fprintf(stderr,
				"usage: ringcat [-n N] [-t MS] [-d DIR] "
				"[-i] [-c] [-r] [-s SUFFIX] CAMERA\n");
			return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "ringcat: one camera name expected\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	st = ring_reader_open_suffix(&r, argv[optind], suffix, &ver);
	if (st != RING_OK) {
		/* ring_strerror(RING_ERROR) is strerror(errno) already. */
		fprintf(stderr, "ringcat: cannot open ring '%s': %s\n",
			argv[optind], ring_strerror(st));
		return 1;
	}
	if (info) {
		uint32_t w, h, fn, fd;
		const struct ring_header *hdr = ring_reader_mem(r);
		ring_reader_format(r, &w, &h, &fn, &fd);
		printf("ring generation=%u width=%u height=%u fps=%u/%u slots=%u "
		       "capacity=%zu health=%s dropped=%u\n",
		       ring_reader_generation(r), w, h, fn, fd,
		       ring_reader_slot_count(r), ring_reader_capacity(r),
		       health_name(ring_reader_health(r, 0, NULL)),
		       atomic_load_explicit(&hdr->frames_dropped,
					    memory_order_relaxed));
		fflush(stdout);
	}
	cap = ring_reader_capacity(r);
	buf = malloc(cap);
	if (buf == NULL) {
		perror("ringcat");
		ring_reader_close(r);
		return 1;
	}
	last32 = ring_reader_seq(r);
	if (until_closed) {
		printf("attached\n");
		fflush(stdout);
		for (;;) {
			long left = timeout - (long)elapsed_ms(&t0);
			if (ring_reader_health(r, 0, NULL) == RING_CLOSED) {
				printf("closed\n");
				fflush(stdout);
				goto out;
			}
			if (timeout > 0 && left <= 0) {
				status = 3;
				goto out;
			}
			if (timeout <= 0)
				left = 1000;
			st = ring_reader_wait(r, ring_reader_seq(r),
					      left > 100 ? 100 : (int)left);
		}
	}
	/* A frame already there counts: take it first. */
	for (;;) {
		struct ring_frame f;
		long left = timeout - (long)elapsed_ms(&t0);

		st = ring_reader_read(r, &f, buf, cap);
		if (st == RING_OK && f.seq != last_seq) {
			last_seq = f.seq;
			/* The file first: a test may stop us once it has the line. */
			if (dir != NULL) {
				char path[4096];
				FILE *fp;
				snprintf(path, sizeof(path), "%s/%llu.jpg", dir,
					 (unsigned long long)f.seq);
				fp = fopen(path, "wb");
				if (fp == NULL ||
				    fwrite(buf, 1, f.length, fp) != f.length) {
					perror(path);
					if (fp != NULL)
						fclose(fp);
					status = 1;
					goto out;
				}
				fclose(fp);
			}
			if (records) {
				/* The reader went away: a normal end. */
				if (write_record(&f, buf) < 0)
					goto out;
			} else {
				print_frame(&f);
				fflush(stdout);
			}
			if (++got >= count && count > 0)
				break;
		} else if (st != RING_OK && st != RING_NONE &&
			   st != RING_TORN) {
			fprintf(stderr, "ringcat: read: %s\n",
				ring_strerror(st));
			status = 1;
			goto out;
		}
		if (timeout <= 0)
			left = 1000;
		else if (left <= 0) {
			fprintf(stderr, "ringcat: timeout after %ld frames\n",
				got);
			status = 3;
			goto out;
		}
		if (st == RING_TORN)
			continue;
		st = ring_reader_wait(r, last32, left > 200 ? 200 : (int)left);
		if (st == RING_CLOSED) {
			fprintf(stderr,
				"ringcat: the writer closed the ring\n");
			status = records ? 0 : 1;
			goto out;
		}
		last32 = ring_reader_seq(r);
	}
out:
	free(buf);
	ring_reader_close(r);
	return status;
}
