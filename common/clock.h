/* SPDX-License-Identifier: MIT */
/*
 * clock: a clock read as nanoseconds in one int64_t, for frame times and
 * deadlines.  CLOCK_MONOTONIC is system-wide, so capture and the servers can
 * compare their readings; CLOCK_REALTIME is what frames carry for people.
 */
#ifndef VIGIL_CLOCK_H
#define VIGIL_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int64_t clock_mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

static inline int64_t clock_real_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

#endif
