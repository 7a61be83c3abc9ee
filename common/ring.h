/* SPDX-License-Identifier: MIT */
/*
 * ring: the shared-memory frame ring between one vigil-capture (the writer)
 * and any number of vigil-server processes (readers).  This header is the
 * manual: the segment layout, who may touch what, and the ordering rules.
 *
 * Segment "/vigil.<camera>" (POSIX shm, mode 0640):
 *
 *   struct ring_header              one page, fixed-width fields only
 *   struct ring_slot  x slot_count  each slot_size bytes, 64-byte aligned:
 *       struct ring_slot_header     seqlock word, frame sequence, length, times,
 *                                   motion result (score, since, grid)
 *       payload                     the JPEG bytes (slot_size - header)
 *
 * Writer protocol (one writer, never waits for a reader):
 *   1. slot.lock = odd (relaxed store, then release fence)
 *   2. write slot header fields and payload
 *   3. slot.lock = next even value (release store)
 *   4. header.latest_slot = slot (relaxed), header.seq = low 32 bits of the
 *      frame sequence (release store), FUTEX_WAKE(header.seq, all).
 *
 * Reader protocol (read-only mapping, never writes, never blocks the writer):
 *   seq = load_acquire(header.seq); slot = header.latest_slot (bounds-checked);
 *   l1 = load_acquire(slot.lock); odd -> retry; copy header and payload out
 *   (length bounds-checked); acquire fence; l2 = load(slot.lock);
 *   l1 != l2 -> torn, discard.  Waiting is FUTEX_WAIT on header.seq, which
 *   works on a PROT_READ shared mapping.
 *
 * Every word read outside a seqlock is 32 bits wide so that it is lock-free on
 * every Raspberry Pi (ARMv6 included); 64-bit fields are read only inside the
 * slot seqlock.  Times that readers compare across processes are
 * CLOCK_MONOTONIC (system-wide).
 *
 * A capture that starts takes an exclusive lock on "/vigil.<camera>.lock"
 * (mode 0600, so a reader cannot hold it), then creates a *new* segment under
 * the name: readers still mapping the old one see it marked closed (or its
 * heartbeat go stale, after a crash) and re-attach by name.  The generation of
 * the new segment is the old one's plus one.
 *
 * common/ never logs: every function returns an error code and sets errno,
 * and ring_strerror() turns a status into words.
 *
 * Code: ring_writer.c (the writer's side), ring_reader.c (the reader's side),
 * ring.c (what both share).  vigil-server links the reader's side only.
 */
#ifndef VIGIL_RING_H
#define VIGIL_RING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define RING_MAGIC 0x474e49524c474956ULL /* "VIGLRING" little-endian */
#define RING_VERSION 2u
#define RING_HEADER_SIZE 4096u
#define RING_SLOT_HEADER_SIZE 128u
#define RING_SLOT_ALIGN 64u
#define RING_NAME_MAX 64 /* "/vigil." + camera + ".lock" + NUL fits */
#define RING_CAMERA_MAX 32 /* camera names: [A-Za-z0-9_-]{1,32} */

#define RING_SLOTS_MIN 2u
#define RING_SLOTS_MAX 256u
#define RING_SLOTS_DEFAULT 8u
#define RING_SLOT_SIZE_MIN 4096u
#define RING_SLOT_SIZE_MAX (64u << 20)
#define RING_SLOT_SIZE_DEFAULT (2u << 20)
#define RING_SEGMENT_MAX \
	((uint64_t)1 << 30) /* readers refuse anything larger */

#define RING_HEARTBEAT_MS 200u /* writer refreshes at least this often */
#define RING_STALE_MS 1000u /* no heartbeat for this long: writer gone */

enum ring_state {
	RING_STATE_LIVE = 1, /* a writer owns the segment */
	RING_STATE_CLOSED = 2, /* the writer exited cleanly or was replaced */
};

/* The motion grid: RING_MOTION_COLS x RING_MOTION_ROWS cells, one bit each. */
#define RING_MOTION_COLS 32u
#define RING_MOTION_ROWS 18u
#define RING_MOTION_GRID_BYTES \
	(RING_MOTION_COLS * RING_MOTION_ROWS / 8) /* 72 */
#define RING_MOTION_SCORE_MAX 1000u /* per mille */

enum ring_frame_flag {
	RING_FRAME_KEY = 1u << 0, /* reserved: every JPEG is a key frame */
	RING_FRAME_MOTION = 1u << 1, /* motion is declared at this frame */
	RING_FRAME_ANALYSED = 1u << 2, /* score, since and grid hold a result */
};

/*
 * A motion detector's result for one frame, given to the writer.
 * Grid: row-major from the top-left; cell (c, r) is bit (c % 8) of byte
 * r * (RING_MOTION_COLS / 8) + c / 8.  A set bit: that cell changed.
 */
struct ring_motion {
	uint32_t score; /* changed share of the picture, per mille, 0..1000 */
	int64_t since_ns; /* CLOCK_REALTIME ns when the current motion period
			     was declared; 0 while no motion is declared */
	uint8_t grid[RING_MOTION_GRID_BYTES];
};

/* The segment layout.  Fixed-width fields, explicit padding, asserted below. */
struct ring_header {
	uint64_t magic; /* RING_MAGIC */
	uint32_t version; /* RING_VERSION */
	uint32_t header_size; /* RING_HEADER_SIZE: offset of slot 0 */
	uint32_t slot_count; /* RING_SLOTS_MIN..RING_SLOTS_MAX */
	uint32_t slot_size; /* bytes per slot, slot header included */
	uint64_t segment_size; /* header_size + slot_count * slot_size */
	uint32_t width; /* picture format as configured */
	uint32_t height;
	uint32_t fps_num; /* frame rate = fps_num / fps_den */
	uint32_t fps_den;
	uint32_t writer_pid; /* for messages only */
	uint32_t reserved0;
	char camera[RING_CAMERA_MAX + 1];
	uint8_t reserved1[7];
	/* Written by the writer while live; 32-bit atomics (see above). */
	_Atomic uint32_t generation; /* changes each time a capture starts */
	_Atomic uint32_t state; /* enum ring_state */
	_Atomic uint32_t heartbeat_ms; /* CLOCK_MONOTONIC ms, wraps */
	_Atomic uint32_t latest_slot; /* index of the newest complete frame */
	_Atomic uint32_t seq; /* low 32 bits of newest sequence; futex */
	_Atomic uint32_t
		frames_dropped; /* frames the writer skipped (too big..) */
	uint8_t reserved2[RING_HEADER_SIZE - 120];
};

/* Motion fields hold a result only when flags has RING_FRAME_ANALYSED; the
 * writer zeroes them otherwise. */
struct ring_slot_header {
	_Atomic uint32_t lock; /* seqlock: odd while the writer is in here */
	uint32_t flags; /* enum ring_frame_flag */
	uint64_t seq; /* frame sequence number, 1, 2, ... */
	uint32_t length; /* payload bytes */
	uint32_t width; /* picture size of this frame */
	uint32_t height;
	uint32_t motion_score; /* per mille, 0..RING_MOTION_SCORE_MAX */
	int64_t realtime_ns; /* capture time, CLOCK_REALTIME */
	int64_t monotonic_ns; /* capture time, CLOCK_MONOTONIC */
	int64_t motion_since_ns; /* CLOCK_REALTIME; 0: no motion declared */
	uint8_t motion_grid
		[RING_MOTION_GRID_BYTES]; /* see struct ring_motion */
};

_Static_assert(sizeof(struct ring_header) == RING_HEADER_SIZE, "header size");
_Static_assert(offsetof(struct ring_header, generation) == 96, "generation");
_Static_assert(offsetof(struct ring_header, seq) == 112, "seq offset");
_Static_assert(sizeof(struct ring_slot_header) == RING_SLOT_HEADER_SIZE,
	       "slot header size");
_Static_assert(offsetof(struct ring_slot_header, lock) == 0, "lock");
_Static_assert(offsetof(struct ring_slot_header, flags) == 4, "flags");
_Static_assert(offsetof(struct ring_slot_header, seq) == 8, "slot seq");
_Static_assert(offsetof(struct ring_slot_header, length) == 16, "length");
_Static_assert(offsetof(struct ring_slot_header, width) == 20, "width");
_Static_assert(offsetof(struct ring_slot_header, height) == 24, "height");
_Static_assert(offsetof(struct ring_slot_header, motion_score) == 28, "score");
_Static_assert(offsetof(struct ring_slot_header, realtime_ns) == 32, "ts");
_Static_assert(offsetof(struct ring_slot_header, monotonic_ns) == 40, "mono");
_Static_assert(offsetof(struct ring_slot_header, motion_since_ns) == 48,
	       "since");
_Static_assert(offsetof(struct ring_slot_header, motion_grid) == 56, "grid");
_Static_assert(RING_MOTION_GRID_BYTES == 72, "grid bytes");
_Static_assert(RING_MOTION_COLS % 8 == 0, "grid rows are whole bytes");
_Static_assert(RING_SLOT_HEADER_SIZE % RING_SLOT_ALIGN == 0, "slot align");
_Static_assert(sizeof(_Atomic uint32_t) == 4, "atomic u32 is 4 bytes");

/* What a reader learns about one frame. */
struct ring_frame {
	uint64_t seq;
	uint32_t length;
	uint32_t flags;
	uint32_t width;
	uint32_t height;
	uint32_t generation;
	int64_t realtime_ns;
	int64_t monotonic_ns;
	/* Zeroed when flags lacks RING_FRAME_ANALYSED. */
	uint32_t motion_score; /* per mille, 0..RING_MOTION_SCORE_MAX */
	int64_t motion_since_ns; /* CLOCK_REALTIME; 0: no motion declared */
	uint8_t motion_grid[RING_MOTION_GRID_BYTES];
};

/* Outcomes with more than two values (STYLE.md: a named enum). */
enum ring_status {
	RING_OK = 0,
	RING_TIMEOUT, /* wait: nothing new before the timeout */
	RING_NONE, /* read: no frame published yet */
	RING_TORN, /* read: the writer overwrote the slot mid-copy */
	RING_STALE, /* no heartbeat for RING_STALE_MS: writer gone */
	RING_CLOSED, /* the writer closed or replaced the segment */
	RING_BAD_MAGIC, /* not a vigil ring */
	RING_BAD_VERSION, /* a vigil ring of another layout version */
	RING_CORRUPT, /* geometry or an index/length out of bounds */
	RING_ERROR, /* system call failed, see errno */
};

const char *ring_strerror(enum ring_status status);

/* Fills name (RING_NAME_MAX bytes) with "/vigil.<camera>" (suffix NULL) or
 * "/vigil.<camera><suffix>".  -1 with EINVAL when the camera name is not
 * [A-Za-z0-9_-]{1,RING_CAMERA_MAX}. */
int ring_name(char *name, size_t size, const char *camera, const char *suffix);

/* CLOCK_MONOTONIC in milliseconds, truncated to 32 bits like heartbeat_ms. */
uint32_t ring_now_ms(void);

/* ---------------------------------------------------------------- writer */

struct ring_writer;

/* The sub-stream's ring: "/vigil.<camera>.sub", a smaller picture of the
 * same camera, the same layout and rules (its own lock
 * "/vigil.<camera>.sub.lock", its own generation).  Its header's camera field
 * holds the camera's name without the suffix. */
#define RING_SUB_SUFFIX ".sub"

/* A ring suffix: NULL (the main ring) or "." and 1..8 of [a-z] other than
 * ".lock" and ".new" (names the writer uses itself). */
int ring_suffix_valid(const char *suffix);

struct ring_writer_config {
	const char *camera; /* required */
	const char *suffix; /* NULL: "/vigil.<camera>"; RING_SUB_SUFFIX:
			       "/vigil.<camera>.sub" (ring_suffix_valid) */
	uint32_t slot_count; /* 0: RING_SLOTS_DEFAULT */
	uint32_t slot_size; /* 0: RING_SLOT_SIZE_DEFAULT; rounded up to 64 */
	gid_t gid; /* group that may read; (gid_t)-1: leave as is */
	uint32_t width, height, fps_num, fps_den;
};

/*
 * Creates the segment for cfg->camera and takes the camera's lock.
 * -1 with errno: EBUSY when another live capture holds the camera (its pid in
 * *holder_pid when not NULL), EINVAL for a bad config, EPERM when an existing
 * segment or lock belongs to another user or is writable by others, or the
 * errno of the failing system call (ENOSPC when /dev/shm is full...).
 */
int ring_writer_create(struct ring_writer **out,
		       const struct ring_writer_config *cfg, pid_t *holder_pid);

/* Largest payload a slot holds. */
size_t ring_writer_capacity(const struct ring_writer *w);

/* The generation of this writer's segment. */
uint32_t ring_writer_generation(const struct ring_writer *w);

/*
 * Zero-copy publishing: begin returns the payload area of the next slot
 * (ring_writer_capacity() bytes) and marks it busy; commit publishes length
 * bytes of it as the next frame and wakes the readers; abort gives the slot
 * back without publishing.  Exactly one of commit/abort follows each begin.
 * realtime_ns/monotonic_ns 0 means "now".  commit fails with EMSGSIZE when
 * length exceeds the capacity (the frame is dropped and counted).
 * motion (borrowed for the call) is NULL when the frame has no motion result:
 * the writer then clears RING_FRAME_ANALYSED and RING_FRAME_MOTION from flags
 * and zeroes the motion fields.  With a result it sets RING_FRAME_ANALYSED;
 * the caller passes RING_FRAME_MOTION in flags when motion is declared.
 * -1 with EINVAL when motion->score exceeds RING_MOTION_SCORE_MAX (the slot
 * is given back, nothing is published).
 */
void *ring_writer_begin(struct ring_writer *w);
int ring_writer_commit(struct ring_writer *w, size_t length, uint32_t flags,
		       uint32_t width, uint32_t height, int64_t realtime_ns,
		       int64_t monotonic_ns, const struct ring_motion *motion);
void ring_writer_abort(struct ring_writer *w);

/* begin + copy + commit. -1 with EMSGSIZE when len is over the capacity. */
int ring_writer_publish(struct ring_writer *w, const void *jpeg, size_t len,
			uint32_t flags, uint32_t width, uint32_t height,
			int64_t realtime_ns, int64_t monotonic_ns,
			const struct ring_motion *motion);

/* The sequence number the last commit published (0 before the first). */
uint64_t ring_writer_seq(const struct ring_writer *w);

/* Counts a frame the writer had to skip (shown to readers). */
void ring_writer_count_drop(struct ring_writer *w);

/* Refreshes the heartbeat; call at least every RING_HEARTBEAT_MS. */
void ring_writer_heartbeat(struct ring_writer *w);

/* Marks the segment closed, wakes readers, unlinks the name (when it is still
 * ours), releases the lock, unmaps.  Accepts NULL. */
void ring_writer_close(struct ring_writer *w);

/* ---------------------------------------------------------------- reader */

struct ring_reader;

/*
 * Attaches read-only (O_RDONLY, PROT_READ) to "/vigil.<camera>".  Returns
 * RING_OK, RING_ERROR (errno ENOENT: no capture has created it yet; EACCES),
 * RING_BAD_MAGIC, RING_BAD_VERSION (the version found in *found_version when
 * not NULL) or RING_CORRUPT.  *out is set only on RING_OK.
 */
enum ring_status ring_reader_open(struct ring_reader **out, const char *camera,
				  uint32_t *found_version);

/* The same for "/vigil.<camera><suffix>" (suffix NULL: the main ring, as
 * ring_reader_open; RING_SUB_SUFFIX: the sub-stream).  RING_ERROR with
 * EINVAL when the suffix is not ring_suffix_valid. */
enum ring_status ring_reader_open_suffix(struct ring_reader **out,
					 const char *camera, const char *suffix,
					 uint32_t *found_version);

/*
 * The same validation over memory that is not a shm segment (the fuzzer, the
 * tests).  mem must stay valid and mapped until ring_reader_close; it is
 * never written.
 */
enum ring_status ring_reader_attach(struct ring_reader **out, const void *mem,
				    size_t size, uint32_t *found_version);

/* Accepts NULL. */
void ring_reader_close(struct ring_reader *r);

/* Validated geometry, copied at attach time (never re-read from the segment). */
size_t ring_reader_capacity(const struct ring_reader *r); /* max payload */
uint32_t ring_reader_slot_count(const struct ring_reader *r);
uint32_t ring_reader_generation(const struct ring_reader *r);
void ring_reader_format(const struct ring_reader *r, uint32_t *width,
			uint32_t *height, uint32_t *fps_num, uint32_t *fps_den);

/* The mapped segment, read-only (tests and diagnostics). */
const void *ring_reader_mem(const struct ring_reader *r);

/* Low 32 bits of the newest published sequence (acquire). */
uint32_t ring_reader_seq(const struct ring_reader *r);

/*
 * Blocks until the sequence word differs from last_seq32, or timeout_ms
 * passes (RING_TIMEOUT), or the writer closes (RING_CLOSED).  A futex wait,
 * no polling.  Returns RING_OK when something new is there.  EINTR is
 * returned as RING_TIMEOUT so callers re-check their own state.
 */
enum ring_status ring_reader_wait(const struct ring_reader *r,
				  uint32_t last_seq32, int timeout_ms);

/*
 * Copies the newest frame into buf (cap bytes; ring_reader_capacity() is
 * always enough) and its description into *frame.  RING_OK, RING_NONE
 * (nothing published yet), RING_TORN (overwritten mid-copy: retry or wait;
 * the bytes in buf are garbage), RING_CORRUPT (an index or length out of
 * bounds, or a motion score over RING_MOTION_SCORE_MAX), RING_ERROR with
 * ENOBUFS when cap is too small.
 */
enum ring_status ring_reader_read(const struct ring_reader *r,
				  struct ring_frame *frame, void *buf,
				  size_t cap);

/*
 * Copies the frame with sequence number seq (not only the newest: any frame
 * the ring still holds) into buf and *frame, under the slot's seqlock and
 * with the bounds checks of ring_reader_read.  A reader that fell a few
 * frames behind reads each one it missed, oldest first.  RING_OK; RING_NONE
 * when no slot holds seq (already overwritten, not yet published, or 0);
 * RING_TORN (being overwritten right now: the frame is as good as gone once
 * a retry says RING_NONE); RING_CORRUPT; RING_ERROR with ENOBUFS when cap is
 * too small.  Sequences restart with each generation.  At most slot_count
 * slot-header reads, no system call.
 */
enum ring_status ring_reader_read_seq(const struct ring_reader *r, uint64_t seq,
				      struct ring_frame *frame, void *buf,
				      size_t cap);

/*
 * The writer's health: RING_OK, RING_CLOSED (clean exit or replaced),
 * RING_STALE (no heartbeat for stale_ms; 0 means RING_STALE_MS).  Also gives
 * the heartbeat age in ms when age_ms is not NULL.
 */
enum ring_status ring_reader_health(const struct ring_reader *r,
				    uint32_t stale_ms, uint32_t *age_ms);

/*
 * 1 when the name "/vigil.<camera>" now refers to another segment than the
 * one mapped (a new capture started: close and open again), 0 when it is
 * still ours, -1 with errno (ENOENT: no segment under the name now).
 * A system call: call it when health is not RING_OK, not per frame.
 */
int ring_reader_replaced(const struct ring_reader *r);

#endif
