/* SPDX-License-Identifier: MIT */
/*
 * ring: what the writer's and the reader's sides share (ring.h is the
 * manual; ring_writer.c and ring_reader.c hold each side): names, status
 * words, the clock of the heartbeat, the futex call.
 */
#include "ring.h"
#include "ring_shm.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

const char *ring_strerror(enum ring_status status)
{
	switch (status) {
	case RING_OK:
		return "ok";
	case RING_TIMEOUT:
		return "timed out";
	case RING_NONE:
		return "no frame published yet";
	case RING_TORN:
		return "frame overwritten while being read";
	case RING_STALE:
		return "writer stopped (no heartbeat)";
	case RING_CLOSED:
		return "writer closed the ring";
	case RING_BAD_MAGIC:
		return "not a vigil ring";
	case RING_BAD_VERSION:
		return "ring of another layout version";
	case RING_CORRUPT:
		return "ring geometry or index out of bounds";
	case RING_ERROR:
		return strerror(errno);
	}
	return "unknown ring status";
}

int ring_camera_valid(const char *camera)
{
	size_t n = 0;

	if (camera == NULL)
		return 0;
	for (; camera[n] != '\0'; n++) {
		char c = camera[n];
		if (n >= RING_CAMERA_MAX)
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return 0;
	}
	return n > 0;
}

int ring_name(char *name, size_t size, const char *camera, const char *suffix)
{
	int n;

	if (!ring_camera_valid(camera)) {
		errno = EINVAL;
		return -1;
	}
	n = snprintf(name, size, "/vigil.%s%s", camera, suffix ? suffix : "");
	if (n < 0 || (size_t)n >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int ring_suffix_valid(const char *suffix)
{
	size_t n;

	if (suffix == NULL)
		return 1;
	if (suffix[0] != '.')
		return 0;
	for (n = 1; suffix[n] != '\0'; n++)
		if (n > 8 || suffix[n] < 'a' || suffix[n] > 'z')
			return 0;
	return n > 1 && strcmp(suffix, ".lock") != 0 &&
	       strcmp(suffix, ".new") != 0;
}

uint32_t ring_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint32_t)((uint64_t)ts.tv_sec * 1000u +
			  (uint64_t)ts.tv_nsec / 1000000u);
}

long ring_futex(const _Atomic uint32_t *word, int op, uint32_t val,
		const struct timespec *timeout)
{
	/* Shared futex (no FUTEX_PRIVATE_FLAG): the word is in a MAP_SHARED
	 * segment and waiters are other processes.  The kernel only reads the
	 * word, so a PROT_READ mapping is enough to wait. */
	return syscall(SYS_futex, (uint32_t *)(uintptr_t)word, op, val, timeout,
		       NULL, 0);
}
