/* SPDX-License-Identifier: MIT */
/*
 * waiter: the thread that waits on the ring for the event loop.  It blocks in
 * ring_reader_wait() (a futex, no polling) and writes to an eventfd each
 * time a new frame is published, and once more when it ends (the ring closed
 * or broke, or it was asked to stop).  The event loop never blocks on the
 * ring; the thread never touches the event loop's state.
 */
#ifndef VIGIL_WAITER_H
#define VIGIL_WAITER_H

#include <sys/queue.h>

#define WAITER_WAIT_MS 100 /* futex timeout: how soon a stop is seen */

struct ring_reader;
struct waiter;

/* Waiters asked to stop, not joined yet (waiter_retire, waiter_reap). */
LIST_HEAD(waiter_list, waiter);

/* Starts a thread waiting on reader, which the waiter owns from then on (it
 * closes it when reaped).  NULL with errno when the thread cannot start:
 * reader is then still the caller's. */
struct waiter *waiter_start(struct ring_reader *reader, int efd);

/* The reader, borrowed: the event loop reads frames through it while the
 * thread waits on it (the reader API is read-only, so both may). */
struct ring_reader *waiter_reader(const struct waiter *w);

/* 1 once the thread has ended (the event loop then decides what next). */
int waiter_done(const struct waiter *w);

/* Asks the thread to stop (it sees it within WAITER_WAIT_MS) and puts w on
 * retired; w must not be used by the caller any more. */
void waiter_retire(struct waiter_list *retired, struct waiter *w);

/* Joins the retired threads that have ended (all of them, waiting, when
 * block), closes their readers and frees them. */
void waiter_reap(struct waiter_list *retired, int block);

#endif
