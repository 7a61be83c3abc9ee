/* SPDX-License-Identifier: MIT */
/*
 * libcamera_none: what the libcamera source names mean in a vigil-capture
 * built where pkg-config found no libcamera: the source exists so that
 * "--source libcamera" gets a clear answer instead of "unknown source".
 */
#include "libcamera.h"

#include <errno.h>
#include <string.h>

#include "log.h"

static int none_match(const char *spec)
{
	return strcmp(spec, "libcamera") == 0 ||
	       strncmp(spec, "libcamera:", 10) == 0;
}

static int none_open(struct source **out, const struct source_config *cfg)
{
	(void)out;
	(void)cfg;
	log_warnx("cannot open '%s': this vigil-capture was built without "
		  "libcamera (install libcamera-dev and rebuild)",
		  cfg->spec);
	errno = ENOTSUP;
	return -1;
}

static int none_fd(const struct source *s)
{
	(void)s;
	return -1;
}

static enum source_result none_next(struct source *s, struct picture *pic)
{
	(void)s;
	(void)pic;
	errno = ENOTSUP;
	return SOURCE_ERROR;
}

static void none_close(struct source *s)
{
	(void)s;
}

const struct source_ops libcamera_source_ops = {
	.name = "libcamera",
	.match = none_match,
	.open = none_open,
	.fd = none_fd,
	.next = none_next,
	.release = NULL,
	.skipped = NULL,
	.close = none_close,
};

const char *libcamera_built_version(void)
{
	return NULL;
}

int libcamera_list(FILE *out)
{
	fprintf(out, "libcamera: not built in (no libcamera-dev when built)\n");
	return 0;
}

int libcamera_first_camera(char *spec, size_t size)
{
	(void)spec;
	(void)size;
	errno = ENODEV;
	return -1;
}
