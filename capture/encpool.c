/* SPDX-License-Identifier: MIT */
/* encpool: worker threads, jobs done in any order, published in order. */
#include "encpool.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#define ENCPOOL_DEPTH_MAX 64

enum job_state { JOB_FREE, JOB_QUEUED, JOB_BUSY, JOB_DONE };

struct encpool {
	pthread_mutex_t lock;
	pthread_cond_t work_cv; /* a job was queued, or stop */
	pthread_cond_t free_cv; /* a job was published */
	encpool_fn work, publish;
	void *arg;
	int threads, depth, stop, publishing;
	uint64_t next_acquire, next_publish;
	enum job_state state[ENCPOOL_DEPTH_MAX];
	uint64_t ticket[ENCPOOL_DEPTH_MAX];
	pthread_t tid[ENCPOOL_THREADS_MAX];
	int started;
};

struct worker_arg {
	struct encpool *p;
	int id;
};

/* The queued job with the lowest ticket, or -1.  Lock held. */
static int next_queued(const struct encpool *p)
{
	int best = -1;

	for (int i = 0; i < p->depth; i++)
		if (p->state[i] == JOB_QUEUED &&
		    (best < 0 || p->ticket[i] < p->ticket[best]))
			best = i;
	return best;
}

/* Publishes, in order, every done job the next ticket reaches.  Lock held;
 * released around each publish call. */
static void publish_ready(struct encpool *p, int worker)
{
	if (p->publishing)
		return; /* the one publishing now will reach ours */
	p->publishing = 1;
	for (;;) {
		int j = (int)(p->next_publish % (uint64_t)p->depth);

		if (p->state[j] != JOB_DONE || p->ticket[j] != p->next_publish)
			break;
		pthread_mutex_unlock(&p->lock);
		p->publish(p->arg, j, worker);
		pthread_mutex_lock(&p->lock);
		p->state[j] = JOB_FREE;
		p->next_publish++;
		pthread_cond_broadcast(&p->free_cv);
	}
	p->publishing = 0;
}

static void *worker_main(void *a)
{
	struct encpool *p = ((struct worker_arg *)a)->p;
	int id = ((struct worker_arg *)a)->id;

	free(a);
	pthread_mutex_lock(&p->lock);
	for (;;) {
		int j;

		while (!p->stop && (j = next_queued(p)) < 0)
			pthread_cond_wait(&p->work_cv, &p->lock);
		if (p->stop)
			break;
		p->state[j] = JOB_BUSY;
		pthread_mutex_unlock(&p->lock);
		p->work(p->arg, j, id);
		pthread_mutex_lock(&p->lock);
		p->state[j] = JOB_DONE;
		publish_ready(p, id);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int encpool_create(struct encpool **out, int threads, int depth,
		   encpool_fn work, encpool_fn publish, void *arg)
{
	struct encpool *p;

	*out = NULL;
	if (threads < 1 || threads > ENCPOOL_THREADS_MAX || depth < 1 ||
	    depth > ENCPOOL_DEPTH_MAX || work == NULL || publish == NULL) {
		errno = EINVAL;
		return -1;
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return -1;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work_cv, NULL);
	pthread_cond_init(&p->free_cv, NULL);
	p->work = work;
	p->publish = publish;
	p->arg = arg;
	p->threads = threads;
	p->depth = depth;
	for (int i = 0; i < threads; i++) {
		struct worker_arg *wa = malloc(sizeof(*wa));
		int r;

		if (wa == NULL) {
			encpool_destroy(p);
			errno = ENOMEM;
			return -1;
		}
		wa->p = p;
		wa->id = i;
		r = pthread_create(&p->tid[i], NULL, worker_main, wa);
		if (r != 0) {
			free(wa);
			encpool_destroy(p);
			errno = r;
			return -1;
		}
		p->started++;
	}
	*out = p;
	return 0;
}

int encpool_acquire(struct encpool *p)
{
	int j;

	pthread_mutex_lock(&p->lock);
	j = (int)(p->next_acquire % (uint64_t)p->depth);
	while (p->state[j] != JOB_FREE)
		pthread_cond_wait(&p->free_cv, &p->lock);
	pthread_mutex_unlock(&p->lock);
	return j;
}

void encpool_submit(struct encpool *p, int job)
{
	pthread_mutex_lock(&p->lock);
	p->ticket[job] = p->next_acquire++;
	p->state[job] = JOB_QUEUED;
	pthread_cond_signal(&p->work_cv);
	pthread_mutex_unlock(&p->lock);
}

void encpool_drain(struct encpool *p)
{
	pthread_mutex_lock(&p->lock);
	while (p->next_publish != p->next_acquire)
		pthread_cond_wait(&p->free_cv, &p->lock);
	pthread_mutex_unlock(&p->lock);
}

void encpool_destroy(struct encpool *p)
{
	if (p == NULL)
		return;
	if (p->started == p->threads)
		encpool_drain(p);
	pthread_mutex_lock(&p->lock);
	p->stop = 1;
	pthread_cond_broadcast(&p->work_cv);
	pthread_mutex_unlock(&p->lock);
	for (int i = 0; i < p->started; i++)
		pthread_join(p->tid[i], NULL);
	pthread_cond_destroy(&p->work_cv);
	pthread_cond_destroy(&p->free_cv);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
