/* SPDX-License-Identifier: MIT */
/* frame: reference-counted part buffers and their pool. */
#include "frame.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

struct frame_pool {
	size_t capacity; /* JPEG bytes a buffer holds */
	/* cppcheck-suppress unusedStructMember ; used by the queue.h macros */
	LIST_HEAD(, frame) free; /* buffers ready for reuse */
	unsigned nfree;
	unsigned nlive; /* buffers mapped (free or held) */
	uint64_t next_id;
	int dying;
};

static size_t frame_size_for(size_t capacity)
{
	size_t n = FRAME_HEADROOM + capacity + FRAME_TRAILER_LEN;
	size_t page = 4096;

	return (n + page - 1) / page * page;
}

static struct frame *frame_new(struct frame_pool *p)
{
	struct frame *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return NULL;
	f->size = frame_size_for(p->capacity);
	/* Anonymous mappings: pages are touched only as far as JPEGs reach, and
	 * go back to the system when the buffer is dropped (malloc could keep
	 * them after a raise of its mmap threshold). */
	f->mem = mmap(NULL, f->size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (f->mem == MAP_FAILED) {
		free(f);
		return NULL;
	}
	f->pool = p;
	p->nlive++;
	return f;
}

static void frame_free(struct frame *f)
{
	struct frame_pool *p = f->pool;

	munmap(f->mem, f->size);
	free(f);
	p->nlive--;
	if (p->dying && p->nlive == 0)
		free(p);
}

struct frame_pool *frame_pool_create(size_t capacity)
{
	struct frame_pool *p = calloc(1, sizeof(*p));
	unsigned i;

	if (p == NULL)
		return NULL;
	p->capacity = capacity;
	LIST_INIT(&p->free);
	for (i = 0; i < FRAME_POOL_PREALLOC; i++) {
		struct frame *f = frame_new(p);

		if (f == NULL)
			break;
		LIST_INSERT_HEAD(&p->free, f, free_link);
		p->nfree++;
	}
	return p;
}

size_t frame_pool_capacity(const struct frame_pool *p)
{
	return p->capacity;
}

unsigned frame_pool_buffers(const struct frame_pool *p)
{
	return p->nlive;
}

static void frame_pool_trim(struct frame_pool *p, unsigned keep)
{
	struct frame *f, *next;

	for (f = LIST_FIRST(&p->free); f != NULL; f = next) {
		next = LIST_NEXT(f, free_link);
		if (keep > 0 && f->size >= frame_size_for(p->capacity)) {
			keep--;
			continue;
		}
		LIST_REMOVE(f, free_link);
		p->nfree--;
		frame_free(f);
	}
}

void frame_pool_set_capacity(struct frame_pool *p, size_t capacity)
{
	p->capacity = capacity;
	frame_pool_trim(p, FRAME_POOL_KEEP);
}

void frame_pool_destroy(struct frame_pool *p)
{
	if (p == NULL)
		return;
	frame_pool_trim(p, 0);
	if (p->nlive == 0) {
		free(p);
		return;
	}
	/* Frames still held: frame_free() frees the pool with the last one. */
	p->dying = 1;
}

struct frame *frame_get(struct frame_pool *p)
{
	struct frame *f;

	while ((f = LIST_FIRST(&p->free)) != NULL) {
		LIST_REMOVE(f, free_link);
		p->nfree--;
		if (f->size >= frame_size_for(p->capacity))
			break;
		frame_free(f);
	}
	if (f == NULL && (f = frame_new(p)) == NULL)
		return NULL;
	f->refs = 1;
	f->id = ++p->next_id;
	f->head = FRAME_HEADROOM;
	f->end = FRAME_HEADROOM;
	f->jpeg_len = 0;
	f->seq = 0;
	f->offline = 0;
	f->flags = 0;
	f->motion_score = 0;
	f->motion_since_ns = 0;
	memset(f->motion_grid, 0, sizeof(f->motion_grid));
	return f;
}

void frame_ref(struct frame *f)
{
	f->refs++;
}

void frame_unref(struct frame *f)
{
	struct frame_pool *p;

	if (f == NULL || --f->refs > 0)
		return;
	p = f->pool;
	if (p->dying || p->nfree >= FRAME_POOL_KEEP ||
	    f->size < frame_size_for(p->capacity)) {
		frame_free(f);
		return;
	}
	LIST_INSERT_HEAD(&p->free, f, free_link);
	p->nfree++;
}

void frame_seal(struct frame *f)
{
	char hdr[FRAME_HEADROOM];
	int64_t sec = f->realtime_ns / 1000000000;
	int64_t usec = (f->realtime_ns % 1000000000) / 1000;
	int n;

	if (usec < 0) {
		sec--;
		usec += 1000000;
	}
	n = snprintf(hdr, sizeof(hdr),
		     "Content-Type: image/jpeg\r\n"
		     "Content-Length: %zu\r\n"
		     "X-Timestamp: %" PRId64 ".%06" PRId64 "\r\n"
		     "X-Frame-Seq: %" PRIu64 "\r\n"
		     "X-Motion: %d\r\n"
		     "X-Motion-Score: %" PRIu32 "\r\n"
		     "X-Motion-Analysed: %d\r\n"
		     "\r\n",
		     f->jpeg_len, sec, usec, f->seq, frame_motion(f),
		     frame_analysed(f) ? f->motion_score : 0,
		     frame_analysed(f));
	/* The format cannot exceed the headroom: seven short lines of
	 * bounded numbers (at most about 190 bytes). */
	if (n < 0 || (size_t)n >= sizeof(hdr))
		abort();
	f->head = FRAME_HEADROOM - (size_t)n;
	memcpy(f->mem + f->head, hdr, (size_t)n);
	memcpy(f->mem + FRAME_HEADROOM + f->jpeg_len, FRAME_TRAILER,
	       FRAME_TRAILER_LEN);
	f->end = FRAME_HEADROOM + f->jpeg_len + FRAME_TRAILER_LEN;
}

void frame_evbuffer_cleanup(const void *data, size_t len, void *extra)
{
	(void)data;
	(void)len;
	frame_unref(extra);
}
