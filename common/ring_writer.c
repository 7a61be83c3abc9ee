/* SPDX-License-Identifier: MIT */
/*
 * ring_writer: the capture's side of the ring (see ring.h for the layout and
 * the ordering rules): the camera's lock, takeover, publishing, heartbeat.
 * The writer creates each segment under a temporary name, fills in its
 * header, and renames it into place, so a reader never sees a half-built
 * segment and the name never disappears during a takeover.
 */
#include "ring.h"
#include "ring_shm.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"

/* glibc keeps POSIX shared memory in this tmpfs; the rename trick needs it. */
#define RING_SHM_DIR "/dev/shm"
#define RING_LOCK_SUFFIX ".lock"
#define RING_NEW_SUFFIX ".new"
#define RING_LOCK_TEXT_MAX 64

struct ring_writer {
	struct ring_header *hdr;
	size_t size;
	int fd;
	int lock_fd;
	uint32_t next_slot;
	uint32_t busy_slot; /* slot between begin and commit/abort */
	int busy;
	uint64_t seq;
	size_t capacity;
	dev_t dev;
	ino_t ino;
	char name[RING_NAME_MAX];
};

static int ring_check_owner(int fd, mode_t forbidden)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -1;
	if (st.st_uid != geteuid() || (st.st_mode & forbidden) != 0) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

/* Takes the camera's lock; reads the last generation it recorded. */
static int ring_lock(struct ring_writer *w, const char *camera,
		     const char *suffix, pid_t *holder_pid,
		     uint32_t *last_generation)
{
	char sfx[RING_NAME_MAX];
	char name[RING_NAME_MAX], text[RING_LOCK_TEXT_MAX];
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	unsigned long pid = 0, gen = 0;
	ssize_t n;

	snprintf(sfx, sizeof(sfx), "%s" RING_LOCK_SUFFIX, suffix ? suffix : "");
	if (ring_name(name, sizeof(name), camera, sfx) < 0)
		return -1;
	/* 0600: a reader cannot open it, so it cannot hold the lock and keep
	 * a restarted capture out. */
	w->lock_fd = shm_open(name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
			      0600);
	if (w->lock_fd < 0)
		return -1;
	if (ring_check_owner(w->lock_fd, 0077) < 0)
		return -1;
	n = pread(w->lock_fd, text, sizeof(text) - 1, 0);
	text[n > 0 ? n : 0] = '\0';
	if (sscanf(text, "%lu %lu", &pid, &gen) < 1)
		pid = 0;
	/* An open-file-description lock: released by the kernel when the
	 * holder dies, however it dies. */
	if (fcntl(w->lock_fd, F_OFD_SETLK, &fl) < 0) {
		if (errno == EAGAIN || errno == EACCES) {
			if (holder_pid != NULL)
				*holder_pid = (pid_t)pid;
			errno = EBUSY;
		}
		return -1;
	}
	*last_generation = (uint32_t)gen;
	return 0;
}

static void ring_lock_record(struct ring_writer *w, uint32_t generation)
{
	char text[RING_LOCK_TEXT_MAX];
	int n = snprintf(text, sizeof(text), "%ld %lu\n", (long)getpid(),
			 (unsigned long)generation);

	if (ftruncate(w->lock_fd, 0) == 0 && n > 0)
		(void)!pwrite(w->lock_fd, text, (size_t)n, 0);
}

/*
 * Maps the header of the segment now under the name (a crashed or closed
 * capture's, owned by us) to learn its generation and, once the new segment
 * has replaced it, to mark it closed.  NULL when it is not a ring we know.
 */
static struct ring_header *ring_map_old(int fd, uint32_t *generation)
{
	struct stat st;
	struct ring_header *old;

	if (fstat(fd, &st) < 0 || (size_t)st.st_size < sizeof(*old))
		return NULL;
	old = mmap(NULL, sizeof(*old), PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		   0);
	if (old == MAP_FAILED)
		return NULL;
	/* Version 1 had the same header page (only the slot header grew), so
	 * its readers are told to re-attach too, and then refuse version 2. */
	if (old->magic != RING_MAGIC ||
	    (old->version != RING_VERSION && old->version != 1u)) {
		munmap(old, sizeof(*old));
		return NULL;
	}
	uint32_t g = atomic_load_explicit(&old->generation,
					  memory_order_relaxed);
	if (g > *generation)
		*generation = g;
	return old;
}

/* Readers of the old segment wake up, see it closed, and re-attach. */
static void ring_retire(struct ring_header *old)
{
	atomic_store_explicit(&old->state, RING_STATE_CLOSED,
			      memory_order_release);
	ring_futex(&old->seq, FUTEX_WAKE, INT_MAX, NULL);
	munmap(old, sizeof(*old));
}

static int ring_writer_init(struct ring_writer *w,
			    const struct ring_writer_config *cfg,
			    uint32_t generation)
{
	struct ring_header *h = w->hdr;

	memset(h, 0, sizeof(*h));
	h->version = RING_VERSION;
	h->header_size = RING_HEADER_SIZE;
	h->slot_count = (uint32_t)((w->size - RING_HEADER_SIZE) /
				   (w->capacity + RING_SLOT_HEADER_SIZE));
	h->slot_size = (uint32_t)(w->capacity + RING_SLOT_HEADER_SIZE);
	h->segment_size = w->size;
	h->width = cfg->width;
	h->height = cfg->height;
	h->fps_num = cfg->fps_num;
	h->fps_den = cfg->fps_den ? cfg->fps_den : 1;
	h->writer_pid = (uint32_t)getpid();
	snprintf(h->camera, sizeof(h->camera), "%s", cfg->camera);
	atomic_store_explicit(&h->generation, generation, memory_order_relaxed);
	atomic_store_explicit(&h->state, RING_STATE_LIVE, memory_order_relaxed);
	atomic_store_explicit(&h->heartbeat_ms, ring_now_ms(),
			      memory_order_relaxed);
	/* Published by the rename; the magic goes last all the same. */
	atomic_thread_fence(memory_order_release);
	h->magic = RING_MAGIC;
	return 0;
}

int ring_writer_create(struct ring_writer **out,
		       const struct ring_writer_config *cfg, pid_t *holder_pid)
{
	struct ring_writer *w;
	char tmp[RING_NAME_MAX], sfx[RING_NAME_MAX];
	char path[sizeof(RING_SHM_DIR) + RING_NAME_MAX];
	char tmp_path[sizeof(RING_SHM_DIR) + RING_NAME_MAX];
	uint32_t slots, slot_size, generation = 0;
	uint64_t size;
	struct ring_header *old = NULL;
	struct stat st;
	int old_fd = -1, saved, r;

	*out = NULL;
	slots = cfg->slot_count ? cfg->slot_count : RING_SLOTS_DEFAULT;
	slot_size = cfg->slot_size ? cfg->slot_size : RING_SLOT_SIZE_DEFAULT;
	if (!ring_camera_valid(cfg->camera) ||
	    !ring_suffix_valid(cfg->suffix) || slots < RING_SLOTS_MIN ||
	    slots > RING_SLOTS_MAX || slot_size < RING_SLOT_SIZE_MIN ||
	    slot_size > RING_SLOT_SIZE_MAX) {
		errno = EINVAL;
		return -1;
	}
	slot_size = (slot_size + RING_SLOT_ALIGN - 1) & ~(RING_SLOT_ALIGN - 1);
	size = RING_HEADER_SIZE + (uint64_t)slots * slot_size;
	if (size > RING_SEGMENT_MAX) {
		errno = EINVAL;
		return -1;
	}

	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return -1;
	w->fd = -1;
	w->lock_fd = -1;
	w->capacity = slot_size - RING_SLOT_HEADER_SIZE;
	w->size = (size_t)size;
	snprintf(sfx, sizeof(sfx), "%s" RING_NEW_SUFFIX,
		 cfg->suffix ? cfg->suffix : "");
	if (ring_name(w->name, sizeof(w->name), cfg->camera, cfg->suffix) < 0 ||
	    ring_name(tmp, sizeof(tmp), cfg->camera, sfx) < 0)
		goto fail;
	snprintf(path, sizeof(path), RING_SHM_DIR "%s", w->name);
	snprintf(tmp_path, sizeof(tmp_path), RING_SHM_DIR "%s", tmp);
	if (ring_lock(w, cfg->camera, cfg->suffix, holder_pid, &generation) < 0)
		goto fail;

	/* A segment under our name that is not ours (another user made it,
	 * or others may write it) is refused, never taken over. */
	old_fd = shm_open(w->name, O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0);
	if (old_fd < 0 && errno != ENOENT)
		goto fail;
	if (old_fd >= 0 && ring_check_owner(old_fd, 0022) < 0) {
		saved = errno;
		close(old_fd);
		errno = saved;
		goto fail;
	}

	/* We hold the lock, so a leftover ".new" is a crashed start's. */
	shm_unlink(tmp);
	w->fd = shm_open(
		tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (w->fd < 0)
		goto fail_old;
	/* Reserve the pages now: a full /dev/shm is an error here, not a
	 * SIGBUS in the middle of a frame later. */
	r = posix_fallocate(w->fd, 0, (off_t)size);
	if (r != 0) {
		errno = r;
		goto fail_tmp;
	}
	if (cfg->gid != (gid_t)-1 && fchown(w->fd, (uid_t)-1, cfg->gid) < 0)
		goto fail_tmp;
	/* Explicit mode whatever the umask: owner writes, group reads. */
	if (fchmod(w->fd, 0640) < 0)
		goto fail_tmp;
	w->hdr = mmap(NULL, w->size, PROT_READ | PROT_WRITE, MAP_SHARED, w->fd,
		      0);
	if (w->hdr == MAP_FAILED) {
		w->hdr = NULL;
		goto fail_tmp;
	}
	if (fstat(w->fd, &st) < 0)
		goto fail_tmp;
	w->dev = st.st_dev;
	w->ino = st.st_ino;

	if (old_fd >= 0)
		old = ring_map_old(old_fd, &generation);
	generation++;
	if (generation == 0)
		generation = 1;
	ring_writer_init(w, cfg, generation);

	if (rename(tmp_path, path) < 0)
		goto fail_tmp;
	if (old != NULL)
		ring_retire(old);
	if (old_fd >= 0)
		close(old_fd);
	ring_lock_record(w, ring_writer_generation(w));
	*out = w;
	return 0;

fail_tmp:
	saved = errno;
	shm_unlink(tmp);
	errno = saved;
fail_old:
	if (old != NULL)
		munmap(old, sizeof(*old));
	if (old_fd >= 0) {
		saved = errno;
		close(old_fd);
		errno = saved;
	}
fail:
	saved = errno;
	if (w->hdr != NULL)
		munmap(w->hdr, w->size);
	if (w->fd >= 0)
		close(w->fd);
	if (w->lock_fd >= 0)
		close(w->lock_fd);
	free(w);
	errno = saved;
	return -1;
}

size_t ring_writer_capacity(const struct ring_writer *w)
{
	return w->capacity;
}

uint32_t ring_writer_generation(const struct ring_writer *w)
{
	return atomic_load_explicit(&w->hdr->generation, memory_order_relaxed);
}

uint64_t ring_writer_seq(const struct ring_writer *w)
{
	return w->seq;
}

void *ring_writer_begin(struct ring_writer *w)
{
	struct ring_slot_header *s;
	uint32_t lock;

	if (w->busy)
		ring_writer_abort(w);
	w->busy_slot = w->next_slot;
	w->busy = 1;
	s = (struct ring_slot_header *)ring_slot(
		w->hdr, RING_HEADER_SIZE, w->hdr->slot_size, w->busy_slot);
	lock = atomic_load_explicit(&s->lock, memory_order_relaxed);
	/* Odd: a reader that copies while we write sees a changed word. The
	 * release fence orders this store before the payload stores. */
	atomic_store_explicit(&s->lock, lock | 1u, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	return (uint8_t *)s + RING_SLOT_HEADER_SIZE;
}

void ring_writer_abort(struct ring_writer *w)
{
	struct ring_slot_header *s;
	uint32_t lock;

	if (!w->busy)
		return;
	s = (struct ring_slot_header *)ring_slot(
		w->hdr, RING_HEADER_SIZE, w->hdr->slot_size, w->busy_slot);
	/* The slot's old contents may be half overwritten: leave the word
	 * moved on (even), so any reader of the old frame sees it changed. */
	lock = atomic_load_explicit(&s->lock, memory_order_relaxed);
	atomic_store_explicit(&s->lock, lock + 1u, memory_order_release);
	w->busy = 0;
}

int ring_writer_commit(struct ring_writer *w, size_t length, uint32_t flags,
		       uint32_t width, uint32_t height, int64_t realtime_ns,
		       int64_t monotonic_ns, const struct ring_motion *motion)
{
	struct ring_header *h = w->hdr;
	struct ring_slot_header *s;
	uint32_t lock, index;

	if (!w->busy) {
		errno = EINVAL;
		return -1;
	}
	if (length > w->capacity || length == 0) {
		ring_writer_abort(w);
		ring_writer_count_drop(w);
		errno = EMSGSIZE;
		return -1;
	}
	if (motion != NULL && motion->score > RING_MOTION_SCORE_MAX) {
		ring_writer_abort(w);
		errno = EINVAL;
		return -1;
	}
	index = w->busy_slot;
	s = (struct ring_slot_header *)ring_slot(h, RING_HEADER_SIZE,
						 h->slot_size, index);
	if (motion != NULL) {
		s->flags = flags | RING_FRAME_ANALYSED;
		s->motion_score = motion->score;
		s->motion_since_ns = motion->since_ns;
		memcpy(s->motion_grid, motion->grid, sizeof(s->motion_grid));
	} else {
		s->flags = flags &
			   ~(uint32_t)(RING_FRAME_ANALYSED | RING_FRAME_MOTION);
		s->motion_score = 0;
		s->motion_since_ns = 0;
		memset(s->motion_grid, 0, sizeof(s->motion_grid));
	}
	s->seq = w->seq + 1;
	s->length = (uint32_t)length;
	s->width = width;
	s->height = height;
	s->realtime_ns = realtime_ns ? realtime_ns : clock_ns(CLOCK_REALTIME);
	s->monotonic_ns = monotonic_ns ? monotonic_ns
				       : clock_ns(CLOCK_MONOTONIC);
	lock = atomic_load_explicit(&s->lock, memory_order_relaxed);
	/* Even again: everything above happens-before a reader that loads
	 * this value with acquire. */
	atomic_store_explicit(&s->lock, lock + 1u, memory_order_release);
	w->busy = 0;
	w->seq++;
	w->next_slot = (index + 1) % h->slot_count;

	atomic_store_explicit(&h->latest_slot, index, memory_order_release);
	atomic_store_explicit(&h->heartbeat_ms, ring_now_ms(),
			      memory_order_relaxed);
	atomic_store_explicit(&h->seq, (uint32_t)w->seq, memory_order_release);
	ring_futex(&h->seq, FUTEX_WAKE, INT_MAX, NULL);
	return 0;
}

int ring_writer_publish(struct ring_writer *w, const void *jpeg, size_t len,
			uint32_t flags, uint32_t width, uint32_t height,
			int64_t realtime_ns, int64_t monotonic_ns,
			const struct ring_motion *motion)
{
	void *dst;

	if (len > w->capacity || len == 0) {
		ring_writer_count_drop(w);
		errno = EMSGSIZE;
		return -1;
	}
	dst = ring_writer_begin(w);
	memcpy(dst, jpeg, len);
	return ring_writer_commit(w, len, flags, width, height, realtime_ns,
				  monotonic_ns, motion);
}

void ring_writer_count_drop(struct ring_writer *w)
{
	atomic_fetch_add_explicit(&w->hdr->frames_dropped, 1,
				  memory_order_relaxed);
}

void ring_writer_heartbeat(struct ring_writer *w)
{
	atomic_store_explicit(&w->hdr->heartbeat_ms, ring_now_ms(),
			      memory_order_release);
}

void ring_writer_close(struct ring_writer *w)
{
	struct stat st;
	int fd;

	if (w == NULL)
		return;
	if (w->hdr != NULL) {
		if (w->busy)
			ring_writer_abort(w);
		atomic_store_explicit(&w->hdr->state, RING_STATE_CLOSED,
				      memory_order_release);
		ring_futex(&w->hdr->seq, FUTEX_WAKE, INT_MAX, NULL);
		munmap(w->hdr, w->size);
	}
	/* Unlink only our own segment: a newer capture may own the name. */
	fd = shm_open(w->name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0);
	if (fd >= 0) {
		if (fstat(fd, &st) == 0 && st.st_dev == w->dev &&
		    st.st_ino == w->ino)
			shm_unlink(w->name);
		close(fd);
	}
	if (w->fd >= 0)
		close(w->fd);
	/* The lock file stays (it records the generation); closing our
	 * description of it releases the lock. */
	if (w->lock_fd >= 0)
		close(w->lock_fd);
	free(w);
}
