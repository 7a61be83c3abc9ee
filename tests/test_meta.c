/* SPDX-License-Identifier: MIT */
/* Unit tests of recorder/meta.c: ids, JSON round trip, atomic replace. */
#include "test.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "meta.h"

#define S 1000000000LL
#define MS 1000000LL

static void test_id(void **state)
{
	char id[META_ID_MAX];
	int64_t t;

	(void)state;
	/* 2026-12-01 05:12:34.125 UTC */
	assert_int_equal(meta_id(id, sizeof(id),
				 1796101954LL * S + 125 * MS + 999999, "cam0"),
			 0);
	assert_string_equal(id, "20261201T051234.125Z-cam0");
	assert_true(meta_id_valid(id));
	assert_int_equal(meta_id_time(id, &t), 0);
	assert_int_equal(t, 1796101954LL * S + 125 * MS);
	assert_int_equal(meta_id(id, sizeof(id), 0, "a"), 0);
	assert_string_equal(id, "19700101T000000.000Z-a");
	/* Sortable: later starts sort after, whatever the digits. */
	{
		char a[META_ID_MAX], b[META_ID_MAX];

		meta_id(a, sizeof(a), 999 * S + 999 * MS, "cam0");
		meta_id(b, sizeof(b), 1000 * S, "cam0");
		assert_true(strcmp(a, b) < 0);
	}
	assert_int_equal(meta_id(id, sizeof(id), 0, "bad/cam"), -1);
	assert_int_equal(meta_id(id, sizeof(id), 0, ""), -1);
	assert_int_equal(meta_id(id, 10, 0, "cam0"), -1);
	assert_false(meta_id_valid("20261201T051234.125Z-"));
	assert_false(meta_id_valid("20261201T051234.125Z-../x"));
	assert_false(meta_id_valid("2026120XT051234.125Z-cam0"));
	assert_false(meta_id_valid("20261201T051234,125Z-cam0"));
	assert_false(meta_id_valid(""));
	assert_true(meta_name_valid("20261201T051234.125Z-cam0.1.mkv"));
	assert_false(meta_name_valid("../etc/passwd"));
	assert_false(meta_name_valid(".hidden"));
	assert_false(meta_name_valid("a/b"));
}

static void sample(struct meta *m)
{
	unsigned i;

	memset(m, 0, sizeof(*m));
	snprintf(m->id, sizeof(m->id), "20261201T051234.125Z-cam0");
	snprintf(m->camera, sizeof(m->camera), "cam0");
	m->start_ns = 1796101954LL * S + 125 * MS;
	m->last_ns = m->start_ns + 18 * S + 375 * MS;
	m->end_ns = m->last_ns;
	m->has_end = 1;
	m->frames = 184;
	m->bytes = 20512345;
	m->score = 37;
	for (i = 0; i < RECFRAME_GRID_BYTES; i++)
		m->grid[i] = (uint8_t)(i * 37);
	m->interrupted = 1;
	m->width = 1280;
	m->height = 720;
	snprintf(m->thumbnail, sizeof(m->thumbnail), "%s.jpg", m->id);
	m->nfiles = 2;
	snprintf(m->files[0], META_NAME_MAX, "%s.mkv", m->id);
	snprintf(m->files[1], META_NAME_MAX, "%s.1.mkv", m->id);
}

static void test_round_trip(void **state)
{
	char buf[META_JSON_MAX];
	struct meta a, b;
	int n;

	(void)state;
	sample(&a);
	n = meta_format(&a, buf, sizeof(buf));
	assert_true(n > 0);
	assert_non_null(strstr(buf, "\"start\":1796101954.125,"));
	assert_non_null(strstr(buf, "\"end\":1796101972.500,"));
	assert_int_equal(meta_parse(buf, (size_t)n, &b), 0);
	assert_memory_equal(&a, &b, sizeof(a));

	/* While recording: end is null. */
	a.has_end = 0;
	a.end_ns = 0;
	a.interrupted = 0;
	memset(a.thumbnail, 0, sizeof(a.thumbnail));
	n = meta_format(&a, buf, sizeof(buf));
	assert_non_null(strstr(buf, "\"end\":null"));
	assert_non_null(strstr(buf, "\"thumbnail\":null"));
	assert_int_equal(meta_parse(buf, (size_t)n, &b), 0);
	assert_memory_equal(&a, &b, sizeof(a));

	/* Too small a buffer is an error, not a cut text. */
	assert_int_equal(meta_format(&a, buf, 100), -1);
}

static void test_parse_rejects(void **state)
{
	char buf[META_JSON_MAX];
	struct meta a, b;
	int n, i;

	(void)state;
	sample(&a);
	n = meta_format(&a, buf, sizeof(buf));
	/* Every cut of the text is refused (a half-written file). */
	for (i = 0; i < n - 1; i++)
		assert_int_equal(meta_parse(buf, (size_t)i, &b), -1);
	assert_int_equal(meta_parse("{}", 2, &b), -1);
	assert_int_equal(meta_parse("[]", 2, &b), -1);
	{
		char bad[2 * META_JSON_MAX];

		/* A file name with a path in it. */
		snprintf(bad, sizeof(bad), "%.*s", n, buf);
		memcpy(strstr(bad, ".1.mkv") - 3, "/..", 3);
		assert_int_equal(meta_parse(bad, strlen(bad), &b), -1);
		/* Unknown keys are fine. */
		snprintf(bad, sizeof(bad), "{\"x\":\"y\",\"z\":1.5,%s",
			 buf + 1);
		assert_int_equal(meta_parse(bad, strlen(bad), &b), 0);
	}
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' || strlen(de->d_name) > 2)
			n++;
	closedir(d);
	return n;
}

/* dir/f replaced by replace(): a new file (by rename) holding text, and no
 * temporary left. */
static void replaced_by_rename(const char *dir, int dirfd,
			       int (*replace)(int, const char *, const void *,
					      size_t),
			       const char *text)
{
	char path[64];
	struct stat sb, sb2;

	snprintf(path, sizeof(path), "%s/f", dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(replace(dirfd, "f", text, strlen(text)), 0);
	assert_int_equal(stat(path, &sb2), 0);
	assert_true(sb.st_ino != sb2.st_ino);
	assert_int_equal(sb2.st_size, (off_t)strlen(text));
	assert_int_equal(count_entries(dir), 1);
}

static void test_replace(void **state)
{
	char dir[] = "/tmp/test_meta.XXXXXX", path[256], buf[64];
	struct meta a, b;
	struct stat sb, sb2;
	int dirfd, old, n;

	(void)state;
	assert_non_null(mkdtemp(dir));
	dirfd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_true(dirfd >= 0);
	assert_int_equal(meta_replace(dirfd, "f", "first", 5), 0);
	snprintf(path, sizeof(path), "%s/f", dir);
	old = open(path, O_RDONLY);
	assert_true(old >= 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, META_FILE_MODE & ~0022);
	assert_int_equal(meta_replace(dirfd, "f", "second!", 7), 0);
	/* A reader that had the old file open still reads all of it: the
	 * new content came in by rename, not by rewriting in place. */
	n = (int)read(old, buf, sizeof(buf));
	assert_int_equal(n, 5);
	assert_memory_equal(buf, "first", 5);
	close(old);
	assert_int_equal(stat(path, &sb2), 0);
	assert_true(sb.st_ino != sb2.st_ino);
	assert_int_equal(sb2.st_size, 7);
	assert_int_equal(count_entries(dir), 1); /* no temporary left */

	/* A failed replacement leaves the old file and no temporary. */
	assert_int_equal(meta_replace(-1, "f", "x", 1), -1);
	assert_int_equal(stat(path, &sb2), 0);
	assert_int_equal(sb2.st_size, 7);

	/* Not synced, or an update (the content synced, not the rename): the
	 * same replacement by rename. */
	replaced_by_rename(dir, dirfd, meta_replace_nosync, "third");
	replaced_by_rename(dir, dirfd, meta_replace_update, "fourth!!");

	sample(&a);
	assert_int_equal(meta_write(dirfd, &a), 0);
	snprintf(path, sizeof(path), "%s.json", a.id);
	assert_int_equal(meta_read(dirfd, path, &b), 0);
	assert_memory_equal(&a, &b, sizeof(a));
	assert_int_equal(count_entries(dir), 2);
	a.frames++;
	assert_int_equal(meta_update(dirfd, &a), 0);
	assert_int_equal(meta_read(dirfd, path, &b), 0);
	assert_memory_equal(&a, &b, sizeof(a));
	assert_int_equal(count_entries(dir), 2);
	errno = 0;
	assert_int_equal(meta_read(dirfd, "f", &b), -1);
	assert_int_equal(errno, EINVAL);

	unlinkat(dirfd, "f", 0);
	unlinkat(dirfd, path, 0);
	close(dirfd);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_id),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_replace),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
