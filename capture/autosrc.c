/* SPDX-License-Identifier: MIT */
/* autosrc: `--source auto` and `--list-sources`. */
#include "autosrc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libcamera.h"
#include "log.h"
#include "v4l2list.h"

#define PROBE_SPEC_MAX 300

void autosrc_spec(char *spec, size_t size, char *why, size_t whysize)
{
	char path[64];

	if (libcamera_first_camera(spec, size) == 0) {
		snprintf(why, whysize, "the first libcamera camera");
		return;
	}
	if (v4l2list_first(path, sizeof(path)) == 0) {
		snprintf(spec, size, "v4l2:%s", path);
		snprintf(why, whysize, "%s, the first V4L2 capture device",
			 libcamera_built_version() != NULL
				 ? "no libcamera camera found"
				 : "libcamera not built in");
		return;
	}
	snprintf(spec, size, "testsrc");
	snprintf(why, whysize, "no camera found: %s and no V4L2 capture device",
		 libcamera_built_version() != NULL ? "no libcamera camera"
						   : "libcamera not built in");
}

int autosrc_list(FILE *out)
{
	int n = 0;

	n += libcamera_list(out);
	n += v4l2list_all(out);
	if (n == 0)
		fprintf(out, "no cameras found (sources always available: "
			     "testsrc, stdin, fifo:PATH)\n");
	return n;
}

/* ------------------------------------------------------------ auto */

/* The auto source wraps the one it chose: same fd, frames and counters. */
struct source {
	const struct source_ops *ops;
	struct source *inner;
	char spec[PROBE_SPEC_MAX];
};

static int auto_match(const char *spec)
{
	return strcmp(spec, "auto") == 0;
}

static int auto_open(struct source **out, const struct source_config *cfg)
{
	struct source *s = calloc(1, sizeof(*s));
	struct source_config inner = *cfg;
	char why[160], msg[64];

	if (s == NULL)
		return -1;
	autosrc_spec(s->spec, sizeof(s->spec), why, sizeof(why));
	s->ops = source_find(s->spec, msg, sizeof(msg));
	if (s->ops == NULL || s->ops->match == auto_match) {
		log_warnx("source auto: no source claims '%s'", s->spec);
		free(s);
		errno = ENOENT;
		return -1;
	}
	log_info("source auto: using '%s' (%s)", s->spec, why);
	inner.spec = s->spec;
	if (s->ops->open(&s->inner, &inner) < 0) {
		int e = errno;

		free(s);
		errno = e;
		return -1;
	}
	*out = s;
	return 0;
}

static int auto_fd(const struct source *s)
{
	return s->ops->fd(s->inner);
}

static enum source_result auto_next(struct source *s, struct picture *pic)
{
	return s->ops->next(s->inner, pic);
}

static void auto_release(struct source *s, struct picture *pic)
{
	if (s->ops->release != NULL)
		s->ops->release(s->inner, pic);
}

static uint64_t auto_skipped(const struct source *s)
{
	return s->ops->skipped != NULL ? s->ops->skipped(s->inner) : 0;
}

static void auto_close(struct source *s)
{
	if (s == NULL)
		return;
	s->ops->close(s->inner);
	free(s);
}

const struct source_ops autosrc_source_ops = {
	.name = "auto",
	.match = auto_match,
	.open = auto_open,
	.fd = auto_fd,
	.next = auto_next,
	.release = auto_release,
	.skipped = auto_skipped,
	.close = auto_close,
};
