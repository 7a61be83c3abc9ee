/* SPDX-License-Identifier: MIT */
/*
 * recdir: read-only access to the recordings directory (--recordings DIR)
 * that vigil-record writes (docs/recordings: <id>.json, <id>.jpg,
 * <id>.mkv, <id>.N.mkv, state.json).  Every file is opened relative to one
 * directory descriptor, by a plain name (no '/', no leading '.'), with
 * O_NOFOLLOW, and must be a regular file: nothing outside DIR can be
 * reached, whatever a request or a metadata file says.  Nothing is ever
 * opened for writing.
 */
#ifndef VIGIL_RECDIR_H
#define VIGIL_RECDIR_H

#include <stddef.h>
#include <sys/stat.h>

#define RECDIR_CAMERA_MAX 32
#define RECDIR_ID_STAMP 20 /* "YYYYMMDDTHHMMSS.mmmZ" */
#define RECDIR_ID_MAX 64 /* stamp + "-" + camera + NUL fits */
#define RECDIR_NAME_MAX 80 /* file names of an event */
#define RECDIR_STATE_NAME "state.json"

/* Opens DIR (a directory, symlinks refused for the last component).
 * The descriptor, or -1 with errno. */
int recdir_open(const char *dir);

/* 1 when id is YYYYMMDDTHHMMSS.mmmZ-<camera>, camera [A-Za-z0-9_-]{1,32}. */
int recdir_id_valid(const char *id);

/* 1 when name is a plain file name: [0-9A-Za-z._-]{1,RECDIR_NAME_MAX-1},
 * not starting with '.'. */
int recdir_name_valid(const char *name);

/* Opens name in dirfd read-only (O_NOFOLLOW, O_CLOEXEC) and checks that it
 * is a regular file; *st gets its status.  The descriptor (caller closes),
 * or -1 with errno (EINVAL for a bad name, ENOENT, ELOOP for a symlink,
 * EISDIR/ENODEV for anything not a regular file...). */
int recdir_openat(int dirfd, const char *name, struct stat *st);

/* Reads all of name (recdir_openat) into buf, at most cap - 1 bytes, and
 * NUL-terminates it.  Its length, or -1 with errno (EFBIG when larger). */
long recdir_read(int dirfd, const char *name, char *buf, size_t cap);

#endif
