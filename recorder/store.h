/* SPDX-License-Identifier: MIT */
/*
 * store: the recordings directory.  A flat directory owned by the
 * recorder, one set of files per event, all named after the event's id:
 *
 *   <id>.mkv, <id>.1.mkv ...   the clip, split every --max-event
 *   <id>.jpg                   the thumbnail (frame of peak motion)
 *   <id>.json                  the metadata (meta.h); it is what lists the
 *                              event, so it is written after the files it
 *                              names exist and removed before them
 *   state.json                 the recorder's state (status.h)
 *   .lock                      held (flock) by the running recorder
 *   .spare                     STORE_SPARE_BYTES kept allocated, given
 *                              back when the disk is full so that the
 *                              metadata of the event can still be written
 *   .*.tmp                     replacements in progress
 *
 * At start the store takes the lock (one recorder per directory), closes
 * interrupted events (metadata with "end": null: end and counts are taken
 * from the clip as far as it reads), lists clips that lost their metadata,
 * removes temporary files, and keeps an index of the events in memory.
 */
#ifndef VIGIL_STORE_H
#define VIGIL_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "meta.h"
#include "retention.h"

#define STORE_DIR_MODE 0750
#define STORE_LOCK_NAME ".lock"
#define STORE_STATE_NAME "state.json"
#define STORE_SPARE_NAME ".spare"
#define STORE_SPARE_BYTES (256u << 10)

struct store;

struct store_recovery {
	unsigned events; /* events listed */
	unsigned interrupted; /* closed as interrupted now */
	unsigned orphans; /* clips listed again from their file */
	unsigned removed; /* temporary and unlisted files removed */
};

/*
 * Creates dir (STORE_DIR_MODE) when missing, owned by uid:gid when they are
 * not -1, opens it and takes its lock.  NULL with errno (EWOULDBLOCK:
 * another recorder holds the directory).
 */
struct store *store_open(const char *dir, uid_t uid, gid_t gid);
void store_close(struct store *s); /* accepts NULL */

int store_dirfd(const struct store *s);

/* The start-up scan described above; *r says what it did.  -1 with errno
 * when the directory cannot be read. */
int store_recover(struct store *s, struct store_recovery *r);

/* Adds or updates an event in the index (after its metadata is written). */
int store_note(struct store *s, const struct meta *m);

/* Events and bytes in the index. */
unsigned store_count(const struct store *s);
uint64_t store_bytes(const struct store *s);

/* Start of the oldest event (CLOCK_REALTIME), 0 when there is none. */
int64_t store_oldest(const struct store *s);

/* Free and total bytes of the filesystem (for unprivileged users). */
int store_space(const struct store *s, uint64_t *avail, uint64_t *total);

/*
 * Deletes an event: its metadata first (it is unlisted at once), then its
 * files, then syncs the directory.  -1 with errno.
 */
int store_delete(struct store *s, const char *id);

/*
 * Runs the retention policy over the index, never deleting current_id
 * (NULL: none), with need_free bytes lacking for the free-space reserve.
 * Returns the number of events deleted, *freed their bytes.
 */
unsigned store_retain(struct store *s, const struct retention_policy *p,
		      int64_t now_ns, uint64_t need_free,
		      const char *current_id, uint64_t *freed);

/* Allocates the spare file (when it is not there); -1 with errno (ENOSPC).
 * Releases it, for the metadata writes that follow a full disk. */
int store_spare_take(struct store *s);
void store_spare_release(struct store *s);

/* Bytes on disk of a file of the directory (0 when missing). */
uint64_t store_file_size(const struct store *s, const char *name);

#endif
