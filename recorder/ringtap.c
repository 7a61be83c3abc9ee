/* SPDX-License-Identifier: MIT */
/* ringtap: the ring reader thread feeding the recorder's queue. */
#include "ringtap.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "recframe.h"
#include "ring.h"

struct ringtap {
	pthread_t thread;
	char camera[RING_CAMERA_MAX + 1];
	struct queue *q;
	atomic_int stop;
	atomic_int online;
	_Atomic uint64_t missed;
	struct ring_reader *reader;
	uint32_t seq32;
	uint64_t last_seq;
	int said;
	int said_offline;
	/* The frame interval as seen here (frames' own times may be anything):
	 * new frames per time between reads, the shortest of this window and
	 * the last one, 0 while unknown. */
	int64_t last_read_ns;
	int64_t interval_ns, interval_prev_ns, window_end_ns;
	uint8_t *bounce; /* when the queue has no room for a whole slot */
	size_t bounce_cap;
};

static void frame_from_ring(struct recframe *f, const struct ring_frame *rf)
{
	memset(f, 0, sizeof(*f));
	f->seq = rf->seq;
	f->realtime_ns = rf->realtime_ns;
	f->monotonic_ns = rf->monotonic_ns;
	f->flags = rf->flags;
	f->width = rf->width;
	f->height = rf->height;
#if RING_VERSION >= 2
	_Static_assert(RING_MOTION_GRID_BYTES == RECFRAME_GRID_BYTES, "grid");
	f->score = rf->motion_score;
	memcpy(f->grid, rf->motion_grid, RECFRAME_GRID_BYTES);
#endif
}

static void set_offline(struct ringtap *s, const char *why)
{
	if (atomic_exchange(&s->online, 0) || !s->said_offline)
		log_warnx("camera '%s' offline: %s", s->camera, why);
	s->said_offline = 1;
}

static void set_online(struct ringtap *s)
{
	if (!atomic_exchange(&s->online, 1))
		log_info("camera '%s' online: generation %" PRIu32, s->camera,
			 ring_reader_generation(s->reader));
	s->said_offline = 0;
}

static void detach(struct ringtap *s, const char *why)
{
	set_offline(s, why);
	ring_reader_close(s->reader);
	s->reader = NULL;
}

/* The writer is not healthy (st): a new capture under the name (or none at
 * all) means re-attaching; the same segment, waiting on it (a capture that
 * was only stopped beats again).  ring_reader_replaced is one system call,
 * made only while the writer is not healthy. */
static void check_writer(struct ringtap *s, enum ring_status st)
{
	if (ring_reader_replaced(s->reader) != 0) {
		detach(s, ring_strerror(st));
		return;
	}
	set_offline(s, ring_strerror(st));
	if (st == RING_CLOSED) {
		/* Closed but still under the name: the wait would return at
		 * once, so pace the checks. */
		struct timespec ts = {0, RINGTAP_WAIT_MS * 1000000L};

		nanosleep(&ts, NULL);
	}
}

static int attach(struct ringtap *s)
{
	enum ring_status st;
	uint32_t version = 0;

	st = ring_reader_open(&s->reader, s->camera, &version);
	if (st != RING_OK) {
		if (!s->said)
			log_warnx("cannot open the ring of camera '%s': %s "
				  "(waiting for it)",
				  s->camera, ring_strerror(st));
		s->said = 1;
		s->reader = NULL;
		return -1;
	}
	s->said = 0;
	s->last_seq = 0;
	/* A new capture may run at another rate. */
	s->last_read_ns = 0;
	s->interval_ns = 0;
	s->interval_prev_ns = 0;
	if (ring_reader_health(s->reader, 0, NULL) != RING_OK) {
		/* The segment of a capture that died or stopped: stay on it
		 * (without its old frames) until it beats again or a new
		 * capture replaces it. */
		s->seq32 = ring_reader_seq(s->reader);
		set_offline(s, "no heartbeat");
		return 0;
	}
	/* The newest frame is read at once; sequences restart with a new
	 * generation. */
	s->seq32 = ring_reader_seq(s->reader) - 1;
	set_online(s);
	return 0;
}

/* Reads frame seq (0: the newest) straight into the queue's arena: the one
 * copy out of the ring.  RING_OK once it is queued; RING_NONE (gone),
 * RING_TORN, RING_CORRUPT, or RING_ERROR when the queue is full (the frame
 * is dropped and counted by the queue). */
static enum ring_status read_into(struct ringtap *s, uint64_t seq,
				  struct ring_frame *rf, void *dst, size_t cap)
{
	enum ring_status st;

	if (seq == 0)
		return ring_reader_read(s->reader, rf, dst, cap);
	st = ring_reader_read_seq(s->reader, seq, rf, dst, cap);
	if (st == RING_TORN)
		st = ring_reader_read_seq(s->reader, seq, rf, dst, cap);
	return st;
}

static enum ring_status take(struct ringtap *s, uint64_t seq,
			     struct ring_frame *rf)
{
	size_t cap = ring_reader_capacity(s->reader);
	enum ring_status st;
	struct recframe f;
	void *dst;

	dst = queue_reserve(s->q, cap);
	if (dst != NULL) {
		st = read_into(s, seq, rf, dst, cap);
		if (st != RING_OK)
			return st;
		frame_from_ring(&f, rf);
		if (queue_commit(s->q, &f, rf->length) < 0)
			return RING_CORRUPT;
		return RING_OK;
	}
	/* No room for a whole slot (the queue nearly full, or slots larger
	 * than it): through a buffer, queued with the frame's real length. */
	if (cap > s->bounce_cap) {
		uint8_t *b = realloc(s->bounce, cap);

		if (b == NULL) {
			log_warnx("out of memory for frames of %zu bytes", cap);
			return RING_ERROR;
		}
		s->bounce = b;
		s->bounce_cap = cap;
	}
	st = read_into(s, seq, rf, s->bounce, cap);
	if (st != RING_OK)
		return st;
	frame_from_ring(&f, rf);
	if (queue_push(s->q, &f, s->bounce, rf->length) < 0) {
		log_debug("frame %" PRIu64 " dropped: the disk is behind",
			  rf->seq);
		return RING_ERROR;
	}
	return RING_OK;
}

static void note_rate(struct ringtap *s, uint64_t frames)
{
	int64_t now = clock_mono_ns(), gap;

	if (s->last_read_ns != 0 && frames > 0) {
		gap = (now - s->last_read_ns) / (int64_t)frames;
		if (now >= s->window_end_ns) {
			s->interval_prev_ns = s->interval_ns;
			s->interval_ns = 0;
			s->window_end_ns = now +
					   RINGTAP_RATE_WINDOW_MS * 1000000LL;
		}
		/* Slower than one a RINGTAP_PACE_MAX_MS (or idle): a wake
		 * per frame costs little, and the first sleep after such a
		 * pause must not be planned with it. */
		if (gap > 0 && gap <= RINGTAP_PACE_MAX_MS * 1000000LL &&
		    (s->interval_ns == 0 || gap < s->interval_ns))
			s->interval_ns = gap;
	}
	s->last_read_ns = now;
}

/*
 * After reading, sleep: the ring holds slot_count frames, so waking every
 * half of that span (less one frame interval, for jitter) still takes
 * every frame, in a few wakes instead of one per frame (the futex wakes
 * this thread at every frame published).  Capped at
 * RINGTAP_PACE_MAX_MS so that stopping stays quick; none before the
 * interval is known.
 */
static void pace(struct ringtap *s)
{
	int64_t ns, interval = s->interval_ns;
	struct timespec ts;

	if (s->interval_prev_ns != 0 && s->interval_prev_ns < interval)
		interval = s->interval_prev_ns;
	if (interval == 0)
		return;
	ns = (int64_t)ring_reader_slot_count(s->reader) * interval / 2 -
	     interval;
	if (ns > RINGTAP_PACE_MAX_MS * 1000000LL)
		ns = RINGTAP_PACE_MAX_MS * 1000000LL;
	if (ns <= 0)
		return;
	ts.tv_sec = 0;
	ts.tv_nsec = (long)ns;
	nanosleep(&ts, NULL);
}

/* Every frame since the last one taken, oldest first, as long as the ring
 * still holds it; the newest alone right after attaching. */
static void read_new(struct ringtap *s)
{
	uint32_t seq32 = ring_reader_seq(s->reader);
	struct ring_frame rf;
	enum ring_status st;
	uint64_t newest, seq;

	if (s->last_seq == 0) {
		st = take(s, 0, &rf);
		if (st == RING_OK) {
			s->last_seq = rf.seq;
		} else if (st == RING_CORRUPT) {
			detach(s, ring_strerror(st));
		}
		return;
	}
	newest = s->last_seq + (uint32_t)(seq32 - (uint32_t)s->last_seq);
	note_rate(s, newest - s->last_seq);
	if (newest - s->last_seq > ring_reader_slot_count(s->reader)) {
		/* Overwritten before we could read them. */
		seq = newest - ring_reader_slot_count(s->reader);
		atomic_fetch_add(&s->missed, seq - s->last_seq);
		s->last_seq = seq;
	}
	for (seq = s->last_seq + 1; seq <= newest; seq++) {
		st = take(s, seq, &rf);
		if (st == RING_CORRUPT) {
			detach(s, ring_strerror(st));
			return;
		}
		s->last_seq = seq;
		/* RING_ERROR: the queue was full (counted there). */
		if (st == RING_NONE || st == RING_TORN)
			atomic_fetch_add(&s->missed, 1);
	}
}

static void *ringtap_main(void *arg)
{
	struct ringtap *s = arg;

	while (!atomic_load(&s->stop)) {
		enum ring_status st;

		if (s->reader == NULL && attach(s) < 0) {
			struct timespec ts = {0, RINGTAP_REOPEN_MS * 1000000L};

			/* No segment to wait on yet: nothing to do but retry. */
			nanosleep(&ts, NULL);
			continue;
		}
		st = ring_reader_wait(s->reader, s->seq32, RINGTAP_WAIT_MS);
		if (st == RING_OK) {
			s->seq32 = ring_reader_seq(s->reader);
			if (!atomic_load(&s->online))
				set_online(s);
			read_new(s);
			if (s->reader != NULL)
				pace(s);
			continue;
		}
		/* A capture that exits or is replaced marks its segment
		 * closed; one that crashed stops its heartbeat. */
		st = ring_reader_health(s->reader, 0, NULL);
		if (st != RING_OK)
			check_writer(s, st);
		else if (!atomic_load(&s->online))
			set_online(s);
	}
	ring_reader_close(s->reader);
	s->reader = NULL;
	return NULL;
}

struct ringtap *ringtap_start(const char *camera, struct queue *q)
{
	struct ringtap *s = calloc(1, sizeof(*s));
	sigset_t all, old;
	int rc;

	if (s == NULL)
		return NULL;
	snprintf(s->camera, sizeof(s->camera), "%s", camera);
	s->q = q;
	/* Signals are the main thread's business. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&s->thread, NULL, ringtap_main, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		free(s);
		errno = rc;
		return NULL;
	}
	return s;
}

void ringtap_stop(struct ringtap *s)
{
	if (s == NULL)
		return;
	atomic_store(&s->stop, 1);
	pthread_join(s->thread, NULL);
	free(s->bounce);
	free(s);
}

int ringtap_online(struct ringtap *s)
{
	return atomic_load(&s->online);
}

uint64_t ringtap_missed(struct ringtap *s)
{
	return atomic_load(&s->missed);
}
