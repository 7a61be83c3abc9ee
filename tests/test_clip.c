/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of recorder/clip.c: the clusters it writes itself read back
 * through libavformat (clip_scan) with every frame and its pts, across
 * cluster ends and time jumps, and a file cut at any byte still holds every
 * block written wholly before the cut.
 */
#include "test.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clip.h"

#define MS 1000000LL
#define T0 (1796101954LL * 1000 * MS)
#define FRAMES 200

static uint8_t jpeg[FRAMES][600];
static int64_t when[FRAMES];
static uint64_t end_at[FRAMES]; /* file offset after frame i's block */

static size_t len_of(int i)
{
	return 100 + (size_t)(i * 37 % 500);
}

static int64_t pts_of(int i)
{
	/* 30 fps, two frames at the same time (pts moved 1 ms on) and a 40 s
	 * jump (beyond a cluster's 16-bit block times). */
	if (i < 100)
		return i * 33;
	if (i == 100)
		return 99 * 33;
	return 40000 + i * 33;
}

/* The pts the clip gives frame i: a time not after the previous one is
 * moved 1 ms after it. */
static int64_t written_pts(int i)
{
	return i == 100 ? pts_of(99) + 1 : pts_of(i);
}

static void write_clip(int dirfd, const char *name)
{
	struct clip_config cc;
	struct clip *c;
	int i;

	memset(&cc, 0, sizeof(cc));
	cc.dirfd = dirfd;
	cc.name = name;
	cc.width = 64;
	cc.height = 48;
	cc.event_start_ns = T0;
	cc.file_start_ns = T0;
	cc.title = "t";
	c = clip_open(&cc);
	assert_non_null(c);
	for (i = 0; i < FRAMES; i++) {
		size_t n = len_of(i);

		memset(jpeg[i], i, n);
		jpeg[i][0] = 0xff, jpeg[i][1] = 0xd8;
		jpeg[i][n - 2] = 0xff, jpeg[i][n - 1] = 0xd9;
		when[i] = T0 + pts_of(i) * MS;
		assert_int_equal(clip_write(c, jpeg[i], n, when[i]), 0);
		end_at[i] = clip_bytes(c);
		/* Flushed now and then, as the recorder does per batch. */
		if (i % 7 == 6)
			assert_int_equal(clip_flush(c), 0);
	}
	assert_int_equal(clip_close(c), 0);
}

static void test_round_trip(void **state)
{
	char dir[] = "/tmp/test_clip.XXXXXX";
	uint64_t frames, bytes, want = 0;
	int64_t last;
	struct stat sb;
	int dirfd, i;

	(void)state;
	assert_non_null(mkdtemp(dir));
	dirfd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_true(dirfd >= 0);
	write_clip(dirfd, "a.mkv");
	assert_int_equal(fstatat(dirfd, "a.mkv", &sb, 0), 0);
	assert_int_equal((uint64_t)sb.st_size, end_at[FRAMES - 1]);
	for (i = 0; i < FRAMES; i++)
		want += len_of(i);
	assert_int_equal(clip_scan(dirfd, "a.mkv", &frames, &bytes, &last), 0);
	assert_int_equal(frames, FRAMES);
	assert_int_equal(bytes, want);
	assert_int_equal(last, written_pts(FRAMES - 1));
	/* Nothing there: an error, not a clip. */
	assert_int_equal(clip_scan(dirfd, "none.mkv", &frames, &bytes, &last),
			 -1);
	unlinkat(dirfd, "a.mkv", 0);
	close(dirfd);
	assert_int_equal(rmdir(dir), 0);
}

static void test_cut(void **state)
{
	char dir[] = "/tmp/test_clip.XXXXXX";
	uint64_t frames, bytes;
	int64_t last;
	uint8_t *data;
	size_t size, cut;
	int dirfd, fd, i, whole, k;

	(void)state;
	assert_non_null(mkdtemp(dir));
	dirfd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_true(dirfd >= 0);
	write_clip(dirfd, "a.mkv");
	size = (size_t)end_at[FRAMES - 1];
	data = malloc(size);
	assert_non_null(data);
	fd = openat(dirfd, "a.mkv", O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, data, size), (ssize_t)size);
	close(fd);
	srand(12);
	for (k = 0; k < 60; k++) {
		/* After the first block, anywhere (ends of blocks included). */
		cut = (size_t)end_at[0] +
		      (size_t)rand() % (size - (size_t)end_at[0] + 1);
		if (k < 3)
			cut = (size_t)end_at[k * 99];
		fd = openat(dirfd, "cut.mkv",
			    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, data, cut), (ssize_t)cut);
		close(fd);
		for (whole = 0; whole < FRAMES && end_at[whole] <= cut; whole++)
			;
		assert_int_equal(
			clip_scan(dirfd, "cut.mkv", &frames, &bytes, &last), 0);
		assert_int_equal(frames, whole);
		assert_int_equal(last, written_pts(whole - 1));
	}
	for (i = 0; i < 2; i++)
		unlinkat(dirfd, i ? "cut.mkv" : "a.mkv", 0);
	free(data);
	close(dirfd);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_cut),
	};

	clip_set_verbose(0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
