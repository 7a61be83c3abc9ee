/* SPDX-License-Identifier: MIT */
/* store: the recordings directory, its recovery and its index. */
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "clip.h"
#include "log.h"

#define NS_PER_MS 1000000LL

struct store_entry {
	char id[META_ID_MAX];
	int64_t start_ns;
	uint64_t bytes;
};

struct store {
	int dirfd;
	int lockfd;
	struct store_entry *ev; /* sorted by id, i.e. by start */
	unsigned count, cap;
	uint64_t bytes;
};

struct store *store_open(const char *dir, uid_t uid, gid_t gid)
{
	struct store *s = calloc(1, sizeof(*s));
	int saved;

	if (s == NULL)
		return NULL;
	s->dirfd = -1;
	s->lockfd = -1;
	if (mkdir(dir, STORE_DIR_MODE) == 0) {
		if ((uid != (uid_t)-1 || gid != (gid_t)-1) &&
		    chown(dir, uid, gid) < 0)
			goto fail;
	} else if (errno != EEXIST) {
		goto fail;
	}
	s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0)
		goto fail;
	s->lockfd = openat(s->dirfd, STORE_LOCK_NAME,
			   O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (s->lockfd < 0)
		goto fail;
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) &&
	    fchown(s->lockfd, uid, gid) < 0)
		goto fail;
	if (flock(s->lockfd, LOCK_EX | LOCK_NB) < 0)
		goto fail;
	return s;
fail:
	saved = errno;
	store_close(s);
	errno = saved;
	return NULL;
}

void store_close(struct store *s)
{
	if (s == NULL)
		return;
	if (s->lockfd >= 0)
		close(s->lockfd);
	if (s->dirfd >= 0)
		close(s->dirfd);
	free(s->ev);
	free(s);
}

int store_dirfd(const struct store *s)
{
	return s->dirfd;
}

unsigned store_count(const struct store *s)
{
	return s->count;
}

uint64_t store_bytes(const struct store *s)
{
	return s->bytes;
}

int64_t store_oldest(const struct store *s)
{
	return s->count > 0 ? s->ev[0].start_ns : 0;
}

int store_space(const struct store *s, uint64_t *avail, uint64_t *total)
{
	struct statvfs sv;

	if (fstatvfs(s->dirfd, &sv) < 0)
		return -1;
	*avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	*total = (uint64_t)sv.f_blocks * sv.f_frsize;
	return 0;
}

uint64_t store_file_size(const struct store *s, const char *name)
{
	struct stat sb;

	if (fstatat(s->dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	return (uint64_t)sb.st_size;
}

int store_spare_take(struct store *s)
{
	int fd, rc, saved;

	if (store_file_size(s, STORE_SPARE_NAME) == STORE_SPARE_BYTES)
		return 0;
	fd = openat(s->dirfd, STORE_SPARE_NAME,
		    O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -1;
	rc = posix_fallocate(fd, 0, STORE_SPARE_BYTES);
	if (rc == 0 && fdatasync(fd) < 0)
		rc = errno;
	close(fd);
	if (rc != 0) {
		saved = rc;
		unlinkat(s->dirfd, STORE_SPARE_NAME, 0);
		errno = saved;
		return -1;
	}
	return 0;
}

void store_spare_release(struct store *s)
{
	unlinkat(s->dirfd, STORE_SPARE_NAME, 0);
}

/* ------------------------------------------------------------ index */

static long find(const struct store *s, const char *id)
{
	unsigned i;

	/* Newest first: the event being updated is nearly always last. */
	for (i = s->count; i-- > 0;)
		if (strcmp(s->ev[i].id, id) == 0)
			return (long)i;
	return -1;
}

int store_note(struct store *s, const struct meta *m)
{
	long at = find(s, m->id);
	unsigned i;

	if (at >= 0) {
		s->bytes -= s->ev[at].bytes;
		s->ev[at].bytes = m->bytes;
		s->bytes += m->bytes;
		return 0;
	}
	if (s->count == s->cap) {
		unsigned cap = s->cap ? s->cap * 2 : 256;
		struct store_entry *ev = realloc(s->ev, cap * sizeof(*ev));

		if (ev == NULL)
			return -1;
		s->ev = ev;
		s->cap = cap;
	}
	i = s->count;
	while (i > 0 && strcmp(s->ev[i - 1].id, m->id) > 0) {
		s->ev[i] = s->ev[i - 1];
		i--;
	}
	snprintf(s->ev[i].id, sizeof(s->ev[i].id), "%s", m->id);
	s->ev[i].start_ns = m->start_ns;
	s->ev[i].bytes = m->bytes;
	s->count++;
	s->bytes += m->bytes;
	return 0;
}

static void forget(struct store *s, unsigned i)
{
	s->bytes -= s->ev[i].bytes;
	memmove(&s->ev[i], &s->ev[i + 1],
		(s->count - i - 1) * sizeof(s->ev[0]));
	s->count--;
}

/* ------------------------------------------------------------ delete */

int store_delete(struct store *s, const char *id)
{
	char name[META_NAME_MAX];
	struct meta m;
	long at = find(s, id);
	int have = 0;
	unsigned i;

	snprintf(name, sizeof(name), "%s.json", id);
	if (meta_read(s->dirfd, name, &m) == 0)
		have = 1;
	if (unlinkat(s->dirfd, name, 0) < 0 && errno != ENOENT)
		return -1;
	if (fsync(s->dirfd) < 0)
		return -1;
	if (at >= 0)
		forget(s, (unsigned)at);
	if (have) {
		for (i = 0; i < m.nfiles; i++)
			unlinkat(s->dirfd, m.files[i], 0);
		if (m.thumbnail[0] != '\0')
			unlinkat(s->dirfd, m.thumbnail, 0);
	} else {
		snprintf(name, sizeof(name), "%s.mkv", id);
		unlinkat(s->dirfd, name, 0);
		snprintf(name, sizeof(name), "%s.jpg", id);
		unlinkat(s->dirfd, name, 0);
	}
	fsync(s->dirfd);
	return 0;
}

unsigned store_retain(struct store *s, const struct retention_policy *p,
		      int64_t now_ns, uint64_t need_free,
		      const char *current_id, uint64_t *freed)
{
	struct retention_item *items;
	unsigned char *del;
	char(*ids)[META_ID_MAX];
	unsigned i, n = s->count, planned, done = 0;

	*freed = 0;
	if (n == 0)
		return 0;
	items = calloc(n, sizeof(*items));
	del = calloc(n, 1);
	ids = calloc(n, sizeof(*ids));
	if (items == NULL || del == NULL || ids == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		items[i].start_ns = s->ev[i].start_ns;
		items[i].bytes = s->ev[i].bytes;
		items[i].current = current_id != NULL &&
				   strcmp(s->ev[i].id, current_id) == 0;
		memcpy(ids[i], s->ev[i].id, META_ID_MAX);
	}
	planned = retention_plan(items, n, p, now_ns, need_free, del);
	for (i = 0; i < n && done < planned; i++) {
		if (!del[i])
			continue;
		if (store_delete(s, ids[i]) < 0) {
			log_warn("cannot delete event '%s'", ids[i]);
			continue;
		}
		log_info("retention: deleted event '%s'", ids[i]);
		done++;
		*freed += items[i].bytes;
	}
out:
	free(items);
	free(del);
	free(ids);
	return done;
}

/* ------------------------------------------------------------ recovery */

static int has_suffix(const char *name, const char *suffix)
{
	size_t n = strlen(name), k = strlen(suffix);

	return n > k && strcmp(name + n - k, suffix) == 0;
}

/* Adds parts <id>.N.mkv written after the metadata was last replaced. */
static void find_parts(struct store *s, struct meta *m)
{
	char name[META_NAME_MAX];
	unsigned n;

	for (n = m->nfiles; n < META_FILES_MAX; n++) {
		if (n == 0)
			snprintf(name, sizeof(name), "%s.mkv", m->id);
		else
			snprintf(name, sizeof(name), "%s.%u.mkv", m->id, n);
		if (faccessat(s->dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
			break;
		snprintf(m->files[m->nfiles++], META_NAME_MAX, "%s", name);
	}
}

/* Closes an event whose recorder died: counts and end from its clips. */
static int close_interrupted(struct store *s, struct meta *m)
{
	uint64_t frames = 0, bytes = 0, f, b;
	int64_t last = -1, pts;
	unsigned i;

	find_parts(s, m);
	for (i = 0; i < m->nfiles; i++) {
		if (clip_scan(s->dirfd, m->files[i], &f, &b, &pts) < 0) {
			log_warn("cannot read clip '%s'", m->files[i]);
			pts = -1;
			f = 0;
		}
		frames += f;
		bytes += store_file_size(s, m->files[i]);
		if (pts > last)
			last = pts;
	}
	m->frames = frames;
	m->bytes = bytes;
	if (last >= 0)
		m->last_ns = m->start_ns + last * NS_PER_MS;
	if (m->last_ns < m->start_ns)
		m->last_ns = m->start_ns;
	m->end_ns = m->last_ns;
	m->has_end = 1;
	m->interrupted = 1;
	return meta_write(s->dirfd, m);
}

/* A clip "<id>.mkv" without metadata: crashed before its first listing. */
static int list_orphan(struct store *s, const char *name, uint32_t *count)
{
	struct meta m;
	size_t n = strlen(name) - 4;

	memset(&m, 0, sizeof(m));
	if (n >= sizeof(m.id))
		return -1;
	memcpy(m.id, name, n);
	m.id[n] = '\0';
	if (meta_id_time(m.id, &m.start_ns) < 0)
		return -1;
	if (strlen(m.id + META_ID_PREFIX) >= sizeof(m.camera))
		return -1;
	memcpy(m.camera, m.id + META_ID_PREFIX,
	       strlen(m.id + META_ID_PREFIX) + 1);
	m.last_ns = m.start_ns;
	snprintf(m.thumbnail, sizeof(m.thumbnail), "%s.jpg", m.id);
	if (faccessat(s->dirfd, m.thumbnail, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
		m.thumbnail[0] = '\0';
	if (close_interrupted(s, &m) < 0 || store_note(s, &m) < 0)
		return -1;
	(*count)++;
	return 0;
}

/* Where the id that starts name ends (ids hold a '.' themselves). */
static const char *id_end(const char *name)
{
	if (strlen(name) <= META_ID_PREFIX)
		return NULL;
	return strchr(name + META_ID_PREFIX, '.');
}

/* 1 when name belongs to a valid id the index does not hold, 0 when it is
 * listed, -1 when it is not an event's file at all. */
static int unlisted(const struct store *s, const char *name)
{
	char id[META_ID_MAX];
	const char *dot = id_end(name);
	size_t len = dot ? (size_t)(dot - name) : 0;

	if (dot == NULL || len >= sizeof(id))
		return -1;
	memcpy(id, name, len);
	id[len] = '\0';
	if (!meta_id_valid(id))
		return -1;
	return find(s, id) < 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int store_recover(struct store *s, struct store_recovery *r)
{
	char **names = NULL;
	unsigned n = 0, cap = 0, i;
	struct dirent *de;
	DIR *d;
	int fd;

	memset(r, 0, sizeof(*r));
	fd = openat(s->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 ||
		    strcmp(de->d_name, STORE_LOCK_NAME) == 0 ||
		    strcmp(de->d_name, STORE_SPARE_NAME) == 0)
			continue;
		if (de->d_name[0] == '.' && has_suffix(de->d_name, ".tmp")) {
			if (unlinkat(s->dirfd, de->d_name, 0) == 0)
				r->removed++;
			continue;
		}
		if (n == cap) {
			char **nn;

			cap = cap ? cap * 2 : 256;
			nn = realloc(names, cap * sizeof(*names));
			if (nn == NULL)
				goto nomem;
			names = nn;
		}
		if ((names[n] = strdup(de->d_name)) == NULL)
			goto nomem;
		n++;
	}
	closedir(d);
	d = NULL;
	if (n > 0)
		qsort(names, n, sizeof(*names), name_cmp);

	for (i = 0; i < n; i++) {
		struct meta m;

		if (!has_suffix(names[i], ".json") ||
		    strcmp(names[i], STORE_STATE_NAME) == 0)
			continue;
		if (meta_read(s->dirfd, names[i], &m) < 0) {
			log_warn("ignoring metadata '%s'", names[i]);
			continue;
		}
		if (!m.has_end) {
			if (close_interrupted(s, &m) < 0) {
				log_warn("cannot close interrupted event '%s'",
					 m.id);
				continue;
			}
			log_info("event '%s' was interrupted: closed with %llu "
				 "frames",
				 m.id, (unsigned long long)m.frames);
			r->interrupted++;
		}
		if (store_note(s, &m) < 0)
			goto nomem;
	}
	/* Clips that lost their metadata first, then what nothing lists. */
	for (i = 0; i < n; i++) {
		const char *dot = id_end(names[i]);

		if (dot == NULL || strcmp(dot, ".mkv") != 0 ||
		    unlisted(s, names[i]) <= 0)
			continue;
		if (list_orphan(s, names[i], &r->orphans) == 0)
			log_info("clip '%s' had no metadata: listed as "
				 "interrupted",
				 names[i]);
	}
	for (i = 0; i < n; i++) {
		if ((has_suffix(names[i], ".mkv") ||
		     has_suffix(names[i], ".jpg")) &&
		    unlisted(s, names[i]) > 0 &&
		    unlinkat(s->dirfd, names[i], 0) == 0)
			r->removed++;
	}
	r->events = s->count;
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	fsync(s->dirfd);
	return 0;
nomem:
	if (d != NULL)
		closedir(d);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	errno = ENOMEM;
	return -1;
}
