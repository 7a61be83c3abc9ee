/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of recorder/clip.c: the clusters it writes itself read back
 * through libavformat (clip_scan) with every frame and its pts, across
 * cluster ends and time jumps, and a file cut at any byte still holds every
 * block written wholly before the cut.  Direct I/O (where the filesystem
 * has it) writes the same bytes as the page cache, frames larger than its
 * staging buffer included, and the file on disk is a clip after each
 * flush, with every frame but the part of the last one past the last
 * whole block.  JPEGs framed in place (clip_write_room) go to the disk
 * from their room, mixed with staged ones, and read back as written, also
 * from a file cut anywhere.
 */
#include "test.h"

#include <fcntl.h>
#include <libavformat/avformat.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clip.h"

#define MS 1000000LL
#define T0 (1796101954LL * 1000 * MS)
#define FRAMES 200
#define CLUSTER_HEAD 22 /* a Cluster of unknown size and its Timecode */
#define BLOCK_HEAD 13 /* a SimpleBlock's id, size, track, time, flags */

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

/* Whether direct I/O of aligned blocks works in dirfd (a probe file). */
static int direct_works(int dirfd)
{
	void *block = aligned_alloc(4096, 4096);
	int fd, ok = 0;

	assert_non_null(block);
	memset(block, 0, 4096);
	fd = openat(dirfd, "probe", O_WRONLY | O_CREAT | O_EXCL | O_DIRECT,
		    0600);
	if (fd >= 0) {
		ok = pwrite(fd, block, 4096, 0) == 4096;
		close(fd);
		unlinkat(dirfd, "probe", 0);
	}
	free(block);
	return ok;
}

static uint64_t file_size(int dirfd, const char *name)
{
	struct stat sb;

	assert_int_equal(fstatat(dirfd, name, &sb, 0), 0);
	return (uint64_t)sb.st_size;
}

static struct clip *open_clip(int dirfd, const char *name, int buffered)
{
	struct clip_config cc;

	memset(&cc, 0, sizeof(cc));
	cc.dirfd = dirfd;
	cc.name = name;
	cc.width = 64;
	cc.height = 48;
	cc.event_start_ns = T0;
	cc.file_start_ns = T0;
	cc.title = "t";
	cc.buffered = buffered;
	return clip_open(&cc);
}

/* Writes the FRAMES frames; returns whether direct I/O was used. */
static int write_clip(int dirfd, const char *name, int buffered)
{
	struct clip *c = open_clip(dirfd, name, buffered);
	int i, direct;

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
	direct = clip_direct(c);
	assert_int_equal(clip_close(c), 0);
	return direct;
}

/* The whole file, malloc'ed; *size its length. */
static uint8_t *slurp(int dirfd, const char *name, size_t *size)
{
	uint8_t *data;
	int fd;

	*size = (size_t)file_size(dirfd, name);
	data = malloc(*size + 1);
	assert_non_null(data);
	fd = openat(dirfd, name, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, data, *size), (ssize_t)*size);
	close(fd);
	return data;
}

static void test_direct_same_bytes(void **state)
{
	char dir[] = "/tmp/test_clip.XXXXXX";
	uint8_t *a, *b;
	size_t na, nb, head;
	int dirfd, can;

	(void)state;
	assert_non_null(mkdtemp(dir));
	dirfd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_true(dirfd >= 0);
	can = direct_works(dirfd);
	assert_int_equal(write_clip(dirfd, "a.mkv", 0), can);
	assert_int_equal(write_clip(dirfd, "b.mkv", 1), 0);
	a = slurp(dirfd, "a.mkv", &na);
	b = slurp(dirfd, "b.mkv", &nb);
	assert_int_equal(na, nb);
	assert_int_equal(na, end_at[FRAMES - 1]);
	/* After the header, which holds random UIDs. */
	head = (size_t)end_at[0] - len_of(0) - CLUSTER_HEAD - BLOCK_HEAD;
	assert_memory_equal(a + head, b + head, na - head);
	free(a);
	free(b);
	unlinkat(dirfd, "a.mkv", 0);
	unlinkat(dirfd, "b.mkv", 0);
	close(dirfd);
	assert_int_equal(rmdir(dir), 0);
}

/*
 * Frames bigger than the staging buffer (1 MB) and frames that fill it
 * part way, each path: the same bytes after the header (which holds
 * random UIDs), and on disk after each flush every frame that ends before
 * the last whole block (direct) or every frame (page cache).
 */
#define BIG 5
static void test_big_frames_on_disk(void **state)
{
	static const size_t big[BIG] = {700000, 1500000, 4093, 300001, 2100000};
	char dir[] = "/tmp/test_clip.XXXXXX";
	static const uint8_t late[] = {0xff, 0xd8, 1, 2, 3, 0xff, 0xd9};
	uint64_t frames, bytes, ends[BIG], size, total;
	int64_t last;
	uint8_t *data[2];
	size_t n[2], head;
	int dirfd, k, i, whole;

	(void)state;
	assert_non_null(mkdtemp(dir));
	dirfd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_true(dirfd >= 0);
	for (k = 0; k < 2; k++) {
		const char *name = k ? "b.mkv" : "a.mkv";
		struct clip *c = open_clip(dirfd, name, k);

		assert_non_null(c);
		for (i = 0; i < BIG; i++) {
			uint8_t *j = malloc(big[i]);

			assert_non_null(j);
			memset(j, 0x40 + i, big[i]);
			j[0] = 0xff, j[1] = 0xd8;
			j[big[i] - 2] = 0xff, j[big[i] - 1] = 0xd9;
			assert_int_equal(
				clip_write(c, j, big[i], T0 + i * 40 * MS), 0);
			ends[i] = clip_bytes(c);
			assert_int_equal(clip_flush(c), 0);
			free(j);
			size = file_size(dirfd, name);
			if (clip_direct(c))
				assert_true(size % 4096 == 0 &&
					    size + 4096 > ends[i]);
			else
				assert_int_equal(size, ends[i]);
			for (whole = 0; whole <= i && ends[whole] <= size;
			     whole++)
				;
			assert_int_equal(
				clip_scan(dirfd, name, &frames, &bytes, &last),
				0);
			assert_int_equal(frames, whole);
		}
		/* A frame a cluster later: the sync before it puts every
		 * earlier frame wholly on disk (direct: the partial block
		 * padded with a Void). */
		assert_int_equal(clip_write(c, late, sizeof(late),
					    T0 + 2 * CLIP_CLUSTER_MS * MS),
				 0);
		size = file_size(dirfd, name);
		assert_true(size >= ends[BIG - 1]);
		if (clip_direct(c))
			assert_true(size % 4096 == 0);
		assert_int_equal(clip_scan(dirfd, name, &frames, &bytes, &last),
				 0);
		assert_int_equal(frames, BIG);
		total = clip_bytes(c);
		assert_int_equal(clip_close(c), 0);
		data[k] = slurp(dirfd, name, &n[k]);
		assert_int_equal(n[k], total);
		assert_int_equal(clip_scan(dirfd, name, &frames, &bytes, &last),
				 0);
		assert_int_equal(frames, BIG + 1);
		assert_int_equal(last, 2 * CLIP_CLUSTER_MS);
	}
	assert_int_equal(n[0], n[1]);
	head = (size_t)(ends[0] - big[0] - CLUSTER_HEAD - BLOCK_HEAD);
	assert_memory_equal(data[0] + head, data[1] + head, n[0] - head);
	for (k = 0; k < 2; k++) {
		free(data[k]);
		unlinkat(dirfd, k ? "b.mkv" : "a.mkv", 0);
	}
	close(dirfd);
	assert_int_equal(rmdir(dir), 0);
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
	write_clip(dirfd, "a.mkv", 0);
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
	write_clip(dirfd, "a.mkv", 0);
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

/*
 * In-place framing (clip_write_room): frames in rooms as the recorder's
 * queue lends them, mixed with staged ones (the pre-roll's, and small
 * frames), across a cluster's end.  Direct: the JPEGs in their rooms are
 * framed there (the block's flags just before the JPEG).  Read back with
 * libavformat, every packet is the JPEG written at its pts; on disk after
 * each flush, every frame; the padding stays small; and a copy of the file
 * cut anywhere holds every frame whose JPEG ends before the cut.
 */
#define ROOMS 24
#define ROOM_SPAN(n)                                                          \
	((CLIP_ROOM_HEAD + (n) + 2 + CLIP_ROOM_ALIGN - 1) / CLIP_ROOM_ALIGN * \
	 CLIP_ROOM_ALIGN)

/* Framed frames are over 32 units of any alignment (up to 4 KB: qemu's
 * statx has no direct-I/O alignment, so the clip takes 4 KB there). */
static size_t room_len(int i)
{
	if (i % 13 == 5)
		return 300 + (size_t)i; /* small: staged */
	return 32 * 4096 + (size_t)(i * 7919 % 60000);
}

static uint8_t room_byte(int i, size_t k)
{
	uint32_t x = (uint32_t)i * 1000003u + (uint32_t)k;

	x ^= x >> 13;
	x *= 0x5bd1e995u;
	x ^= x >> 15;
	return (uint8_t)x;
}

/* Every packet of the clip at path, checked against the frames written:
 * how many there are. */
static int read_back(const char *path, uint8_t *const *frames, int max)
{
	AVFormatContext *ic = NULL;
	AVPacket *pkt = av_packet_alloc();
	int n = 0;

	assert_non_null(pkt);
	assert_int_equal(avformat_open_input(&ic, path, NULL, NULL), 0);
	while (av_read_frame(ic, pkt) >= 0) {
		assert_true(n < max);
		assert_int_equal((size_t)pkt->size, room_len(n));
		assert_memory_equal(pkt->data, frames[n], room_len(n));
		assert_int_equal(av_rescale_q(pkt->pts,
					      ic->streams[0]->time_base,
					      (AVRational){1, 1000}),
				 n * 40);
		n++;
		av_packet_unref(pkt);
	}
	av_packet_free(&pkt);
	avformat_close_input(&ic);
	return n;
}

static void test_rooms(void **state)
{
	char dir[] = "/tmp/test_clip.XXXXXX", path[64];
	uint8_t *frames[ROOMS], *rooms[ROOMS], *data;
	size_t jpeg_bytes = 0, size, cut, k;
	uint64_t got, bytes, total;
	int64_t last;
	struct clip *c;
	int dirfd, fd, i, whole, direct;
	uint64_t jpeg_end[ROOMS];

	(void)state;
	av_log_set_level(AV_LOG_QUIET);
	assert_non_null(mkdtemp(dir));
	dirfd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_true(dirfd >= 0);
	c = open_clip(dirfd, "r.mkv", 0);
	assert_non_null(c);
	direct = clip_direct(c);
	assert_int_equal(direct, direct_works(dirfd));
	for (i = 0; i < ROOMS; i++) {
		size_t n = room_len(i);

		rooms[i] = aligned_alloc(CLIP_ROOM_ALIGN, ROOM_SPAN(n));
		assert_non_null(rooms[i]);
		memset(rooms[i], 0x55, ROOM_SPAN(n));
		frames[i] = rooms[i] + CLIP_ROOM_HEAD;
		for (k = 0; k < n; k++)
			frames[i][k] = room_byte(i, k);
		/* The first three as a pre-roll (staged), then the queue's. */
		if (i < 3)
			assert_int_equal(
				clip_write(c, frames[i], n, T0 + i * 40 * MS),
				0);
		else
			assert_int_equal(clip_write_room(c, frames[i], n,
							 T0 + i * 40 * MS),
					 0);
		if (direct && i >= 3 && i % 13 != 5)
			/* Framed: the block's flags just before the JPEG. */
			assert_int_equal(rooms[i][CLIP_ROOM_HEAD - 1], 0x80);
		jpeg_bytes += n;
		if (i % 4 == 3) {
			assert_int_equal(clip_flush(c), 0);
			assert_int_equal(
				clip_scan(dirfd, "r.mkv", &got, &bytes, &last),
				0);
			/* Framed blocks end aligned: all of them on disk. */
			if (direct && i % 13 != 5)
				assert_int_equal(got, (uint64_t)i + 1);
			assert_true(got + 1 >= (uint64_t)i + 1);
		}
	}
	total = clip_bytes(c);
	assert_int_equal(clip_close(c), 0);
	snprintf(path, sizeof(path), "%s/r.mkv", dir);
	assert_int_equal(read_back(path, frames, ROOMS), ROOMS);
	data = slurp(dirfd, "r.mkv", &size);
	assert_int_equal(size, total);
	/* Padding to the direct-I/O alignment: a few hundred bytes a frame. */
	assert_true(size < jpeg_bytes + jpeg_bytes / 50 + 8192);
	/* Where each JPEG ends in the file (its bytes are unique). */
	for (i = 0, k = 0; i < ROOMS; i++) {
		uint8_t *at = memmem(data + k, size - k,
				     frames[i] + room_len(i) - 64, 64);

		assert_non_null(at);
		k = (size_t)(at - data) + 64;
		jpeg_end[i] = k;
	}
	srand(7);
	for (i = 0; i < 30; i++) {
		cut = (size_t)jpeg_end[0] +
		      (size_t)rand() % (size - (size_t)jpeg_end[0] + 1);
		fd = openat(dirfd, "cut.mkv",
			    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, data, cut), (ssize_t)cut);
		close(fd);
		for (whole = 0; whole < ROOMS && jpeg_end[whole] <= cut;
		     whole++)
			;
		snprintf(path, sizeof(path), "%s/cut.mkv", dir);
		assert_int_equal(read_back(path, frames, ROOMS), whole);
	}
	for (i = 0; i < ROOMS; i++)
		free(rooms[i]);
	free(data);
	unlinkat(dirfd, "r.mkv", 0);
	unlinkat(dirfd, "cut.mkv", 0);
	close(dirfd);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_cut),
		cmocka_unit_test(test_direct_same_bytes),
		cmocka_unit_test(test_big_frames_on_disk),
		cmocka_unit_test(test_rooms),
	};

	clip_set_verbose(0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
