/* SPDX-License-Identifier: MIT */
/* recdir: safe read-only opens in the recordings directory. */
#include "recdir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

int recdir_open(const char *dir)
{
	return open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

static int is_digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

static int camera_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-';
}

int recdir_id_valid(const char *id)
{
	size_t n, i;

	if (id == NULL)
		return 0;
	n = strnlen(id, RECDIR_ID_MAX);
	if (n >= RECDIR_ID_MAX || n < RECDIR_ID_STAMP + 2 ||
	    n > RECDIR_ID_STAMP + 1 + RECDIR_CAMERA_MAX)
		return 0;
	if (!is_digits(id, 8) || id[8] != 'T' || !is_digits(id + 9, 6) ||
	    id[15] != '.' || !is_digits(id + 16, 3) || id[19] != 'Z' ||
	    id[20] != '-')
		return 0;
	for (i = RECDIR_ID_STAMP + 1; i < n; i++)
		if (!camera_char(id[i]))
			return 0;
	return 1;
}

int recdir_name_valid(const char *name)
{
	size_t n, i;

	if (name == NULL || name[0] == '\0' || name[0] == '.')
		return 0;
	n = strnlen(name, RECDIR_NAME_MAX);
	if (n >= RECDIR_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!camera_char(name[i]) && name[i] != '.')
			return 0;
	return 1;
}

int recdir_openat(int dirfd, const char *name, struct stat *st)
{
	int fd, err;

	if (!recdir_name_valid(name)) {
		errno = EINVAL;
		return -1;
	}
	/* O_NONBLOCK: a FIFO planted in DIR must not hang the event loop;
	 * it is refused below anyway. */
	fd = openat(dirfd, name,
		    O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -1;
	if (fstat(fd, st) < 0) {
		err = errno;
		goto fail;
	}
	if (!S_ISREG(st->st_mode)) {
		err = S_ISDIR(st->st_mode) ? EISDIR : ENODEV;
		goto fail;
	}
	return fd;
fail:
	close(fd);
	errno = err;
	return -1;
}

long recdir_read(int dirfd, const char *name, char *buf, size_t cap)
{
	struct stat st;
	size_t len = 0;
	ssize_t n;
	int fd = recdir_openat(dirfd, name, &st), err;

	if (fd < 0)
		return -1;
	if (cap == 0 || (uint64_t)st.st_size >= cap) {
		err = EFBIG;
		goto fail;
	}
	/* Read to EOF, not to st_size: the file may have been replaced. */
	while (len < cap - 1) {
		n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = errno;
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len == cap - 1) {
		err = EFBIG;
		goto fail;
	}
	close(fd);
	buf[len] = '\0';
	return (long)len;
fail:
	close(fd);
	errno = err;
	return -1;
}
