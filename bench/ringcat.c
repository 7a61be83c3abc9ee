/* SPDX-License-Identifier: MIT */
/*
 * ringcat: writes each new frame of a camera's ring to stdout as a record:
 * "VGLF", u32 length, i64 capture CLOCK_REALTIME ns, u64 sequence (all
 * little-endian), then the JPEG.  Feeds the picamera-recipe reference of the
 * benchmark (bench/picamera_ref.py) with the frames the servers get.
 * Usage: ringcat --camera NAME
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ring.h"

static int write_all(const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n > 0) {
		ssize_t w = write(1, b, n);

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

int main(int argc, char **argv)
{
	struct ring_reader *r;
	struct ring_frame f;
	uint8_t *buf;
	uint32_t last;
	uint64_t last_seq = 0;

	if (argc != 3 || strcmp(argv[1], "--camera") != 0) {
		fprintf(stderr, "usage: ringcat --camera NAME\n");
		return 2;
	}
	if (ring_reader_open(&r, argv[2], NULL) != RING_OK) {
		fprintf(stderr, "ringcat: cannot open ring of '%s'\n", argv[2]);
		return 1;
	}
	buf = malloc(ring_reader_capacity(r));
	if (buf == NULL)
		return 1;
	last = ring_reader_seq(r);
	for (;;) {
		enum ring_status st = ring_reader_wait(r, last, 1000);
		uint8_t rec[24];

		if (st == RING_TIMEOUT)
			continue;
		if (st != RING_OK)
			return 0;
		last = ring_reader_seq(r);
		if (ring_reader_read(r, &f, buf, ring_reader_capacity(r)) !=
			    RING_OK ||
		    f.seq <= last_seq)
			continue;
		last_seq = f.seq;
		memcpy(rec, "VGLF", 4);
		memcpy(rec + 4, &f.length, 4);
		memcpy(rec + 8, &f.realtime_ns, 8);
		memcpy(rec + 16, &f.seq, 8);
		if (write_all(rec, sizeof(rec)) < 0 ||
		    write_all(buf, f.length) < 0)
			return 0;
	}
}
