/* SPDX-License-Identifier: MIT */
/* waiter: the ring's futex waiter thread, woken frames to an eventfd. */
#include "waiter.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"
#include "ring.h"

/* The thread owns reader until it is joined. */
struct waiter {
	pthread_t thread;
	struct ring_reader *reader;
	atomic_int stop;
	atomic_int done;
	int efd;
	uint32_t start_seq;
	LIST_ENTRY(waiter) link;
};

static void waiter_notify(int efd)
{
	uint64_t one = 1;

	/* EAGAIN means the counter is already non-zero: the loop will wake. */
	if (write(efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("cannot signal the event loop");
}

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;
	uint32_t last = w->start_seq;

	while (!atomic_load_explicit(&w->stop, memory_order_acquire)) {
		enum ring_status st = ring_reader_wait(w->reader, last,
						       WAITER_WAIT_MS);

		if (st == RING_OK) {
			last = ring_reader_seq(w->reader);
			waiter_notify(w->efd);
		} else if (st != RING_TIMEOUT) {
			/* Closed or broken: the event loop decides what next. */
			break;
		}
	}
	atomic_store_explicit(&w->done, 1, memory_order_release);
	waiter_notify(w->efd);
	return NULL;
}

struct waiter *waiter_start(struct ring_reader *reader, int efd)
{
	struct waiter *w = calloc(1, sizeof(*w));
	int rc;

	if (w == NULL)
		return NULL;
	w->reader = reader;
	w->efd = efd;
	w->start_seq = ring_reader_seq(reader);
	rc = pthread_create(&w->thread, NULL, waiter_main, w);
	if (rc != 0) {
		free(w);
		errno = rc;
		return NULL;
	}
	return w;
}

struct ring_reader *waiter_reader(const struct waiter *w)
{
	return w->reader;
}

int waiter_done(const struct waiter *w)
{
	return atomic_load_explicit(&w->done, memory_order_acquire);
}

void waiter_retire(struct waiter_list *retired, struct waiter *w)
{
	atomic_store_explicit(&w->stop, 1, memory_order_release);
	LIST_INSERT_HEAD(retired, w, link);
}

void waiter_reap(struct waiter_list *retired, int block)
{
	struct waiter *w, *next;

	for (w = LIST_FIRST(retired); w != NULL; w = next) {
		int rc = block ? pthread_join(w->thread, NULL)
			       : pthread_tryjoin_np(w->thread, NULL);

		next = LIST_NEXT(w, link);
		if (rc != 0)
			continue;
		LIST_REMOVE(w, link);
		ring_reader_close(w->reader);
		free(w);
	}
}
