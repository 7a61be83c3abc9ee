/* SPDX-License-Identifier: MIT */
/* Unit tests of the recordings' safe opens (recdir) and Range parsing
 * (clipfile_range). */
#include "test.h"

#include "clipfile.h"
#include "recdir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void test_ids(void **state)
{
	(void)state;
	assert_true(recdir_id_valid("20261201T051234.125Z-cam0"));
	assert_true(recdir_id_valid("20261201T051234.125Z-a_b-C9"));
	assert_true(recdir_id_valid(
		"20261201T051234.125Z-abcdefghijabcdefghijabcdefghij12"));
	assert_false(recdir_id_valid(
		"20261201T051234.125Z-abcdefghijabcdefghijabcdefghij123"));
	assert_false(recdir_id_valid(NULL));
	assert_false(recdir_id_valid(""));
	assert_false(recdir_id_valid("20261201T051234.125Z-"));
	assert_false(recdir_id_valid("20261201T051234.125Z-.."));
	assert_false(recdir_id_valid("20261201T051234.125Z-a/b"));
	assert_false(recdir_id_valid("20261201T051234.125Z-a.b"));
	assert_false(recdir_id_valid("20261201T051234.125Z-a%2e"));
	assert_false(recdir_id_valid("20261201X051234.125Z-cam0"));
	assert_false(recdir_id_valid("2026120AT051234.125Z-cam0"));
	assert_false(recdir_id_valid("20261201T051234,125Z-cam0"));
	assert_false(recdir_id_valid("20261201T051234.125-cam0"));
	assert_false(recdir_id_valid("../../../../etc/passwd"));
}

static void test_names(void **state)
{
	char longname[RECDIR_NAME_MAX + 1];

	(void)state;
	assert_true(recdir_name_valid("20261201T051234.125Z-cam0.1.mkv"));
	assert_true(recdir_name_valid("state.json"));
	assert_false(recdir_name_valid(".."));
	assert_false(recdir_name_valid("."));
	assert_false(recdir_name_valid(".hidden"));
	assert_false(recdir_name_valid("a/b"));
	assert_false(recdir_name_valid("/etc/passwd"));
	assert_false(recdir_name_valid(""));
	assert_false(recdir_name_valid("a b"));
	assert_false(recdir_name_valid("a\nb"));
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_false(recdir_name_valid(longname));
	longname[RECDIR_NAME_MAX - 1] = '\0';
	assert_true(recdir_name_valid(longname));
}

static void test_opens(void **state)
{
	char dir[] = "/tmp/vigil-test-recdir.XXXXXX", path[256], buf[16];
	struct stat st;
	int dfd, fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/file", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0640);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "hello", 5), 5);
	close(fd);
	snprintf(path, sizeof(path), "%s/big", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0640);
	assert_int_equal(write(fd, "0123456789abcdefXYZ", 19), 19);
	close(fd);
	snprintf(path, sizeof(path), "%s/link", dir);
	assert_int_equal(symlink("file", path), 0);
	snprintf(path, sizeof(path), "%s/fifo", dir);
	assert_int_equal(mkfifo(path, 0640), 0);
	snprintf(path, sizeof(path), "%s/sub", dir);
	assert_int_equal(mkdir(path, 0750), 0);

	dfd = recdir_open(dir);
	assert_true(dfd >= 0);
	fd = recdir_openat(dfd, "file", &st);
	assert_true(fd >= 0);
	assert_int_equal(st.st_size, 5);
	assert_int_equal(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	close(fd);
	errno = 0;
	assert_int_equal(recdir_openat(dfd, "link", &st), -1);
	assert_int_equal(errno, ELOOP);
	assert_int_equal(recdir_openat(dfd, "fifo", &st), -1);
	assert_int_equal(errno, ENODEV);
	assert_int_equal(recdir_openat(dfd, "sub", &st), -1);
	assert_int_equal(errno, EISDIR);
	assert_int_equal(recdir_openat(dfd, "../file", &st), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(recdir_openat(dfd, "nosuch", &st), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(recdir_read(dfd, "file", buf, sizeof(buf)), 5);
	assert_string_equal(buf, "hello");
	assert_int_equal(recdir_read(dfd, "big", buf, sizeof(buf)), -1);
	assert_int_equal(errno, EFBIG);
	/* A symlink as DIR itself is refused too. */
	snprintf(path, sizeof(path), "%s/dirlink", dir);
	assert_int_equal(symlink(dir, path), 0);
	assert_int_equal(recdir_open(path), -1);
	close(dfd);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	assert_int_equal(system(path), 0);
}

static void test_ranges(void **state)
{
	uint64_t a = 0, b = 0;

	(void)state;
	assert_int_equal(clipfile_range(NULL, 100, &a, &b), 0);
	assert_int_equal(clipfile_range("bytes=0-9", 100, &a, &b), 1);
	assert_true(a == 0 && b == 9);
	assert_int_equal(clipfile_range("bytes=90-", 100, &a, &b), 1);
	assert_true(a == 90 && b == 99);
	assert_int_equal(clipfile_range("bytes=50-1000", 100, &a, &b), 1);
	assert_true(a == 50 && b == 99);
	assert_int_equal(clipfile_range("bytes=-10", 100, &a, &b), 1);
	assert_true(a == 90 && b == 99);
	assert_int_equal(clipfile_range("bytes=-1000", 100, &a, &b), 1);
	assert_true(a == 0 && b == 99);
	assert_int_equal(clipfile_range("bytes=100-", 100, &a, &b), -1);
	assert_int_equal(clipfile_range("bytes=100-200", 100, &a, &b), -1);
	assert_int_equal(clipfile_range("bytes=-0", 100, &a, &b), -1);
	assert_int_equal(clipfile_range("bytes=0-", 0, &a, &b), -1);
	/* Ignored (the whole file): not a single well-formed range. */
	assert_int_equal(clipfile_range("bytes=9-0", 100, &a, &b), 0);
	assert_int_equal(clipfile_range("bytes=0-1,5-6", 100, &a, &b), 0);
	assert_int_equal(clipfile_range("bytes=", 100, &a, &b), 0);
	assert_int_equal(clipfile_range("bytes=-", 100, &a, &b), 0);
	assert_int_equal(clipfile_range("bytes= 1-2", 100, &a, &b), 0);
	assert_int_equal(clipfile_range("items=0-1", 100, &a, &b), 0);
	assert_int_equal(clipfile_range("bytes=0x10-", 100, &a, &b), 0);
	assert_int_equal(
		clipfile_range("bytes=99999999999999999999-", 100, &a, &b), 0);
	assert_int_equal(
		clipfile_range("bytes=1-99999999999999999999", 100, &a, &b), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_opens),
		cmocka_unit_test(test_ranges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
