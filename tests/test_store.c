/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of recorder/store.c (with clip.c and meta.c): the lock,
 * recovery of an interrupted event from a cut clip, clips without metadata,
 * stray files, and retention that never deletes the current event.
 */
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "clip.h"
#include "meta.h"
#include "store.h"

#define S 1000000000LL
#define MS 1000000LL
#define T0 (1796101954LL * S)

static char dir[64];

static void make_clip(int dirfd, const char *id, const char *name,
		      int64_t start, int frames)
{
	static uint8_t jpeg[3000];
	struct clip_config cc;
	struct clip *c;
	int i;

	memset(jpeg, 0x55, sizeof(jpeg));
	jpeg[0] = 0xff, jpeg[1] = 0xd8;
	jpeg[sizeof(jpeg) - 2] = 0xff, jpeg[sizeof(jpeg) - 1] = 0xd9;
	memset(&cc, 0, sizeof(cc));
	cc.dirfd = dirfd;
	cc.name = name;
	cc.width = 64;
	cc.height = 48;
	cc.event_start_ns = start;
	cc.file_start_ns = start;
	cc.title = id;
	c = clip_open(&cc);
	assert_non_null(c);
	for (i = 0; i < frames; i++)
		assert_int_equal(
			clip_write(c, jpeg, sizeof(jpeg), start + i * 100 * MS),
			0);
	assert_int_equal(clip_close(c), 0);
}

static void make_event(int dirfd, struct meta *m, int64_t start, int ended,
		       int frames)
{
	memset(m, 0, sizeof(*m));
	assert_int_equal(meta_id(m->id, sizeof(m->id), start, "cam0"), 0);
	snprintf(m->camera, sizeof(m->camera), "cam0");
	m->start_ns = start;
	m->last_ns = start;
	m->has_end = ended;
	m->end_ns = ended ? start + (frames - 1) * 100 * MS : 0;
	m->frames = ended ? (uint64_t)frames : 3;
	m->nfiles = 1;
	snprintf(m->files[0], META_NAME_MAX, "%s.mkv", m->id);
	make_clip(dirfd, m->id, m->files[0], start, frames);
	assert_int_equal(meta_write(dirfd, m), 0);
}

static int exists(int dirfd, const char *name)
{
	return faccessat(dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

static void test_lock(void **state)
{
	struct store *a, *b;
	struct stat sb;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_store.%d.lock", (int)getpid());
	a = store_open(dir, (uid_t)-1, (gid_t)-1);
	assert_non_null(a);
	assert_int_equal(stat(dir, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, STORE_DIR_MODE & ~0022);
	errno = 0;
	b = store_open(dir, (uid_t)-1, (gid_t)-1);
	assert_null(b);
	assert_int_equal(errno, EWOULDBLOCK);
	store_close(a);
	b = store_open(dir, (uid_t)-1, (gid_t)-1);
	assert_non_null(b);
	store_close(b);
	unlink(strcat(dir, "/.lock"));
	*strrchr(dir, '/') = '\0';
	assert_int_equal(rmdir(dir), 0);
}

static void test_recover(void **state)
{
	struct store *s;
	struct store_recovery r;
	struct meta done, cut, got;
	char name[META_NAME_MAX], orphan[META_ID_MAX], path[160];
	struct stat sb;
	int dirfd;
	uint64_t freed;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_store.%d", (int)getpid());
	s = store_open(dir, (uid_t)-1, (gid_t)-1);
	assert_non_null(s);
	dirfd = store_dirfd(s);

	make_event(dirfd, &done, T0, 1, 20);
	make_event(dirfd, &cut, T0 + 60 * S, 0, 40);
	/* A power cut: the clip ends somewhere in the middle. */
	snprintf(path, sizeof(path), "%s/%s", dir, cut.files[0]);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(truncate(path, sb.st_size * 6 / 10), 0);
	/* A clip whose metadata was never written. */
	assert_int_equal(meta_id(orphan, sizeof(orphan), T0 + 120 * S, "cam0"),
			 0);
	snprintf(name, sizeof(name), "%s.mkv", orphan);
	make_clip(dirfd, orphan, name, T0 + 120 * S, 10);
	/* Leftovers: a temporary file and an unlisted thumbnail. */
	assert_int_equal(meta_replace(dirfd, "x", "x", 1), 0);
	assert_int_equal(renameat(dirfd, "x", dirfd, ".x.json.tmp"), 0);
	assert_int_equal(
		meta_replace(dirfd, "20200101T000000.000Z-cam0.jpg", "x", 1),
		0);

	assert_int_equal(store_recover(s, &r), 0);
	assert_int_equal(r.events, 3);
	assert_int_equal(r.interrupted, 1);
	assert_int_equal(r.orphans, 1);
	assert_int_equal(r.removed, 2);
	assert_false(exists(dirfd, ".x.json.tmp"));
	assert_false(exists(dirfd, "20200101T000000.000Z-cam0.jpg"));
	assert_int_equal(store_count(s), 3);

	snprintf(name, sizeof(name), "%s.json", cut.id);
	assert_int_equal(meta_read(dirfd, name, &got), 0);
	assert_true(got.has_end);
	assert_true(got.interrupted);
	/* Counted from the clip as far as it reads, not the stale 3. */
	assert_true(got.frames > 10 && got.frames < 40);
	assert_int_equal(got.end_ns,
			 cut.start_ns + (int64_t)(got.frames - 1) * 100 * MS);
	assert_int_equal(got.bytes, (uint64_t)(sb.st_size * 6 / 10));

	snprintf(name, sizeof(name), "%s.json", orphan);
	assert_int_equal(meta_read(dirfd, name, &got), 0);
	assert_true(got.interrupted);
	assert_int_equal(got.frames, 10);
	assert_int_equal(got.start_ns, T0 + 120 * S);
	assert_int_equal(got.end_ns, T0 + 120 * S + 900 * MS);

	snprintf(name, sizeof(name), "%s.json", done.id);
	assert_int_equal(meta_read(dirfd, name, &got), 0);
	assert_false(got.interrupted);
	assert_int_equal(got.frames, 20);

	/* A second start finds nothing more to do. */
	assert_int_equal(store_recover(s, &r), 0);
	assert_int_equal(r.interrupted + r.orphans + r.removed, 0);

	/* Retention with a size limit of one byte: everything but the
	 * current (newest, the orphan's id) goes, oldest first. */
	{
		struct retention_policy p = {0, 1};

		assert_int_equal(
			store_retain(s, &p, T0 + 200 * S, 0, orphan, &freed),
			2);
		assert_true(freed > 0);
	}
	assert_int_equal(store_count(s), 1);
	snprintf(name, sizeof(name), "%s.json", done.id);
	assert_false(exists(dirfd, name));
	assert_false(exists(dirfd, done.files[0]));
	assert_false(exists(dirfd, cut.files[0]));
	snprintf(name, sizeof(name), "%s.mkv", orphan);
	assert_true(exists(dirfd, name));

	assert_int_equal(store_delete(s, orphan), 0);
	assert_int_equal(store_count(s), 0);
	assert_int_equal(store_bytes(s), 0);
	assert_false(exists(dirfd, name));
	unlinkat(dirfd, ".lock", 0);
	store_close(s);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	clip_set_verbose(0);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lock),
		cmocka_unit_test(test_recover),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
