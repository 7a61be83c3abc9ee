/* SPDX-License-Identifier: MIT */
/* v4l2list: the V4L2 capture devices of /dev and what they offer. */
#include "v4l2list.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "v4l2dev.h"
#include "v4l2fmt.h"

static void describe_rates(FILE *out, const struct v4l2dev *dev, int fd,
			   uint32_t fourcc, struct v4l2fmt_size sz)
{
	const char *sep = "@";

	for (uint32_t i = 0; i < 32; i++) {
		struct v4l2_frmivalenum iv = {.index = i,
					      .pixel_format = fourcc,
					      .width = (uint32_t)sz.w,
					      .height = (uint32_t)sz.h};

		if (v4l2dev_ioctl(dev, fd, VIDIOC_ENUM_FRAMEINTERVALS, &iv) < 0)
			break;
		if (iv.type != V4L2_FRMIVAL_TYPE_DISCRETE) {
			const struct v4l2_frmival_stepwise *sw = &iv.stepwise;

			if (sw->max.numerator && sw->min.numerator)
				fprintf(out, "@%.4g-%.4g",
					(double)sw->max.denominator /
						sw->max.numerator,
					(double)sw->min.denominator /
						sw->min.numerator);
			break;
		}
		if (iv.discrete.numerator == 0)
			continue;
		fprintf(out, "%s%.4g", sep,
			(double)iv.discrete.denominator /
				iv.discrete.numerator);
		sep = ",";
	}
}

int v4l2list_describe(FILE *out, const char *path)
{
	const struct v4l2dev *dev = v4l2dev_current();
	struct v4l2_capability cap;
	uint32_t offered[V4L2FMT_FORMATS_MAX];
	struct v4l2fmt_size sizes[V4L2FMT_SIZES_MAX];
	const char *why;
	enum picture_kind kind;
	int fd, nf, usable = 0;
	char cc[5];

	fd = dev->open(dev->ctx, path);
	if (fd < 0)
		return -1;
	if (v4l2fmt_check_caps(dev, fd, &cap, &why) < 0)
		goto done;
	nf = v4l2fmt_formats(dev, fd, offered, V4L2FMT_FORMATS_MAX);
	if (v4l2fmt_choose(offered, nf, 0) == 0)
		goto done;
	usable = 1;
	if (out == NULL)
		goto done;
	fprintf(out, "v4l2:%s  '%.32s' (%.16s, %.32s)\n", path,
		(const char *)cap.card, (const char *)cap.driver,
		(const char *)cap.bus_info);
	for (int i = 0; i < nf; i++) {
		int ns;

		if (v4l2fmt_kind(offered[i], &kind) < 0)
			continue;
		v4l2fmt_fourcc_str(offered[i], cc);
		fprintf(out, "    %s:", cc);
		ns = v4l2fmt_sizes(dev, fd, offered[i], sizes,
				   V4L2FMT_SIZES_MAX, NULL);
		for (int k = 0; k < ns; k++) {
			fprintf(out, " %dx%d", sizes[k].w, sizes[k].h);
			describe_rates(out, dev, fd, offered[i], sizes[k]);
		}
		fputc('\n', out);
	}
done:
	dev->close(dev->ctx, fd);
	return usable;
}

/* /dev/videoN numbers present, sorted. */
static int video_nodes(int *nums, int max)
{
	DIR *d = opendir("/dev");
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL && n < max) {
		char *end;
		long v;

		if (strncmp(e->d_name, "video", 5) != 0 || e->d_name[5] == '\0')
			continue;
		v = strtol(e->d_name + 5, &end, 10);
		if (*end == '\0' && v >= 0 && v < INT_MAX)
			nums[n++] = (int)v;
	}
	closedir(d);
	for (int i = 1; i < n; i++) /* insertion sort: a handful of nodes */
		for (int k = i; k > 0 && nums[k - 1] > nums[k]; k--) {
			int t = nums[k];

			nums[k] = nums[k - 1];
			nums[k - 1] = t;
		}
	return n;
}

int v4l2list_all(FILE *out)
{
	int nums[V4L2LIST_DEVICE_MAX],
		n = video_nodes(nums, V4L2LIST_DEVICE_MAX);
	int found = 0;

	for (int i = 0; i < n; i++) {
		char path[32];

		snprintf(path, sizeof(path), "/dev/video%d", nums[i]);
		if (v4l2list_describe(out, path) == 1)
			found++;
	}
	return found;
}

/* USB webcams first: on a Pi, the other capture nodes belong to the
 * camera pipeline that libcamera drives. */
int v4l2list_first(char *path, size_t size)
{
	int nums[V4L2LIST_DEVICE_MAX],
		n = video_nodes(nums, V4L2LIST_DEVICE_MAX);
	const struct v4l2dev *dev = v4l2dev_current();

	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < n; i++) {
			struct v4l2_capability cap;
			const char *why;
			char p[32];
			int fd, usable;

			snprintf(p, sizeof(p), "/dev/video%d", nums[i]);
			fd = dev->open(dev->ctx, p);
			if (fd < 0)
				continue;
			usable = v4l2fmt_check_caps(dev, fd, &cap, &why) == 0 &&
				 (pass == 1 || strcmp((const char *)cap.driver,
						      "uvcvideo") == 0);
			dev->close(dev->ctx, fd);
			if (usable && v4l2list_describe(NULL, p) == 1) {
				snprintf(path, size, "%s", p);
				return 0;
			}
		}
	errno = ENODEV;
	return -1;
}
