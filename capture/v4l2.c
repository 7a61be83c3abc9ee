/* SPDX-License-Identifier: MIT */
/* v4l2: USB webcams through V4L2 mmap streaming, MJPEG passed through.
 * What to ask the device for is v4l2fmt's, the controls v4l2ctl's. */
#include "v4l2.h"

#include <errno.h>
#include <limits.h>
#include <linux/videodev2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "camctl.h"
#include "clock.h"
#include "jpegfix.h"
#include "jpegmark.h"
#include "log.h"
#include "v4l2ctl.h"
#include "v4l2fmt.h"
#include "v4l2list.h"

struct v4l2_map {
	uint8_t *start;
	size_t length;
};

struct source {
	const struct v4l2dev *dev;
	char path[PATH_MAX];
	int want_width, want_height, want_fps;
	struct camera_controls ctl;
	int fd; /* the device; -1 while lost */
	int epfd; /* what capture polls: the device or the timer */
	int timerfd; /* re-open backoff, or the stall watchdog */
	int reconnecting; /* lost: the timer says when to try again */
	int backoff_ms;
	int opened_once; /* later opens log less */
	uint32_t fourcc;
	enum picture_kind kind;
	int width, height, stride;
	struct v4l2_map maps[V4L2_BUFFER_COUNT];
	unsigned nmaps;
	int held; /* buffer lent out in a picture, or -1 */
	uint8_t *fixbuf; /* a frame with the Huffman tables inserted */
	size_t fixcap;
	int64_t last_frame_ms;
	uint64_t skipped;
	uint64_t fixed;
	uint64_t losses;
};

static int64_t now_ms(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------ device */

static void device_stop(struct source *s)
{
	int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	struct v4l2_requestbuffers rb = {.count = 0,
					 .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
					 .memory = V4L2_MEMORY_MMAP};

	if (s->fd < 0)
		return;
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->fd, NULL);
	/* On an unplugged camera these fail with ENODEV: nothing to do. */
	v4l2dev_ioctl(s->dev, s->fd, VIDIOC_STREAMOFF, &type);
	for (unsigned i = 0; i < s->nmaps; i++)
		s->dev->munmap(s->dev->ctx, s->maps[i].start,
			       s->maps[i].length);
	s->nmaps = 0;
	s->held = -1;
	v4l2dev_ioctl(s->dev, s->fd, VIDIOC_REQBUFS, &rb);
	s->dev->close(s->dev->ctx, s->fd);
	s->fd = -1;
}

static int arm_timer(struct source *s, int ms)
{
	struct itimerspec its = {0};

	its.it_value.tv_sec = ms / 1000;
	its.it_value.tv_nsec = (long)(ms % 1000) * 1000000L;
	if (ms <= 0)
		its.it_value.tv_nsec = 1; /* 0 would disarm it */
	return timerfd_settime(s->timerfd, 0, &its, NULL);
}

static void set_rate(struct source *s)
{
	struct v4l2_streamparm p = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
	struct v4l2_fract f;

	if (v4l2dev_ioctl(s->dev, s->fd, VIDIOC_G_PARM, &p) < 0 ||
	    !(p.parm.capture.capability & V4L2_CAP_TIMEPERFRAME))
		return; /* the camera has one rate */
	f = v4l2fmt_nearest_interval(s->dev, s->fd, s->fourcc, s->width,
				     s->height, s->want_fps);
	if (f.denominator == 0) {
		f.numerator = 1;
		f.denominator = (uint32_t)s->want_fps;
	}
	p.parm.capture.timeperframe = f;
	if (v4l2dev_ioctl(s->dev, s->fd, VIDIOC_S_PARM, &p) < 0) {
		log_warn("camera '%s': cannot set the frame rate", s->path);
		return;
	}
	f = p.parm.capture.timeperframe;
	if (!s->opened_once && f.numerator != 0 &&
	    (double)f.denominator / f.numerator + 0.01 < s->want_fps)
		log_info("camera '%s' runs at %.4g fps (asked for %d)", s->path,
			 (double)f.denominator / f.numerator, s->want_fps);
}

/* Picks format and size, then S_FMT. -1 with errno: ENOTSUP when nothing
 * offered is usable (permanent), else the failing call's. */
static int negotiate(struct source *s)
{
	uint32_t offered[V4L2FMT_FORMATS_MAX];
	struct v4l2fmt_size sizes[V4L2FMT_SIZES_MAX],
		want = {s->want_width, s->want_height}, got;
	struct v4l2_format f = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
	int nf, ns;
	char cc[5];

	nf = v4l2fmt_formats(s->dev, s->fd, offered, V4L2FMT_FORMATS_MAX);
	s->fourcc = v4l2fmt_choose(offered, nf, v4l2fmt_wanted(s->ctl.format));
	if (s->fourcc == 0) {
		char list[V4L2FMT_FORMATS_MAX * 7 + 1] = "";
		size_t used = 0;

		for (int i = 0; i < nf; i++) {
			v4l2fmt_fourcc_str(offered[i], cc);
			used += (size_t)snprintf(list + used,
						 sizeof(list) - used, "%s%s",
						 i ? ", " : "", cc);
		}
		if (s->ctl.format != CAMERA_FORMAT_AUTO)
			v4l2fmt_fourcc_str(v4l2fmt_wanted(s->ctl.format), cc);
		log_warnx("camera '%s' offers no format vigil reads "
			  "(%s); it offers: %s",
			  s->path,
			  s->ctl.format != CAMERA_FORMAT_AUTO
				  ? cc
				  : "MJPG, YUYV, NV12, YU12",
			  nf ? list : "none");
		errno = ENOTSUP;
		return -1;
	}
	if (v4l2fmt_kind(s->fourcc, &s->kind) < 0)
		s->kind = PICTURE_JPEG;
	v4l2fmt_fourcc_str(s->fourcc, cc);

	got = want;
	ns = v4l2fmt_sizes(s->dev, s->fd, s->fourcc, sizes, V4L2FMT_SIZES_MAX,
			   &want);
	if (ns > 0) {
		got = v4l2fmt_nearest_size(sizes, ns, want);
		if ((got.w != want.w || got.h != want.h) && !s->opened_once)
			log_warnx("camera '%s' does not offer %dx%d in %s; "
				  "using the nearest size, %dx%d",
				  s->path, want.w, want.h, cc, got.w, got.h);
	}
	f.fmt.pix.width = (uint32_t)got.w;
	f.fmt.pix.height = (uint32_t)got.h;
	f.fmt.pix.pixelformat = s->fourcc;
	f.fmt.pix.field = V4L2_FIELD_ANY;
	if (v4l2dev_ioctl(s->dev, s->fd, VIDIOC_S_FMT, &f) < 0) {
		log_warn("camera '%s': cannot set %s %dx%d", s->path, cc, got.w,
			 got.h);
		return -1;
	}
	if (f.fmt.pix.pixelformat != s->fourcc) {
		log_warnx("camera '%s' refused format %s", s->path, cc);
		errno = ENOTSUP;
		return -1;
	}
	if ((int)f.fmt.pix.width != got.w || (int)f.fmt.pix.height != got.h)
		log_warnx("camera '%s' adjusted %dx%d to %ux%u", s->path, got.w,
			  got.h, f.fmt.pix.width, f.fmt.pix.height);
	s->width = (int)f.fmt.pix.width;
	s->height = (int)f.fmt.pix.height;
	s->stride = (int)f.fmt.pix.bytesperline;
	if (s->width <= 0 || s->height <= 0 || s->width > 16384 ||
	    s->height > 16384) {
		log_warnx("camera '%s' gave a bad size %dx%d", s->path,
			  s->width, s->height);
		errno = EPROTO;
		return -1;
	}
	if (s->kind == PICTURE_YUYV && s->stride < 2 * s->width)
		s->stride = 2 * s->width;
	else if (s->kind != PICTURE_JPEG && s->stride < s->width)
		s->stride = s->width;
	return 0;
}

static int map_buffers(struct source *s)
{
	struct v4l2_requestbuffers rb = {.count = V4L2_BUFFER_COUNT,
					 .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
					 .memory = V4L2_MEMORY_MMAP};
	size_t maxlen = 0;

	if (v4l2dev_ioctl(s->dev, s->fd, VIDIOC_REQBUFS, &rb) < 0) {
		log_warn("camera '%s': cannot get mmap buffers", s->path);
		return -1;
	}
	if (rb.count < 2) {
		log_warnx("camera '%s' gave %u buffer(s), 2 needed", s->path,
			  rb.count);
		errno = ENOMEM;
		return -1;
	}
	if (rb.count > V4L2_BUFFER_COUNT)
		rb.count = V4L2_BUFFER_COUNT;
	for (uint32_t i = 0; i < rb.count; i++) {
		struct v4l2_buffer b = {.index = i,
					.type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
					.memory = V4L2_MEMORY_MMAP};
		void *p;

		if (v4l2dev_ioctl(s->dev, s->fd, VIDIOC_QUERYBUF, &b) < 0) {
			log_warn("camera '%s': cannot query buffer %u", s->path,
				 i);
			return -1;
		}
		p = s->dev->mmap(s->dev->ctx, s->fd, b.length, b.m.offset);
		if (p == MAP_FAILED) {
			log_warn("camera '%s': cannot map buffer %u", s->path,
				 i);
			return -1;
		}
		s->maps[i].start = p;
		s->maps[i].length = b.length;
		s->nmaps = i + 1;
		if (b.length > maxlen)
			maxlen = b.length;
		if (v4l2dev_ioctl(s->dev, s->fd, VIDIOC_QBUF, &b) < 0) {
			log_warn("camera '%s': cannot queue buffer %u", s->path,
				 i);
			return -1;
		}
	}
	if (s->kind == PICTURE_JPEG && s->fixcap < maxlen + JPEGFIX_DHT_SIZE) {
		uint8_t *p = realloc(s->fixbuf, maxlen + JPEGFIX_DHT_SIZE);

		if (p == NULL)
			return -1;
		s->fixbuf = p;
		s->fixcap = maxlen + JPEGFIX_DHT_SIZE;
	}
	return 0;
}

/* Opens and starts streaming.  -1 with errno; ENOTSUP is permanent. */
static int device_start(struct source *s)
{
	struct v4l2_capability cap;
	struct epoll_event ev = {.events = EPOLLIN};
	int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	const char *why = NULL;
	char cc[5];
	int e;

	s->fd = s->dev->open(s->dev->ctx, s->path);
	if (s->fd < 0) {
		if (!s->opened_once)
			log_warn("cannot open camera '%s'", s->path);
		return -1;
	}
	if (v4l2fmt_check_caps(s->dev, s->fd, &cap, &why) < 0) {
		log_warnx("cannot use '%s': %s", s->path, why);
		errno = ENOTSUP;
		goto fail;
	}
	if (negotiate(s) < 0)
		goto fail;
	set_rate(s);
	v4l2ctl_apply(s->dev, s->fd, s->path, &s->ctl, s->opened_once);
	if (map_buffers(s) < 0)
		goto fail;
	if (v4l2dev_ioctl(s->dev, s->fd, VIDIOC_STREAMON, &type) < 0) {
		log_warn("camera '%s': cannot start streaming", s->path);
		goto fail;
	}
	ev.data.fd = s->fd;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->fd, &ev) < 0)
		goto fail;
	v4l2fmt_fourcc_str(s->fourcc, cc);
	if (!s->opened_once)
		log_info("camera '%s' (%.32s): %s %dx%d", s->path,
			 (const char *)cap.card, cc, s->width, s->height);
	s->opened_once = 1;
	s->last_frame_ms = now_ms(CLOCK_MONOTONIC);
	arm_timer(s, V4L2_STALL_MS);
	return 0;
fail:
	e = errno;
	device_stop(s);
	errno = e;
	return -1;
}

/* The camera went away or stalled: close it and try again later. */
static void device_lost(struct source *s)
{
	device_stop(s);
	s->reconnecting = 1;
	s->losses++;
	s->backoff_ms = V4L2_BACKOFF_MIN_MS;
	arm_timer(s, s->backoff_ms);
}

/* ------------------------------------------------------------ source ops */

static int v4l2_match(const char *spec)
{
	return strcmp(spec, "v4l2") == 0 || strncmp(spec, "v4l2:", 5) == 0;
}

/* "v4l2:/dev/video2", "v4l2:2", "v4l2" (the first capture device). */
static int resolve_path(const char *spec, char *path, size_t size)
{
	const char *arg = spec[4] == ':' ? spec + 5 : "";
	char *end;
	long n;

	if (*arg == '\0')
		return v4l2list_first(path, size);
	n = strtol(arg, &end, 10);
	if (*end == '\0' && n >= 0 && n < 1000) {
		snprintf(path, size, "/dev/video%ld", n);
		return 0;
	}
	if ((size_t)snprintf(path, size, "%s", arg) >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

static void v4l2_close(struct source *s)
{
	if (s == NULL)
		return;
	device_stop(s);
	if (s->timerfd >= 0)
		close(s->timerfd);
	if (s->epfd >= 0)
		close(s->epfd);
	free(s->fixbuf);
	free(s);
}

static int v4l2_open(struct source **out, const struct source_config *cfg)
{
	struct source *s = calloc(1, sizeof(*s));
	struct epoll_event ev = {.events = EPOLLIN};
	int e;

	if (s == NULL)
		return -1;
	s->dev = v4l2dev_current();
	s->fd = -1;
	s->timerfd = -1;
	s->held = -1;
	s->want_width = cfg->width > 0 ? cfg->width : 1280;
	s->want_height = cfg->height > 0 ? cfg->height : 720;
	s->want_fps = cfg->fps > 0 ? cfg->fps : 24;
	if (cfg->extra != NULL)
		s->ctl = *(const struct camera_controls *)cfg->extra;
	else
		camctl_init(&s->ctl);
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0)
		goto fail;
	s->timerfd = timerfd_create(CLOCK_MONOTONIC,
				    TFD_NONBLOCK | TFD_CLOEXEC);
	if (s->timerfd < 0)
		goto fail;
	ev.data.fd = s->timerfd;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->timerfd, &ev) < 0)
		goto fail;
	if (resolve_path(cfg->spec, s->path, sizeof(s->path)) < 0) {
		log_warnx("no V4L2 capture device found for '%s'", cfg->spec);
		errno = ENODEV;
		goto fail;
	}
	/* A camera that is absent at start is an error (systemd restarts
	 * capture); one that goes away later is waited for. */
	if (device_start(s) < 0)
		goto fail;
	*out = s;
	return 0;
fail:
	e = errno;
	v4l2_close(s);
	errno = e;
	return -1;
}

static int v4l2_fd(const struct source *s)
{
	return s->epfd;
}

static void requeue(struct source *s, uint32_t index)
{
	struct v4l2_buffer b = {.index = index,
				.type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
				.memory = V4L2_MEMORY_MMAP};

	if (s->fd >= 0 && v4l2dev_ioctl(s->dev, s->fd, VIDIOC_QBUF, &b) < 0)
		log_debug("camera '%s': cannot requeue buffer %u: %s", s->path,
			  index, strerror(errno));
}

static void v4l2_release(struct source *s, struct picture *pic)
{
	(void)pic;
	if (s->held >= 0)
		requeue(s, (uint32_t)s->held);
	s->held = -1;
}

/* Timer expiry: a re-open attempt, or the stall watchdog.  Returns 1 when
 * the device is streaming afterwards. */
static int on_timer(struct source *s)
{
	uint64_t ticks;
	int64_t idle;

	if (read(s->timerfd, &ticks, sizeof(ticks)) != sizeof(ticks))
		return s->fd >= 0;
	if (s->reconnecting) {
		if (device_start(s) == 0) {
			log_info("camera '%s' is back", s->path);
			s->reconnecting = 0;
			return 1;
		}
		s->backoff_ms = s->backoff_ms * 2 > V4L2_BACKOFF_MAX_MS
					? V4L2_BACKOFF_MAX_MS
					: s->backoff_ms * 2;
		log_debug("camera '%s' still gone; next try in %d ms", s->path,
			  s->backoff_ms);
		arm_timer(s, s->backoff_ms);
		return 0;
	}
	if (s->fd < 0)
		return 0;
	idle = now_ms(CLOCK_MONOTONIC) - s->last_frame_ms;
	if (idle >= V4L2_STALL_MS) {
		log_warnx(
			"camera '%s' sent no frame for %lld ms; re-opening it",
			s->path, (long long)idle);
		device_lost(s);
		return 0;
	}
	arm_timer(s, (int)(V4L2_STALL_MS - idle));
	return 1;
}

static int fill_jpeg(struct source *s, const struct v4l2_buffer *b,
		     struct picture *pic)
{
	const uint8_t *p = s->maps[b->index].start;
	size_t len = jpegmark_length(p, b->bytesused), sos;

	switch (len ? jpegfix_check(p, len, &sos) : JPEGFIX_BAD) {
	case JPEGFIX_OK:
		pic->data = p;
		pic->len = len;
		return 1; /* lent out: requeued on release */
	case JPEGFIX_NEEDED:
		pic->len = jpegfix_insert(p, len, sos, s->fixbuf, s->fixcap);
		if (pic->len == 0)
			return -1;
		pic->data = s->fixbuf;
		if (s->fixed++ == 0)
			log_info("camera '%s' sends JPEGs without Huffman "
				 "tables; inserting the standard ones",
				 s->path);
		return 0;
	case JPEGFIX_BAD:
		break;
	}
	return -1;
}

static int fill_raw(struct source *s, const struct v4l2_buffer *b,
		    struct picture *pic)
{
	uint8_t *p = s->maps[b->index].start;
	size_t need, plane = (size_t)s->stride * s->height;
	int cw = (s->width + 1) / 2, ch = (s->height + 1) / 2;

	switch (s->kind) {
	case PICTURE_YUYV:
		need = plane;
		break;
	case PICTURE_NV12:
		need = plane + (size_t)s->stride * ch;
		pic->planes[1] = p + plane;
		pic->strides[1] = s->stride;
		break;
	case PICTURE_I420:
		need = plane + 2 * (size_t)(s->stride / 2) * ch;
		pic->planes[1] = p + plane;
		pic->planes[2] = p + plane + (size_t)(s->stride / 2) * ch;
		pic->strides[1] = s->stride / 2;
		pic->strides[2] = s->stride / 2;
		if (s->stride / 2 < cw)
			return -1;
		break;
	case PICTURE_JPEG:
	default:
		return -1;
	}
	if (b->bytesused < need)
		return -1; /* short frame */
	pic->planes[0] = p;
	pic->strides[0] = s->stride;
	return 1;
}

static enum source_result v4l2_next(struct source *s, struct picture *pic)
{
	struct v4l2_buffer b = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
				.memory = V4L2_MEMORY_MMAP};
	int r;

	v4l2_release(s, pic);
	on_timer(s);
	if (s->fd < 0)
		return SOURCE_AGAIN;
	if (v4l2dev_ioctl(s->dev, s->fd, VIDIOC_DQBUF, &b) < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return SOURCE_AGAIN;
		log_warn("camera '%s' lost; re-opening it", s->path);
		device_lost(s);
		return SOURCE_AGAIN;
	}
	if (b.index >= s->nmaps) {
		log_warnx("camera '%s' returned buffer %u of %u", s->path,
			  b.index, s->nmaps);
		s->skipped++;
		return SOURCE_AGAIN;
	}
	memset(pic, 0, sizeof(*pic));
	r = -1;
	if (!(b.flags & V4L2_BUF_FLAG_ERROR) && b.bytesused > 0 &&
	    b.bytesused <= s->maps[b.index].length) {
		pic->kind = s->kind;
		pic->width = s->width;
		pic->height = s->height;
		r = s->kind == PICTURE_JPEG ? fill_jpeg(s, &b, pic)
					    : fill_raw(s, &b, pic);
	}
	if (r < 0) {
		s->skipped++;
		log_debug("camera '%s': skipped a corrupt or short frame "
			  "(%u bytes, flags 0x%x)",
			  s->path, b.bytesused, b.flags);
		requeue(s, b.index);
		return SOURCE_AGAIN;
	}
	if (r == 1)
		s->held = (int)b.index;
	else
		requeue(s, b.index);
	s->last_frame_ms = now_ms(CLOCK_MONOTONIC);
	if ((b.flags & V4L2_BUF_FLAG_TIMESTAMP_MASK) ==
		    V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC &&
	    (b.timestamp.tv_sec != 0 || b.timestamp.tv_usec != 0)) {
		int64_t mono = (int64_t)b.timestamp.tv_sec * 1000000000 +
			       (int64_t)b.timestamp.tv_usec * 1000;

		pic->monotonic_ns = mono;
		pic->realtime_ns = clock_ns(CLOCK_REALTIME) -
				   (clock_ns(CLOCK_MONOTONIC) - mono);
	}
	return SOURCE_FRAME;
}

static uint64_t v4l2_skipped(const struct source *s)
{
	return s->skipped;
}

const struct source_ops v4l2_source_ops = {
	.name = "v4l2",
	.match = v4l2_match,
	.open = v4l2_open,
	.fd = v4l2_fd,
	.next = v4l2_next,
	.release = v4l2_release,
	.skipped = v4l2_skipped,
	.close = v4l2_close,
};
