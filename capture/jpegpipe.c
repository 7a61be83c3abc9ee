/* SPDX-License-Identifier: MIT */
/*
 * jpegpipe: the "stdin" and "fifo:PATH" sources: concatenated JPEGs from a
 * pipe (rpicam-vid --codec mjpeg -o -, ffmpeg -f mjpeg -), cut into frames
 * by jpegsplit and handed on byte for byte.  Non-blocking reads into one fixed read buffer; one frame
 * buffer of max_frame bytes: memory is bounded whatever the writer sends.
 * At end of input the capture ends, except for a FIFO with --follow, which
 * is opened again to wait for the next writer.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "jpegsplit.h"
#include "clock.h"
#include "log.h"
#include "source.h"

#define STDIN_READ_SIZE 65536
#define STDIN_READS_PER_CALL 16 /* then let the loop look at its other fds */
#define STDIN_FRAME_MIN 4 /* smallest buffer jpegsplit accepts */

struct pipesrc {
	int fd;
	int is_fifo;
	int follow;
	int saved_flags; /* stdin's file status flags, restored at close */
	char path[PATH_MAX];
	const char *label;
	uint8_t *frame; /* max_frame bytes: the frame being assembled */
	size_t frame_cap;
	size_t rpos, rlen;
	int at_eof; /* input ended: the splitter is being finished */
	struct jpegsplit js;
	struct jpegsplit_stats logged; /* counters at the last log line */
	uint8_t rbuf[STDIN_READ_SIZE];
};

#define PIPESRC(src) ((struct pipesrc *)(void *)(src))
#define CPIPESRC(src) ((const struct pipesrc *)(const void *)(src))

static int stdin_match(const char *spec)
{
	return strcmp(spec, "stdin") == 0 || strcmp(spec, "-") == 0;
}

static int fifo_match(const char *spec)
{
	return strncmp(spec, "fifo:", 5) == 0 && spec[5] != '\0';
}

static void pipesrc_free(struct pipesrc *s)
{
	if (s == NULL)
		return;
	if (s->fd >= 0) {
		if (s->is_fifo)
			close(s->fd);
		else if (s->saved_flags >= 0)
			/* stdin's description is shared with our parent (a
			 * shell): leave it as we found it. */
			fcntl(s->fd, F_SETFL, s->saved_flags);
	}
	free(s->frame);
	free(s);
}

static int fifo_reopen(struct pipesrc *s)
{
	if (s->fd >= 0)
		close(s->fd);
	/* Non-blocking: succeeds without a writer; poll then reports the next
	 * writer's data (and no hang-up until that writer has come and gone). */
	s->fd = open(s->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	return s->fd < 0 ? -1 : 0;
}

static int pipesrc_open(struct source **out, const struct source_config *cfg,
			int is_fifo)
{
	struct pipesrc *s;
	int saved;

	*out = NULL;
	if (cfg->max_frame < STDIN_FRAME_MIN) {
		errno = EINVAL;
		return -1;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -1;
	s->fd = -1;
	s->saved_flags = -1;
	s->is_fifo = is_fifo;
	s->follow = cfg->follow;
	s->frame_cap = cfg->max_frame;
	s->frame = malloc(s->frame_cap);
	if (s->frame == NULL)
		goto fail;
	jpegsplit_init(&s->js, s->frame, s->frame_cap);
	if (is_fifo) {
		if (strlen(cfg->spec + 5) >= sizeof(s->path)) {
			errno = ENAMETOOLONG;
			goto fail;
		}
		strcpy(s->path, cfg->spec + 5);
		s->label = s->path;
		if (fifo_reopen(s) < 0)
			goto fail;
	} else {
		s->label = "stdin";
		s->saved_flags = fcntl(STDIN_FILENO, F_GETFL);
		if (s->saved_flags < 0)
			goto fail;
		if (fcntl(STDIN_FILENO, F_SETFL, s->saved_flags | O_NONBLOCK) <
		    0)
			goto fail;
		s->fd = STDIN_FILENO;
	}
	*out = (struct source *)(void *)s;
	return 0;
fail:
	saved = errno;
	pipesrc_free(s);
	errno = saved;
	return -1;
}

static int stdin_open(struct source **out, const struct source_config *cfg)
{
	return pipesrc_open(out, cfg, 0);
}

static int fifo_open(struct source **out, const struct source_config *cfg)
{
	return pipesrc_open(out, cfg, 1);
}

static int pipesrc_fd(const struct source *src)
{
	return CPIPESRC(src)->fd;
}

/* One debug line per kind of skip, as they happen. */
static void log_skips(struct pipesrc *s)
{
	const struct jpegsplit_stats *now = &s->js.stats;
	struct jpegsplit_stats *was = &s->logged;

	if (now->garbage_runs != was->garbage_runs)
		log_debug("%s: skipped %llu bytes of garbage", s->label,
			  (unsigned long long)(now->garbage_bytes -
					       was->garbage_bytes));
	if (now->truncated != was->truncated)
		log_debug("%s: skipped a truncated frame", s->label);
	if (now->oversize != was->oversize)
		log_debug("%s: skipped a frame larger than a ring slot (%zu "
			  "bytes)",
			  s->label, s->frame_cap);
	if (now->corrupt != was->corrupt)
		log_debug("%s: skipped a corrupt frame", s->label);
	if (now->rescans_refused != was->rescans_refused)
		log_debug("%s: dropped the bytes of a broken frame unscanned "
			  "(rescan budget spent)",
			  s->label);
	*was = *now;
}

static void log_summary(const struct pipesrc *s)
{
	const struct jpegsplit_stats *st = &s->js.stats;

	log_info("%s: end of input: %llu frames, skipped %llu garbage bytes "
		 "(%llu runs), %llu truncated, %llu oversize, %llu corrupt; "
		 "%llu bytes rescanned, %llu rescans refused",
		 s->label, (unsigned long long)st->frames,
		 (unsigned long long)st->garbage_bytes,
		 (unsigned long long)st->garbage_runs,
		 (unsigned long long)st->truncated,
		 (unsigned long long)st->oversize,
		 (unsigned long long)st->corrupt,
		 (unsigned long long)st->rescanned,
		 (unsigned long long)st->rescans_refused);
}

static enum source_result pipesrc_next(struct source *src, struct picture *pic)
{
	struct pipesrc *s = PIPESRC(src);
	int reads = 0;

	for (;;) {
		struct jpegsplit_frame f;
		size_t used;
		ssize_t n;

		if (s->rpos < s->rlen || jpegsplit_pending(&s->js)) {
			int got = jpegsplit_push(&s->js, s->rbuf + s->rpos,
						 s->rlen - s->rpos, &used, &f);
			s->rpos += used;
			log_skips(s);
			if (got) {
				memset(pic, 0, sizeof(*pic));
				pic->kind = PICTURE_JPEG;
				pic->data = f.data;
				pic->len = f.len;
				pic->width = f.width;
				pic->height = f.height;
				pic->realtime_ns = clock_ns(CLOCK_REALTIME);
				pic->monotonic_ns = clock_ns(CLOCK_MONOTONIC);
				return SOURCE_FRAME;
			}
			continue;
		}
		if (s->at_eof) {
			/* Frames may still come out of the kept bytes of a
			 * frame cut at the end; no read until they have. */
			if (jpegsplit_finish(&s->js))
				continue;
			s->at_eof = 0;
			log_skips(s);
			log_summary(s);
			if (s->is_fifo && s->follow) {
				log_info("%s: waiting for the next writer",
					 s->label);
				if (fifo_reopen(s) < 0)
					return SOURCE_ERROR;
				return SOURCE_AGAIN;
			}
			return SOURCE_EOF;
		}
		if (reads++ == STDIN_READS_PER_CALL)
			return SOURCE_AGAIN; /* the fd is still readable */
		n = read(s->fd, s->rbuf, sizeof(s->rbuf));
		if (n > 0) {
			s->rpos = 0;
			s->rlen = (size_t)n;
			continue;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return SOURCE_AGAIN;
			return SOURCE_ERROR;
		}
		s->at_eof = 1; /* end of input */
	}
}

static uint64_t pipesrc_skipped(const struct source *src)
{
	return jpegsplit_skipped(&CPIPESRC(src)->js);
}

static void pipesrc_close(struct source *src)
{
	pipesrc_free(PIPESRC(src));
}

const struct source_ops jpegpipe_stdin_source_ops = {
	.name = "stdin",
	.match = stdin_match,
	.open = stdin_open,
	.fd = pipesrc_fd,
	.next = pipesrc_next,
	.release = NULL,
	.skipped = pipesrc_skipped,
	.close = pipesrc_close,
};

const struct source_ops jpegpipe_fifo_source_ops = {
	.name = "fifo:PATH",
	.match = fifo_match,
	.open = fifo_open,
	.fd = pipesrc_fd,
	.next = pipesrc_next,
	.release = NULL,
	.skipped = pipesrc_skipped,
	.close = pipesrc_close,
};
