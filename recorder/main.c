/* SPDX-License-Identifier: MIT */
/*
 * vigil-record: maps a camera's ring read-only, keeps the last --pre
 * seconds in memory and records each motion event (frames flagged
 * RING_FRAME_MOTION, until --post seconds without) into crash-safe
 * Matroska clips with metadata and a thumbnail, keeping the recordings
 * directory within its limits.  main.c: options, start-up, privilege drop,
 * the frame loop and shutdown.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <malloc.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clip.h"
#include "clock.h"
#include "event.h"
#include "log.h"
#include "meta.h"
#include "notify.h"
#include "parse.h"
#include "privdrop.h"
#include "preroll.h"
#include "queue.h"
#include "recframe.h"
#include "retention.h"
#include "ring.h"
#include "ringtap.h"
#include "status.h"
#include "usage.h"
#include "store.h"

#define PROG "vigil-record"

#define REC_PRE_DEFAULT 5
#define REC_PRE_MAX 60
#define REC_POST_DEFAULT 5
#define REC_POST_MAX 3600
#define REC_MAX_EVENT_DEFAULT 600
#define REC_MAX_EVENT_MAX 86400
#define REC_KEEP_DAYS_DEFAULT 30
#define REC_KEEP_DAYS_MAX 36500
#define REC_MIN_FREE_PCT_DEFAULT 10
#define REC_BATCH_MS 100 /* frames are taken from the queue in batches */
/* While an event is recorded: the clip's writes then go out in chunks of
 * that much video, one wake and one direct write each (a wake, a write
 * and its wait cost more than the batch's decisions gain from 100 ms). */
#define REC_BATCH_EVENT_MS 500
#define REC_HOUSEKEEPING_MS 1000 /* metadata, state, space checks */
#define REC_ID_TRIES 1000 /* ids tried when a start time is taken */
#define REC_MMAP_THRESHOLD (32 << 20) /* see main() */
#define REC_RESUME_BYTES (1u << 20) /* free beyond the reserve to resume */

#define NS_PER_MS 1000000LL

/* The queue's frames are framed in place by the clip (write_frame). */
_Static_assert(QUEUE_ROOM_HEAD == CLIP_ROOM_HEAD &&
		       QUEUE_ROOM_ALIGN % CLIP_ROOM_ALIGN == 0,
	       "the queue lends the room the clip writes in");
#define NS_PER_S 1000000000LL

struct options {
	const char *camera;
	const char *dir;
	int64_t pre_ns, post_ns, max_ns;
	long keep_days;
	uint64_t max_size;
	uint64_t min_free; /* bytes, when min_free_pct < 0 */
	int min_free_pct;
	const char *user;
	int verbose;
	struct notify_config notify;
};

struct recorder {
	const struct options *o;
	struct store *store;
	int dirfd;
	struct preroll *pre;
	struct event_machine em;

	struct queue *queue;
	struct ringtap *tap;

	/* The event being recorded (em.active). */
	struct meta meta;
	struct clip *clip; /* NULL between parts or while paused */
	int listed; /* its metadata exists */
	int paused; /* a write failed: waiting for room */
	int failed; /* some write of this event failed */
	uint64_t closed_bytes; /* bytes of the finished parts */
	int meta_dirty;
	uint8_t *thumb;
	size_t thumb_len, thumb_cap;
	int thumb_dirty;

	struct meta pending; /* a finished event's metadata not yet written */
	int have_pending;

	struct status st;
	struct notify *notify; /* NULL when nothing is configured */
	int64_t next_housekeeping_ns;
	uint64_t free_bytes, total_bytes;
};

static volatile sig_atomic_t stopping;

/* ------------------------------------------------------------ options */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG
		" --camera NAME [--dir DIR] [--pre SEC] [--post SEC]\n"
		"       [--max-event SEC] [--keep-days N] [--max-size BYTES]\n"
		"       [--min-free BYTES|PCT%%] [--user USER] [-v]\n"
		"Records motion events of a camera's ring (frames flagged by motion\n"
		"detection) into Matroska clips with metadata and thumbnails.\n"
		"\n"
		"  --camera NAME      camera whose ring to record, [A-Za-z0-9_-]{1,32}\n"
		"  --dir DIR          recordings directory (created 0750 when missing);\n"
		"                     without it nothing is recorded, only notified\n"
		"  --pre SEC          seconds kept before the motion, 0..%d (default %d)\n"
		"  --post SEC         seconds without motion that end an event, 0..%d\n"
		"                     (default %d)\n"
		"  --max-event SEC    longest clip file; the event goes on in the next\n"
		"                     file, 1..%d (default %d)\n"
		"  --keep-days N      delete events older than N days, 0 for never\n"
		"                     (default %d)\n"
		"  --max-size BYTES   delete the oldest events above this total, suffixes\n"
		"                     k, M, G; 0 for no limit (default 0)\n"
		"  --min-free BYTES|PCT%%  keep this much of the filesystem free by\n"
		"                     deleting the oldest events (default %d%%)\n"
		"  --user USER        drop to USER after opening DIR (start as root)\n"
		"  -v, --verbose      log debug messages\n"
		"  -h, --help         this help\n"
		"  --version          print the version\n"
		"\n"
		"SIGTERM or SIGINT end the event being recorded and stop.\n"
		"Exit status: 0 stopped, 1 run-time error, 2 bad usage.\n\n",
		REC_PRE_MAX, REC_PRE_DEFAULT, REC_POST_MAX, REC_POST_DEFAULT,
		REC_MAX_EVENT_MAX, REC_MAX_EVENT_DEFAULT, REC_KEEP_DAYS_DEFAULT,
		REC_MIN_FREE_PCT_DEFAULT);
	notify_usage(f);
}

static void usage_error(const char *fmt, ...)
	__attribute__((noreturn, format(printf, 1, 2)));

static void usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	usage_vprint_error(stderr, PROG, fmt, ap);
	va_end(ap);
	exit(USAGE_EXIT);
}

static long flag_long(const char *opt, const char *s, long min, long max)
{
	long v;

	if (parse_long(s, min, max, &v, NULL) < 0)
		usage_error("bad %s '%s': want %ld..%ld", opt, s, min, max);
	return v;
}

/* A byte count with an optional k, M or G suffix (powers of 1024). */
static int parse_bytes(const char *s, uint64_t *out)
{
	return parse_byte_count(s, 0, (uint64_t)1 << 50, out);
}

static void parse_options(int argc, char **argv, struct options *o)
{
	enum { OPT_VERSION = 256 };
	static const struct option longopts[] = {
		{"camera", required_argument, NULL, 'c'},
		{"dir", required_argument, NULL, 'd'},
		{"pre", required_argument, NULL, 'p'},
		{"post", required_argument, NULL, 'P'},
		{"max-event", required_argument, NULL, 'x'},
		{"keep-days", required_argument, NULL, 'k'},
		{"max-size", required_argument, NULL, 's'},
		{"min-free", required_argument, NULL, 'f'},
		{"user", required_argument, NULL, 'u'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, OPT_VERSION},
		NOTIFY_LONGOPTS,
		{NULL, 0, NULL, 0},
	};
	char name[RING_NAME_MAX];
	size_t n;
	int ch;

	memset(o, 0, sizeof(*o));
	o->pre_ns = REC_PRE_DEFAULT * NS_PER_S;
	o->post_ns = REC_POST_DEFAULT * NS_PER_S;
	o->max_ns = REC_MAX_EVENT_DEFAULT * NS_PER_S;
	o->keep_days = REC_KEEP_DAYS_DEFAULT;
	o->min_free_pct = REC_MIN_FREE_PCT_DEFAULT;
	notify_config_init(&o->notify);
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->camera = optarg;
			break;
		case 'd':
			o->dir = optarg;
			break;
		case 'p':
			o->pre_ns = flag_long("--pre", optarg, 0, REC_PRE_MAX) *
				    NS_PER_S;
			break;
		case 'P':
			o->post_ns = flag_long("--post", optarg, 0,
					       REC_POST_MAX) *
				     NS_PER_S;
			break;
		case 'x':
			o->max_ns = flag_long("--max-event", optarg, 1,
					      REC_MAX_EVENT_MAX) *
				    NS_PER_S;
			break;
		case 'k':
			o->keep_days = flag_long("--keep-days", optarg, 0,
						 REC_KEEP_DAYS_MAX);
			break;
		case 's':
			if (parse_bytes(optarg, &o->max_size) < 0)
				usage_error("bad --max-size '%s': want BYTES "
					    "with an optional k, M or G",
					    optarg);
			break;
		case 'f':
			n = strlen(optarg);
			if (n > 1 && optarg[n - 1] == '%') {
				char pct[8];
				long v;

				if (n > sizeof(pct) ||
				    (memcpy(pct, optarg, n - 1),
				     pct[n - 1] = '\0',
				     parse_long(pct, 0, 90, &v, NULL) < 0))
					usage_error("bad --min-free '%s': want "
						    "0%%..90%% or BYTES",
						    optarg);
				o->min_free_pct = (int)v;
			} else if (parse_bytes(optarg, &o->min_free) == 0) {
				o->min_free_pct = -1;
			} else {
				usage_error("bad --min-free '%s': want BYTES "
					    "or PCT%%",
					    optarg);
			}
			break;
		case 'u':
			o->user = optarg;
			break;
		case 'v':
			o->verbose = 1;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case OPT_VERSION:
			usage_print_version(stdout, PROG);
			exit(0);
		case ':':
			usage_error("option '%s' needs a value",
				    argv[optind - 1]);
		default:
			if (ch >= NOTIFY_OPT_BASE && ch < NOTIFY_OPT_END) {
				char err[200];

				if (notify_parse_option(&o->notify, ch, optarg,
							err, sizeof(err)) < 0)
					usage_error("%s", err);
				break;
			}
			usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (o->camera == NULL)
		usage_error("--camera is required");
	if (o->dir != NULL && o->dir[0] == '\0')
		usage_error("bad --dir ''");
	if (o->dir == NULL && !notify_wanted(&o->notify))
		usage_error("--dir is required unless notifying (--mqtt, "
			    "--webhook, --on-event-start, --on-event-end)");
	o->notify.camera = o->camera;
	o->notify.dir = o->dir;
	o->notify.version = VIGIL_VERSION;
	if (ring_name(name, sizeof(name), o->camera, NULL) < 0)
		usage_error("bad camera name '%s': want [A-Za-z0-9_-]{1,%d}",
			    o->camera, RING_CAMERA_MAX);
}

/* ------------------------------------------------------------ privilege */

/* OpenBSD order: groups, gid, uid, then check none can be regained.  The
 * user's own groups are kept: they are how it may read the ring. */
static void drop_privileges(const struct passwd *pw)
{
	const char *why = NULL;

	if (privdrop(pw, &why) < 0) {
		if (errno != 0)
			fatal("%s, dropping to '%s'", why, pw->pw_name);
		fatalx("%s, dropping to '%s'", why, pw->pw_name);
	}
	log_info("running as '%s' (uid %u, gid %u)", pw->pw_name,
		 (unsigned)pw->pw_uid, (unsigned)pw->pw_gid);
}

/* ------------------------------------------------------------ errors */

static void note_error(struct recorder *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Remembers the last error for state.json (not logged here). */
static void note_error(struct recorder *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->st.last_error, sizeof(r->st.last_error), fmt, ap);
	va_end(ap);
	r->st.last_error_ns = clock_real_ns();
}

static uint64_t reserve_bytes(const struct recorder *r)
{
	if (r->o->min_free_pct >= 0)
		return r->total_bytes / 100 * (uint64_t)r->o->min_free_pct;
	return r->o->min_free;
}

static void refresh_space(struct recorder *r)
{
	if (store_space(r->store, &r->free_bytes, &r->total_bytes) < 0)
		log_warn("cannot read the free space of '%s'", r->o->dir);
}

static void run_retention(struct recorder *r)
{
	struct retention_policy p = {
		.keep_ns = (int64_t)r->o->keep_days * 86400 * NS_PER_S,
		.max_bytes = r->o->max_size,
	};
	uint64_t reserve, need = 0, freed;
	unsigned n;

	refresh_space(r);
	reserve = reserve_bytes(r);
	if (r->paused)
		reserve += REC_RESUME_BYTES;
	if (r->free_bytes < reserve)
		need = reserve - r->free_bytes;
	/* Most seconds nothing is due: skip building the plan. */
	if (need == 0 &&
	    (p.max_bytes == 0 || store_bytes(r->store) <= p.max_bytes) &&
	    (p.keep_ns == 0 || store_count(r->store) == 0 ||
	     clock_real_ns() - store_oldest(r->store) <= p.keep_ns))
		return;
	n = store_retain(r->store, &p, clock_real_ns(), need,
			 r->em.active ? r->meta.id : NULL, &freed);
	if (n > 0) {
		log_info("retention: deleted %u events, %" PRIu64 " bytes", n,
			 freed);
		refresh_space(r);
	}
}

/* ------------------------------------------------------------ event */

static void save_thumbnail(struct recorder *r)
{
	char name[META_NAME_MAX];

	if (!r->thumb_dirty)
		return;
	snprintf(name, sizeof(name), "%s.jpg", r->meta.id);
	/* Once written, a newer peak may be lost in a power cut: the old
	 * thumbnail will do. */
	if ((r->meta.thumbnail[0] != '\0'
		     ? meta_replace_update(r->dirfd, name, r->thumb,
					   r->thumb_len)
		     : meta_replace(r->dirfd, name, r->thumb, r->thumb_len)) <
	    0) {
		note_error(r, "cannot write thumbnail '%s': %s", name,
			   strerror(errno));
		log_debug("cannot write thumbnail '%s': %s", name,
			  strerror(errno));
		return;
	}
	r->thumb_dirty = 0;
	snprintf(r->meta.thumbnail, sizeof(r->meta.thumbnail), "%s", name);
}

/* update: only the counts, times, score and grid changed since the last
 * save, which the metadata may lose in a power cut (meta_update: the
 * recovery counts the frames in the clip again). */
static int save_meta(struct recorder *r, int update)
{
	if (!r->listed && r->meta.nfiles == 0)
		return 0; /* nothing on disk to list yet */
	r->meta.bytes = r->closed_bytes + (r->clip ? clip_bytes(r->clip) : 0);
	if ((update && r->listed ? meta_update(r->dirfd, &r->meta)
				 : meta_write(r->dirfd, &r->meta)) < 0) {
		note_error(r, "cannot write metadata of '%s': %s", r->meta.id,
			   strerror(errno));
		log_debug("cannot write metadata of '%s': %s", r->meta.id,
			  strerror(errno));
		return -1;
	}
	r->listed = 1;
	r->meta_dirty = 0;
	if (store_note(r->store, &r->meta) < 0)
		log_warn("cannot index event '%s'", r->meta.id);
	return 0;
}

/* The last metadata of an ended event, written once there is room. */
static void save_pending(struct recorder *r)
{
	if (!r->have_pending)
		return;
	/* Retention may have deleted it meanwhile: never list it again. */
	if (r->pending.nfiles == 0 ||
	    faccessat(r->dirfd, r->pending.files[0], F_OK,
		      AT_SYMLINK_NOFOLLOW) < 0) {
		r->have_pending = 0;
		return;
	}
	if (meta_write(r->dirfd, &r->pending) < 0)
		return;
	r->have_pending = 0;
	if (store_note(r->store, &r->pending) < 0)
		log_warn("cannot index event '%s'", r->pending.id);
}

static void keep_thumbnail(struct recorder *r, const struct recframe *f,
			   const void *jpeg, size_t len)
{
	if (r->thumb_cap < len) {
		uint8_t *t = realloc(r->thumb, len);

		if (t == NULL)
			return;
		r->thumb = t;
		r->thumb_cap = len;
	}
	memcpy(r->thumb, jpeg, len);
	r->thumb_len = len;
	r->thumb_dirty = 1;
	(void)f;
}

/* A write failed: the part is closed as it is; wait for room. */
static void pause_recording(struct recorder *r, int err)
{
	if (r->clip != NULL) {
		r->closed_bytes += clip_bytes(r->clip);
		clip_close(r->clip);
		r->clip = NULL;
	}
	/* The spare space is what lets the metadata below be written. */
	if (err == ENOSPC)
		store_spare_release(r->store);
	if (!r->paused) {
		if (err == ENOSPC)
			log_warnx(
				"disk full in '%s': clip of event '%s' closed, "
				"deleting old events; recording resumes when "
				"there is room",
				r->o->dir, r->meta.id);
		else
			log_warnx("cannot write event '%s': %s; recording "
				  "resumes when writing works again",
				  r->meta.id, strerror(err));
	}
	note_error(r, "cannot write event '%s': %s", r->meta.id, strerror(err));
	r->paused = 1;
	r->failed = 1;
	save_meta(r, 0);
	run_retention(r);
}

/* The clip borrows the frames it was given until this: call it before
 * their memory is reused. */
static void flush_clip(struct recorder *r)
{
	if (r->clip != NULL && clip_flush(r->clip) < 0)
		pause_recording(r, errno);
}

/* Opens the event's next part; 0 when a clip is open. */
static int open_part(struct recorder *r, const struct recframe *f)
{
	struct clip_config cc;
	char *name;

	if (r->clip != NULL)
		return 0;
	if (r->paused) {
		refresh_space(r);
		if (r->free_bytes < reserve_bytes(r) + REC_RESUME_BYTES)
			return -1;
	}
	if (r->meta.nfiles == META_FILES_MAX) {
		errno = EMLINK;
		return -1;
	}
	name = r->meta.files[r->meta.nfiles];
	if (r->meta.nfiles == 0)
		snprintf(name, META_NAME_MAX, "%s.mkv", r->meta.id);
	else
		snprintf(name, META_NAME_MAX, "%s.%u.mkv", r->meta.id,
			 r->meta.nfiles);
	memset(&cc, 0, sizeof(cc));
	cc.dirfd = r->dirfd;
	cc.name = name;
	cc.width = f->width;
	cc.height = f->height;
	cc.event_start_ns = r->meta.start_ns;
	cc.file_start_ns = f->realtime_ns;
	cc.title = r->meta.id;
	r->clip = clip_open(&cc);
	if (r->clip == NULL) {
		int err = errno;

		if (!r->paused)
			pause_recording(r, err);
		return -1;
	}
	r->meta.nfiles++;
	if (store_spare_take(r->store) < 0)
		log_debug("cannot allocate '%s': %s", STORE_SPARE_NAME,
			  strerror(errno));
	if (r->paused)
		log_info("recording of event '%s' resumed in '%s'", r->meta.id,
			 name);
	r->paused = 0;
	save_meta(r, 0);
	return 0;
}

/* in_queue: jpeg is a frame of the queue, with the room around it that the
 * clip may write (queue.h), so it goes to the disk without another copy. */
static void write_frame(struct recorder *r, const struct recframe *f,
			const void *jpeg, size_t len, int in_queue)
{
	unsigned i;
	int rc;

	if (open_part(r, f) < 0)
		return;
	if (in_queue)
		rc = clip_write_room(r->clip, (void *)(uintptr_t)jpeg, len,
				     f->realtime_ns);
	else
		rc = clip_write(r->clip, jpeg, len, f->realtime_ns);
	if (rc < 0) {
		pause_recording(r, errno);
		return;
	}
	r->meta.frames++;
	r->meta.last_ns = f->realtime_ns;
	r->st.frames++;
	if (f->score > r->meta.score ||
	    (r->thumb_len == 0 && (f->flags & RING_FRAME_MOTION))) {
		r->meta.score = f->score;
		keep_thumbnail(r, f, jpeg, len);
	}
	for (i = 0; i < RECFRAME_GRID_BYTES; i++)
		r->meta.grid[i] |= f->grid[i];
	r->meta_dirty = 1;
}

/* An id no event of the directory has (a clock set back could repeat one:
 * the id then names a millisecond later than the start). */
static void new_id(struct recorder *r, int64_t start_ns)
{
	char name[META_NAME_MAX];
	int k;

	for (k = 0; k < REC_ID_TRIES; k++) {
		if (meta_id(r->meta.id, sizeof(r->meta.id),
			    start_ns + k * NS_PER_MS, r->o->camera) < 0)
			snprintf(r->meta.id, sizeof(r->meta.id),
				 "19700101T000000.%03dZ-%s", k, r->o->camera);
		snprintf(name, sizeof(name), "%s.json", r->meta.id);
		if (faccessat(r->dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
			continue;
		snprintf(name, sizeof(name), "%s.mkv", r->meta.id);
		if (faccessat(r->dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
			continue;
		return;
	}
}

static void event_start(struct recorder *r, const struct recframe *f,
			const void *jpeg, size_t len)
{
	const struct recframe *first = f;
	unsigned i, n = preroll_count(r->pre);
	const void *pj;
	size_t pl;

	/* The pre-roll may hold a frame or two more than --pre. */
	for (i = 0; i < n; i++) {
		first = preroll_frame(r->pre, i, &pj, &pl);
		if (f->monotonic_ns - first->monotonic_ns <= r->o->pre_ns)
			break;
	}
	if (i == n)
		first = f;
	memset(&r->meta, 0, sizeof(r->meta));
	new_id(r, first->realtime_ns);
	snprintf(r->meta.camera, sizeof(r->meta.camera), "%s", r->o->camera);
	r->meta.start_ns = first->realtime_ns;
	r->meta.last_ns = first->realtime_ns;
	r->meta.width = f->width;
	r->meta.height = f->height;
	r->listed = 0;
	r->paused = 0;
	r->failed = 0;
	r->closed_bytes = 0;
	r->thumb_len = 0;
	r->thumb_dirty = 0;
	event_file_started(&r->em, first->monotonic_ns);
	log_info("event '%s' started", r->meta.id);

	/* The thumbnail exists before the metadata first names it. */
	r->meta.score = f->score;
	keep_thumbnail(r, f, jpeg, len);
	save_thumbnail(r);
	for (; i < n; i++) {
		const struct recframe *p = preroll_frame(r->pre, i, &pj, &pl);

		write_frame(r, p, pj, pl, 0);
	}
	flush_clip(r);
	preroll_clear(r->pre);
	write_frame(r, f, jpeg, len, 1);
	save_meta(r, 0);
	notify_event_start(r->notify, &r->meta, r->thumb, r->thumb_len);
}

static void event_split(struct recorder *r)
{
	if (r->clip != NULL) {
		r->closed_bytes += clip_bytes(r->clip);
		if (clip_close(r->clip) < 0)
			log_warn("cannot finish a clip of event '%s'",
				 r->meta.id);
		r->clip = NULL;
	}
}

static void notify_only_end(struct recorder *r);

static void event_end(struct recorder *r, int interrupted)
{
	unsigned i;

	if (r->store == NULL) {
		notify_only_end(r);
		return;
	}
	event_split(r);
	r->closed_bytes = 0;
	if (r->failed)
		r->meta.frames = 0;
	for (i = 0; i < r->meta.nfiles; i++) {
		uint64_t frames, bytes;
		int64_t pts;

		r->closed_bytes += store_file_size(r->store, r->meta.files[i]);
		/* Frames the muxer took before a failed write may not have
		 * reached the file: count what the files hold. */
		if (r->failed && clip_scan(r->dirfd, r->meta.files[i], &frames,
					   &bytes, &pts) == 0)
			r->meta.frames += frames;
	}
	r->meta.end_ns = r->meta.last_ns;
	r->meta.has_end = 1;
	r->meta.interrupted = interrupted;
	save_thumbnail(r);
	if (save_meta(r, 0) < 0 && r->listed) {
		/* Listed with "end": null until this can be written. */
		save_pending(r);
		r->pending = r->meta;
		r->have_pending = 1;
	}
	log_info("event '%s' ended: %.1f s, %" PRIu64 " frames, %" PRIu64
		 " bytes%s",
		 r->meta.id,
		 (double)(r->meta.end_ns - r->meta.start_ns) / NS_PER_S,
		 r->meta.frames, r->meta.bytes,
		 r->listed ? "" : " (nothing could be written)");
	notify_event_end(r->notify, &r->meta, r->thumb, r->thumb_len);
	r->paused = 0;
	run_retention(r);
}

/* Without --dir: the same event decisions, nothing written. */
static void notify_only_end(struct recorder *r)
{
	r->meta.end_ns = r->meta.last_ns;
	r->meta.has_end = 1;
	log_info("event '%s' ended: %.1f s", r->meta.id,
		 (double)(r->meta.end_ns - r->meta.start_ns) / NS_PER_S);
	notify_event_end(r->notify, &r->meta, r->thumb, r->thumb_len);
}

static void notify_only_frame(struct recorder *r, const struct recframe *f,
			      const void *jpeg, size_t len)
{
	switch (event_frame(&r->em, f->monotonic_ns,
			    (f->flags & RING_FRAME_MOTION) != 0)) {
	case EVENT_START:
		memset(&r->meta, 0, sizeof(r->meta));
		if (meta_id(r->meta.id, sizeof(r->meta.id), f->realtime_ns,
			    r->o->camera) < 0)
			snprintf(r->meta.id, sizeof(r->meta.id),
				 "19700101T000000.000Z-%s", r->o->camera);
		snprintf(r->meta.camera, sizeof(r->meta.camera), "%s",
			 r->o->camera);
		r->meta.start_ns = f->realtime_ns;
		r->meta.last_ns = f->realtime_ns;
		r->meta.width = f->width;
		r->meta.height = f->height;
		r->meta.score = f->score;
		r->thumb_len = 0;
		keep_thumbnail(r, f, jpeg, len);
		event_file_started(&r->em, f->monotonic_ns);
		log_info("event '%s' started", r->meta.id);
		notify_event_start(r->notify, &r->meta, r->thumb, r->thumb_len);
		break;
	case EVENT_SPLIT:
		event_file_started(&r->em, f->monotonic_ns);
		/* fall through */
	case EVENT_RECORD:
		r->meta.last_ns = f->realtime_ns;
		r->meta.frames++;
		if (f->score > r->meta.score) {
			r->meta.score = f->score;
			keep_thumbnail(r, f, jpeg, len);
		}
		break;
	case EVENT_END:
		notify_only_end(r);
		break;
	case EVENT_IDLE:
		break;
	}
}

static void on_frame(struct recorder *r, const struct recframe *f,
		     const void *jpeg, size_t len)
{
	if (r->store == NULL) {
		notify_only_frame(r, f, jpeg, len);
		return;
	}
	switch (event_frame(&r->em, f->monotonic_ns,
			    (f->flags & RING_FRAME_MOTION) != 0)) {
	case EVENT_IDLE:
		break;
	case EVENT_START:
		event_start(r, f, jpeg, len);
		return;
	case EVENT_SPLIT:
		event_split(r);
		if (r->meta.nfiles == META_FILES_MAX) {
			/* One event has as many files as it may: go on as a
			 * new event. */
			event_end(r, 0);
			event_reset(&r->em);
			event_frame(&r->em, f->monotonic_ns, 1);
			event_start(r, f, jpeg, len);
			return;
		}
		/* fall through */
	case EVENT_RECORD:
		write_frame(r, f, jpeg, len, 1);
		return;
	case EVENT_END:
		event_end(r, 0);
		break;
	}
	if (preroll_push(r->pre, f, jpeg, len) < 0)
		log_debug("frame %" PRIu64 " not kept for the pre-roll: %s",
			  f->seq, strerror(errno));
}

/* ------------------------------------------------------------ housekeeping */

static void write_state(struct recorder *r)
{
	char notify[NOTIFY_STATS_MAX];

	if (r->store == NULL)
		return;
	r->st.notify = NULL;
	if (r->notify != NULL &&
	    notify_stats_json(r->notify, notify, sizeof(notify)) > 0)
		r->st.notify = notify;
	r->st.camera = r->o->camera;
	r->st.recording = r->em.active && r->clip != NULL;
	r->st.event = r->em.active ? r->meta.id : NULL;
	r->st.events = store_count(r->store);
	r->st.bytes = store_bytes(r->store);
	r->st.free_bytes = r->free_bytes;
	r->st.total_bytes = r->total_bytes;
	r->st.camera_online = ringtap_online(r->tap);
	r->st.frames_missed = ringtap_missed(r->tap) + queue_dropped(r->queue);
	if (status_write(r->dirfd, &r->st, clock_real_ns()) < 0)
		log_debug("cannot write '%s': %s", STORE_STATE_NAME,
			  strerror(errno));
}

/* idle: no frame is waiting, so the quiet time is measured against now
 * (with frames queued, the frames' own times decide). */
static void housekeeping(struct recorder *r, int idle)
{
	int64_t now = clock_mono_ns();

	if (idle && r->em.active && event_tick(&r->em, now) == EVENT_END)
		event_end(r, 0);
	if (now < r->next_housekeeping_ns || r->store == NULL)
		return;
	r->next_housekeeping_ns = now + REC_HOUSEKEEPING_MS * NS_PER_MS;
	if (r->em.active) {
		flush_clip(r);
		save_thumbnail(r);
		if (r->meta_dirty)
			save_meta(r, 1);
	}
	run_retention(r);
	save_pending(r);
	write_state(r);
}

/* ------------------------------------------------------------ main */

/* Without --dir: the frame loop and the event decisions only. */
static void run_notify_only(struct recorder *r)
{
	r->pre = NULL;
	event_init(&r->em, r->o->post_ns, r->o->max_ns);
	if (notify_start(r->notify) < 0)
		fatal("cannot start the notifications");
	r->queue = queue_create(0);
	if (r->queue == NULL)
		fatal("cannot allocate the frame queue");
	r->tap = ringtap_start(r->o->camera, r->queue);
	if (r->tap == NULL)
		fatal("cannot start the ring reader");
	log_info("notifying events of camera '%s' (nothing is recorded)",
		 r->o->camera);
	while (!stopping) {
		unsigned i, n = queue_wait(r->queue, REC_BATCH_MS);

		for (i = 0; i < n; i++) {
			void *jpeg;
			size_t len;
			const struct recframe *f = queue_at(r->queue, i, &jpeg,
							    &len);

			on_frame(r, f, jpeg, len);
		}
		queue_pop_n(r->queue, n);
		if (n == 0 && r->em.active &&
		    event_tick(&r->em, clock_mono_ns()) == EVENT_END)
			notify_only_end(r);
	}
	log_info("shutting down (signal)");
	if (r->em.active)
		notify_only_end(r);
	notify_destroy(r->notify);
	ringtap_stop(r->tap);
	queue_destroy(r->queue);
	free(r->thumb);
}

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

int main(int argc, char **argv)
{
	struct options o;
	struct recorder r;
	struct store_recovery rec;
	struct passwd *pw = NULL;
	struct sigaction sa;
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;

	parse_options(argc, argv, &o);
	log_init(PROG, o.verbose ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
	clip_set_verbose(o.verbose);
	/* libavformat builds each cluster (about a second of JPEGs) in a
	 * fresh growing buffer: from the heap, not one mmap and munmap a
	 * cluster with its page faults. */
	mallopt(M_MMAP_THRESHOLD, REC_MMAP_THRESHOLD);
	mallopt(M_TRIM_THRESHOLD, REC_MMAP_THRESHOLD);
	umask(027);
	memset(&r, 0, sizeof(r));
	r.o = &o;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: the futex wait ends */
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) < 0 ||
	    sigaction(SIGINT, &sa, NULL) < 0 ||
	    signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		fatal("cannot set up signal handling");

	if (o.user != NULL) {
		errno = 0;
		pw = getpwnam(o.user);
		if (pw == NULL)
			fatalx("unknown user '%s'%s%s", o.user,
			       errno ? ": " : "", errno ? strerror(errno) : "");
		if (geteuid() != 0)
			fatalx("--user '%s' needs root to start", o.user);
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	}
	if (notify_wanted(&o.notify)) {
		char err[300];

		/* Before the privilege drop: the secret files may be
		 * root's. */
		r.notify = notify_create(&o.notify, err, sizeof(err));
		if (r.notify == NULL)
			fatalx("notifications: %s", err);
	}
	if (o.dir == NULL) {
		if (pw != NULL)
			drop_privileges(pw);
		run_notify_only(&r);
		return 0;
	}
	r.store = store_open(o.dir, uid, gid);
	if (r.store == NULL) {
		if (errno == EWOULDBLOCK)
			fatalx("another vigil-record records into '%s'", o.dir);
		fatal("cannot open recordings directory '%s'", o.dir);
	}
	r.dirfd = store_dirfd(r.store);
	if (pw != NULL)
		drop_privileges(pw);
	if (faccessat(r.dirfd, ".", W_OK | X_OK, AT_EACCESS) < 0)
		fatal("cannot write into '%s'", o.dir);
	if (r.notify != NULL && notify_start(r.notify) < 0)
		fatal("cannot start the notifications");

	if (store_recover(r.store, &rec) < 0)
		fatal("cannot read recordings directory '%s'", o.dir);
	log_info("'%s': %u events, %" PRIu64 " bytes; %u interrupted events "
		 "closed, %u clips listed again, %u stray files removed",
		 o.dir, rec.events, store_bytes(r.store), rec.interrupted,
		 rec.orphans, rec.removed);

	if (store_spare_take(r.store) < 0)
		log_warn("cannot allocate '%s' in '%s'", STORE_SPARE_NAME,
			 o.dir);
	r.pre = preroll_create(o.pre_ns, 0);
	if (r.pre == NULL)
		fatal("cannot allocate the pre-roll");
	event_init(&r.em, o.post_ns, o.max_ns);
	refresh_space(&r);
	run_retention(&r);
	log_info("recording camera '%s' into '%s' (pre %" PRId64
		 " s, post %" PRId64 " s)",
		 o.camera, o.dir, (int64_t)(o.pre_ns / NS_PER_S),
		 (int64_t)(o.post_ns / NS_PER_S));

	r.queue = queue_create(0);
	if (r.queue == NULL)
		fatal("cannot allocate the frame queue");
	r.tap = ringtap_start(o.camera, r.queue);
	if (r.tap == NULL)
		fatal("cannot start the ring reader");
	while (!stopping) {
		int batch_ms = r.em.active && r.clip != NULL
				       ? REC_BATCH_EVENT_MS
				       : REC_BATCH_MS;
		unsigned i, n = queue_wait(r.queue, batch_ms);

		for (i = 0; i < n; i++) {
			void *jpeg;
			size_t len;
			const struct recframe *f = queue_at(r.queue, i, &jpeg,
							    &len);

			on_frame(&r, f, jpeg, len);
		}
		/* The clip borrows the queue's frames until it is flushed. */
		flush_clip(&r);
		queue_pop_n(r.queue, n);
		housekeeping(&r, n == 0);
	}

	log_info("shutting down (signal)");
	if (r.em.active)
		event_end(&r, 0);
	save_pending(&r);
	write_state(&r);
	notify_destroy(r.notify);
	ringtap_stop(r.tap);
	queue_destroy(r.queue);
	preroll_destroy(r.pre);
	free(r.thumb);
	store_close(r.store);
	return 0;
}
