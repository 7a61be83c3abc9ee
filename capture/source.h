/* SPDX-License-Identifier: MIT */
/*
 * source: the one small interface every picture source of vigil-capture sits
 * behind (testsrc, stdin/fifo, v4l2, libcamera).  The capture loop polls the
 * source's fd and calls source_next() when it is readable; the source hands
 * back either a whole JPEG (published byte-for-byte) or a raw picture in
 * planes (rotated, flipped, overlaid and encoded by capture).
 */
#ifndef VIGIL_SOURCE_H
#define VIGIL_SOURCE_H

#include <stddef.h>
#include <stdint.h>

enum picture_kind {
	PICTURE_JPEG, /* data/len: a complete JPEG, SOI..EOI */
	PICTURE_I420, /* planes[0..2]: Y, U, V, 4:2:0 */
	PICTURE_NV12, /* planes[0..1]: Y, interleaved UV, 4:2:0 */
	PICTURE_YUYV, /* planes[0]: packed 4:2:2 */
};

/* A picture borrowed from the source until source_release() (or the next
 * source_next()).  Times are 0 when the source does not know them.
 * PICTURE_I420 planes must be readable up to the even size above
 * width x height (Y plane (w+1)&~1 x (h+1)&~1, edge repeated): TurboJPEG's
 * 4:2:0 plane compressor reads whole 2x2 blocks. */
struct picture {
	enum picture_kind kind;
	const uint8_t *data; /* PICTURE_JPEG */
	size_t len;
	uint8_t *planes
		[3]; /* raw kinds; writable so overlay can draw in place */
	int strides[3];
	int width;
	int height;
	int64_t realtime_ns;
	int64_t monotonic_ns;
};

/*
 * testsrc's picture (--testsrc-motion).  All zero is the default: a still
 * scene that an object crosses for duration_ms every period_ms, the first
 * time TESTSRC_MOTION_FIRST_MS after the start.
 */
enum testsrc_motion_mode {
	TESTSRC_MOTION_CROSSING = 0, /* PERIOD/DURATION */
	TESTSRC_MOTION_OFF, /* "off": a still picture */
	TESTSRC_MOTION_ALWAYS, /* "always": changes every frame */
};

#define TESTSRC_MOTION_PERIOD_MS 30000 /* default PERIOD */
#define TESTSRC_MOTION_DURATION_MS 5000 /* default DURATION */
#define TESTSRC_MOTION_FIRST_MS 3000 /* the first crossing starts */

struct testsrc_motion {
	enum testsrc_motion_mode mode;
	int period_ms, duration_ms; /* CROSSING; 0: the defaults */
};

/*
 * Parses --testsrc-motion: "off", "always", or "PERIOD/DURATION" in seconds
 * (up to three decimals), 0 < DURATION < PERIOD <= 3600.  0, or -1 with a
 * short reason in why (size bytes) and *m unchanged.  testsrc.c.
 */
int testsrc_parse_motion(const char *text, struct testsrc_motion *m, char *why,
			 size_t size);

/* Options every source may use.  Strings are borrowed for the source's life. */
struct source_config {
	const char
		*spec; /* "testsrc", "stdin", "fifo:PATH", "v4l2:/dev/video0" */
	int width;
	int height;
	int fps;
	int follow; /* fifo: wait for the next writer at EOF */
	size_t max_frame; /* largest JPEG worth keeping (the ring slot capacity) */
	const char *overlay;
	const void
		*extra; /* source-specific options (camera controls), or NULL */
	struct testsrc_motion testsrc_motion; /* testsrc's picture */
	/* testsrc: no pacing (--fps max), a frame whenever the capture loop
	 * asks, that is as fast as the encoders take them; fps is then only
	 * the nominal rate. */
	int unpaced;
	/* testsrc: planes to draw the next picture into instead of its own
	 * buffer (pipeline_target, which saves a copy), or NULL.  When it
	 * returns -1 testsrc draws into its own buffer. */
	int (*target)(void *arg, int width, int height, struct picture *dst);
	void *target_arg;
};

/* After SOURCE_FRAME the capture loop calls next() again without waiting
 * for the fd (the source may hold more buffered data); after SOURCE_AGAIN
 * it waits for POLLIN (or POLLHUP) on fd() before calling next() again.
 * fd() is asked again before every wait: a source may change its fd (a
 * FIFO reopened for the next writer). */
enum source_result {
	SOURCE_FRAME, /* *pic is filled */
	SOURCE_AGAIN, /* nothing complete yet: poll again */
	SOURCE_EOF, /* the input ended: stop capturing */
	SOURCE_ERROR, /* unrecoverable: errno set, capture exits non-zero */
};

struct source;

struct source_ops {
	const char *name; /* "testsrc" */
	/* Claims a spec ("testsrc", "fifo:...") or not. */
	int (*match)(const char *spec);
	int (*open)(struct source **out, const struct source_config *cfg);
	/* fd to poll for POLLIN before calling next. */
	int (*fd)(const struct source *s);
	enum source_result (*next)(struct source *s, struct picture *pic);
	/* Gives the picture's buffers back; may be NULL. */
	void (*release)(struct source *s, struct picture *pic);
	/* Counters for the periodic log line: frames skipped as garbage, too
	 * big, truncated.  May be NULL. */
	uint64_t (*skipped)(const struct source *s);
	void (*close)(struct source *s); /* accepts NULL */
};

/*
 * The registry (source.c): the ops that claim spec, or NULL with a message in
 * why (size bytes) naming the sources that exist.
 */
const struct source_ops *source_find(const char *spec, char *why, size_t size);

/* The spec used when --source is not given (chosen in one place). */
const char *source_default(void);

/* The sources, each in its own file; source.c lists them in order. */
extern const struct source_ops testsrc_source_ops; /* testsrc.c */
extern const struct source_ops
	jpegpipe_stdin_source_ops; /* jpegpipe.c: "stdin" */
extern const struct source_ops
	jpegpipe_fifo_source_ops; /* jpegpipe.c: "fifo:PATH" */

#endif
