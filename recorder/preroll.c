/* SPDX-License-Identifier: MIT */
/* preroll: a circular byte arena of the last seconds of JPEGs. */
#include "preroll.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct entry {
	struct recframe f;
	size_t off, len;
};

struct preroll {
	int64_t span_ns;
	size_t arena_max;
	uint8_t *arena;
	size_t size; /* bytes of arena */
	size_t wr; /* where the next frame goes when it fits there */
	size_t bytes; /* JPEG bytes held */
	struct entry *e; /* PREROLL_FRAMES_MAX descriptors, circular */
	unsigned head, count;
};

struct preroll *preroll_create(int64_t span_ns, size_t arena_max)
{
	struct preroll *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->span_ns = span_ns < 0 ? 0 : span_ns;
	p->arena_max = arena_max ? arena_max : PREROLL_ARENA_MAX;
	p->size = PREROLL_ARENA_MIN < p->arena_max ? PREROLL_ARENA_MIN
						   : p->arena_max;
	p->arena = malloc(p->size);
	p->e = calloc(PREROLL_FRAMES_MAX, sizeof(*p->e));
	if (p->arena == NULL || p->e == NULL) {
		preroll_destroy(p);
		errno = ENOMEM;
		return NULL;
	}
	return p;
}

void preroll_destroy(struct preroll *p)
{
	if (p == NULL)
		return;
	free(p->arena);
	free(p->e);
	free(p);
}

static struct entry *entry_at(const struct preroll *p, unsigned i)
{
	return &p->e[(p->head + i) % PREROLL_FRAMES_MAX];
}

static void drop_oldest(struct preroll *p)
{
	p->bytes -= p->e[p->head].len;
	p->head = (p->head + 1) % PREROLL_FRAMES_MAX;
	if (--p->count == 0) {
		p->head = 0;
		p->wr = 0;
	}
}

/* Offset where len bytes fit without touching a held frame, or -1. */
static long find_room(const struct preroll *p, size_t len)
{
	size_t oldest;

	if (p->count == 0)
		return len <= p->size ? 0 : -1;
	oldest = p->e[p->head].off;
	if (p->wr > oldest) {
		/* Held frames are [oldest, wr): room at the tail or at 0. */
		if (p->wr + len <= p->size)
			return (long)p->wr;
		return len <= oldest ? 0 : -1;
	}
	/* Wrapped: held frames are [oldest, size) and [0, wr). */
	return p->wr + len <= oldest ? (long)p->wr : -1;
}

/* Doubles the arena (at least to fit len), copying frames to its start. */
static int grow(struct preroll *p, size_t len)
{
	size_t size = p->size * 2, off = 0;
	uint8_t *arena;
	unsigned i;

	while (size < len * 2 && size < p->arena_max)
		size *= 2;
	if (size > p->arena_max)
		size = p->arena_max;
	arena = malloc(size);
	if (arena == NULL)
		return -1;
	for (i = 0; i < p->count; i++) {
		struct entry *e = entry_at(p, i);

		memcpy(arena + off, p->arena + e->off, e->len);
		e->off = off;
		off += e->len;
	}
	free(p->arena);
	p->arena = arena;
	p->size = size;
	p->wr = off;
	return 0;
}

int preroll_push(struct preroll *p, const struct recframe *f, const void *jpeg,
		 size_t len)
{
	struct entry *e;
	int nomem = 0;
	long off;

	if (len == 0) {
		errno = EINVAL;
		return -1;
	}
	if (len > p->arena_max) {
		errno = EMSGSIZE;
		return -1;
	}
	while (p->count > 0 &&
	       f->monotonic_ns - p->e[p->head].f.monotonic_ns > p->span_ns)
		drop_oldest(p);
	if (p->count == PREROLL_FRAMES_MAX)
		drop_oldest(p);
	while ((off = find_room(p, len)) < 0) {
		/* Grow rather than forget frames the span still wants. */
		if (p->size < p->arena_max && !nomem) {
			if (grow(p, len) == 0)
				continue;
			nomem = 1;
		}
		if (p->count == 0)
			return -1; /* cannot happen: len <= arena_max */
		drop_oldest(p);
	}
	e = &p->e[(p->head + p->count) % PREROLL_FRAMES_MAX];
	e->f = *f;
	e->off = (size_t)off;
	e->len = len;
	memcpy(p->arena + off, jpeg, len);
	p->wr = (size_t)off + len;
	p->count++;
	p->bytes += len;
	if (nomem)
		errno = ENOMEM;
	return 0;
}

unsigned preroll_count(const struct preroll *p)
{
	return p->count;
}

const struct recframe *preroll_frame(const struct preroll *p, unsigned i,
				     const void **jpeg, size_t *len)
{
	const struct entry *e;

	if (i >= p->count)
		return NULL;
	e = entry_at(p, i);
	*jpeg = p->arena + e->off;
	*len = e->len;
	return &e->f;
}

size_t preroll_bytes(const struct preroll *p)
{
	return p->bytes;
}

size_t preroll_arena_size(const struct preroll *p)
{
	return p->size;
}

void preroll_clear(struct preroll *p)
{
	p->head = 0;
	p->count = 0;
	p->wr = 0;
	p->bytes = 0;
}
