/* SPDX-License-Identifier: MIT */
/*
 * ring_reader: the servers' side of the ring (see ring.h for the layout and
 * the ordering rules): a read-only mapping, validated once at attach, frames
 * copied out under the slot's seqlock, futex waits.  Nothing here writes to
 * the segment.
 */
#include "ring.h"
#include "ring_shm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct ring_reader {
	const struct ring_header *hdr;
	const uint8_t *base;
	size_t size;
	int mapped; /* 1: we mmap'ed it and munmap on close */
	uint32_t slot_count; /* validated geometry, copied at attach */
	uint32_t slot_size;
	uint32_t header_size;
	size_t capacity;
	uint32_t generation;
	uint32_t width, height, fps_num, fps_den;
	dev_t dev;
	ino_t ino;
	char name[RING_NAME_MAX];
};

/* Validates a segment's header against the size that is really mapped. */
static enum ring_status ring_validate(struct ring_reader *r, const void *mem,
				      size_t size, uint32_t *found_version)
{
	const struct ring_header *h = mem;
	uint64_t need;

	if (size < sizeof(*h))
		return RING_CORRUPT;
	if (h->magic != RING_MAGIC)
		return RING_BAD_MAGIC;
	if (found_version != NULL)
		*found_version = h->version;
	if (h->version != RING_VERSION)
		return RING_BAD_VERSION;
	/* Copy each field once: the writer could change them under us. */
	r->header_size = h->header_size;
	r->slot_count = h->slot_count;
	r->slot_size = h->slot_size;
	if (r->header_size != RING_HEADER_SIZE ||
	    r->slot_count < RING_SLOTS_MIN || r->slot_count > RING_SLOTS_MAX ||
	    r->slot_size < RING_SLOT_SIZE_MIN ||
	    r->slot_size > RING_SLOT_SIZE_MAX ||
	    r->slot_size % RING_SLOT_ALIGN != 0)
		return RING_CORRUPT;
	need = (uint64_t)r->header_size +
	       (uint64_t)r->slot_count * r->slot_size;
	if (need > size || need > RING_SEGMENT_MAX)
		return RING_CORRUPT;
	r->capacity = r->slot_size - RING_SLOT_HEADER_SIZE;
	r->generation = atomic_load_explicit(&h->generation,
					     memory_order_acquire);
	r->width = h->width;
	r->height = h->height;
	r->fps_num = h->fps_num;
	r->fps_den = h->fps_den;
	r->hdr = h;
	r->base = mem;
	r->size = size;
	return RING_OK;
}

enum ring_status ring_reader_attach(struct ring_reader **out, const void *mem,
				    size_t size, uint32_t *found_version)
{
	struct ring_reader *r;
	enum ring_status st;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return RING_ERROR;
	st = ring_validate(r, mem, size, found_version);
	if (st != RING_OK) {
		free(r);
		return st;
	}
	*out = r;
	return RING_OK;
}

enum ring_status ring_reader_open(struct ring_reader **out, const char *camera,
				  uint32_t *found_version)
{
	return ring_reader_open_suffix(out, camera, NULL, found_version);
}

enum ring_status ring_reader_open_suffix(struct ring_reader **out,
					 const char *camera, const char *suffix,
					 uint32_t *found_version)
{
	struct ring_reader *r = NULL;
	enum ring_status st;
	struct stat sb;
	void *mem;
	int fd, saved;
	char name[RING_NAME_MAX];

	*out = NULL;
	if (!ring_suffix_valid(suffix)) {
		errno = EINVAL;
		return RING_ERROR;
	}
	if (ring_name(name, sizeof(name), camera, suffix) < 0)
		return RING_ERROR;
	fd = shm_open(name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0);
	if (fd < 0)
		return RING_ERROR;
	if (fstat(fd, &sb) < 0)
		goto fail;
	if (sb.st_size < (off_t)sizeof(struct ring_header) ||
	    (uint64_t)sb.st_size > RING_SEGMENT_MAX) {
		close(fd);
		return RING_CORRUPT;
	}
	mem = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED)
		goto fail;
	/* The mapping stays valid after close; the name may be replaced. */
	close(fd);
	st = ring_reader_attach(&r, mem, (size_t)sb.st_size, found_version);
	if (st != RING_OK) {
		saved = errno;
		munmap(mem, (size_t)sb.st_size);
		errno = saved;
		return st;
	}
	r->mapped = 1;
	r->dev = sb.st_dev;
	r->ino = sb.st_ino;
	memcpy(r->name, name, sizeof(name));
	*out = r;
	return RING_OK;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return RING_ERROR;
}

void ring_reader_close(struct ring_reader *r)
{
	if (r == NULL)
		return;
	if (r->mapped)
		munmap((void *)(uintptr_t)r->base, r->size);
	free(r);
}

size_t ring_reader_capacity(const struct ring_reader *r)
{
	return r->capacity;
}

uint32_t ring_reader_slot_count(const struct ring_reader *r)
{
	return r->slot_count;
}

uint32_t ring_reader_generation(const struct ring_reader *r)
{
	return r->generation;
}

void ring_reader_format(const struct ring_reader *r, uint32_t *width,
			uint32_t *height, uint32_t *fps_num, uint32_t *fps_den)
{
	if (width)
		*width = r->width;
	if (height)
		*height = r->height;
	if (fps_num)
		*fps_num = r->fps_num;
	if (fps_den)
		*fps_den = r->fps_den;
}

const void *ring_reader_mem(const struct ring_reader *r)
{
	return r->base;
}

uint32_t ring_reader_seq(const struct ring_reader *r)
{
	return atomic_load_explicit(&r->hdr->seq, memory_order_acquire);
}

enum ring_status ring_reader_wait(const struct ring_reader *r,
				  uint32_t last_seq32, int timeout_ms)
{
	struct timespec ts;

	if (atomic_load_explicit(&r->hdr->seq, memory_order_acquire) !=
	    last_seq32)
		return RING_OK;
	if (atomic_load_explicit(&r->hdr->state, memory_order_acquire) !=
	    RING_STATE_LIVE)
		return RING_CLOSED;
	if (timeout_ms < 0)
		timeout_ms = 0;
	ts.tv_sec = timeout_ms / 1000;
	ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000;
	/* Returns at once (EAGAIN) if the word is no longer last_seq32, so a
	 * publish between the check above and the wait is not missed. */
	ring_futex(&r->hdr->seq, FUTEX_WAIT, last_seq32, &ts);
	if (atomic_load_explicit(&r->hdr->seq, memory_order_acquire) !=
	    last_seq32)
		return RING_OK;
	if (atomic_load_explicit(&r->hdr->state, memory_order_acquire) !=
	    RING_STATE_LIVE)
		return RING_CLOSED;
	return RING_TIMEOUT;
}

/*
 * Copies slot index out under its seqlock.  want_seq 0: whatever frame the
 * slot holds; otherwise RING_NONE unless the slot holds frame want_seq.
 */
static enum ring_status read_slot(const struct ring_reader *r, uint32_t index,
				  uint64_t want_seq, struct ring_frame *frame,
				  void *buf, size_t cap)
{
	const struct ring_slot_header *s;
	struct ring_slot_header copy;
	uint32_t l1, l2;

	if (index >= r->slot_count)
		return RING_CORRUPT;
	s = (const struct ring_slot_header *)ring_slot(r->hdr, r->header_size,
						       r->slot_size, index);
	l1 = atomic_load_explicit(&s->lock, memory_order_acquire);
	if (l1 == 0)
		return RING_NONE;
	if (l1 & 1u)
		return RING_TORN;
	copy.flags = s->flags;
	copy.seq = s->seq;
	copy.length = s->length;
	copy.width = s->width;
	copy.height = s->height;
	copy.realtime_ns = s->realtime_ns;
	copy.monotonic_ns = s->monotonic_ns;
	copy.motion_score = s->motion_score;
	copy.motion_since_ns = s->motion_since_ns;
	memcpy(copy.motion_grid, s->motion_grid, sizeof(copy.motion_grid));
	if (want_seq != 0 && copy.seq != want_seq) {
		/* Another frame (older or newer) or a torn sequence word. */
		atomic_thread_fence(memory_order_acquire);
		l2 = atomic_load_explicit(&s->lock, memory_order_relaxed);
		return l1 == l2 ? RING_NONE : RING_TORN;
	}
	if (copy.length > r->capacity || copy.length == 0 ||
	    copy.motion_score > RING_MOTION_SCORE_MAX) {
		atomic_thread_fence(memory_order_acquire);
		l2 = atomic_load_explicit(&s->lock, memory_order_relaxed);
		return l1 == l2 ? RING_CORRUPT : RING_TORN;
	}
	if (copy.length > cap) {
		errno = ENOBUFS;
		return RING_ERROR;
	}
	memcpy(buf, (const uint8_t *)s + RING_SLOT_HEADER_SIZE, copy.length);
	/* The copies above may not move below the re-check of the word. */
	atomic_thread_fence(memory_order_acquire);
	l2 = atomic_load_explicit(&s->lock, memory_order_relaxed);
	if (l1 != l2)
		return RING_TORN;
	frame->seq = copy.seq;
	frame->length = copy.length;
	frame->flags = copy.flags;
	frame->width = copy.width;
	frame->height = copy.height;
	frame->generation = r->generation;
	frame->realtime_ns = copy.realtime_ns;
	frame->monotonic_ns = copy.monotonic_ns;
	if (copy.flags & RING_FRAME_ANALYSED) {
		frame->motion_score = copy.motion_score;
		frame->motion_since_ns = copy.motion_since_ns;
		memcpy(frame->motion_grid, copy.motion_grid,
		       sizeof(frame->motion_grid));
	} else {
		frame->motion_score = 0;
		frame->motion_since_ns = 0;
		memset(frame->motion_grid, 0, sizeof(frame->motion_grid));
	}
	return RING_OK;
}

enum ring_status ring_reader_read(const struct ring_reader *r,
				  struct ring_frame *frame, void *buf,
				  size_t cap)
{
	uint32_t index;

	index = atomic_load_explicit(&r->hdr->latest_slot,
				     memory_order_acquire);
	return read_slot(r, index, 0, frame, buf, cap);
}

enum ring_status ring_reader_read_seq(const struct ring_reader *r, uint64_t seq,
				      struct ring_frame *frame, void *buf,
				      size_t cap)
{
	enum ring_status st;
	uint32_t guess, i;

	if (seq == 0)
		return RING_NONE;
	/* The writer fills the slots in turn, sequence 1 in slot 0. */
	guess = (uint32_t)((seq - 1) % r->slot_count);
	st = read_slot(r, guess, seq, frame, buf, cap);
	if (st != RING_NONE)
		return st;
	/* Not where it should be (a segment some other writer filled):
	 * look at the others before calling it gone. */
	for (i = 0; i < r->slot_count; i++) {
		if (i == guess)
			continue;
		st = read_slot(r, i, seq, frame, buf, cap);
		if (st != RING_NONE)
			return st;
	}
	return RING_NONE;
}

enum ring_status ring_reader_health(const struct ring_reader *r,
				    uint32_t stale_ms, uint32_t *age_ms)
{
	uint32_t beat, age;

	beat = atomic_load_explicit(&r->hdr->heartbeat_ms,
				    memory_order_acquire);
	age = ring_now_ms() - beat;
	/* A beat "from the future" is a race with the writer: age 0. */
	if (age > UINT32_MAX / 2)
		age = 0;
	if (age_ms != NULL)
		*age_ms = age;
	if (atomic_load_explicit(&r->hdr->state, memory_order_acquire) !=
	    RING_STATE_LIVE)
		return RING_CLOSED;
	if (age > (stale_ms ? stale_ms : RING_STALE_MS))
		return RING_STALE;
	return RING_OK;
}

int ring_reader_replaced(const struct ring_reader *r)
{
	struct stat st;
	int fd, saved;

	if (!r->mapped)
		return 0;
	fd = shm_open(r->name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	close(fd);
	return st.st_dev != r->dev || st.st_ino != r->ino;
}
