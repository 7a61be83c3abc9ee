/* SPDX-License-Identifier: MIT */
/*
 * v4l2dev: the system calls the V4L2 source makes on a camera device, behind
 * a table of function pointers so that the unit tests can put a fake camera
 * in place of the kernel (tests/test_v4l2.c).  Polling needs no faking: the
 * fd that open() returns is a real fd (a fake hands out an eventfd) and the
 * source waits on it with epoll.
 */
#ifndef VIGIL_V4L2DEV_H
#define VIGIL_V4L2DEV_H

#include <stddef.h>
#include <sys/types.h>

struct v4l2dev {
	/* Opens the device read-write, non-blocking, close-on-exec: an fd or
	 * -1 with errno. */
	int (*open)(void *ctx, const char *path);
	int (*close)(void *ctx, int fd);
	/* ioctl(2), retried on EINTR: 0 (or the ioctl's result) or -1/errno. */
	int (*ioctl)(void *ctx, int fd, unsigned long request, void *arg);
	/* A shared read-write mapping of a driver buffer: the address or
	 * MAP_FAILED with errno. */
	void *(*mmap)(void *ctx, int fd, size_t length, off_t offset);
	int (*munmap)(void *ctx, void *addr, size_t length);
	void *ctx;
};

/* The real kernel interface. */
extern const struct v4l2dev v4l2dev_system;

/* Replaces the kernel with another device layer (the tests' fake);
 * NULL restores the kernel.  Affects sources opened and devices listed
 * afterwards. */
void v4l2dev_use(const struct v4l2dev *dev);

/* The device layer in use: v4l2dev_system unless v4l2dev_use() said
 * otherwise. */
const struct v4l2dev *v4l2dev_current(void);

/* dev->ioctl(dev->ctx, fd, request, arg). */
int v4l2dev_ioctl(const struct v4l2dev *dev, int fd, unsigned long request,
		  void *arg);

#endif
