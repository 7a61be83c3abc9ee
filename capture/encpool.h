/* SPDX-License-Identifier: MIT */
/*
 * encpool: frame-parallel work with in-order publishing.  The caller owns an
 * array of `depth` jobs; it takes the next free one (encpool_acquire, which
 * waits while all are in flight), fills it and submits it.  Worker threads
 * run work(arg, job, worker) on submitted jobs in any order and at once;
 * publish(arg, job, worker) is then called for each job exactly once, in
 * submission order, one at a time (never two at once, from whichever worker
 * finished the job that unblocked it), as soon as the job and all earlier
 * ones are done.  A job is free again once published.
 *
 * vigil-capture's raw pictures: each worker compresses a whole frame into
 * its job's private buffer; publish copies it into the ring in capture
 * order (pipeline.c).
 */
#ifndef VIGIL_ENCPOOL_H
#define VIGIL_ENCPOOL_H

#define ENCPOOL_THREADS_MAX 16

struct encpool;

typedef void (*encpool_fn)(void *arg, int job, int worker);

/* threads 1..ENCPOOL_THREADS_MAX workers, depth 1..64 jobs.  -1 with errno
 * (EINVAL, ENOMEM, or pthread_create's error). */
int encpool_create(struct encpool **out, int threads, int depth,
		   encpool_fn work, encpool_fn publish, void *arg);

/* The index of the next job (0..depth-1, round robin), once it is free. */
int encpool_acquire(struct encpool *p);

/* Hands the job acquire returned to the workers. */
void encpool_submit(struct encpool *p, int job);

/* Waits until every submitted job is published. */
void encpool_drain(struct encpool *p);

/* Drains, stops the workers, frees.  Accepts NULL. */
void encpool_destroy(struct encpool *p);

#endif
