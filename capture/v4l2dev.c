/* SPDX-License-Identifier: MIT */
/* v4l2dev: the kernel behind the V4L2 source's device table, and the
 * table in use. */
#include "v4l2dev.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

static int sys_open(void *ctx, const char *path)
{
	(void)ctx;
	return open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
}

static int sys_close(void *ctx, int fd)
{
	(void)ctx;
	return close(fd);
}

static int sys_ioctl(void *ctx, int fd, unsigned long request, void *arg)
{
	int r;

	(void)ctx;
	do
		r = ioctl(fd, request, arg);
	while (r == -1 && errno == EINTR);
	return r;
}

static void *sys_mmap(void *ctx, int fd, size_t length, off_t offset)
{
	(void)ctx;
	return mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		    offset);
}

static int sys_munmap(void *ctx, void *addr, size_t length)
{
	(void)ctx;
	return munmap(addr, length);
}

const struct v4l2dev v4l2dev_system = {
	.open = sys_open,
	.close = sys_close,
	.ioctl = sys_ioctl,
	.mmap = sys_mmap,
	.munmap = sys_munmap,
	.ctx = NULL,
};

static const struct v4l2dev *v4l2dev_in_use = &v4l2dev_system;

void v4l2dev_use(const struct v4l2dev *dev)
{
	v4l2dev_in_use = dev != NULL ? dev : &v4l2dev_system;
}

const struct v4l2dev *v4l2dev_current(void)
{
	return v4l2dev_in_use;
}

int v4l2dev_ioctl(const struct v4l2dev *dev, int fd, unsigned long request,
		  void *arg)
{
	return dev->ioctl(dev->ctx, fd, request, arg);
}
